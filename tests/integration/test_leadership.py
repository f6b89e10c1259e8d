"""The controllers' lease (hotline/store/leadership.py) on a real Redis: exclusive, a
greater epoch each term, renewed only by its holder, a paused holder finds its term over
before it acts, a release lets a standby in at once, and the rule when Redis is down: the
active keeps its term only until the lease runs out (docs/deploy.md, "Two controllers")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.devtools.embedded import EmbeddedRedis
from hotline.store.command_bus import ACTIVE_KEY
from hotline.store.leadership import EPOCH_KEY, Leadership
from hotline.store.live import connect_redis


class Clock:
    """A controller's monotonic clock, moved by hand (a pause, a stall)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(redis_server: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    c = connect_redis(redis_server.url)
    yield c
    await c.aclose()


async def test_one_holder_and_a_greater_epoch_each_term(client: aioredis.Redis) -> None:
    a, b = Leadership(client, "a", ttl_s=5), Leadership(client, "b", ttl_s=5)
    assert await a.try_acquire() and a.leading and a.epoch == 1
    assert not await b.try_acquire() and not b.leading
    assert await client.get(ACTIVE_KEY) == "a"
    assert not await b.renew()  # not its lease: nothing renewed, and b's term (none) is over
    assert await client.get(ACTIVE_KEY) == "a"
    await a.release()
    assert not a.leading and not await client.exists(ACTIVE_KEY)
    c = Leadership(client, "c", ttl_s=5)
    assert await c.try_acquire() and c.epoch == 2
    assert int(await client.get(EPOCH_KEY)) == 2


async def test_a_paused_holder_finds_its_term_over_before_it_acts(
        client: aioredis.Redis) -> None:
    """SIGSTOP longer than the lease: the cached view is false as soon as it runs again (no
    Redis call needed), and its renewal, finding another holder, ends the term for good."""
    clock = Clock()
    old = Leadership(client, "old", ttl_s=1.0, clock=clock)
    assert await old.try_acquire()
    clock.now += 1.5  # paused past its lease
    assert not old.leading
    await client.delete(ACTIVE_KEY)  # (Redis expired it meanwhile)
    new = Leadership(client, "new", ttl_s=1.0)
    assert await new.try_acquire() and new.epoch == old.epoch + 1
    assert not await old.renew() and old.ended and not old.leading
    clock.now -= 1.5
    assert not old.leading  # ended terms never resume
    assert await client.get(ACTIVE_KEY) == "new"


async def test_a_standby_takes_over_when_the_lease_lapses(client: aioredis.Redis) -> None:
    active = Leadership(client, "active", ttl_s=0.6)
    assert await active.try_acquire()
    standby = Leadership(client, "standby", ttl_s=0.6, poll_s=0.05)
    run = asyncio.create_task(standby.run())
    try:
        await asyncio.sleep(0)
        assert not standby.elected.is_set()
        # the active dies (kill -9): no more renewals; the standby is elected within the ttl
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with asyncio.timeout(3):
            await standby.elected.wait()
        assert loop.time() - began < 0.6 + 0.2
        assert standby.epoch == active.epoch + 1 and standby.leading
        async with asyncio.timeout(2):  # and it keeps renewing
            while loop.time() - began < 1.5:
                await asyncio.sleep(0.1)
                assert standby.leading
    finally:
        run.cancel()


async def test_redis_down_the_active_keeps_its_term_only_until_the_lease_runs_out(
        redis_server: EmbeddedRedis) -> None:
    client = connect_redis(redis_server.url)
    term = Leadership(client, "active", ttl_s=1.0)
    run = asyncio.create_task(term.run())
    try:
        async with asyncio.timeout(3):
            await term.elected.wait()
        await asyncio.to_thread(redis_server.stop)
        loop = asyncio.get_running_loop()
        gone = loop.time()
        assert term.leading  # routing goes on while the lease may still be ours
        async with asyncio.timeout(5):
            await term.lost.wait()
        assert loop.time() - gone <= 1.0 + 0.3
        assert not term.leading and "Redis unreachable" in term.why_lost
        await asyncio.wait_for(run, 3)  # the term is over: run returns
    finally:
        run.cancel()
        await client.aclose()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["acquire", "renew", "release", "expire"]),
                          st.integers(0, 2)), max_size=25))
async def test_property_one_leader_and_epochs_only_grow(
        client: aioredis.Redis, steps: list[tuple[str, int]]) -> None:
    """Whatever the order of acquisitions, renewals, releases and expiries (the key gone
    while its holder's clock had moved past its term), at most one candidate leads and each
    election's epoch is greater than every earlier one."""
    await client.delete(ACTIVE_KEY, EPOCH_KEY)
    clocks = [Clock() for _ in range(3)]
    who = [Leadership(client, f"c{i}", ttl_s=5, clock=clocks[i]) for i in range(3)]
    epochs: list[int] = []
    for action, i in steps:
        candidate = who[i]
        if action == "acquire":
            if candidate.ended or candidate.epoch:  # a stepped-down one starts afresh
                who[i] = candidate = Leadership(client, f"c{i}x{len(epochs)}", ttl_s=5,
                                                clock=clocks[i])
            if await candidate.try_acquire():
                epochs.append(candidate.epoch)
        elif action == "renew" and candidate.epoch:
            await candidate.renew()
        elif action == "release" and candidate.epoch:
            await candidate.release()
        elif action == "expire":  # the holder stalled past its lease, and Redis expired it
            holder = await client.get(ACTIVE_KEY)
            for c, clock in zip(who, clocks, strict=True):
                if c.name == holder:
                    clock.now += 6
            await client.delete(ACTIVE_KEY)
        assert sum(c.leading for c in who) <= 1
        holder = await client.get(ACTIVE_KEY)
        assert all(c.name == holder for c in who if c.leading)
    assert epochs == sorted(set(epochs))


async def test_redis_down_the_sole_controller_keeps_its_term(
        redis_server: EmbeddedRedis) -> None:
    """The only controller the nodes know (no standby address in the dialplan) goes on
    routing through a Redis outage: nobody else could take its callers. When Redis is back
    it takes the expired lease again with the same epoch."""
    client = connect_redis(redis_server.url)
    term = Leadership(client, "sole", ttl_s=1.0, sole=True)
    run = asyncio.create_task(term.run())
    try:
        async with asyncio.timeout(3):
            await term.elected.wait()
        epoch = term.epoch
        await asyncio.to_thread(redis_server.stop)
        await asyncio.sleep(2.5)  # more than two lease lifetimes away (an outage, not a wait)
        assert term.leading and not term.lost.is_set()
        await asyncio.to_thread(redis_server.start)
        async with asyncio.timeout(10):
            # Redis polled: there is no event to wait on
            while await client.get(ACTIVE_KEY) != "sole":  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        assert term.leading and term.epoch == epoch
        assert int(await client.get(EPOCH_KEY)) == epoch
    finally:
        run.cancel()
        await client.aclose()
