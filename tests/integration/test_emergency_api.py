"""Emergency staffing against the real PostgreSQL (#19.5): a storm morning runs at twice the
forecast; the coming intervals' need against the published plan, and who could be called in,
with what a supervisor and a planner each may see.

The seeded history is test_plans_api's (queue general, UTC+8, 1-28 June 2026: 9 calls a
quarter hour 09:00-17:00, AHT 200 s, nobody hanging up). Today, Monday 29 June, 10:30: the
rows of 09:00-10:30 hold 9, 9, then 18 calls a quarter hour, so the last hour (the window of 4
closed intervals) had 72 calls against 36 forecast: the ratio is 2 and the coming intervals
expect 18 calls, 4 Erlangs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from hotline.api import Services
from hotline.core.events import CallQueued
from hotline.core.values import ServiceType
from hotline.planning.model import needed_agents
from hotline.store import queries as store
from hotline.store.records import IntervalRecord
from tests.helpers.api_app import api_app, login
from tests.integration.test_plans_api import AGENTS, MIDNIGHT, NOW, WEEK, seed

USERS = "plan:pw:planner;boss:pw:supervisor;a1:pw:agent;root:pw:admin;qa:pw:qa"


@pytest.fixture
async def world(conn: asyncpg.Connection, empty_db_url: str,
                monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    await seed(conn)
    async with api_app(empty_db_url, clock=lambda: NOW) as api:
        yield api.client, api.services


def today_rows(calls: dict[int, int]) -> list[IntervalRecord]:
    return [IntervalRecord("general", MIDNIGHT + s * 900, MIDNIGHT + s * 900 + 900, {
        "offered": n, "answered": n, "handled": n, "abandoned": 0, "talk_s": n * 170.0,
        "acw_s": n * 30.0, "wait_answered_s": 0.0, "wait_abandoned_s": 0.0})
        for s, n in calls.items()]


async def test_a_storm_morning_shows_the_gap_and_who_could_be_called_in(
        world: tuple[httpx.AsyncClient, Services], conn: asyncpg.Connection) -> None:
    client, services = world
    plan, boss, a1, qa, root = [await login(client, u)
                                for u in ("plan", "boss", "a1", "qa", "root")]
    await conn.execute("UPDATE agent_skills SET level = 5 WHERE agent_id = 'a5'")
    for a in ("a3", "a4", "a5"):
        r = await client.put(f"/api/plans/contracts/{a}", headers=plan, json={"hours_week": 40})
        assert r.status_code == 200, r.text
    yesterday = WEEK - timedelta(days=1)
    for day, agent, start, end, breaks in [
            (WEEK, "a1", 540, 1020, [{"start_min": 660, "length_min": 15}]),  # working
            (WEEK, "a2", 480, 960, [{"start_min": 600, "length_min": 60, "kind": "lunch"}]),
            (WEEK, "a3", 780, 1260, []),  # 13:00-21:00: may come in early
            (yesterday, "a4", 960, 1440, [])]:  # to midnight: rested from 11:00
        r = await client.put(f"/api/plans/shifts/{day}/{agent}", headers=plan, json={
            "queue": "general", "start_min": start, "end_min": end, "breaks": breaks})
        assert r.status_code == 201, r.text
    r = await client.post("/api/plans/publish", headers=plan,
                          json={"first": str(yesterday), "days": 2})
    assert r.json()["shifts"] == 4
    await conn.execute("INSERT INTO agent_state_log (agent_id, started_at, state) VALUES"
                       " ('a6', to_timestamp($1), 'on_call')", NOW - 600)  # off its plan
    await store.upsert(conn, today_rows({36: 9, 37: 9, 38: 18, 39: 18, 40: 18, 41: 18}))

    params = {"queue": "general", "erlang": "c", "horizon": 8}
    r = await client.get("/api/plans/emergency", headers=plan, params=params)
    assert r.status_code == 200, r.text
    e = r.json()
    assert (e["day"], e["now_time"], e["open_interval"]) == (str(WEEK), "10:30", "10:30")
    assert [w["time"] for w in e["window"]] == ["09:30", "09:45", "10:00", "10:15"]
    assert (e["actual"], e["forecast"], e["ratio"], e["factor"]) == (72.0, 36.0, 2.0, 2.0)
    need = needed_agents(18, 200.0, 900.0, e["sl_seconds"], sl_target=e["sl_target"]).agents
    planned = needed_agents(9, 200.0, 900.0, e["sl_seconds"], sl_target=e["sl_target"]).agents
    assert planned == 4 < need  # docs/planning.md works 4 out for the plans
    # on the phones by the published plan: a1 (its break 11:00-11:15), a2 back at 11:00
    on = {"10:30": 1, "10:45": 1, "11:00": 1, "11:15": 2, "11:30": 2, "11:45": 2,
          "12:00": 2, "12:15": 2}
    assert [c["time"] for c in e["coming"]] == list(on)
    for c in e["coming"]:
        assert (c["forecast"], c["calls"], c["aht_s"]) == (9.0, 18.0, 200.0)
        assert (c["planned_need"], c["need"], c["scheduled"]) == (planned, need, on[c["time"]])
        assert c["gap"] == on[c["time"]] - need
    assert e["short"] == sum(need - n for n in on.values())
    # a1 works, a2 is at lunch, a6 is on a call, x9 lacks the skill
    assert e["excluded"] == {"on_shift": 1, "on_break": 1, "on_the_phones": 1}
    assert e["call_ins_total"] == 3
    got = [(c["agent_id"], c["level"], c["from_time"], c["until_time"], c["hours_left"],
            c["within_contract"], c["later_shift"]) for c in e["call_ins"]]
    assert got == [("a5", 5, "10:30", "12:30", 40.0, True, None),
                   ("a4", 3, "11:00", "12:30", 40.0, True, None),
                   ("a3", 3, "10:30", "12:30", 32.0, True, "13:00")]
    assert [c["covers_short"] for c in e["call_ins"]] == [8, 6, 8]

    r = await client.get("/api/plans/emergency", headers=plan,
                         params={**params, "limit": 1, "offset": 1})
    assert [c["agent_id"] for c in r.json()["call_ins"]] == ["a4"]  # a page
    assert r.json()["call_ins_total"] == 3
    # a supervisor sees the same, but not the contracted hours
    r = await client.get("/api/plans/emergency", headers=boss, params=params)
    assert r.status_code == 200
    assert [(c["agent_id"], c["hours_left"], c["within_contract"])
            for c in r.json()["call_ins"]] == [("a5", None, True), ("a4", None, True),
                                               ("a3", None, True)]
    assert (await client.get("/api/plans/emergency", headers=root,
                             params=params)).json()["call_ins"][0]["hours_left"] == 40.0
    for who in (a1, qa):
        r = await client.get("/api/plans/emergency", headers=who, params=params)
        assert r.status_code == 403
    assert (await client.get("/api/plans/emergency", params=params)).status_code == 401

    # live: the open interval's calls from the metrics, and the next closed rows move it
    services.metrics.apply(CallQueued(at=NOW - 5, call_id="c1", queue="general",
                                      service=ServiceType.BUSINESS))
    r = await client.get("/api/plans/emergency", headers=plan, params=params)
    assert r.json()["open_offered"] == 1
    await store.upsert(conn, today_rows({38: 9, 39: 9}))  # the storm was shorter
    r = await client.get("/api/plans/emergency", headers=plan, params=params)
    assert (r.json()["actual"], r.json()["ratio"]) == (54.0, 1.5)
    assert r.json()["coming"][0]["calls"] == 13.5


async def test_no_history_and_bounds(world: tuple[httpx.AsyncClient, Services]) -> None:
    client, _ = world
    plan = await login(client, "plan")
    r = await client.get("/api/plans/emergency", headers=plan, params={"queue": "fault"})
    assert r.status_code == 404 and r.json()["error"]["id"] == "forecast-no-history"
    for bad in ({"horizon": 0}, {"horizon": 17}, {"window": 99}, {"min_rest_h": 25},
                {"queue": ""}):
        r = await client.get("/api/plans/emergency", headers=plan,
                             params={"queue": "general", **bad})
        assert r.status_code == 422, bad
    # before any row today: no ratio, the forecast as it is
    r = await client.get("/api/plans/emergency", headers=plan, params={"queue": "general"})
    assert r.status_code == 200
    e = r.json()
    assert (e["window"], e["ratio"], e["factor"]) == ([], None, 1.0)
    assert all(c["calls"] == c["forecast"] for c in e["coming"])
    assert sorted(c["agent_id"] for c in e["call_ins"]) == AGENTS  # nobody has a shift
