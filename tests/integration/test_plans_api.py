"""Plans and adherence against the real PostgreSQL (#19.3, #19.4): contracts, the month plan,
the week built by the CP-SAT model from the forecast, the day's fine-tuning and its gaps,
publishing, every change audited, an agent reading only its own published shift, and the
day's adherence from agent_state_log.

The seeded history (queue general, local time UTC+8): 1-28 June 2026, every day 9 calls a
quarter hour from 09:00 to 17:00 handled in 200 s, nobody hanging up: 4 agents needed from
09:00 to 17:00 (tests/unit/test_week_plan.py works it out). Six agents of 40 hours qualify
for the queue (skill general), x9 (skill fault) does not. The clock: Monday 29 June, 10:30."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest

from hotline.history.queries import audit_entries
from hotline.planning import queries as planning
from hotline.store import queries as store
from hotline.store.records import IntervalRecord
from tests.helpers.api_app import api_app, logins

OFFSET = 8 * 3600
FIRST = date(2026, 6, 1)
WEEK = date(2026, 6, 29)  # a Monday
MIDNIGHT = planning.day_start(WEEK, OFFSET)
NOW = MIDNIGHT + 10.5 * 3600
AGENTS = [f"a{k}" for k in range(1, 7)]
USERS = ("plan:pw:planner;boss:pw:supervisor;a1:pw:agent;a2:pw:agent;root:pw:admin;"
         "qa:pw:qa")


async def seed(conn: asyncpg.Connection) -> None:
    rows = []
    for d in range(28):
        for slot in range(36, 68):
            start = planning.day_start(FIRST + timedelta(days=d), OFFSET) + slot * 900
            rows.append(IntervalRecord("general", start, start + 900, {
                "offered": 9, "answered": 9, "handled": 9, "abandoned": 0, "talk_s": 9 * 170.0,
                "acw_s": 9 * 30.0, "wait_answered_s": 9.0, "wait_abandoned_s": 0.0}))
    await store.upsert(conn, rows)
    await conn.execute("INSERT INTO queues (name, service, required_skills) VALUES"
                       " ('general', 'business', '{\"general\": 1}'),"
                       " ('fault', 'fault', '{\"fault\": 2}')")
    for a in [*AGENTS, "x9"]:
        await conn.execute("INSERT INTO agents (id, name, sip_endpoint) VALUES ($1, $1, $1)", a)
        await conn.execute("INSERT INTO agent_skills VALUES ($1, $2, 3)", a,
                           "fault" if a == "x9" else "general")


@pytest.fixture
async def client(conn: asyncpg.Connection, empty_db_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    await seed(conn)
    async with api_app(empty_db_url, clock=lambda: NOW) as api:
        yield api.client


async def test_plan_a_week_publish_it_and_each_agent_sees_its_own_shift(
        client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    plan, a1, boss = await logins(client, "plan", "a1", "boss")
    for a in AGENTS:
        r = await client.put(f"/api/plans/contracts/{a}", headers=plan,
                             json={"hours_week": 40, "days_off_wish": [6]})
        assert r.status_code == 200, r.text
    r = await client.put("/api/plans/contracts/nobody", headers=plan, json={"hours_week": 8})
    assert r.status_code == 404
    assert len(await audit_entries(conn, "plan.contract.set")) == 6
    got = {c["agent_id"]: c for c in (await client.get("/api/plans/contracts",
                                                       headers=plan)).json()}
    assert got["a1"]["queues"] == ["general"] and got["a1"]["contracted"]
    assert got["x9"]["queues"] == ["fault"] and not got["x9"]["contracted"]

    # the month plan: 4 x 8 h on the phones a day over 8 paid hours a shift
    r = await client.get("/api/plans/month", headers=plan,
                         params={"queue": "general", "month": "2026-07", "erlang": "c"})
    assert r.status_code == 200, r.text
    assert {d["suggested"] for d in r.json()["days"]} == {4}
    assert len(r.json()["days"]) == 31
    r = await client.put("/api/plans/month", headers=plan,
                         json={"queue": "general", "days": {str(WEEK): 5}})
    assert r.status_code == 204
    [h] = await audit_entries(conn, "plan.headcount.set")
    assert h.details == {"queue": "general", "days": {str(WEEK): 5}} and h.who == "plan"

    r = await client.post("/api/plans/week", headers=plan, json={
        "first": str(WEEK), "queues": ["general"], "erlang": "c", "starts_min": [480, 540],
        "time_limit_s": 10})
    assert r.status_code == 200, r.text
    w = r.json()
    assert (w["agents"], w["shifts"]) == (6, 30) and w["status"] in ("optimal", "feasible")
    [built] = await audit_entries(conn, "plan.week.build")
    assert built.details["shifts"] == 30 and built.details["agents"] == AGENTS

    r = await client.get("/api/plans/day", headers=plan,
                         params={"queue": "general", "day": str(WEEK), "erlang": "c"})
    assert r.status_code == 200, r.text
    day = r.json()
    assert len(day["shifts"]) <= 5  # the month plan's head count
    assert day["unpublished"] == len(day["shifts"])
    for i, iv in enumerate(day["intervals"]):
        assert iv["need"] == (4 if 36 <= i < 68 else 0)
        assert iv["gap"] == iv["scheduled"] - iv["need"]
        on = sum(s["start_min"] <= i * 15 < s["end_min"] and not any(
            b["start_min"] <= i * 15 < b["start_min"] + b["length_min"] for b in s["breaks"])
            for s in day["shifts"])
        assert iv["scheduled"] == on
    assert day["short"] == -sum(min(0, iv["gap"]) for iv in day["intervals"])

    # nothing published yet: the agent has no shift to see
    r = await client.get("/api/agents/a1/shift", headers=a1, params={"day": str(WEEK)})
    assert r.status_code == 200 and r.json()["shift"] is None
    r = await client.post("/api/plans/publish", headers=plan, json={"first": str(WEEK)})
    assert r.status_code == 200 and r.json()["shifts"] == 30
    [pub] = await audit_entries(conn, "plan.publish")
    assert pub.details == {"first": str(WEEK), "end": str(WEEK + timedelta(days=7)),
                           "shifts": 30}
    mine = [s for d in range(7) for s in [(await client.get(
        "/api/agents/a1/shift", headers=a1,
        params={"day": str(WEEK + timedelta(days=d))})).json()["shift"]] if s]
    assert len(mine) == 5 and {s["agent_id"] for s in mine} == {"a1"}
    assert all(s["published"] and s["paid_min"] == 480 for s in mine)
    # another agent's shift: not for a1; a supervisor sees it
    r = await client.get("/api/agents/a2/shift", headers=a1)
    assert r.status_code == 403
    assert (await client.get("/api/agents/a2/shift", headers=boss)).status_code == 200

    # the day's fine-tuning: audited with the shift before; agents see it once published
    day2 = mine[0]["day"]
    body = {"queue": "general", "start_min": 600, "end_min": 1020,
            "breaks": [{"start_min": 720, "length_min": 30, "kind": "lunch"}]}
    r = await client.put(f"/api/plans/shifts/{day2}/a1", headers=plan, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["paid_min"] == 390 and r.json()["start"] == "10:00"
    [tuned] = await audit_entries(conn, "plan.shift.set")
    assert tuned.details["before"]["start_min"] == mine[0]["start_min"]
    assert tuned.details["start_min"] == 600
    seen = (await client.get("/api/agents/a1/shift", headers=a1,
                             params={"day": day2})).json()["shift"]
    assert seen["start_min"] == mine[0]["start_min"]  # the published one, still
    r = await client.put(f"/api/plans/shifts/{day2}/a1", headers=plan,
                         json={**body, "end_min": 1500})
    assert r.status_code == 422
    r = await client.put(f"/api/plans/shifts/{day2}/a1", headers=plan,
                         json={**body, "breaks": [{"start_min": 500, "length_min": 15}]})
    assert r.status_code == 422 and r.json()["error"]["id"] == "invalid-shift"
    await client.post("/api/plans/publish", headers=plan, json={"first": day2, "days": 1})
    seen = (await client.get("/api/agents/a1/shift", headers=a1,
                             params={"day": day2})).json()["shift"]
    assert seen["start_min"] == 600 and seen["end"] == "17:00"
    assert (await client.delete(f"/api/plans/shifts/{day2}/a1", headers=plan)).status_code \
        == 204
    assert (await client.delete(f"/api/plans/shifts/{day2}/a1", headers=plan)).status_code \
        == 404
    [gone] = await audit_entries(conn, "plan.shift.delete")
    assert gone.details["before"]["start_min"] == 600


async def test_a_day_of_adherence(client: httpx.AsyncClient,
                                  conn: asyncpg.Connection) -> None:
    """docs/planning.md's hand-worked case, at 10:30: a1's shift 09:00-11:00 with a break at
    10:00; ready 09:05, not ready 10:05, ready again from 10:20 (still open)."""
    plan, boss, a1 = await logins(client, "plan", "boss", "a1")
    r = await client.put(f"/api/plans/shifts/{WEEK}/a1", headers=plan, json={
        "queue": "general", "start_min": 540, "end_min": 660,
        "breaks": [{"start_min": 600, "length_min": 15}]})
    assert r.status_code == 201, r.text
    await client.post("/api/plans/publish", headers=plan, json={"first": str(WEEK)})

    def t(h: int, m: int) -> float:
        return MIDNIGHT + h * 3600 + m * 60
    await conn.executemany(
        "INSERT INTO agent_state_log (agent_id, started_at, state, ended_at) VALUES"
        " ($1, to_timestamp($2), $3, to_timestamp($4))",
        [("a1", t(9, 5), "ready", t(10, 5)), ("a1", t(10, 5), "not_ready", t(10, 20)),
         ("a2", t(8, 0), "ready", t(9, 0))])
    await conn.execute("INSERT INTO agent_state_log (agent_id, started_at, state) VALUES"
                       " ('a1', to_timestamp($1), 'ready')", t(10, 20))
    r = await client.get("/api/plans/adherence", headers=boss)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["day"] == str(WEEK) and rep["until"] == NOW
    one = {a["agent_id"]: a for a in rep["agents"]}["a1"]
    assert (one["start"], one["end"], one["activity"], one["state"]) == (
        "09:00", "11:00", "work", "ready")
    assert one["in_adherence"] is True
    assert one["adherence"] == pytest.approx(75 / 90, abs=1e-4)
    assert one["conformance"] == pytest.approx(70 / 75, abs=1e-4)
    assert rep["adherence"] == one["adherence"]  # a2 had no shift: not scheduled
    r = await client.get("/api/plans/adherence", headers=boss, params={"limit": 1,
                                                                       "offset": 1})
    assert [a["agent_id"] for a in r.json()["agents"]] == ["a2"]  # a page; the floor's all
    assert r.json()["adherence"] == rep["adherence"]
    # a past day: over the whole day
    r = await client.get("/api/plans/adherence", headers=plan,
                         params={"day": str(WEEK - timedelta(days=1))})
    assert r.json()["agents"] == [] and r.json()["adherence"] is None
    assert (await client.get("/api/plans/adherence", headers=a1)).status_code == 403
