"""The history API's fixtures: the app over a fresh database seeded with the calls of
tests/helpers/history.py, and a router to explain them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from hotline.core.values import ServiceType
from hotline.router import AgentConfig, QueueConfig, Router, RouterConfig
from hotline.store import queries
from tests.helpers.api_app import api_app
from tests.helpers.history import T0, WAV, Api, seeded_calls

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
    async with api_app(empty_db_url, explainer=router, clock=lambda: T0 + 1000) as app:
        yield Api(app.client, app.services, conn, tmp_path, router)


