"""Abuse of the live socket, on both servers (the ASGI /ws/live and the dedicated server of
api/live_broadcast.py), issue #14: a client that floods subscribe frames and reads nothing
(item 2), who sees which agent rows (item 5), and a token with a non-ASCII signature."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hotline.api import Services
from hotline.api.live_rules import FORBIDDEN, TOO_MANY, UNAUTHORIZED
from hotline.api.security import Role
from hotline.core.events import AgentStateChanged, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from tests.helpers.live import Server, client_frame, frames, recv, serve, stuck_client
from tests.helpers.servers import fast_hasher

FAST_HASH = fast_hasher()
LIMIT = 16_384  # the dedicated server's buffer limit in these tests
AGENTS = [f"a{n}" for n in range(40)]  # enough rows for a snapshot of several KiB


@pytest.fixture(params=["asgi", "broadcast"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    services = Services.build(hasher=FAST_HASH)
    services.seed_users = False
    async for s in serve(services, request.param, buffer_limit=LIMIT):
        yield s


def agent_state(agent: str, new: AgentState, reason: str = "", call: str = "") -> AgentStateChanged:
    return AgentStateChanged(time.time(), agent_id=agent, old=AgentState.LOGGED_OUT, new=new,
                             reason=reason, call_id=call)


async def floor(server: Server) -> None:
    """Agents logged in (a0 on a call) and one caller waiting, published."""
    feed = server.services.live
    for n, agent in enumerate(AGENTS):
        feed.set_agent_queues(agent, ["billing"])
        feed.on_item(agent_state(agent, AgentState.ON_CALL if n == 0 else AgentState.READY,
                                 call="c-a0" if n == 0 else ""))
    feed.on_item(CallQueued(time.time(), call_id="c1", queue="billing",
                            service=ServiceType.BILLING))
    await feed.flush()


# ---- item 2: a subscribe flood from a client that reads nothing


async def test_subscribe_flood_from_a_non_reader_stays_bounded_and_closes(server: Server) -> None:
    await floor(server)
    snapshot = len(server.services.source.snapshot(None))
    assert snapshot > 2_000
    port = int(server.url.rsplit(":", 1)[1])
    sock = stuck_client(port, server.token(Role.SUPERVISOR))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    frame = client_frame(json.dumps({"type": "subscribe", "queues": None}))
    most = 0
    try:
        async with asyncio.timeout(3):
            while not server.clients():  # noqa: ASYNC110 (a count, no event)
                await asyncio.sleep(0.01)
        async with asyncio.timeout(20):
            for _ in range(100):  # 10,000 subscribes, 100 at a time
                await loop.sock_sendall(sock, frame * 100)
                await asyncio.sleep(0.002)  # the server reads them and answers
                most = max([most, *server.buffered()])
        # One snapshot over the limit at most (the dedicated server's 16 KiB, or the ASGI
        # server's transport high-water mark, 64 KiB), never 10,000 snapshots.
        assert most <= 64 * 1024 + 2 * snapshot, most
        buf = bytearray()
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(10):  # it reads again: the socket was closed for the flood
            while not got or "close" not in got[-1]:
                data = await loop.sock_recv(sock, 65536)
                assert data, "the server hung up without a close frame"
                buf += data
                if b"\r\n\r\n" in buf and buf.startswith(b"HTTP/"):
                    del buf[: buf.find(b"\r\n\r\n") + 4]
                got += frames(buf)
        assert got[-1]["close"] == TOO_MANY, got[-1]
        assert "too many messages" in got[-1]["reason"]
        assert sum(1 for m in got if m.get("type") == "snapshot") <= 30
    finally:
        sock.close()


async def test_a_page_that_renews_its_token_now_and_then_is_not_throttled(server: Server) -> None:
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        await recv(ws)
        for _ in range(9):  # with the subscribe below: within the burst (20)
            await ws.send(json.dumps({"type": "token", "token": server.token()}))
            await ws.send(json.dumps({"type": "ping"}))
        await ws.send(json.dumps({"type": "subscribe", "queues": None}))
        async with asyncio.timeout(3):
            while (await recv(ws))["type"] != "snapshot":
                pass


# ---- item 5: the feed scoped by role


async def watch(server: Server, token: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(f"{server.url}/ws/live?token={token}")
    return ws, await recv(ws)


async def deltas_until(ws: ClientConnection, seq: int) -> list[dict[str, Any]]:
    """Every message up to the one carrying `seq` (messages may be merged)."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(3):
        while not out or out[-1]["seq"] < seq:
            out.append(json.loads(await ws.recv()))
    return out


def counts(by_state: dict[str, int]) -> dict[str, int]:
    return {state: n for state, n in by_state.items() if n}


def rows_seen(messages: list[dict[str, Any]]) -> set[str]:
    return {a for m in messages for a in m["data"].get("agents", {})}


