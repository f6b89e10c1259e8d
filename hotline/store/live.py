"""Live state in Redis (redis.asyncio; every client from `redis_client.connect_redis`).

Layout:
- `hl:queue:<name>` and `hl:agent:<id>`: one hash each, field values JSON-encoded so numbers,
  booleans and None come back as they went in; the sets `hl:queues` / `hl:agents` index them,
  so a snapshot needs no SCAN.
- `hl:live`: a pub/sub channel of JSON deltas, so every API node can fan updates out to its own
  websockets.

Redis pub/sub keeps nothing for a subscriber that was away. So `LiveBus.subscribe()` reconnects
and resubscribes by itself after a lost connection (a Redis restart), with backoff, and then
yields `RESYNC` ({"type": "resync"}): the consumer must reread `LiveState.snapshot()`, since
deltas published during the gap are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.store.redis_client import connect_redis

log = logging.getLogger("hotline.store.live")

CHANNEL = "hl:live"
QUEUES, AGENTS = "hl:queues", "hl:agents"
RESYNC: dict[str, Any] = {"type": "resync"}
_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, TimeoutError)


class LiveUnavailable(RuntimeError):
    """Redis could not be reached."""


def queue_key(name: str) -> str:
    return f"hl:queue:{name}"


def agent_key(agent_id: str) -> str:
    return f"hl:agent:{agent_id}"


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    queues: dict[str, dict[str, Any]]
    agents: dict[str, dict[str, Any]]


def _encode(fields: Mapping[str, Any]) -> dict[str, str]:
    if not fields:
        raise ValueError("no fields to set")
    return {str(k): json.dumps(v, allow_nan=False) for k, v in fields.items()}


def _decode(raw: Mapping[str, str]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in raw.items()}


class LiveState:
    """Per-queue and per-agent hashes. Every operation is idempotent, so one that meets a
    dropped connection (a Redis restart) is retried; `LiveUnavailable` if Redis stays away."""

    def __init__(self, client: aioredis.Redis, attempts: int = 3) -> None:
        self.client = client
        self.attempts = attempts

    async def set_queue(self, name: str, fields: Mapping[str, Any]) -> None:
        await self._set(QUEUES, queue_key(name), name, fields)

    async def set_agent(self, agent_id: str, fields: Mapping[str, Any]) -> None:
        await self._set(AGENTS, agent_key(agent_id), agent_id, fields)

    async def remove_agent(self, agent_id: str) -> None:
        await self._pipeline(lambda p: p.delete(agent_key(agent_id)).srem(AGENTS, agent_id))

    async def _set(self, index: str, key: str, member: str, fields: Mapping[str, Any]) -> None:
        encoded = _encode(fields)
        await self._pipeline(lambda p: p.hset(key, mapping=encoded).sadd(index, member))

    async def _pipeline(self, build: Callable[[Pipeline], object],
                        transaction: bool = True) -> list[Any]:
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.client.pipeline(transaction=transaction) as pipe:
                    build(pipe)
                    return list(await pipe.execute())
            except _LOST as exc:
                if attempt == self.attempts:
                    raise LiveUnavailable(f"Redis unavailable: {exc}") from exc
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    async def snapshot(self) -> LiveSnapshot:
        queues, agents = await self._pipeline(lambda p: p.smembers(QUEUES).smembers(AGENTS),
                                              transaction=False)
        queues, agents = sorted(queues), sorted(agents)

        def reads(p: Pipeline) -> None:
            for name in queues:
                p.hgetall(queue_key(name))
            for agent_id in agents:
                p.hgetall(agent_key(agent_id))

        raw = await self._pipeline(reads, transaction=False) if queues or agents else []
        return LiveSnapshot(
            queues={n: _decode(h) for n, h in zip(queues, raw[: len(queues)], strict=True)},
            agents={a: _decode(h) for a, h in zip(agents, raw[len(queues):], strict=True)},
        )


class LiveBus:
    """JSON deltas over one pub/sub channel, for every node that subscribes."""

    def __init__(self, url: str, channel: str = CHANNEL,
                 backoff: tuple[float, float] = (0.05, 2.0)) -> None:
        self.url = url
        self.channel = channel
        self.backoff = backoff
        self._publisher = connect_redis(url)
        self.reconnects = 0  # subscriptions re-established after a lost connection

    async def publish(self, delta: Mapping[str, Any]) -> int:
        """Sends a delta; returns how many subscribers (connections) received it."""
        message = json.dumps(delta, allow_nan=False, separators=(",", ":"))
        try:
            return int(await self._publisher.publish(self.channel, message))
        except _LOST as exc:
            raise LiveUnavailable(f"cannot publish to {self.channel}: {exc}") from exc

    async def subscribe(self, ready: asyncio.Event | None = None) -> AsyncIterator[dict[str, Any]]:
        """Deltas as they arrive, forever; `RESYNC` after each reconnection. `ready` is set
        whenever the subscription is (re)established."""
        client = connect_redis(self.url, retries=0)  # our loop, not redis-py, reconnects
        delay, first = self.backoff[0], True
        try:
            while True:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.channel)
                    if ready is not None:
                        ready.set()
                    if not first:
                        self.reconnects += 1
                        log.warning("live bus resubscribed to %s", self.channel)
                        yield dict(RESYNC)
                    first, delay = False, self.backoff[0]
                    while True:
                        msg = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=1.0)
                        if msg is not None and msg["type"] == "message":
                            delta = _parse(msg["data"])
                            if delta is not None:
                                yield delta
                except _LOST as exc:
                    if ready is not None:
                        ready.clear()
                    log.warning("live bus lost Redis (%s); retry in %.2fs", exc, delay)
                    first = False
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff[1])
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def close(self) -> None:
        await self._publisher.aclose()


class FanoutBackend:
    """The `hotline.realtime.fanout.Backend` protocol over Redis pub/sub, reconnecting by
    itself: after a lost connection it resubscribes and delivers `RESYNC` (as JSON text) on
    each subscribed channel, so every local subscriber rereads its snapshot."""

    def __init__(self, url: str, backoff: tuple[float, float] = (0.05, 2.0)) -> None:
        self.backoff = backoff
        # one retry: a connection Redis dropped (a restart) is replaced at once; beyond
        # that the Fanout delivers locally rather than wait (realtime/fanout.py)
        self._publisher = connect_redis(url, retries=1)
        self._listener = connect_redis(url, retries=0)
        self._lost = False  # the subscription was lost and is not back yet
        self._pubsub: Any = None
        self._channels: list[str] = []
        self._pending: list[tuple[str, str]] = []

    async def connect(self) -> None:
        try:
            await self._publisher.ping()
        except _LOST as exc:
            raise LiveUnavailable(f"Redis unavailable: {exc}") from exc

    async def disconnect(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        await self._listener.aclose()
        await self._publisher.aclose()

    async def subscribe(self, channel: str) -> None:
        self._channels.append(channel)
        if self._pubsub is None:
            self._pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        try:
            await self._publisher.publish(channel, message)
        except _LOST as exc:
            raise LiveUnavailable(f"cannot publish to {channel}: {exc}") from exc

    async def next_message(self) -> tuple[str, str]:
        delay = self.backoff[0]
        while not self._pending:
            try:
                if self._pubsub is None:
                    self._pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
                    await self._pubsub.subscribe(*self._channels)
                    if self._lost:
                        self._lost = False
                        log.warning("fan-out: Redis reachable again, resubscribed")
                    resync = json.dumps(RESYNC)
                    self._pending.extend((c, resync) for c in self._channels)
                    continue
                msg = await self._pubsub.get_message(ignore_subscribe_messages=True,
                                                     timeout=1.0)
                if msg is not None and msg["type"] == "message":
                    return msg["channel"], msg["data"]
            except _LOST as exc:
                if not self._lost:  # once per outage, not at every retry
                    log.warning("fan-out lost Redis (%s); retrying every %.2f-%.2f s", exc,
                                *self.backoff)
                self._lost = True
                pubsub, self._pubsub = self._pubsub, None
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
        return self._pending.pop(0)


def _parse(data: str) -> dict[str, Any] | None:
    """A delta, or None (logged) for a message that is not a JSON object."""
    try:
        delta = json.loads(data)
    except ValueError:
        delta = None
    if not isinstance(delta, dict):
        log.error("ignored a message on the live bus that is not a JSON object: %.200r", data)
        return None
    return delta


__all__ = [
    "AGENTS",
    "CHANNEL",
    "QUEUES",
    "RESYNC",
    "FanoutBackend",
    "LiveBus",
    "LiveSnapshot",
    "LiveState",
    "LiveUnavailable",
    "agent_key",
    "connect_redis",
    "queue_key",
]
