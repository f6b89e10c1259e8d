"""The command bus over a real Redis (hotline/store/command_bus.py, docs/command-bus.md):
request and reply, the deadline, a dead consumer's entry reclaimed, bad entries refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from hotline.core.tasks import cancel_and_wait
from hotline.devtools.embedded import EmbeddedRedis
from hotline.store.command_bus import (
    ACTIVE_KEY,
    GROUP,
    STREAM,
    CommandBus,
    CommandRefused,
    CommandServer,
    ControllerUnavailable,
    reply_key,
)
from hotline.store.live import connect_redis
from tests.helpers.waiting import wait_for


@pytest.fixture
async def client(redis_server: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    c = connect_redis(redis_server.url)
    yield c
    await c.aclose()


class Executor:
    """A stand-in for the controller: records what it executed."""

    def __init__(self) -> None:
        self.done: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, command: str, args: dict[str, Any]) -> Any:
        self.done.append((command, args))
        if command == "boom":
            raise RuntimeError("a bug")
        if command == "refuse":
            raise CommandRefused(409, "illegal-transition", "agent a1 is ready: cannot ready",
                                 {"agent_id": "a1"})
        return {"echo": args}


async def acked(client: aioredis.Redis) -> None:
    """Every entry acked (the consumer replies first, then acks)."""
    async def nothing_pending() -> bool:
        return (await client.xpending(STREAM, GROUP))["pending"] == 0

    await wait_for(nothing_pending, 5, "every entry acked")


async def serving(server: CommandServer) -> asyncio.Task[None]:
    await server.ensure_group()
    await server.renew_lease()
    return asyncio.create_task(server.run())


async def test_request_and_reply(client: aioredis.Redis) -> None:
    executor = Executor()
    task = await serving(CommandServer(client, executor))
    try:
        bus = CommandBus(client, deadline_s=5)
        assert await bus.call("agent_command", {"agent_id": "a1"}) == {"echo": {"agent_id": "a1"}}
        with pytest.raises(CommandRefused) as refused:
            await bus.call("refuse")
        assert (refused.value.status, refused.value.error_id) == (409, "illegal-transition")
        assert refused.value.details == {"agent_id": "a1"}
        with pytest.raises(CommandRefused) as failed:  # a bug: 500, and the consumer goes on
            await bus.call("boom")
        assert (failed.value.status, failed.value.error_id) == (500, "internal-error")
        assert await bus.call("agent_command", {"n": 2}) == {"echo": {"n": 2}}
        await acked(client)
    finally:
        await cancel_and_wait(task)


async def test_no_controller_is_503_at_once(client: aioredis.Redis) -> None:
    bus = CommandBus(client, deadline_s=5)
    started = time.monotonic()
    with pytest.raises(ControllerUnavailable) as unavailable:
        await bus.call("agent_command", {"agent_id": "a1"})
    assert time.monotonic() - started < 1
    assert unavailable.value.error_id == "controller-unavailable"
    assert "no controller is active" in unavailable.value.message
    assert "deadline of 5 s" in unavailable.value.message
    assert not await client.exists(STREAM)  # nothing was sent


async def test_no_reply_by_the_deadline_is_503_and_the_late_command_is_dropped(
        client: aioredis.Redis) -> None:
    """A controller holds the lease but does not read (stalled): 503 at the deadline; when it
    reads the entry afterwards, the command is dropped, never executed late."""
    executor = Executor()
    server = CommandServer(client, executor, claim_idle_s=60)
    await server.ensure_group()
    await server.renew_lease()
    bus = CommandBus(client, deadline_s=0.5)
    started = time.monotonic()
    with pytest.raises(ControllerUnavailable) as unavailable:
        await bus.call("agent_command", {"agent_id": "a1"})
    waited = time.monotonic() - started
    assert 0.4 <= waited < 1.5
    assert "no controller answered" in unavailable.value.message
    assert unavailable.value.details == {"command": "agent_command", "deadline_s": 0.5}
    assert await server.serve_once() == 1
    assert executor.done == [] and server.expired == 1
    assert (await client.xpending(STREAM, GROUP))["pending"] == 0


async def test_a_dead_consumers_pending_entry_is_reclaimed(client: aioredis.Redis) -> None:
    """A consumer reads an entry and dies before acking it: another takes it over and
    executes it once; the asker gets its reply."""
    dead = CommandServer(client, Executor(), name="dead")
    await dead.ensure_group()
    await dead.renew_lease()
    bus = CommandBus(client, deadline_s=10)
    asking = asyncio.create_task(bus.call("agent_command", {"agent_id": "a7"}))
    read: list[Any] = []
    while not read:  # the dead one reads it (and never handles it)
        read = await client.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=1, block=200)
    assert (await client.xpending(STREAM, GROUP))["consumers"] == [
        {"name": "dead", "pending": 1}]
    executor = Executor()
    alive = CommandServer(client, executor, name="alive", claim_idle_s=0.3)
    task = asyncio.create_task(alive.run())
    try:
        assert await asyncio.wait_for(asking, 5) == {"echo": {"agent_id": "a7"}}
        assert executor.done == [("agent_command", {"agent_id": "a7"})]
        await acked(client)
    finally:
        await cancel_and_wait(task)


async def test_an_entry_begun_by_a_dead_consumer_is_not_run_twice(
        client: aioredis.Redis) -> None:
    executor = Executor()
    server = CommandServer(client, executor, name="second", claim_idle_s=60)
    await server.ensure_group()
    fields = {"id": "ab" * 16, "command": "agent_command", "args": "{}",
              "deadline": repr(time.time() + 10)}
    await server.handle_entry("0-1", fields)
    await server.handle_entry("0-1", fields)  # the same request id again (a reclaim)
    assert len(executor.done) == 1 and server.duplicates == 1


@pytest.mark.parametrize(("fields", "error"), [
    ({"id": "cd" * 16, "command": "agent_command", "args": "not json",
      "deadline": "9e99"}, "arguments are not JSON"),
    ({"id": "cd" * 16, "command": "agent_command", "args": "[1]",
      "deadline": "9e99"}, "arguments are not a JSON object"),
    ({"id": "cd" * 16, "command": "Drop Table", "args": "{}",
      "deadline": "9e99"}, "is not a command name"),
    ({"id": "cd" * 16, "command": "agent_command", "args": "{}",
      "deadline": "soon"}, "the deadline is not a number"),
    ({"id": "cd" * 16, "command": "agent_command", "args": "{}",
      "deadline": "nan"}, "the deadline is not finite"),
    ({"id": "cd" * 16, "command": "agent_command", "args": "{}"},
     "the deadline is not a number"),
])
async def test_bad_entries_are_answered_and_acked(
        client: aioredis.Redis, fields: dict[str, str], error: str) -> None:
    executor = Executor()
    task = await serving(CommandServer(client, executor))
    try:
        await client.xadd(STREAM, fields)
        got = await client.blpop([reply_key("cd" * 16)], timeout=5)
        assert got is not None
        reply = json.loads(got[1])
        assert reply["ok"] is False
        assert reply["error"]["status"] == 422
        assert reply["error"]["id"] == "invalid-command"
        assert error in reply["error"]["message"]
        assert executor.done == []
        await acked(client)
    finally:
        await cancel_and_wait(task)


async def test_an_entry_without_a_usable_id_is_acked_and_the_consumer_goes_on(
        client: aioredis.Redis) -> None:
    executor = Executor()
    task = await serving(CommandServer(client, executor))
    try:
        await client.xadd(STREAM, {"id": "../../etc", "command": "agent_command"})
        await client.xadd(STREAM, {"junk": "x"})
        bus = CommandBus(client, deadline_s=5)
        assert await bus.call("agent_command", {"ok": 1}) == {"echo": {"ok": 1}}
        assert executor.done == [("agent_command", {"ok": 1})]
        await acked(client)
        assert await client.keys("hl:cmd:reply:..*") == []
    finally:
        await cancel_and_wait(task)


async def test_the_lease_is_released_at_a_clean_stop(client: aioredis.Redis) -> None:
    server = CommandServer(client, Executor(), name="one")
    await server.renew_lease()
    other = CommandServer(client, Executor(), name="other")
    await other.release_lease()  # not its lease: kept
    assert await client.get(ACTIVE_KEY) == "one"
    await server.release_lease()
    assert not await client.exists(ACTIVE_KEY)


def test_call_refuses_bad_values_before_sending() -> None:
    bus = CommandBus(None, deadline_s=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="deadline"):
        asyncio.run(bus.call("agent_command", deadline_s=0))
    with pytest.raises(ValueError, match="command name"):
        asyncio.run(bus.call("Bad Name"))


async def test_the_consumer_outlives_a_redis_restart(
        client: aioredis.Redis, redis_server: EmbeddedRedis) -> None:
    """Redis restarts under a serving consumer: while it is away commands answer 503; once
    it is back (same port, its AOF) the consumer serves again by itself."""
    executor = Executor()
    server = CommandServer(client, executor, lease_s=3)
    task = await serving(server)
    try:
        bus = CommandBus(client, deadline_s=2)
        assert await bus.call("agent_command", {"n": 1}) == {"echo": {"n": 1}}
        await asyncio.to_thread(redis_server.stop)
        with pytest.raises(ControllerUnavailable) as away:
            await bus.call("agent_command", {"n": 2})
        assert "Redis unreachable" in away.value.message
        await asyncio.to_thread(redis_server.start)

        async def served_again() -> bool:
            try:
                return await bus.call("agent_command", {"n": 3}) == {"echo": {"n": 3}}
            except ControllerUnavailable:
                return False

        assert await wait_for(served_again, 15, "the consumer serving after the restart")
        assert ("agent_command", {"n": 2}) not in executor.done
    finally:
        await cancel_and_wait(task)
