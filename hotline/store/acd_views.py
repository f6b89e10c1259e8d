"""The controller's agent views in Redis, for API processes without a controller
(docs/command-bus.md): one hash `hl:acd:agents`, agent id -> a JSON record (the agent as the
router sees it, its desk: the last state change and the current call), written by the
controller on every change and in full every few seconds. A record says how recent it is;
whether a controller is active at all is its lease (command_bus.ACTIVE_KEY), read in the same
round trip."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.store.command_bus import ACTIVE_KEY

AGENTS_KEY = "hl:acd:agents"
_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


class ViewsUnavailable(RuntimeError):
    """Redis could not be reached."""


@dataclass
class AcdViews:
    client: aioredis.Redis

    async def publish(self, records: Mapping[str, Mapping[str, Any]],
                      gone: Iterable[str] = ()) -> None:
        """Writes these agents' records (and removes `gone`) in one transaction."""
        gone = list(gone)
        if not records and not gone:
            return
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                if records:
                    pipe.hset(AGENTS_KEY, mapping={k: json.dumps(v, allow_nan=False)
                                                   for k, v in records.items()})
                if gone:
                    pipe.hdel(AGENTS_KEY, *gone)
                await pipe.execute()
        except _LOST as exc:
            raise ViewsUnavailable(str(exc)) from None

    async def known(self) -> list[str]:
        try:
            return list(await self.client.hkeys(AGENTS_KEY))
        except _LOST as exc:
            raise ViewsUnavailable(str(exc)) from None

    async def agent(self, agent_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(a controller is active, the agent's record or None)."""
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.exists(ACTIVE_KEY)
                pipe.hget(AGENTS_KEY, agent_id)
                active, raw = await pipe.execute()
        except _LOST as exc:
            raise ViewsUnavailable(str(exc)) from None
        return bool(active), (json.loads(raw) if raw is not None else None)

    async def agents(self) -> tuple[bool, list[dict[str, Any]]]:
        """(a controller is active, every agent's record in the router's order)."""
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.exists(ACTIVE_KEY)
                pipe.hvals(AGENTS_KEY)
                active, raws = await pipe.execute()
        except _LOST as exc:
            raise ViewsUnavailable(str(exc)) from None
        records = [json.loads(r) for r in raws]
        records.sort(key=lambda r: (r.get("order", 0), r.get("agent_id", "")))
        return bool(active), records


__all__ = ["AGENTS_KEY", "AcdViews", "ViewsUnavailable"]
