"""Today's figures across a restart (docs/metrics.md, "Restart: what is restored and from
where"). At start, before any event: the last checkpoint of today (or, without one, today's
closed intervals), then what history wrote after it (hotline.history.restore); agent-state
rows a crash left open are closed at the last moment history knows of. While running: a
checkpoint every `every_s` (30 s) and at stop, so a kill -9 loses at most what the rows
written since cannot tell.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from hotline.core.tasks import cancel_and_wait
from hotline.history import restore as history
from hotline.history import unfinished
from hotline.realtime import Metrics
from hotline.realtime.quality import TodayQuality
from hotline.store import checkpoint

log = logging.getLogger("hotline.process.restart")

CHECKPOINT_S = 30.0


@dataclass(frozen=True, slots=True)
class Restored:
    checkpoint_at: float | None  # None: no checkpoint of today
    closed_intervals: int  # today's, as stored
    replayed: int  # counts and state changes from the rows written after it
    rows_closed: int  # agent-state rows left open, now ended at `last_known`
    last_known: float | None

    def describe(self) -> str:
        saved = ("no checkpoint of today" if self.checkpoint_at is None else
                 "checkpoint of " + time.strftime("%H:%M:%S", time.localtime(self.checkpoint_at)))
        return (f"{saved}, {self.closed_intervals} closed intervals, {self.replayed} counts "
                f"and state changes replayed from history, {self.rows_closed} agent-state "
                "rows left open closed")


class FiguresKeeper:
    def __init__(self, pool: asyncpg.Pool, metrics: Metrics, *,
                 clock: Callable[[], float] = time.time, every_s: float = CHECKPOINT_S,
                 name: str = "controller") -> None:
        self.pool, self.metrics, self.clock = pool, metrics, clock
        self.every_s, self.name = every_s, name
        self._task: asyncio.Task[None] | None = None

    async def restore(self) -> Restored:
        """Into the keeper's Metrics, which must not have counted anything yet."""
        now = self.clock()
        config = self.metrics.config
        day = config.day_start(now)
        async with self.pool.acquire() as conn:
            saved = await checkpoint.load(conn, self.name)
            closed = await history.closed_intervals(conn, day, now)
            if saved is not None and not day <= saved["at"] <= now:
                saved = None  # another day's (or a clock gone back): nothing of today
            if saved is not None and closed:
                # intervals closed after the checkpoint's: it is stale (its writes failed)
                after = config.interval_start(config.interval_index(saved["at"]) + 1)
                if max(c.end for c in closed) > after:
                    saved = None
            at = self.metrics.restore(saved, closed)
            seen = await (history.since(conn, day, alive_at_start=False) if at is None
                          else history.since(conn, at))
            self.metrics.replay([*seen.counts, *seen.states])
            rows = await history.close_open_states(conn, seen.last_known)
        done = Restored(saved["at"] if saved else None, len(closed),
                        len(seen.counts) + len(seen.states), rows,
                        seen.last_known if at is not None or seen.counts or seen.states
                        else None)
        log.info("figures restored: %s", done)
        return done

    async def restore_quality(self, quality: TodayQuality, satisfied_to: int,
                              dissatisfied_from: int) -> int:
        """Today's satisfaction, NPS and first-call resolution (the live feed's, before its
        first event) from today's calls and survey answers; how many rows were read."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            calls, answers = await history.today_quality(
                conn, self.metrics.config.day_start(now), now)
        quality.restore(now, calls, answers, satisfied_to, dissatisfied_from)
        return len(calls) + len(answers)

    def start(self) -> None:
        self._task = asyncio.create_task(self._every(), name="figures-checkpoint")

    async def checkpoint(self) -> None:
        state = self.metrics.checkpoint(self.clock())
        await checkpoint.save(self.pool, self.name, state["at"], state)
        await unfinished.purge(self.pool)  # (the open rows a next start would not need)

    async def stop(self) -> None:
        """The periodic checkpoint ends; a last one is written."""
        await self.abandon()
        await self.checkpoint()

    async def abandon(self) -> None:
        """The periodic checkpoint ends, nothing more is written (as after a crash)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.checkpoint()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("metrics checkpoint not written (next in %.0f s): %r",
                            self.every_s, exc)


__all__ = ["CHECKPOINT_S", "FiguresKeeper", "Restored"]
