"""The configuration API's fixture: the app over PostgreSQL with boss (admin), sup, agent1 and
qa signed in, a real (not started) Controller behind it, and node files rendered to a folder.
Every test runs twice: the controller in the API's process (`in-process`), and
`over-the-bus`: the API built without any controller object, its configuration changes sent
over the Redis command bus to the controller's configuration service (docs/command-bus.md),
as `hotline api` does; each side with its own PostgreSQL pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from hotline.api import Services, create_app
from hotline.api.acd import RemoteAcd
from hotline.api.security import PostgresUserRepository
from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.acd_server import AcdServer
from hotline.process.wiring import NodeAgentFiles, NodeFiles
from hotline.store import db
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import CommandBus
from hotline.store.live import connect_redis
from tests.helpers.centre import Api
from tests.helpers.observed import ObservedController
from tests.helpers.servers import fast_hasher

CENTRE = Centre(
    queues=[QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1})],
    agents=[AgentSpec(id="agent1", name="Agent 1", secret="pw1", skills={"general": 3})],
)



@pytest.fixture(params=["in-process", "over-the-bus"])
async def api(conn: asyncpg.Connection, empty_db_url: str, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
              ) -> AsyncIterator[Api]:
    monkeypatch.setenv("HOTLINE_API_USERS",
                       "boss:pw:admin;sup:pw:supervisor;agent1:pw:agent;qa:pw:qa")
    pool = await db.create_pool(empty_db_url, max_size=3)
    centre = await load_or_seed_centre(pool, CENTRE)
    controller = ObservedController(Settings(), centre, emit_line=lambda _: None)
    services = Services.build(users=PostgresUserRepository(pool),
                              hasher=fast_hasher())
    etc = tmp_path / "etc"
    etc.mkdir()
    server: AcdServer | None = None
    closing: list[Any] = []
    if request.param == "in-process":
        services.db_pool, services.controller = pool, controller
        services.configuration = configuration = Configuration(  # type: ignore[attr-defined]
            pool, controller,
            agent_files=NodeAgentFiles([NodeFiles("n1", etc)], controller.links))
        live_side = services
    else:
        url = request.getfixturevalue("redis_server").url
        controller_pool = await db.create_pool(empty_db_url, max_size=3)
        ctl_redis, api_redis = connect_redis(url), connect_redis(url)
        closing += [controller_pool, ctl_redis, api_redis]
        live_side = Services.build()  # the controller's own feed and metrics
        configuration = Configuration(
            controller_pool, controller, live=live_side.live,
            agent_files=NodeAgentFiles([NodeFiles("n1", etc)], controller.links))
        server = AcdServer(controller, ctl_redis, configuration, live_side=live_side)
        await server.start()
        services.db_pool = pool
        services.remote = RemoteAcd(CommandBus(api_redis, deadline_s=5), AcdViews(api_redis))
    app = create_app(Settings(), services)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = {}
                for user in ("boss", "sup", "agent1", "qa"):
                    r = await client.post("/api/auth/token",
                                          json={"username": user, "password": "pw"})
                    assert r.status_code == 200, r.text
                    headers[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
                yield Api(client, pool, controller, etc, headers, live_side, configuration)
    finally:
        if server is not None:
            await server.stop()
        await pool.close()
        for c in closing:
            await (c.close() if isinstance(c, asyncpg.Pool) else c.aclose())


