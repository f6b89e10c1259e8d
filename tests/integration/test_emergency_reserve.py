"""The emergency reserve (应急梯队) over a real PostgreSQL, the real configuration service and
router (a Controller, not started), the real metrics and live feed: a queue under target for
N minutes gets a proposal on the live view; a supervisor applies it through the API, the
reserve team's agents serve the queue (the router says so), the level recovers, it is taken
back; auto rules do both themselves. Every step and every skill edit is in the audit log, with
who made it (the supervisor, or `system`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from hotline.api import Services, create_app
from hotline.centre import queries as store
from hotline.centre.model import AgentSpec, Centre, QueueSpec, TeamSpec, VendorKind, VendorSpec
from hotline.centre.reserve import SYSTEM, ReserveService
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from tests.helpers.api_app import login, served

CENTRE = Centre(
    queues=[
        QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1}),
        QueueSpec(name="billing", service=ServiceType.BILLING, required={"billing": 2}),
    ],
    agents=[
        AgentSpec(id="agent1", skills={"general": 5, "billing": 2}, team="day"),
        AgentSpec(id="agent2", skills={"general": 3}, team="reserve"),
        AgentSpec(id="agent3", skills={"billing": 4}, team="reserve"),  # serves billing already
        AgentSpec(id="agent4", skills={"general": 2, "billing": 1}, team="reserve"),
    ],
    vendors=[VendorSpec("own", "Own staff", VendorKind.OWN)],
    teams=[TeamSpec("day", "Day", "own"), TeamSpec("reserve", "应急梯队", "own")],
)
FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """The reserve's clock (the API's tokens and the live feed keep the real one)."""

    def __init__(self) -> None:
        self.t0 = self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Floor:
    client: httpx.AsyncClient
    services: Services
    controller: Controller
    reserve: ReserveService
    clock: Clock
    pool: asyncpg.Pool
    headers: dict[str, str]
    calls: int = 0
    latest: float = 0.0

    def calls_in(self, queue: str, answered: int, abandoned: int) -> None:
        """Calls judged now in the queue's service level: answered in 5 s, abandoned at 60 s."""
        # from the latest moment the metrics saw: they never go back (an older event would
        # count at that moment, its wait lost)
        live, t = self.services.live, max(self.clock.now, self.latest)
        self.latest = t + 60
        service = ServiceType.BILLING if queue == "billing" else ServiceType.GENERAL
        calls = []
        for n in range(answered + abandoned):  # all queued first: the metrics never go back
            self.calls += 1
            calls.append((f"c{self.calls}", n < answered))
            live.on_item(CallQueued(t, call_id=calls[-1][0], queue=queue,
                                    service=service))
        for cid, answer in calls:
            if answer:
                live.on_item(CallAnswered(t + 5, call_id=cid, agent_id="agent1"))
        for cid, _ in calls:
            live.on_item(CallEnded(t + 60, call_id=cid))

    async def view(self) -> dict:
        """The live view as published (after publishing what changed)."""
        await self.services.live.flush()
        return self.services.live.view()

    async def at(self, t: float) -> list[tuple[str, str]]:
        self.clock.now = self.clock.t0 + t
        return await self.reserve.tick()

    async def audit(self, prefix: str) -> list[tuple[str, str, dict]]:
        async with self.pool.acquire() as conn:
            rows = await store.list_audit(conn, what_prefix=prefix)
        return [(r.who, r.what, r.details) for r in reversed(rows)]

    async def skills(self, agent_id: str) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            row = await store.get_agent(conn, agent_id)
        assert row is not None
        assert dict(self.controller.router.agent(agent_id).skills) == row.spec.skills
        return row.spec.skills