async def test_each_role_sees_only_its_agent_rows(server: Server) -> None:
    await floor(server)
    feed = server.services.live
    agent, wall, boss = (
        await watch(server, server.token(Role.AGENT, user="a1")),
        await watch(server, server.token(Role.QA, user="wall")),
        await watch(server, server.token(Role.SUPERVISOR, user="boss")),
    )
    try:
        (agent_ws, agent_snap), (wall_ws, wall_snap), (boss_ws, boss_snap) = agent, wall, boss
        # snapshots: the agent its own row, the wallboard none, the supervisor all
        assert set(agent_snap["data"]["agents"]) == {"a1"}
        assert not wall_snap["data"].get("agents")
        assert set(boss_snap["data"]["agents"]) == set(AGENTS)
        for snap in (agent_snap, wall_snap, boss_snap):  # aggregates for everyone
            assert counts(snap["data"]["agents_by_state"]["all"]) == {"on_call": 1, "ready": 39}
            assert snap["data"]["queues"]["billing"]["waiting"] == 1
        # deltas: a0 and a1 change
        feed.on_item(agent_state("a0", AgentState.AFTER_CALL_WORK, call="c-a0"))
        feed.on_item(agent_state("a1", AgentState.NOT_READY, reason="break"))
        await feed.flush()
        agent_msgs, wall_msgs, boss_msgs = (
            await deltas_until(agent_ws, feed.seq),
            await deltas_until(wall_ws, feed.seq),
            await deltas_until(boss_ws, feed.seq),
        )
        assert rows_seen(agent_msgs) == {"a1"}
        assert rows_seen(wall_msgs) == set()
        assert rows_seen(boss_msgs) == {"a0", "a1"}
        by_state = [m["data"]["agents_by_state"]["all"] for m in wall_msgs
                    if "agents_by_state" in m["data"]]
        assert counts(by_state[-1]) == {"after_call_work": 1, "not_ready": 1, "ready": 38}
        # a new subscription is scoped the same way
        await agent_ws.send(json.dumps({"type": "subscribe", "queues": ["billing"]}))
        async with asyncio.timeout(3):
            while (snap := json.loads(await agent_ws.recv()))["type"] != "snapshot":
                pass
        assert set(snap["data"]["agents"]) == {"a1"}
        assert snap["data"]["agents"]["a1"]["reason"] == "break"
    finally:
        for ws, _ in (agent, wall, boss):
            await ws.close()


async def test_a_planner_and_an_admin_see_every_row(server: Server) -> None:
    await floor(server)
    for role in (Role.PLANNER, Role.ADMIN):
        ws, snap = await watch(server, server.token(role, user=f"x-{role}"))
        await ws.close()
        assert set(snap["data"]["agents"]) == set(AGENTS)


# ---- a token whose signature is not ASCII


BAD = "v1.e30.sig\u00e9nature"


async def test_a_non_ascii_token_closes_the_socket_with_4401(server: Server) -> None:
    async with connect(f"{server.url}/ws/live?token={BAD}") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None, closed.value
    assert closed.value.rcvd.code == UNAUTHORIZED
    assert closed.value.rcvd.reason.startswith("token malformed")


async def test_a_non_ascii_renewal_closes_the_socket_with_4401(server: Server) -> None:
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "token", "token": BAD}))
        await ws.send(json.dumps({"type": "token", "token": "v1.\udc80.x"}, ensure_ascii=True))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv(ws)
    assert closed.value.rcvd is not None, closed.value
    assert closed.value.rcvd.code == UNAUTHORIZED


@pytest.mark.parametrize("server", ["asgi"], indirect=True)
async def test_a_non_ascii_bearer_token_gets_401(server: Server) -> None:
    base = server.url.replace("ws://", "http://", 1)
    headers = [(b"authorization", b"Bearer " + BAD.encode("latin-1"))]  # as a browser may
    async with httpx.AsyncClient() as http:
        for path in ("/api/wallboard", "/api/agents", "/api/live-endpoint"):
            response = await http.send(httpx.Request("GET", base + path, headers=headers))
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["details"]["reason"] == "malformed"



# ---- issue #14 item 7: a socket renews with its own user's token only


async def test_a_renewal_with_another_users_token_closes_the_socket(server: Server) -> None:
    async with connect(f"{server.url}/ws/live?token={server.token(user='ann')}") as ws:
        snap = await recv(ws)
        assert "agents" not in snap["data"] or set(snap["data"]["agents"]) <= {"ann"}
        # its own user's fresh token is taken ...
        await ws.send(json.dumps({"type": "token", "token": server.token(user="ann")}))
        await ws.send(json.dumps({"type": "ping"}))
        # ... another user's (a supervisor's, who would see every agent) is not
        boss = server.token(Role.SUPERVISOR, user="boss")
        await ws.send(json.dumps({"type": "token", "token": boss}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv(ws)
    assert closed.value.rcvd is not None, closed.value
    assert closed.value.rcvd.code == FORBIDDEN
    assert "another user" in closed.value.rcvd.reason
