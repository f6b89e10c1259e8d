"""Redis as a Sentinel-managed pair (docs/deploy.md, "Stores"): real processes (a primary, a
replica, three sentinels), the platform's own Redis users on a `redis+sentinel://` URL, and
the primary killed (SIGKILL) under traffic. Every command succeeds or gets the bus's 503
`controller-unavailable`, every live-state write succeeds or raises `LiveUnavailable`, none
hangs; after the failover everything goes to the promoted replica."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis

from hotline.core.tasks import cancel_and_wait
from hotline.store.command_bus import (
    ACTIVE_KEY,
    STREAM,
    CommandBus,
    CommandRefused,
    CommandServer,
    ControllerUnavailable,
)
from hotline.store.live import LiveBus, LiveState, LiveUnavailable, connect_redis, queue_key
from tests.helpers.sentinel import SentinelPair, sentinel_pair
from tests.helpers.store import store_tmpdir
from tests.helpers.waiting import wait_for

DEADLINE_S = 2.0  # the bus's deadline for each command
#: A call not back by then hangs: its deadline, and the client's bounded retries on top
HANG_S = DEADLINE_S + 1.5


@pytest.fixture
def pair() -> Iterator[SentinelPair]:
    base = store_tmpdir("hotline-sentinel-")
    with sentinel_pair(base) as p:
        yield p
    shutil.rmtree(base, ignore_errors=True)


@dataclass
class Outcome:
    start: float
    end: float
    kind: str  # "ok", "unavailable" (the documented error) or anything else: a failure
    n: int


@dataclass
class Traffic:
    """One operation after another until stopped, each bounded by HANG_S."""

    op: Callable[[int], Awaitable[None]]
    expected: type[Exception]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)  # ends after the current op

    async def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            start = time.monotonic()
            try:
                async with asyncio.timeout(HANG_S):
                    await self.op(n)
                kind = "ok"
            except TimeoutError:
                kind = "hang"
            except self.expected:
                kind = "unavailable"
            except Exception as exc:
                kind = repr(exc)
            self.outcomes.append(Outcome(start, time.monotonic(), kind, n))
            await asyncio.sleep(0.01)  # a pace, not a wait for a condition

    def ok_after(self, t: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == "ok" and o.start > t]


async def test_failover_under_traffic(pair: SentinelPair) -> None:
    url = pair.url
    clients = [connect_redis(url) for _ in range(3)]
    controller_side, api_side, live_side = clients
    executed: list[int] = []

    async def execute(command: str, args: dict[str, Any]) -> Any:
        executed.append(int(args["n"]))
        return {"n": args["n"]}

    server = CommandServer(controller_side, execute, lease_s=3.0)
    bus = CommandBus(api_side, deadline_s=DEADLINE_S)
    live = LiveState(live_side)
    feed = LiveBus(url, backoff=(0.05, 0.5))
    heard: list[tuple[float, dict[str, Any]]] = []

    async def command(n: int) -> None:
        try:
            assert await bus.call("agent_command", {"n": n}) == {"n": n}
        except CommandRefused as exc:  # refused unexecuted, unreplicated: the same 503
            if (exc.status, exc.error_id) != (503, ControllerUnavailable.error_id):
                raise
            raise ControllerUnavailable(exc.message) from exc

    async def write(n: int) -> None:
        await live.set_queue("q", {"n": n})
        with contextlib.suppress(LiveUnavailable):  # the feed's own loss: not measured here
            await feed.publish({"n": n})

    async def listen() -> None:
        async for delta in feed.subscribe():
            heard.append((time.monotonic(), delta))

    commands, writes = Traffic(command, ControllerUnavailable), Traffic(write, LiveUnavailable)
    await server.ensure_group()
    await server.renew_lease()
    traffic = [asyncio.create_task(t.run()) for t in (commands, writes)]
    tasks = [asyncio.create_task(c) for c in (server.run(), listen())]
    try:
        await wait_for(lambda: len(commands.ok_after(0)) >= 20 and len(writes.ok_after(0)) >= 20
                       and heard, 15, "traffic flowing before the failover")
        killed = time.monotonic()
        pair.primary.kill()
        promoted = await pair.wait_master(pair.replica.port, 30)
        await wait_for(lambda: len(commands.ok_after(promoted)) >= 20
                       and len(writes.ok_after(promoted)) >= 20
                       and any(t > promoted and "n" in d for t, d in heard), 20,
                       "commands, live writes and the feed going on after the failover")
    finally:
        for t in (commands, writes):
            t.stop.set()
        async with asyncio.timeout(HANG_S + 1):  # each op is bounded: the last one ends
            await asyncio.gather(*traffic)
        for task in tasks:
            await cancel_and_wait(task)
        await feed.close()
        for c in clients:
            await c.aclose()

    # the promoted replica holds what was written after the failover
    promoted_client = aioredis.Redis(port=pair.replica.port, decode_responses=True)
    try:
        role = await promoted_client.execute_command("ROLE")
        assert role[0] == "master"
        last = max(o.n for o in writes.outcomes if o.kind == "ok")
        assert await promoted_client.hget(queue_key("q"), "n") == str(last)
    finally:
        await promoted_client.aclose()

    for traffic in (commands, writes):
        kinds = {o.kind for o in traffic.outcomes}
        assert kinds <= {"ok", "unavailable"}, kinds  # never a hang, never another error
        assert max(o.end - o.start for o in traffic.outcomes) < HANG_S
        failed = [o for o in traffic.outcomes if o.kind != "ok"]
        # errors only around the failover
        assert all(killed - HANG_S < o.start < promoted + HANG_S for o in failed), failed
    # every command that succeeded ran exactly once
    ok = [o.n for o in commands.outcomes if o.kind == "ok"]
    assert len(executed) == len(set(executed))
    assert set(ok) <= set(executed)

    first_ok = min(o.end for o in commands.ok_after(killed))
    print(f"\nsentinel failover: promoted {promoted - killed:.2f} s after the kill; "
          f"first command ok {first_ok - killed:.2f} s after; "
          f"commands 503: {sum(o.kind != 'ok' for o in commands.outcomes)}, "
          f"live writes unavailable: {sum(o.kind != 'ok' for o in writes.outcomes)}, "
          f"longest command {max(o.end - o.start for o in commands.outcomes):.2f} s")


async def test_no_command_runs_before_a_replica_has_its_mark(pair: SentinelPair) -> None:
    """A command's `done` marker (and the read before it) must be on the replica before the
    controller executes it: else a failover could lose them and the promoted replica hand
    the same entry out again (a second execution). With the replica frozen, the command is
    refused with the bus's 503, unexecuted; once it answers, commands run again."""
    controller_side, api_side = connect_redis(pair.url), connect_redis(pair.url)
    executed: list[int] = []

    async def execute(command: str, args: dict[str, Any]) -> Any:
        executed.append(int(args["n"]))
        return {"n": args["n"]}

    server = CommandServer(controller_side, execute)
    bus = CommandBus(api_side, deadline_s=DEADLINE_S)
    await server.ensure_group()
    task = asyncio.create_task(server.run())
    try:
        assert await bus.call("agent_command", {"n": 1}) == {"n": 1}
        pair.replica.pause()
        try:
            with pytest.raises(CommandRefused) as refused:
                await bus.call("agent_command", {"n": 2})
        finally:
            pair.replica.resume()
        assert (refused.value.status, refused.value.error_id) == (503, "controller-unavailable")
        assert executed == [1]
        assert await bus.call("agent_command", {"n": 3}) == {"n": 3}
        assert executed == [1, 3]
        assert server.unreplicated == 1
    finally:
        await cancel_and_wait(task)
        await controller_side.aclose()
        await api_side.aclose()


