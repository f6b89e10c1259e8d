"""The history API's fixtures: the app over a fresh database seeded with the calls of
tests/helpers/history.py, and a router to explain them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.router import AgentConfig, QueueConfig, Router, RouterConfig
from hotline.store import db, queries
from tests.helpers.history import T0, WAV, Api, seeded_calls
from tests.helpers.servers import fast_hasher

USERS = ("boss:pw:supervisor;qa1:pw:qa;plan:pw:planner;root:pw:admin;"
         "agent1:pw:agent;agent2:pw:agent")


@pytest.fixture
def router() -> Router:
    config = RouterConfig(
        queues=[QueueConfig("billing", ServiceType.BILLING, required={"billing": 1})],
        agents=[AgentConfig("agent1", {"billing": 2}), AgentConfig("agent2", {"billing": 1})],
    )
    r = Router(config, lambda: T0)
    return r


@pytest.fixture
async def api(conn: asyncpg.Connection, empty_db_url: str, router: Router,
              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    (tmp_path / "c01.wav").write_bytes(WAV)
    await queries.upsert(conn, seeded_calls(tmp_path))
    services = Services.build(explainer=router, clock=lambda: T0 + 1000, hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    app = create_app(Settings(), services)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield Api(client, services, conn, tmp_path, router)
    finally:
        await services.db_pool.close()


