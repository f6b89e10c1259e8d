"""The configuration API's fixture: the app over PostgreSQL with boss (admin), sup, agent1 and
qa signed in, a real (not started) Controller behind it, and node files rendered to a folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from hotline.api import Services, create_app
from hotline.api.security import PostgresUserRepository
from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.wiring import NodeAgentFiles, NodeFiles
from hotline.store import db
from tests.helpers.centre import Api
from tests.helpers.observed import ObservedController
from tests.helpers.servers import fast_hasher

CENTRE = Centre(
    queues=[QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1})],
    agents=[AgentSpec(id="agent1", name="Agent 1", secret="pw1", skills={"general": 3})],
)



@pytest.fixture
async def api(conn: asyncpg.Connection, empty_db_url: str, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv("HOTLINE_API_USERS",
                       "boss:pw:admin;sup:pw:supervisor;agent1:pw:agent;qa:pw:qa")
    pool = await db.create_pool(empty_db_url, max_size=3)
    centre = await load_or_seed_centre(pool, CENTRE)
    controller = ObservedController(Settings(), centre, emit_line=lambda _: None)
    services = Services.build(users=PostgresUserRepository(pool),
                              hasher=fast_hasher())
    services.db_pool, services.controller = pool, controller
    etc = tmp_path / "etc"
    etc.mkdir()
    services.configuration = Configuration(  # type: ignore[attr-defined]
        pool, controller, agent_files=NodeAgentFiles([NodeFiles("n1", etc)], controller.links))
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
                yield Api(client, pool, controller, etc, headers)
    finally:
        await pool.close()


