"""Work orders that chase their deadlines (#18.5) against the real PostgreSQL: time limits
set per service type and unit through the API (audited) give new orders their deadlines; the
deadline job, not a read, escalates overdue orders level by level into the inboxes, once per
level even with several processes running it at once; its SQL and the pure rule agree; a
customer notice is claimed once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from hotline.core.values import ServiceType
from hotline.history.queries import audit_entries
from hotline.store import db
from hotline.work_orders import notices
from hotline.work_orders import queries as store
from hotline.work_orders.deadline_job import DeadlineJob
from hotline.work_orders.escalation import escalate_overdue, inbox
from hotline.work_orders.model import (
    OrderAction,
    TimeLimit,
    act,
    create,
    escalation_due,
    notice_due,
    policy_for,
)
from tests.helpers.api_app import Clock, api_app, login, logins

T0 = 1_800_000_000.0
H = 3600.0


@pytest.fixture
async def api(conn: asyncpg.Connection, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
              ) -> AsyncIterator[tuple[httpx.AsyncClient, Clock, asyncpg.Pool]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "agent1:pw:agent;office:pw:supervisor;"
                                            "crew:pw:back_office@repair_crew")
    clock = Clock(T0)
    async with api_app(empty_db_url, clock=clock, pool_size=4) as app:
        yield app.client, clock, app.services.db_pool


async def test_limits_set_through_the_api_are_audited_and_give_new_orders_their_deadline(
        api) -> None:  # type: ignore[no-untyped-def]
    client, _clock, pool = api
    office, crew, agent = await logins(client, "office", "crew", "agent1")
    limit = {"service": "fault", "unit": "repair_crew", "resolve_s": 2 * H,
             "callback_s": 12 * H, "centre_after_s": H}
    assert (await client.put("/api/work-order-limits", headers=crew,
                             json=limit)).status_code == 403  # the back office reads only
    r = await client.put("/api/work-order-limits", headers=office, json=limit)
    assert r.status_code == 200, r.text
    assert r.json() == {**limit, "source": "unit"}
    bad = await client.put("/api/work-order-limits", headers=office,
                           json={**limit, "resolve_s": 0})
    assert bad.status_code == 422
    listed = (await client.get("/api/work-order-limits", headers=crew)).json()
    fault = next(x for x in listed if x["service"] == "fault")
    assert (fault["unit"], fault["resolve_s"], fault["source"]) == ("repair_crew", 2 * H, "unit")
    billing = next(x for x in listed if x["service"] == "billing")
    assert billing["source"] == "default"

    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "fault", "caller": "13900000001", "call_id": "c1", "description": "dark"})
    assert r.status_code == 201, r.text
    assert r.json()["resolve_by"] == T0 + 2 * H

    async with pool.acquire() as conn:
        [entry] = await audit_entries(conn, "work_order.limit.set")
    assert entry.who == "office"
    assert entry.details["resolve_s"] == 2 * H and entry.details["before"] is None

    r = await client.delete("/api/work-order-limits/fault", headers=office,
                            params={"unit": "repair_crew"})
    assert r.status_code == 204
    assert (await client.delete("/api/work-order-limits/fault", headers=office,
                                params={"unit": "repair_crew"})).status_code == 404
    async with pool.acquire() as conn:
        [gone] = await audit_entries(conn, "work_order.limit.delete")
    assert gone.details["before"]["resolve_s"] == 2 * H
    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "fault", "caller": "13900000002", "call_id": "c2", "description": "dark"})
    assert r.json()["resolve_by"] == T0 + 4 * H  # the default again


async def test_the_job_not_a_read_escalates_level_by_level_into_the_inboxes(
        api) -> None:  # type: ignore[no-untyped-def]
    client, clock, pool = api
    async with pool.acquire() as conn:
        order = await store.save(conn, act(create(
            ServiceType.FAULT, "13900000001", "no power", "c1", "agent1", T0),
            OrderAction.DISPATCH, T0))
    assert order.centre_after_s == 86400.0
    clock.now = T0 + 5 * H  # an hour late
    office, crew = await login(client, "office"), await login(client, "crew")
    queue = (await client.get("/api/units/repair_crew/work-orders", headers=crew)).json()
    assert [(o["id"], o["overdue"], o["escalation_level"]) for o in queue] == [
        (order.id, "resolve", 0)]  # a read escalates nothing
    job = DeadlineJob(pool, clock)
    run = await job.run_once()
    assert [(e.order_id, e.level, e.deadline, e.unit) for e in run.escalated] == [
        (order.id, 1, "resolve", "repair_crew")]
    assert (await job.run_once()).escalated == []  # once
    inbox1 = (await client.get("/api/work-order-escalations", headers=office,
                               params={"level": 1})).json()
    assert [(x["order_id"], x["to"], x["due_at"]) for x in inbox1] == [
        (order.id, "supervisor", T0 + 4 * H)]
    assert (await client.get("/api/work-order-escalations", headers=crew)).status_code == 403
    clock.now = T0 + 4 * H + 86400 + 1  # a day past the deadline: the centre
    office = await login(client, "office")
    assert [e.level for e in (await job.run_once()).escalated] == [2]
    got = (await client.get(f"/api/work-orders/{order.id}", headers=office)).json()
    assert (got["escalation_level"], got["escalated_to"]) == (2, "centre")
    both = (await client.get("/api/work-order-escalations", headers=office)).json()
    assert [(x["level"], x["to"]) for x in both] == [(2, "centre"), (1, "supervisor")]


async def test_several_processes_escalate_each_order_once_per_level(
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    for n in range(20):
        await store.save(conn, create(ServiceType.FAULT, f"1390000{n:04}", "no power",
                                      f"c{n}", "agent1", T0 - n * H))
    now = T0 + 30 * H  # every order late; the older ones past the centre's day too
    conns = [await db.connect(empty_db_url) for _ in range(6)]
    try:
        runs = await asyncio.gather(*(escalate_overdue(c, now) for c in conns))
    finally:
        for c in conns:
            await c.close()
    won = sorted((e.order_id, e.level) for run in runs for e in run)
    assert len(won) == len(set(won))  # nobody escalated twice
    rows = await inbox(conn, limit=1000)
    assert sorted((e.order_id, e.level) for e in rows) == won
    assert sum(1 for _, lv in won if lv == 1) == 20


async def test_the_jobs_sql_says_what_the_pure_rules_say(conn: asyncpg.Connection) -> None:
    rng = random.Random(18)
    policy = policy_for(ServiceType.FAULT, "", {("fault", ""): TimeLimit(4 * H, 8 * H, 2 * H)})
    saved = []
    for n in range(60):
        at = T0 - rng.uniform(0, 20) * H
        o = create(ServiceType.FAULT, f"1380000{n:04}", "d", f"c{n}", "a", at,
                   policies={ServiceType.FAULT: policy})
        steps = rng.choice([[], [OrderAction.DISPATCH], [OrderAction.DISPATCH,
                            OrderAction.ACCEPT, OrderAction.REPLY]])
        for i, step in enumerate(steps):
            o = act(o, step, at + i, text="done", policies={ServiceType.FAULT: policy})
        saved.append(await store.save(conn, o))
    now = T0
    await escalate_overdue(conn, now)
    for o in saved:
        assert o.id is not None
        got = await store.get(conn, o.id)
        assert got is not None and got.escalation_level == escalation_due(o, now), o
    due_sql = {order_id for order_id, _ in await notices.due(conn, now, H, limit=1000)}
    assert due_sql == {o.id for o in saved if notice_due(o, now, H)}


async def test_a_notice_is_claimed_once(conn: asyncpg.Connection, empty_db_url: str) -> None:
    order = await store.save(conn, create(ServiceType.FAULT, "13900000001", "d", "c", "a", T0))
    assert order.id is not None
    conns = [await db.connect(empty_db_url) for _ in range(4)]
    try:
        claims = await asyncio.gather(*(notices.claim(c, order.id, "voice", "13900000001", T0)
                                        for c in conns))
    finally:
        for c in conns:
            await c.close()
    [notice_id] = [c for c in claims if c is not None]
    await notices.record(conn, notice_id, True, "answered, message played to its end", T0 + 9)
    [row] = await notices.for_order(conn, order.id)
    assert (row.result, row.channel, row.address, row.done_at) == (
        "delivered", "voice", "13900000001", T0 + 9)
    assert await notices.due(conn, T0 + 10 * H, H) == []  # told once


async def test_an_order_follows_its_scenarios_template_and_goes_to_the_local_unit(
        api) -> None:  # type: ignore[no-untyped-def]
    client, _clock, _pool = api
    agent = await login(client, "agent1")
    base = {"service": "fault", "caller": "13900000001", "call_id": "c1",
            "description": "no power in building 3"}
    r = await client.post("/api/work-orders", headers=agent, json={
        **base, "scenario": "fault.no_power", "fields": {"address": "3 West Lake Rd"}})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["id"] == "template-violated"
    assert error["details"]["missing"] == ["since", "scope"]
    assert "missing since, scope" in error["message"]
    r = await client.post("/api/work-orders", headers=agent, json={
        **base, "fields": {"address": "x"}})  # fields without a scenario
    assert r.status_code == 422 and r.json()["error"]["id"] == "template-violated"

    fields = {"address": "3 West Lake Rd", "since": "9:00", "scope": "the street"}
    # 属地: the account's area (0571) has its own repair crew
    r = await client.post("/api/work-orders", headers=agent, json={
        **base, "scenario": "fault.no_power", "fields": fields, "account": "3305710001"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["unit"], order["area"], order["scenario"], order["details"]) == (
        "hangzhou_repair", "0571", "fault.no_power", fields)
    # an area without a local unit: the type's default unit
    r = await client.post("/api/work-orders", headers=agent, json={**base, "area": "0999"})
    assert r.json()["unit"] == "repair_crew"
    # a scenario that names its unit: there, whatever the area
    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "complaint", "caller": "13900000001", "call_id": "c2", "area": "0571",
        "description": "rude staff", "scenario": "complaint.service",
        "fields": {"account": "3305710001", "staff_or_office": "Binjiang office",
                   "what_happened": "shouted at me"}})
    assert r.status_code == 201 and r.json()["unit"] == "complaints_office"
    listed = (await client.get("/api/work-order-scenarios", headers=agent,
                               params={"service": "fault"})).json()
    assert {s["id"] for s in listed} == {"fault.no_power", "fault.hazard"}
    assert listed[0]["questions"]


async def test_a_substantiated_complaint_is_reviewed_by_its_specialty_and_signed_off(
        conn: asyncpg.Connection, empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """1+1+1: the specialty reviews (not the unit), a substantiated complaint gets its
    rectification sheet, and the unit, the specialty and the centre each sign their part."""
    monkeypatch.setenv("HOTLINE_API_USERS", "agent1:pw:agent;office:pw:supervisor;"
                       "desk:pw:back_office@complaints_office;mkt:pw:back_office@marketing_dept;"
                       "crew:pw:back_office@repair_crew")
    async with api_app(empty_db_url, clock=Clock(T0)) as app:
        client = app.client
        agent = await login(client, "agent1")
        r = await client.post("/api/work-orders", headers=agent, json={
            "service": "complaint", "caller": "13900000001", "call_id": "c1",
            "description": "rude staff", "scenario": "complaint.service",
            "fields": {"account": "3305710001", "staff_or_office": "Binjiang office",
                       "what_happened": "shouted at me"}})
        order = r.json()
        path = f"/api/work-orders/{order['id']}"
        desk, mkt, crew, office = await logins(client, "desk", "mkt", "crew", "office")
        assert (await client.get(f"{path}/complaint", headers=crew)).status_code == 404
        got = (await client.get(f"{path}/complaint", headers=desk)).json()
        assert (got["specialty"], got["reviewed"]) == ("marketing_dept", False)
        verdict = {"substantiated": True, "reason": "the recording confirms it"}
        r = await client.post(f"{path}/review", headers=desk, json=verdict)
        assert r.status_code == 403 and r.json()["error"]["id"] == "not-your-specialty"
        r = await client.post(f"{path}/review", headers=mkt, json=verdict)
        assert r.status_code == 409  # substantiated: the measures are needed
        r = await client.post(f"{path}/review", headers=mkt, json={
            **verdict, "measures": "retrain the office staff", "due_at": T0 + 7 * 86400})
        assert r.status_code == 200, r.text
        sheet = r.json()["rectification"]
        assert (sheet["measures"], sheet["done"], sheet["signed"]) == (
            "retrain the office staff", False, {})
        assert (await client.post(f"{path}/review", headers=mkt,
                                  json={**verdict, "measures": "again"})).status_code == 409
        sign = f"{path}/rectification/sign-off"
        assert (await client.post(sign, headers=mkt, json={"part": "unit"})).status_code == 403
        assert (await client.post(sign, headers=desk,
                                  json={"part": "centre"})).status_code == 403
        for who, part in ((desk, "unit"), (mkt, "specialty")):
            r = await client.post(sign, headers=who, json={"part": part})
            assert r.status_code == 200 and not r.json()["rectification"]["done"]
        assert (await client.post(sign, headers=desk,
                                  json={"part": "unit"})).status_code == 409  # once
        r = await client.post(sign, headers=office, json={"part": "centre"})
        done = r.json()["rectification"]
        assert done["done"] and {p: s["who"] for p, s in done["signed"].items()} == {
            "unit": "desk", "specialty": "mkt", "centre": "office"}