@pytest.fixture
async def floor(monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection,
                empty_db_url: str) -> AsyncIterator[Floor]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    pool = await db.create_pool(empty_db_url, max_size=4)
    clock = Clock()
    settings = Settings()
    centre = await load_or_seed_centre(pool, CENTRE)
    controller = Controller(settings, centre, emit_line=lambda _: None)
    services = services_for(settings, centre)
    services.hasher = FAST_HASH
    attach_controller(services, controller)
    services.db_pool = pool
    services.configuration = Configuration(pool, controller, live=services.live)

    def level_of(queue: str, now: float) -> tuple[float | None, float]:
        f = services.metrics.queue_figures(queue, "window", now)
        return f.service_level, f.sl_target or 0.8

    reserve = ReserveService(pool, services.configuration, level_of, services.live.set_reserve,
                             clock=clock)
    services.reserve = reserve
    app = create_app(settings, services)
    try:
        async with served(app) as client:
            headers = await login(client, "supervisor", "supervisor")
            yield Floor(client, services, controller, reserve, clock, pool, headers)
    finally:
        await controller.stop()
        await pool.close()


async def test_proposed_applied_by_a_supervisor_and_taken_back(floor: Floor) -> None:
    f = floor
    r = await f.client.put("/api/reserve/rules/billing", headers=f.headers,
                           json={"team": "reserve", "after_min": 5, "recover_min": 3})
    assert r.status_code == 200, r.text
    assert await f.audit("reserve.") == [("supervisor", "reserve.rule_set", {
        "queue": "billing", "before": None, "after": {
            "queue": "billing", "team": "reserve", "after_s": 300.0, "recover_s": 180.0,
            "margin": 0.05, "auto": False}})]
    assert "billing" not in f.controller.router.queues_of("agent2")

    f.calls_in("billing", answered=1, abandoned=3)  # SL 0.25 against 0.8
    assert await f.at(0) == []
    f.calls_in("billing", answered=0, abandoned=1)
    assert await f.at(299) == []  # under for 299 s: not yet
    assert await f.at(300) == [("billing", "proposed")]
    assert await f.at(400) == []  # one proposal per run
    entry = (await f.view())["reserve"]["billing"]
    assert (entry["state"], entry["team"], entry["by"], entry["level"]) == (
        "proposed", "reserve", SYSTEM, 0.2)
    r = await f.client.get("/api/reserve", headers=f.headers)
    assert r.json()["state"]["billing"]["state"] == "proposed"
    assert r.json()["rules"][0]["after_min"] == 5

    r = await f.client.post("/api/reserve/billing/apply", headers=f.headers)
    assert r.status_code == 200, r.text
    assert r.json()["agents"] == ["agent2", "agent4"]  # agent3 served billing already
    assert await f.skills("agent2") == {"general": 3, "billing": 2}
    assert await f.skills("agent4") == {"general": 2, "billing": 2}
    assert await f.skills("agent3") == {"billing": 4}
    assert "billing" in f.controller.router.queues_of("agent2")
    assert (await f.view())["agents"]["agent2"]["queues"] == ["general", "billing"]
    assert (await f.client.post("/api/reserve/billing/apply", headers=f.headers)
            ).json()["error"]["id"] == "reserve-applied"
    assert (await f.client.post("/api/reserve/billing/dismiss", headers=f.headers)
            ).status_code == 409
    assert (await f.client.delete("/api/reserve/rules/billing", headers=f.headers)
            ).json()["error"]["id"] == "reserve-applied"

    # the level climbs back, but only into the hysteresis band: nothing happens
    f.clock.now = f.clock.t0 + 500
    f.calls_in("billing", answered=15, abandoned=0)  # 16 / 20 = 0.8: at target, under 0.85
    assert await f.at(500) == [] and await f.at(900) == []
    f.calls_in("billing", answered=20, abandoned=0)  # 36 / 40 = 0.9
    assert await f.at(910) == []
    assert await f.at(1090) == [("billing", "recovered")]  # a supervisor's: offered back
    assert (await f.view())["reserve"]["billing"]["recovered"] is True
    r = await f.client.post("/api/reserve/billing/take-back", headers=f.headers)
    assert r.status_code == 204, r.text
    assert await f.skills("agent2") == {"general": 3}
    assert await f.skills("agent4") == {"general": 2, "billing": 1}  # its own level back
    assert (await f.view())["reserve"]["billing"] is None
    assert "billing" not in f.controller.router.queues_of("agent2")

    steps = [(who, what) for who, what, _ in await f.audit("reserve.")]
    assert steps == [("supervisor", "reserve.rule_set"), (SYSTEM, "reserve.proposed"),
                     ("supervisor", "reserve.applied"), ("supervisor", "reserve.taken_back")]
    edits = [(who, d["agent_id"], d["skills"]["after"])
             for who, _, d in await f.audit("agent.updated")]
    assert edits == [
        ("supervisor", "agent2", {"general": 3, "billing": 2}),
        ("supervisor", "agent4", {"general": 2, "billing": 2}),
        ("supervisor", "agent2", {"general": 3, "billing": 0}),
        ("supervisor", "agent4", {"general": 2, "billing": 1})]