async def test_a_command_sent_before_the_failover_is_answered_after_it(
        pair: SentinelPair) -> None:
    """An entry the old master had replicated but no controller had read yet is read from the
    promoted replica and executed within its deadline: the asker must wait for that reply
    through the failover, not answer 503 at the lost connection (the bus's "never late": a
    command is never executed after its asker said 503)."""
    api_side = connect_redis(pair.url)
    direct = aioredis.Redis(port=pair.primary.port, decode_responses=True)
    replica = aioredis.Redis(port=pair.replica.port, decode_responses=True)
    executed: list[int] = []

    async def execute(command: str, args: dict[str, Any]) -> Any:
        executed.append(int(args["n"]))
        return {"n": args["n"]}

    bus = CommandBus(api_side, deadline_s=15)
    server: asyncio.Task[None] | None = None
    try:
        # a controller's group and lease, but none reading yet
        await CommandServer(direct, execute, lease_s=60).ensure_group()
        await direct.set(ACTIVE_KEY, "gone", px=60_000)
        call = asyncio.create_task(bus.call("agent_command", {"n": 1}))
        await wait_for(lambda: replica.xlen(STREAM), 5, "the entry on the replica")
        pair.primary.kill()
        await pair.wait_master(pair.replica.port, 30)
        controller_side = connect_redis(pair.url)
        server = asyncio.create_task(CommandServer(controller_side, execute).run())
        assert await call == {"n": 1}
        assert executed == [1]
    finally:
        await cancel_and_wait(server)
        for client in (api_side, direct, replica):
            await client.aclose()
        if server is not None:
            await controller_side.aclose()
