"""Keeps Redis's live-state hashes (hl:queue:<name>, hl:agent:<id>) in step with the metrics
and the live feed, once a second, so that any node or tool can read the centre's state now
without subscribing (pub/sub carries the changes; the hashes are the state)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from hotline.core.tasks import cancel_and_wait
from hotline.realtime import Metrics
from hotline.realtime.live import LiveFeed
from hotline.store.live import LiveState, LiveUnavailable

log = logging.getLogger(__name__)

TODAY_FIELDS = ("offered", "answered", "abandoned", "short_abandoned", "service_level",
                "sl_target", "asa", "abandon_rate", "lost_node_failure", "aht")


def _clean(value: Any) -> Any:
    """JSON-safe: no NaN or infinity in the hashes."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class LiveStateSync:
    def __init__(self, state: LiveState, metrics: Metrics, feed: LiveFeed,
                 queues: Iterable[str], clock: Callable[[], float] = time.time) -> None:
        self.state, self.metrics, self.feed = state, metrics, feed
        self.queues = list(queues)
        self.clock = clock
        self.failures = 0

    async def sync_once(self) -> None:
        now = self.clock()
        for queue in self.queues:
            today = self.metrics.queue_figures(queue, "today", now)
            fields: dict[str, Any] = {f"{k}_today": _clean(getattr(today, k))
                                      for k in TODAY_FIELDS}
            fields.update(waiting=today.waiting_now, longest_wait_s=_clean(today.longest_wait_s),
                          updated_at=now)
            await self.state.set_queue(queue, fields)
        for agent_id, row in self.feed.agents().items():
            await self.state.set_agent(agent_id, {**{k: _clean(v) for k, v in row.items()},
                                                  "updated_at": now})

    async def run(self, every_s: float = 1.0) -> None:
        away = 0  # rounds failed in a row
        while True:
            try:
                await self.sync_once()
            except LiveUnavailable as exc:  # Redis away: the next round catches up
                self.failures += 1
                if not away:  # once per outage, not every second
                    log.warning("live state not written: %s; retrying every %.0f s", exc,
                                every_s)
                away += 1
            else:
                if away:
                    log.warning("live state: Redis reachable again after %d failed rounds; "
                                "hashes rewritten", away)
                away = 0
            await asyncio.sleep(every_s)

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.run(), name="live-state-sync")


async def stop(task: asyncio.Task[None]) -> None:
    await cancel_and_wait(task)