async def test_auto_applies_and_takes_back_as_system(floor: Floor) -> None:
    f = floor
    r = await f.client.put("/api/reserve/rules/general", headers=f.headers,
                           json={"team": "reserve", "after_min": 2, "auto": True})
    assert r.status_code == 200, r.text
    f.calls_in("general", answered=0, abandoned=2)
    assert await f.at(0) == []
    assert await f.at(120) == [("general", "applied")]
    assert await f.skills("agent3") == {"billing": 4, "general": 1}
    entry = (await f.view())["reserve"]["general"]
    assert (entry["state"], entry["by"], entry["agents"]) == ("applied", SYSTEM, ["agent3"])

    # a restarted controller knows what it applied, and takes it back itself
    again = ReserveService(f.pool, f.services.configuration, f.reserve.level_of,
                           f.services.live.set_reserve, clock=f.clock)
    await again.load()
    assert again.view()["general"]["agents"] == ["agent3"]
    f.reserve = again
    # no call in the window any more (the 30-minute window slid past): no demand, recovered
    assert await f.at(120 + 1801) == []
    assert await f.at(120 + 1801 + 120) == [("general", "taken_back")]
    assert await f.skills("agent3") == {"billing": 4}
    assert [(w, what) for w, what, _ in await f.audit("reserve.")][1:] == [
        (SYSTEM, "reserve.applied"), (SYSTEM, "reserve.taken_back")]
    assert {w for w, _, d in await f.audit("agent.updated")} == {SYSTEM}


async def test_dismissed_stays_quiet_until_recovery_and_rules_are_checked(floor: Floor) -> None:
    f = floor
    for body, error in [({"team": "nobody", "after_min": 5}, "team-not-found")]:
        r = await f.client.put("/api/reserve/rules/billing", headers=f.headers, json=body)
        assert (r.status_code, r.json()["error"]["id"]) == (404, error)
    r = await f.client.put("/api/reserve/rules/nowhere", headers=f.headers,
                           json={"team": "reserve", "after_min": 5})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "queue-not-found")
    r = await f.client.put("/api/reserve/rules/billing", headers=f.headers,
                           json={"team": "reserve", "after_min": 0.5})
    assert r.status_code == 422
    await f.client.put("/api/reserve/rules/billing", headers=f.headers,
                       json={"team": "reserve", "after_min": 1})
    f.calls_in("billing", answered=0, abandoned=1)
    assert await f.at(0) == [] and await f.at(60) == [("billing", "proposed")]
    r = await f.client.post("/api/reserve/billing/dismiss", headers=f.headers)
    assert r.status_code == 200 and r.json()["state"] == "dismissed"
    assert await f.at(600) == []  # still under: not proposed again
    assert await f.skills("agent2") == {"general": 3}
    assert await f.at(1900) == [] and await f.at(1960) == [("billing", "withdrawn")]
    assert "billing" not in {q for q, e in (await f.view())["reserve"].items() if e}
    # an agent's login may not steer the reserve
    r = await f.client.post("/api/auth/token", json={"username": "agent1", "password": "agent1"})
    agent = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await f.client.get("/api/reserve", headers=agent)).status_code == 403
    assert (await f.client.post("/api/reserve/billing/apply", headers=agent)).status_code == 403
    r = await f.client.delete("/api/reserve/rules/billing", headers=f.headers)
    assert r.status_code == 204
    assert [what for _, what, _ in await f.audit("reserve.")] == [
        "reserve.rule_set", "reserve.proposed", "reserve.dismissed", "reserve.withdrawn",
        "reserve.rule_deleted"]
