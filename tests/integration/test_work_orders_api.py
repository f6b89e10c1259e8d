"""Work orders through the API against the real PostgreSQL: an agent creates one from a call
and links a repeat call; the back office dispatches, accepts, replies, calls back and closes
a complaint with its verdict; a unit's queue lists the overdue first (the deadline job, not
a read, escalates them: test_work_order_deadlines.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.helpers.api_app import Clock, api_app, login

T0 = 1_800_000_000.0
H = 3600.0


@pytest.fixture
async def api(conn: asyncpg.Connection, empty_db_url: str,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "agent1:pw:agent;office:pw:supervisor")
    clock = Clock(T0)
    async with api_app(empty_db_url, clock=clock) as app:
        yield app.client, clock


async def test_a_complaint_is_worked_through_to_its_verdict(api) -> None:  # type: ignore[no-untyped-def]
    client, clock = api
    agent, office = await login(client, "agent1"), await login(client, "office")
    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "complaint", "caller": "13900000001", "call_id": "call-1",
        "description": "the crew was rude"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["state"], order["unit"], order["created_by"]) == (
        "created", "complaints_office", "agent1")

    # the caller rings again: the agent finds the open order and links the call
    found = (await client.get("/api/work-orders", headers=agent,
                              params={"caller": "13900000001"})).json()
    assert [o["id"] for o in found] == [order["id"]]
    r = await client.post(f"/api/work-orders/{order['id']}/calls", headers=agent,
                          json={"call_id": "call-2"})
    assert r.json()["call_ids"] == ["call-1", "call-2"]

    async def do(action: str, **extra: object) -> httpx.Response:
        return await client.post(f"/api/work-orders/{order['id']}/actions", headers=office,
                                 json={"action": action, **extra})

    r = await client.post(f"/api/work-orders/{order['id']}/call-back", headers=agent)
    assert r.status_code == 503  # no controller on this API node: no call can be placed
    assert (await do("dispatch")).json()["state"] == "dispatched"
    assert (await client.post(f"/api/work-orders/{order['id']}/actions", headers=agent,
                              json={"action": "accept"})).status_code == 403
    bad = await do("close")
    assert bad.status_code == 409 and "'dispatched' on 'close'" in bad.json()["error"]["message"]
    await do("accept")
    clock.now = T0 + 2 * H  # tokens live 15 minutes: sign in again
    office = await login(client, "office")
    r = await do("reply", text="apologised, retrained")
    assert r.status_code == 200, r.text
    replied = r.json()
    assert (replied["state"], replied["callback_by"]) == ("callback_due", T0 + 2 * H + 24 * H)
    await do("callback_done", text="customer satisfied")
    no_verdict = await do("close")
    assert no_verdict.status_code == 409 and "verdict" in no_verdict.json()["error"]["message"]
    closed = (await do("close", substantiated=True)).json()
    assert (closed["state"], closed["substantiated"]) == ("closed", True)
    r = await client.post(f"/api/work-orders/{order['id']}/final-answer", headers=office,
                          json={"text": "compensation paid; matter closed"})
    assert r.json()["final_answer"] == "compensation paid; matter closed"
    agent = await login(client, "agent1")
    assert (await client.get("/api/work-orders", headers=agent,
                             params={"caller": "13900000001"})).json() == []


async def test_unit_queue_overdue_first(api) -> None:  # type: ignore[no-untyped-def]
    client, clock = api
    agent, office = await login(client, "agent1"), await login(client, "office")
    ids = []
    for n, at in enumerate((T0, T0 + 3 * H)):
        clock.now = at
        agent = await login(client, "agent1")  # tokens live 15 minutes
        r = await client.post("/api/work-orders", headers=agent, json={
            "service": "fault", "caller": f"1390000000{n}", "call_id": f"f{n}",
            "description": "no power"})
        ids.append(r.json()["id"])
    clock.now = T0 + 5 * H  # the first (due T0 + 4 h) is overdue, the second is not
    agent, office = await login(client, "agent1"), await login(client, "office")
    queue = (await client.get("/api/units/repair_crew/work-orders", headers=office)).json()
    assert [(o["id"], o["overdue"], o["escalated_to"]) for o in queue] == [
        (ids[0], "resolve", ""), (ids[1], None, "")]  # a read escalates nothing
    assert (await client.get("/api/units/repair_crew/work-orders",
                             headers=agent)).status_code == 403
    assert (await client.get("/api/work-orders/999999", headers=agent)).status_code == 404
    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "pizza", "caller": "1", "call_id": "x", "description": "d"})
    assert r.status_code == 422


@pytest.mark.parametrize("caller", [
    "1/sip:900@evil.example",  # would dial PJSIP/1/sip:900@evil.example@caller on call-back
    "1390000,0001",  # a comma: AMI/dialplan argument syntax
    "anonymous", "", "+", "1" * 33,
])
async def test_a_work_order_caller_must_be_a_phone_number(api, caller: str) -> None:  # type: ignore[no-untyped-def]
    """Issue #14.4: a caller reaches the callback's Originate (PJSIP/{number}@caller), so the
    API takes only a phone number (digits, an optional leading +, at most 32), 422 otherwise,
    and nothing is stored."""
    client, _ = api
    agent = await login(client, "agent1")
    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "fault", "caller": caller, "call_id": "call-x", "description": "x"})
    assert r.status_code == 422, r.text
    r = await client.get("/api/work-orders", headers=agent, params={"caller": caller})
    assert r.status_code == 422, r.text
    r = await client.post("/api/work-orders", headers=agent, json={
        "service": "fault", "caller": "+8613900000001", "call_id": "call-y",
        "description": "x"})
    assert r.status_code in (200, 201), r.text
