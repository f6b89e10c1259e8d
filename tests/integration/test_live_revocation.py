"""Live sockets honour token revocation (api/live_registry.py), over real PostgreSQL and Redis
with a real websockets client: two API nodes share both; the admin acts through node A; the
sockets are on node B (the ASGI /ws/live or the dedicated live server) and on A itself."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hotline.api import Services, create_app
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.live_registry import REVOKED
from hotline.api.security import PostgresUserRepository
from hotline.centre import queries as store
from hotline.core.settings import Settings
from hotline.devtools.embedded import EmbeddedRedis
from hotline.store import db
from hotline.store.live import FanoutBackend
from tests.helpers.servers import fast_hasher, serve_app

USERS = "boss:pw:admin;sup:pw:supervisor;sup2:pw:supervisor"
CLOSE_DEADLINE_S = 3.0  # an announced revocation closes the socket well within this


@dataclass
class Nodes:
    http: httpx.AsyncClient  # node A's REST
    a: Services
    b: Services
    a_ws: str  # node A's /ws/live
    b_ws: str  # node B's live socket (ASGI or the dedicated server)
    pool: asyncpg.Pool

    async def token(self, username: str, password: str = "pw") -> str:
        r = await self.http.post("/api/auth/token",
                                 json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]  # type: ignore[no-any-return]

    async def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token('boss')}"}
        r = await self.http.request(method, path, headers=headers, **kw)
        assert r.status_code in (200, 204), r.text
        return r


async def _node(stack: AsyncExitStack, db_url: str, redis_url: str, mirror: bool,
                recheck_s: float) -> tuple[Services, str, FastAPI, Settings]:
    """One API node served by uvicorn until `stack` closes: its services, base URL, app and
    settings. Node B is a websocket node (a mirror of A's feed)."""
    pool = await db.create_pool(db_url, max_size=3)
    stack.push_async_callback(pool.close)
    build = Services.mirror_node if mirror else Services.build
    services = build(FanoutBackend(redis_url), users=PostgresUserRepository(pool),
                     hasher=fast_hasher())
    services.db_pool = pool
    services.live_recheck_s = recheck_s
    settings = Settings(api_users=USERS, live_port=0)
    app = create_app(settings, services)
    base = await stack.enter_async_context(serve_app(app))
    return services, base, app, settings


@pytest.fixture
def recheck_s() -> float:
    """The nodes' periodic re-check (a test parametrizes it to test that safety net; the
    default keeps it out of the way of the announcement tests' deadlines)."""
    return 30.0


@pytest.fixture(params=["asgi", "broadcast"])
async def nodes(request: pytest.FixtureRequest, conn: asyncpg.Connection, empty_db_url: str,
                redis_server: EmbeddedRedis, recheck_s: float) -> AsyncIterator[Nodes]:
    async with AsyncExitStack() as stack:
        a, a_base, _, _ = await _node(stack, empty_db_url, redis_server.url, False, recheck_s)
        b, b_base, b_app, b_settings = await _node(stack, empty_db_url, redis_server.url,
                                                   True, recheck_s)
        b_ws = b_base.replace("http", "ws", 1)
        if request.param == "broadcast":
            live = await stack.enter_async_context(LiveBroadcaster.for_app(b_app, b_settings))
            b_ws = f"ws://127.0.0.1:{live.port}"
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=a_base))
        pool = await db.create_pool(empty_db_url, max_size=2)
        stack.push_async_callback(pool.close)
        yield Nodes(http, a, b, a_base.replace("http", "ws", 1), b_ws, pool)


async def open_socket(base: str, token: str) -> ClientConnection:
    """A socket past its first message (the snapshot): registered and serving."""
    ws = await connect(f"{base}/ws/live?token={token}")
    async with asyncio.timeout(3):
        first = json.loads(await ws.recv())
    assert first["type"] == "snapshot"
    return ws


async def closed_within(ws: ClientConnection, deadline_s: float) -> tuple[int | None, str]:
    """Waits for the server to close `ws` (reading whatever it still sends); its close code
    and reason. Fails the test when the deadline passes first."""
    async with asyncio.timeout(deadline_s):
        await ws.wait_closed()
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


async def still_serving(ws: ClientConnection) -> None:
    """The socket answers a subscribe with a snapshot: open and served."""
    await ws.send(json.dumps({"type": "subscribe", "queues": None}))
    async with asyncio.timeout(3):
        while (msg := json.loads(await ws.recv()))["type"] != "snapshot":
            pass
    assert msg["type"] == "snapshot"


