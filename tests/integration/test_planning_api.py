"""The forecast against the real PostgreSQL: the interval history as the writer stores it
(`interval_stats`, local days and quarter hours), event days and their audit, and the planner's
API (forecast with required agents, accuracy per day, event days) with its role checks.

The seeded history, queue billing, local time UTC+8: 1-14 June 2026 (two weeks), every day
50 calls at 09:00 (AHT 180 s) and 30 at 14:00 (AHT 300 s), nobody hangs up; except Wednesday
10 June, a heat wave of twice that, set as an event day (factor 2). Then Monday 15 June had
44 and 36 calls, Tuesday 16 June (a typhoon, factor 1.5) 75 and 45."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest

from hotline.api.limits import MAX_WHAT_IF_AGENTS, MAX_WHAT_IF_CALLS
from hotline.history.queries import audit_entries
from hotline.planning import queries as planning
from hotline.planning.forecast import EventDay
from hotline.planning.model import needed_agents
from hotline.store import queries as store
from hotline.store.records import IntervalRecord
from tests.helpers.api_app import api_app, login

OFFSET = 8 * 3600  # Settings().utc_offset_s
FIRST = date(2026, 6, 1)  # a Monday
NINE, TWO = 36, 56
HEAT = date(2026, 6, 10)
USERS = "plan:pw:planner;boss:pw:supervisor;agent1:pw:agent;root:pw:admin"


def slot_start(day: date, slot: int) -> float:
    return planning.day_start(day, OFFSET) + slot * 900


def row(day: date, slot: int, calls: int, aht: float, queue: str = "billing",
        abandoned: int = 0) -> IntervalRecord:
    start = slot_start(day, slot)
    return IntervalRecord(queue, start, start + 900, {
        "offered": calls + abandoned, "answered": calls, "handled": calls,
        "abandoned": abandoned, "talk_s": calls * (aht - 30.0), "acw_s": calls * 30.0,
        "wait_answered_s": 2.0 * calls, "wait_abandoned_s": 40.0 * abandoned})


async def seed(conn: asyncpg.Connection) -> None:
    rows = []
    for i in range(14):
        d = FIRST + timedelta(days=i)
        k = 2 if d == HEAT else 1
        rows += [row(d, 0, 0, 0.0), row(d, NINE, 50 * k, 180.0), row(d, TWO, 30 * k, 300.0)]
    rows += [row(date(2026, 6, 15), NINE, 44, 180.0), row(date(2026, 6, 15), TWO, 36, 300.0),
             row(date(2026, 6, 16), NINE, 75, 180.0), row(date(2026, 6, 16), TWO, 45, 300.0)]
    rows.append(row(FIRST, NINE, 7, 100.0, queue="fault"))  # another queue: not billing's
    await store.upsert(conn, rows)  # the writer's own upsert of interval rows


async def test_history_reads_local_days_and_quarter_hours(conn: asyncpg.Connection) -> None:
    """Rows land in the centre's local day and interval: 23:45 local is the day's last
    quarter hour though it is 15:45 UTC; the next local midnight starts the next day."""
    d = date(2026, 6, 1)
    await store.upsert(conn, [row(d, 95, 5, 200.0), row(d + timedelta(days=1), 0, 3, 100.0),
                              row(d, 95, 4, 100.0, queue="fault")])
    days = await planning.history(conn, "billing", d, d + timedelta(days=2), OFFSET)
    assert [h.day for h in days] == [d, d + timedelta(days=1)]
    assert days[0].calls[95] == 5 and days[0].calls.sum() == 5
    assert days[0].handle_s[95] == pytest.approx(1000.0) and days[0].handled[95] == 5
    assert days[1].calls[0] == 3
    # [first, end) is by local day: the second day alone
    assert [h.day for h in await planning.history(conn, "billing", d + timedelta(days=1),
                                                  d + timedelta(days=2), OFFSET)] == [
        d + timedelta(days=1)]
    await store.upsert(conn, [row(d, 40, 10, 200.0, abandoned=4)])
    w = await planning.waits(conn, "billing", d, d + timedelta(days=1), OFFSET)
    assert (w.abandoned, w.wait_abandoned_s) == (4, 160.0)
    assert w.wait_answered_s == pytest.approx(2.0 * 15)


async def test_event_days_are_stored_and_audited(conn: asyncpg.Connection) -> None:
    d = date(2026, 7, 20)
    assert await planning.set_event_day(conn, EventDay(d, "", "typhoon", 1.8, "Typhoon Doksuri"),
                                        "plan", 1_790_000_000.0)
    assert not await planning.set_event_day(conn, EventDay(d, "", "typhoon", 2.2), "plan",
                                            1_790_000_060.0)
    await planning.set_event_day(conn, EventDay(d, "fault", "typhoon", 3.0), "plan", 0.0)
    await planning.set_event_day(conn, EventDay(d, "billing", "outage", 1.1), "plan", 0.0)
    got = await planning.event_days(conn, d, d + timedelta(days=1), "fault")
    assert sorted(got) == [(d, ""), (d, "fault")]
    assert got[(d, "")].factor == 2.2 and got[(d, "")].note == ""
    assert len(await planning.event_days(conn, d, d + timedelta(days=1))) == 3
    assert await planning.event_days(conn, d + timedelta(days=1), d + timedelta(days=9)) == {}
    assert await planning.delete_event_day(conn, d, "fault", "plan", 0.0)
    assert not await planning.delete_event_day(conn, d, "fault", "plan", 0.0)
    sets = await audit_entries(conn, "forecast.event_day.set")
    assert [(e.who, e.details["factor"]) for e in sets[:2]] == [("plan", 1.8), ("plan", 2.2)]
    [gone] = await audit_entries(conn, "forecast.event_day.delete")
    assert gone.details == {"day": "2026-07-20", "queue": "fault"}
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("INSERT INTO forecast_event_days (day, kind, factor, updated_by,"
                           " updated_at) VALUES ($1, 'holiday', -1, 'x', now())", d)


@pytest.fixture
async def client(conn: asyncpg.Connection, empty_db_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    await seed(conn)
    async with api_app(empty_db_url, clock=lambda: 1_781_000_000.0) as api:
        yield api.client


async def test_only_planners_and_admins_plan(client: httpx.AsyncClient) -> None:
    calls = [("GET", "/api/planning/forecast", {"queue": "billing", "day": "2026-06-15"}, None),
             ("GET", "/api/planning/accuracy", {"queue": "billing", "since": "2026-06-15",
                                                "until": "2026-06-16"}, None),
             ("GET", "/api/planning/event-days", {"since": "2026-06-01",
                                                  "until": "2026-07-01"}, None),
             ("PUT", "/api/planning/event-days/2026-06-20", {},
              {"kind": "holiday", "factor": 0.5}),
             ("DELETE", "/api/planning/event-days/2026-06-20", {}, None),
             ("POST", "/api/planning/what-if", {}, {"queue": "billing", "day": "2026-06-15"})]
    tokens = {who: await login(client, who) for who in ("boss", "agent1", "plan", "root")}
    for method, path, params, body in calls:
        assert (await client.request(method, path, params=params, json=body)).status_code == 401
        for who in ("boss", "agent1"):
            r = await client.request(method, path, params=params, json=body,
                                     headers=tokens[who])
            assert r.status_code == 403, (who, path)
            assert r.json()["error"]["details"]["roles_allowed"] == ["admin", "planner"]
        for who, ok in (("plan", 300), ("root", 300 if method != "DELETE" else 405)):
            r = await client.request(method, path, params=params, json=body,
                                     headers=tokens[who])
            assert r.status_code < ok, (who, path, r.text)  # a second delete: 404


async def test_the_planner_forecasts_a_day_and_its_agents(client: httpx.AsyncClient) -> None:
    plan = await login(client, "plan")
    r = await client.put(f"/api/planning/event-days/{HEAT}", headers=plan,
                         json={"kind": "heat_wave", "factor": 2.0, "note": "38 °C"})
    assert r.status_code == 201, r.text
    r = await client.put(f"/api/planning/event-days/{HEAT}", headers=plan,
                         json={"kind": "heat_wave", "factor": 2.0, "note": "38 °C"})
    assert r.status_code == 200
    r = await client.get("/api/planning/forecast", headers=plan,
                         params={"queue": "billing", "day": "2026-06-15", "shrinkage": 0.3})
    assert r.status_code == 200, r.text
    f = r.json()
    # 13 normal days (the heat wave left out), flat weeks: Monday is 50 + 30 calls
    assert (f["history_days"], f["trend_per_day"], f["event"]) == (13, 0.0, None)
    assert f["total_calls"] == pytest.approx(80.0)
    assert (f["sl_target"], f["sl_seconds"], f["patience_s"]) == (0.8, 20.0, None)
    nine = f["intervals"][NINE]
    assert (nine["time"], nine["start"]) == ("09:00", slot_start(date(2026, 6, 15), NINE))
    assert (nine["calls"], nine["aht_s"]) == (50.0, 180.0)
    # the classic Erlang C example: 14 agents, 88.8 % within 20 s; 30 % shrinkage: 20
    assert (nine["agents"], nine["scheduled"]) == (14, 20)
    assert nine["service_level"] == pytest.approx(0.888, abs=0.001)
    two = f["intervals"][TWO]
    assert (two["calls"], two["aht_s"]) == (30.0, 300.0)
    assert two["agents"] == needed_agents(30, 300, 900, 20, sl_target=0.8).agents
    assert f["intervals"][1]["agents"] == 0 and f["intervals"][1]["calls"] == 0
    # a stricter target than the queue's: more agents
    r = await client.get("/api/planning/forecast", headers=plan,
                         params={"queue": "billing", "day": "2026-06-15", "sl_target": 0.95})
    assert r.json()["intervals"][NINE]["agents"] == needed_agents(
        50, 180, 900, 20, sl_target=0.95).agents > 14
    # the typhoon: an event day for every queue, set before the day
    r = await client.put("/api/planning/event-days/2026-06-16", headers=plan,
                         json={"kind": "typhoon", "factor": 1.5})
    assert r.status_code == 201
    f = (await client.get("/api/planning/forecast", headers=plan,
                          params={"queue": "billing", "day": "2026-06-16"})).json()
    assert f["event"]["kind"] == "typhoon"
    assert (f["intervals"][NINE]["calls"], f["intervals"][TWO]["calls"]) == (75.0, 45.0)
    # no history: 404
    r = await client.get("/api/planning/forecast", headers=plan,
                         params={"queue": "nobody", "day": "2026-06-16"})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "forecast-no-history")


async def test_accuracy_per_day_against_what_happened(client: httpx.AsyncClient) -> None:
    plan = await login(client, "plan")
    for day, kind, factor in ((HEAT, "heat_wave", 2.0), ("2026-06-16", "typhoon", 1.5)):
        r = await client.put(f"/api/planning/event-days/{day}", headers=plan,
                             json={"kind": kind, "factor": factor})
        assert r.status_code == 201
    r = await client.get("/api/planning/accuracy", headers=plan, params={
        "queue": "billing", "since": "2026-06-15", "until": "2026-06-18"})
    assert r.status_code == 200, r.text
    monday, tuesday, wednesday = r.json()["days"]
    # Monday: forecast 50 and 30, happened 44 and 36
    assert (monday["forecast"], monday["actual"]) == (80.0, 80.0)
    assert monday["wape"] == pytest.approx(12 / 80, abs=1e-4)
    assert monday["mape"] == pytest.approx((6 / 44 + 6 / 36) / 2, abs=1e-4)
    assert monday["observed_factor"] == 1.0
    # Tuesday: the typhoon's factor was right
    assert (tuesday["wape"], tuesday["mape"], tuesday["observed_factor"]) == (0.0, 0.0, 1.5)
    assert tuesday["event"]["factor"] == 1.5
    # Wednesday: no interval row yet, nothing to compare
    assert wednesday["forecast"] is None and wednesday["wape"] is None
    assert r.json()["wape"] == pytest.approx(12 / 200, abs=1e-4)
    # the heat wave, seen from its own eve: twice a normal Wednesday
    r = await client.get("/api/planning/accuracy", headers=plan, params={
        "queue": "billing", "since": str(HEAT), "until": str(HEAT + timedelta(days=1))})
    [heat] = r.json()["days"]
    assert (heat["observed_factor"], heat["wape"]) == (2.0, 0.0)  # its factor 2 was right
    r = await client.get("/api/planning/accuracy", headers=plan, params={
        "queue": "billing", "since": "2026-01-01", "until": "2026-06-01"})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "span-too-long")
    r = await client.get("/api/planning/event-days", headers=plan,
                         params={"since": "2026-06-01", "until": "2026-07-01"})
    assert [(e["day"], e["kind"]) for e in r.json()] == [("2026-06-10", "heat_wave"),
                                                         ("2026-06-16", "typhoon")]
    assert (await client.delete("/api/planning/event-days/2026-06-16",
                                headers=plan)).status_code == 204
    r = await client.delete("/api/planning/event-days/2026-06-16", headers=plan)
    assert (r.status_code, r.json()["error"]["id"]) == (404, "event-day-not-found")


async def test_days_out_of_range_are_refused(client: httpx.AsyncClient) -> None:
    """A day whose weeks of history or next day leave the calendar is a 422, not a 500."""
    plan = await login(client, "plan")
    for path, params in (("/api/planning/forecast", {"queue": "billing", "day": "0001-01-03"}),
                         ("/api/planning/forecast", {"queue": "billing", "day": "9999-12-31"}),
                         ("/api/planning/accuracy", {"queue": "billing", "since": "0001-01-01",
                                                     "until": "0001-01-09"}),
                         ("/api/planning/event-days", {"since": "9999-12-01",
                                                       "until": "9999-12-31"})):
        r = await client.get(path, params=params, headers=plan)
        assert r.status_code == 422, (path, params, r.status_code)


async def test_a_note_postgresql_cannot_hold_is_refused(client: httpx.AsyncClient) -> None:
    """Found by the API fuzz: a NUL in the note was a 500 (PostgreSQL text holds none)."""
    r = await client.put("/api/planning/event-days/2026-06-20", headers=await login(
        client, "plan"), json={"kind": "holiday", "factor": 0.5, "note": "a\x00b"})
    assert r.status_code == 422, r.text


async def test_the_planner_runs_a_what_if(client: httpx.AsyncClient,
                                          conn: asyncpg.Connection) -> None:
    """Monday 15 June's forecast (50 calls at 09:00, AHT 180 s: 14 agents; 30 at 14:00) run
    through the simulator with those agents and with 30 % shrinkage against 40 %: the same
    drawn calls, fewer agents on the floor, a worse service level."""
    plan = await login(client, "plan")
    r = await client.put(f"/api/planning/event-days/{HEAT}", headers=plan,
                         json={"kind": "heat_wave", "factor": 2.0})  # out of the fit
    assert r.status_code == 201
    body = {"queue": "billing", "day": "2026-06-15", "shrinkage": 0.3, "seed": 7,
            "change": {"shrinkage": 0.4}}
    r = await client.post("/api/planning/what-if", headers=plan, json=body)
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["aht_s"] == pytest.approx((50 * 180 + 30 * 300) / 80)
    assert w["patience_s"] is None  # nobody hung up in the history: Erlang C, no abandons
    by_time = {i["time"]: i for i in w["intervals"]}
    assert {"09:00", "14:00"} <= set(by_time)
    nine = by_time["09:00"]
    # scheduled 20 (14 / 0.7); 70 % of them on the floor: 14; 60 %: 12
    assert (nine["calls"], nine["baseline"]["agents"], nine["variant"]["agents"]) == (50, 14, 12)
    assert nine["start"] == slot_start(date(2026, 6, 15), NINE)
    assert w["baseline"]["offered"] == w["variant"]["offered"] == w["calls"] > 0
    assert sum(i["offered"] for i in w["intervals"]) == w["calls"]
    assert w["variant"]["service_level"] < w["baseline"]["service_level"]
    assert w["variant"]["asa_s"] > w["baseline"]["asa_s"]
    assert w["baseline"]["abandoned"] == w["variant"]["abandoned"] == 0
    # the same request draws the same day
    again = await client.post("/api/planning/what-if", headers=plan, json=body)
    assert again.json() == w
    # bounded: a variant past MAX_WHAT_IF_AGENTS is refused before it runs
    r = await client.post("/api/planning/what-if", headers=plan, json={
        **body, "change": {"agents_delta": MAX_WHAT_IF_AGENTS, "shrinkage": 0}})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "what-if-too-large")
    # ... and a day of more calls than MAX_WHAT_IF_CALLS: 400 at 09:00, a hundredfold
    await store.upsert(conn, [row(FIRST + timedelta(days=i), NINE, 400, 180.0, queue="big")
                              for i in range(14)])
    r = await client.put("/api/planning/event-days/2026-06-15", headers=plan,
                         json={"queue": "big", "kind": "other", "factor": 100})
    assert r.status_code == 201
    r = await client.post("/api/planning/what-if", headers=plan, json={
        **body, "queue": "big", "erlang": "c", "change": {}})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "what-if-too-large")
    assert r.json()["error"]["details"]["calls"] == 40_000 > MAX_WHAT_IF_CALLS
    r = await client.post("/api/planning/what-if", headers=plan,
                          json={**body, "queue": "nobody"})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "forecast-no-history")
