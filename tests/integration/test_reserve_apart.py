"""The emergency reserve's steps from an API process apart from the controller
(docs/command-bus.md): the API app here is built without any controller object or
ReserveService (Services.remote: RemoteAcd), each side with its own PostgreSQL pool and Redis
client; `POST /api/reserve/{queue}/apply|dismiss|take-back` travel the command bus to the
controller's ReserveService and its answer (or refusal) comes back, audited as the supervisor
who asked. (Before, such a process answered them 503 `controller-unavailable`.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from hotline.api import create_app
from hotline.api.acd import RemoteAcd
from hotline.centre.reserve import SYSTEM, ReserveService
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.settings import Settings
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import ACTIVE_KEY, STREAM, CommandBus
from hotline.store.live import connect_redis
from tests.helpers.api_app import login, served
from tests.helpers.waiting import wait_for
from tests.integration.test_emergency_reserve import CENTRE, FAST_HASH, Clock, Floor

DEADLINE_S = 2.0
LONG = "s" * 100  # a supervisor's user name may be up to 128 characters


@dataclass
class Apart:
    floor: Floor  # the controller's side: its live feed, router, reserve and pool
    api: httpx.AsyncClient  # the API process's app (no controller object)
    headers: dict[str, str]  # the supervisor's, signed in on the API process
    server: AcdServer
    api_pool: asyncpg.Pool

    async def post(self, path: str) -> httpx.Response:
        return await self.api.post(path, headers=self.headers)


@pytest.fixture
async def apart(monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection, empty_db_url: str,
                redis_server: Any) -> AsyncIterator[Apart]:
    monkeypatch.setenv("HOTLINE_API_USERS",
                       f"supervisor:supervisor:supervisor;{LONG}:pw:supervisor")
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    settings = Settings()
    # the controller's process: its pool, controller, live side, configuration, reserve
    ctl_pool = await db.create_pool(empty_db_url, max_size=4)
    centre = await load_or_seed_centre(ctl_pool, CENTRE)
    controller = Controller(settings, centre, emit_line=lambda _: None)
    side = services_for(settings, centre)
    attach_controller(side, controller)
    side.db_pool = ctl_pool
    side.configuration = Configuration(ctl_pool, controller, live=side.live)
    clock = Clock()

    def level_of(queue: str, now: float) -> tuple[float | None, float]:
        f = side.metrics.queue_figures(queue, "window", now)
        return f.service_level, f.sl_target or 0.8

    reserve = ReserveService(ctl_pool, side.configuration, level_of, side.live.set_reserve,
                             clock=clock)
    ctl_redis, api_redis = connect_redis(redis_server.url), connect_redis(redis_server.url)
    server = AcdServer(controller, ctl_redis, side.configuration, live_side=side,
                       reserve=reserve)
    await server.start()
    # the API process: no controller, no reserve service; the bus and its own pool
    api_pool = await db.create_pool(empty_db_url, max_size=3)
    services = services_for(settings, centre)
    services.hasher = FAST_HASH
    services.db_pool = api_pool
    services.remote = RemoteAcd(CommandBus(api_redis, deadline_s=DEADLINE_S),
                                AcdViews(api_redis))
    assert services.reserve is None and services.controller is None
    app = create_app(settings, services)
    try:
        async with served(app) as client:
            headers = await login(client, "supervisor", "supervisor")
            floor = Floor(client, side, controller, reserve, clock, ctl_pool, headers)
            yield Apart(floor, client, headers, server, api_pool)
    finally:
        await server.stop()
        await controller.stop()
        await api_pool.close()
        await ctl_pool.close()
        await ctl_redis.aclose()
        await api_redis.aclose()


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["id"]


async def test_apply_and_take_back_from_an_api_process(apart: Apart) -> None:
    a, f = apart, apart.floor
    r = await a.api.put("/api/reserve/rules/billing", headers=a.headers,
                        json={"team": "reserve", "after_min": 5, "recover_min": 3})
    assert r.status_code == 200, r.text  # the rule: the API process's own database write
    assert _error(await a.post("/api/reserve/general/apply")) == (404, "no-reserve-rule")
    assert _error(await a.post("/api/reserve/billing/take-back")) == (
        409, "reserve-not-applied")
    f.calls_in("billing", answered=1, abandoned=3)
    assert await f.at(0) == []
    assert await f.at(300) == [("billing", "proposed")]

    r = await a.post("/api/reserve/billing/apply")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["by"], r.json()["agents"]) == (
        "applied", "supervisor", ["agent2", "agent4"])
    # the controller's router and the database follow (agent3 served billing already)
    assert await f.skills("agent2") == {"general": 3, "billing": 2}
    assert await f.skills("agent4") == {"general": 2, "billing": 2}
    assert "billing" in f.controller.router.queues_of("agent2")
    assert f.reserve.view()["billing"]["state"] == "applied"
    assert _error(await a.post("/api/reserve/billing/apply")) == (409, "reserve-applied")
    assert _error(await a.post("/api/reserve/billing/dismiss")) == (409, "reserve-not-proposed")

    r = await a.post("/api/reserve/billing/take-back")
    assert r.status_code == 204, r.text
    assert await f.skills("agent2") == {"general": 3}
    assert await f.skills("agent4") == {"general": 2, "billing": 1}
    assert "billing" not in f.controller.router.queues_of("agent2")
    assert "billing" not in f.reserve.view()

    # every step and every skill edit audited as the supervisor who asked on the API process
    assert [(who, what) for who, what, _ in await f.audit("reserve.")] == [
        ("supervisor", "reserve.rule_set"), (SYSTEM, "reserve.proposed"),
        ("supervisor", "reserve.applied"), ("supervisor", "reserve.taken_back")]
    assert [(who, d["agent_id"]) for who, _, d in await f.audit("agent.updated")] == [
        ("supervisor", "agent2"), ("supervisor", "agent4"),
        ("supervisor", "agent2"), ("supervisor", "agent4")]


async def test_dismiss_from_an_api_process(apart: Apart) -> None:
    a, f = apart, apart.floor
    await a.api.put("/api/reserve/rules/billing", headers=a.headers,
                    json={"team": "reserve", "after_min": 1})
    f.calls_in("billing", answered=0, abandoned=1)
    assert await f.at(0) == [] and await f.at(60) == [("billing", "proposed")]
    r = await a.api.post("/api/auth/token", json={"username": LONG, "password": "pw"})
    assert r.status_code == 200, r.text
    r = await a.api.post("/api/reserve/billing/dismiss",
                         headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["by"]) == ("dismissed", LONG)
    assert f.reserve.view()["billing"]["state"] == "dismissed"
    assert await f.skills("agent2") == {"general": 3}
    assert [(who, what) for who, what, _ in await f.audit("reserve.dismissed")] == [
        (LONG, "reserve.dismissed")]


async def test_no_controller_active_is_a_clear_503_and_nothing_runs_later(
        apart: Apart) -> None:
    a, f = apart, apart.floor
    await a.api.put("/api/reserve/rules/billing", headers=a.headers,
                    json={"team": "reserve", "after_min": 1})
    await a.server.stop()  # a clean stop deletes the lease
    r = await a.post("/api/reserve/billing/apply")
    assert _error(r) == (503, "controller-unavailable")
    assert r.json()["error"]["details"] == {"command": "reserve", "deadline_s": DEADLINE_S}
    assert "no controller is active" in r.json()["error"]["message"]
    assert await a.server.client.xlen(STREAM) == 0  # refused before anything was sent
    await a.server.start()  # a controller again: the refused step never runs
    await wait_for(lambda: a.server.client.exists(ACTIVE_KEY), 5, "the controller's lease")
    r = await a.post("/api/reserve/billing/take-back")
    assert _error(r) == (409, "reserve-not-applied")
    assert await f.skills("agent2") == {"general": 3}
    assert [what for _, what, _ in await f.audit("reserve.")] == ["reserve.rule_set"]


async def test_a_controller_without_the_reserve_refuses_it(apart: Apart,
                                                           redis_server: Any) -> None:
    a = apart
    await a.server.stop()
    bare_redis = connect_redis(redis_server.url)
    bare = AcdServer(a.floor.controller, bare_redis)  # e.g. a controller with no database
    await bare.start()
    await wait_for(lambda: bare_redis.exists(ACTIVE_KEY), 5, "the controller's lease")
    try:
        r = await a.post("/api/reserve/billing/apply")
        assert _error(r) == (503, "reserve-unavailable")
    finally:
        await bare.stop()
        await bare_redis.aclose()
    assert [what for _, what, _ in await a.floor.audit("reserve.")] == []


async def test_a_skill_edit_from_an_api_process_takes_any_user_name(apart: Apart) -> None:
    """The skill edit's command carried its author in 64 characters while a user name may
    have 128: a supervisor with a longer name got an unhandled 500 from an API process."""
    r = await apart.api.post("/api/auth/token", json={"username": LONG, "password": "pw"})
    assert r.status_code == 200, r.text
    r = await apart.api.put("/api/agents/agent2/skills",
                            headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                            json={"skills": {"general": 3, "billing": 1}})
    assert r.status_code == 200, r.text
    assert await apart.floor.skills("agent2") == {"general": 3, "billing": 1}
    assert [(who, d["agent_id"]) for who, _, d in await apart.floor.audit("agent.updated")] == [
        (LONG, "agent2")]
