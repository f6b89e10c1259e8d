"""The one skill edit (Configuration.set_skills behind PUT /api/agents/{id}/skills, also
answered at /api/config/agents/{id}/skills): whichever URL, the router, the database and its
audit, and the live view's "which queues does this agent serve" follow the edit. (Before, an
edit through /api/agents/{id}/skills left the live view's queues as they were.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from hotline.api import Services, create_app
from hotline.api.routes import centre, supervision
from hotline.centre import queries as store
from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from tests.helpers.api_app import login, served

CENTRE = Centre(
    queues=[
        QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1}),
        QueueSpec(name="billing", service=ServiceType.BILLING, required={"billing": 1}),
        QueueSpec(name="fault", service=ServiceType.FAULT, required={"fault": 2}),
    ],
    agents=[
        AgentSpec(id="agent1", name="Agent 1", skills={"general": 5, "billing": 2}),
        AgentSpec(id="agent2", name="Agent 2", skills={"general": 3}),
    ],
)
FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Floor:
    client: httpx.AsyncClient
    services: Services
    controller: Controller
    headers: dict[str, str]

    async def put_skills(self, url: str, skills: dict[str, int]) -> httpx.Response:
        return await self.client.put(url, json={"skills": skills}, headers=self.headers)

    async def live_queues(self) -> dict[str, list[str]]:
        """agent id -> its queues, as GET /api/agents shows them."""
        r = await self.client.get("/api/agents", headers=self.headers)
        assert r.status_code == 200, r.text
        return {a["agent_id"]: a["queues"] for a in r.json()}


async def _floor(pool: asyncpg.Pool | None) -> AsyncIterator[Floor]:
    """The API as the platform wires it (services_for, attach_controller), over a real
    (not started) Controller, with or without the database."""
    settings = Settings()
    centre = await load_or_seed_centre(pool, CENTRE) if pool is not None else CENTRE
    controller = Controller(settings, centre, emit_line=lambda _: None)
    services = services_for(settings, centre)
    services.hasher = FAST_HASH
    attach_controller(services, controller)
    if pool is not None:
        services.db_pool = pool
        services.configuration = Configuration(pool, controller, live=services.live)
    app = create_app(settings, services)
    try:
        async with served(app) as client:
            headers = await login(client, "supervisor", "supervisor")
            yield Floor(client, services, controller, headers)
    finally:
        await controller.stop()


@pytest.fixture
async def floor(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Floor]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    async for f in _floor(None):
        yield f


@pytest.fixture
async def floor_db(monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection,
                   empty_db_url: str) -> AsyncIterator[Floor]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    pool = await db.create_pool(empty_db_url, max_size=3)
    try:
        async for f in _floor(pool):
            yield f
    finally:
        await pool.close()


async def test_an_edit_on_the_supervisor_page_url_reaches_the_live_view(floor: Floor) -> None:
    """The supervisor page's URL: the agent's queues in /api/agents follow the edit (they
    stayed as before the edit while routing used the new skills)."""
    assert (await floor.live_queues())["agent2"] == ["general"]
    r = await floor.put_skills("/api/agents/agent2/skills", {"general": 3, "fault": 2})
    assert r.status_code == 200, r.text
    assert r.json()["skills"] == {"general": 3, "fault": 2}
    assert floor.controller.router.agent("agent2").skills == {"general": 3, "fault": 2}
    assert (await floor.live_queues())["agent2"] == ["general", "fault"]
    # a skill taken away takes its queue away; the other agents are untouched
    r = await floor.put_skills("/api/agents/agent2/skills", {"fault": 2, "general": 0})
    assert r.status_code == 200, r.text
    assert await floor.live_queues() == {"agent1": ["general", "billing"], "agent2": ["fault"]}
    # the router answers which queues an agent serves, and the live view shows that answer
    assert floor.controller.router.queues_of("agent2") == ["fault"]


async def test_both_urls_are_one_edit_with_one_answer(floor_db: Floor) -> None:
    f = floor_db
    page = await f.put_skills("/api/agents/agent1/skills", {"general": 5, "fault": 4})
    config = await f.put_skills("/api/config/agents/agent2/skills", {"billing": 3})
    assert page.status_code == config.status_code == 200, (page.text, config.text)
    assert page.json().keys() == config.json().keys()
    assert page.json()["skills"] == page.json()["agent"]["skills"] == {"general": 5, "fault": 4}
    assert config.json()["agent"]["skills"] == config.json()["skills"] == {"billing": 3}
    assert await f.live_queues() == {"agent1": ["general", "fault"], "agent2": ["billing"]}
    # each stored and audited once in the database, and listed in the API's audit
    async with f.services.db_pool.acquire() as conn:
        rows = {a.spec.id: a.spec.skills for a in await store.list_agents(conn)}
        audit = await store.list_audit(conn, what_prefix="agent.updated")
    assert rows == {"agent1": {"general": 5, "fault": 4}, "agent2": {"billing": 3}}
    assert sorted((a.details["agent_id"], a.who) for a in audit) == [
        ("agent1", "supervisor"), ("agent2", "supervisor")]
    r = await f.client.get("/api/audit", headers=f.headers)
    assert [(e["agent_id"], e["action"]) for e in r.json()] == [
        ("agent2", "set_skills"), ("agent1", "set_skills")]
    # one handler behind both paths
    [page_route] = [r for r in supervision.router.routes if r.path.endswith("/skills")]
    [config_route] = [r for r in centre.router.routes if r.path.endswith("/skills")]
    assert page_route.endpoint is config_route.endpoint  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["/api/agents/{}/skills", "/api/config/agents/{}/skills"])
async def test_refusals_are_the_same_on_both_urls(floor_db: Floor, url: str) -> None:
    f = floor_db

    def error(r: httpx.Response) -> tuple[int, Any]:
        return r.status_code, r.json()["error"]["id"]

    assert error(await f.put_skills(url.format("agent9"), {"general": 1})) == (
        404, "no-such-agent")
    for bad_id in ("agent-1", "a", "x" * 41):  # not an agent id: never reaches the service
        assert error(await f.put_skills(url.format(bad_id), {"general": 1})) == (
            422, "invalid-request")
    for bad in ({"general": 6}, {"General Skill": 1}, {"général": 1}):
        assert error(await f.put_skills(url.format("agent1"), bad)) == (422, "invalid-request")
    assert f.controller.router.agent("agent1").skills == {"general": 5, "billing": 2}
    async with f.services.db_pool.acquire() as conn:
        assert await store.list_audit(conn, what_prefix="agent.") == []