async def test_disabling_a_supervisor_closes_its_sockets_on_every_node(nodes: Nodes) -> None:
    sup_b = await open_socket(nodes.b_ws, await nodes.token("sup"))
    sup_a = await open_socket(nodes.a_ws, await nodes.token("sup"))
    other = await open_socket(nodes.b_ws, await nodes.token("sup2"))
    assert (len(nodes.a.live_sockets), len(nodes.b.live_sockets)) == (1, 2)

    boss = {"Authorization": f"Bearer {await nodes.token('boss')}"}
    started = time.monotonic()
    r = await nodes.http.post("/api/users/sup/disable", headers=boss)  # through node A
    assert r.status_code == 200, r.text
    answered = time.monotonic()
    assert await closed_within(sup_b, CLOSE_DEADLINE_S) == (4401, REVOKED)
    assert await closed_within(sup_a, CLOSE_DEADLINE_S) == (4401, REVOKED)
    print(f"disable answered in {answered - started:.3f} s; both sockets closed "
          f"{time.monotonic() - answered:.3f} s later")

    # the same announcement was handled for sup2's node: its socket is left alone
    await still_serving(other)
    assert other.close_code is None
    assert (nodes.a.live_sockets.revoked, nodes.b.live_sockets.revoked) == (1, 1)
    await other.close()


async def test_a_password_change_closes_sockets_of_older_tokens_only(nodes: Nodes) -> None:
    old = await nodes.token("sup")
    before = await open_socket(nodes.b_ws, old)
    await nodes.admin("PUT", "/api/users/sup/password", json={"password": "a-new-password"})
    assert await closed_within(before, CLOSE_DEADLINE_S) == (4401, REVOKED)

    # a token issued after the change works, on the socket as over HTTP
    after = await open_socket(nodes.b_ws, await nodes.token("sup", "a-new-password"))
    await still_serving(after)
    # ...but renewing it with the revoked token is refused like at connect
    await after.send(json.dumps({"type": "token", "token": old}))
    assert await closed_within(after, CLOSE_DEADLINE_S) == (4401, REVOKED)


async def test_a_role_change_closes_the_socket(nodes: Nodes) -> None:
    ws = await open_socket(nodes.b_ws, await nodes.token("sup"))
    await nodes.admin("PUT", "/api/users/sup/roles", json={"roles": ["qa"]})
    assert await closed_within(ws, CLOSE_DEADLINE_S) == (4401, REVOKED)


async def test_a_revoked_token_is_refused_at_connect_as_over_http(nodes: Nodes) -> None:
    token = await nodes.token("sup")
    await nodes.admin("POST", "/api/users/sup/disable")
    r = await nodes.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["error"]["details"]["reason"]) == (401, "revoked")
    for base in (nodes.a_ws, nodes.b_ws):
        async with connect(f"{base}/ws/live?token={token}") as ws:
            with pytest.raises(ConnectionClosed) as closed:  # before any snapshot
                async with asyncio.timeout(3):
                    await ws.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, REVOKED)
    assert len(nodes.b.live_sockets) == 0


@pytest.mark.parametrize("recheck_s", [0.3])
async def test_a_lost_announcement_is_caught_by_the_periodic_recheck(nodes: Nodes) -> None:
    ws = await open_socket(nodes.b_ws, await nodes.token("sup"))
    other = await open_socket(nodes.b_ws, await nodes.token("sup2"))
    # disabled behind the API's back: nothing is announced on Redis
    async with nodes.pool.acquire() as conn:
        assert await store.update_user(conn, "sup", active=False, tokens_after=time.time())
    started = time.monotonic()
    assert await closed_within(ws, CLOSE_DEADLINE_S) == (4401, REVOKED)
    print(f"unannounced revocation closed by the re-check in {time.monotonic() - started:.3f} s")
    await still_serving(other)
    await other.close()


async def test_with_redis_down_the_revoking_node_closes_its_own_and_the_others_on_return(
    nodes: Nodes, redis_server: EmbeddedRedis
) -> None:
    on_a = await open_socket(nodes.a_ws, await nodes.token("sup"))
    on_b = await open_socket(nodes.b_ws, await nodes.token("sup"))
    boss = {"Authorization": f"Bearer {await nodes.token('boss')}"}
    await asyncio.to_thread(redis_server.stop)
    try:
        # the change is made; the announcement fails: node A re-checks its own sockets
        r = await nodes.http.post("/api/users/sup/disable", headers=boss)
        assert r.status_code == 200, r.text
        assert await closed_within(on_a, CLOSE_DEADLINE_S) == (4401, REVOKED)
        await still_serving(on_b)  # B heard nothing (and its re-check is 30 s away)
    finally:
        await asyncio.to_thread(redis_server.start)  # same port
    # B's bus reconnects and reports the gap: B re-checks every socket at once
    assert await closed_within(on_b, 15.0) == (4401, REVOKED)
