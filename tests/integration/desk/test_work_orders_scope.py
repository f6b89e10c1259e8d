"""Who may see and change which work order (docs/live-api.md, "Work orders: who sees what"),
one call-back at a time, no lost updates, and limits that the schema and PostgreSQL share.
Through the API over a real (not started) Controller and the real PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hotline.core.events import AgentRinging, CallAnswered, CallEnded, TalkEnded
from hotline.core.settings import Settings
from hotline.store import db, queries
from hotline.store.records import CallRecord
from tests.helpers.desk import NODE, Desk, error, ring_a_call

CALLER = "13900000001"


@pytest.fixture
async def orders(desk: Desk, conn: asyncpg.Connection,
                 empty_db_url: str) -> AsyncIterator[Desk]:
    """The desk fixture with the store wired (`conn` migrates it; several connections:
    requests run at once)."""
    desk.services.db_pool = await db.create_pool(empty_db_url, min_size=2, max_size=4)
    try:
        yield desk
    finally:
        await desk.services.db_pool.close()


async def new_order(d: Desk, agent: str = "agent1", caller: str = CALLER,
                    call_id: str = "c1") -> dict[str, Any]:
    r = await d.post(agent, "/api/work-orders", {
        "service": "fault", "caller": caller, "call_id": call_id, "description": "no power"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def to_callback_due(d: Desk, order_id: int) -> None:
    for action, extra in (("dispatch", {}), ("accept", {}), ("reply", {"text": "fixed"})):
        r = await d.post("supervisor", f"/api/work-orders/{order_id}/actions",
                         {"action": action, **extra})
        assert r.status_code == 200, r.text


async def test_an_agent_sees_only_the_orders_in_its_scope(orders: Desk) -> None:
    order = await new_order(orders)
    oid = order["id"]
    # the creator and the supervisor see it
    assert (await orders.get("agent1", f"/api/work-orders/{oid}")).status_code == 200
    assert (await orders.get("supervisor", f"/api/work-orders/{oid}")).status_code == 200
    # another agent, not talking to this caller, does not even learn that it exists
    r = await orders.get("agent2", f"/api/work-orders/{oid}")
    assert r.status_code == 404, r.text
    assert error(r)["id"] == "no-such-work-order"
    r = await orders.get("agent2", f"/api/work-orders?caller={CALLER}")
    assert (r.status_code, r.json()) == (200, [])
    r = await orders.post("agent2", f"/api/work-orders/{oid}/calls", {"call_id": "c-x"})
    assert r.status_code == 404, r.text
    # the creator's own list has it
    r = await orders.get("agent1", f"/api/work-orders?caller={CALLER}")
    assert [o["id"] for o in r.json()] == [oid]


async def test_the_caller_on_the_line_opens_its_orders_to_the_agent(
        orders: Desk, conn: asyncpg.Connection) -> None:
    order = await new_order(orders)
    oid = order["id"]
    await orders.post("agent2", "/api/agents/agent2/login")
    await orders.post("agent2", "/api/agents/agent2/ready")
    await orders.post("agent1", "/api/agents/agent1/login")  # agent1 stays not ready
    ring_a_call(orders, "c2", CALLER)
    orders.clock.t += 5
    orders.controller.handle(AgentRinging(orders.clock.t, node=NODE, call_id="c2",
                                          agent_id="agent2"))
    orders.controller.handle(CallAnswered(orders.clock.t + 1, node=NODE, call_id="c2",
                                          agent_id="agent2"))
    assert orders.state("agent2") == "on_call"
    # talking to the caller now: its open orders are agent2's to see and link the call to
    r = await orders.get("agent2", f"/api/work-orders?caller={CALLER}")
    assert [o["id"] for o in r.json()] == [oid]
    assert (await orders.get("agent2", f"/api/work-orders/{oid}")).status_code == 200
    r = await orders.post("agent2", f"/api/work-orders/{oid}/calls", {"call_id": "c2"})
    assert r.status_code == 200 and r.json()["call_ids"] == ["c1", "c2"]
    # but not another number's
    other = await new_order(orders, caller="13900000002", call_id="c3")
    assert (await orders.get("agent2", f"/api/work-orders/{other['id']}")).status_code == 404
    r = await orders.get("agent2", "/api/work-orders?caller=13900000002")
    assert r.json() == []
    # the agent desk's open orders are the current caller's
    desk = (await orders.get("agent2", "/api/agents/agent2/desk")).json()
    assert [o["id"] for o in desk["open_orders"]] == [oid]

    # once the call is over and written to history, the order stays agent2's: a call it
    # handled is linked to it
    await queries.upsert(conn, [CallRecord(call_id="c2", caller=CALLER, agent_id="agent2",
                                           entered_at=orders.clock.t - 10)])
    orders.controller.handle(TalkEnded(orders.clock.t + 2, node=NODE, call_id="c2",
                                       agent_id="agent2"))
    orders.controller.handle(CallEnded(orders.clock.t + 2, node=NODE, call_id="c2"))
    await orders.post("agent2", "/api/agents/agent2/end-wrap-up")
    assert (await orders.get("agent2", f"/api/work-orders/{oid}")).status_code == 200
    assert (await orders.get("agent2", f"/api/work-orders/{other['id']}")).status_code == 404


async def test_a_stranger_cannot_record_a_callback(orders: Desk) -> None:
    order = await new_order(orders)
    await to_callback_due(orders, order["id"])
    r = await orders.post("agent2", f"/api/work-orders/{order['id']}/actions",
                          {"action": "callback_done", "text": "done"})
    assert r.status_code == 404, r.text
    r = await orders.post("agent2", f"/api/work-orders/{order['id']}/call-back")
    assert r.status_code == 404, r.text
    r = await orders.post("agent1", f"/api/work-orders/{order['id']}/actions",
                          {"action": "callback_done", "text": "done"})
    assert (r.status_code, r.json()["callback_done_by"]) == (200, "agent1")


async def test_one_call_back_at_a_time(orders: Desk) -> None:
    order = await new_order(orders)
    oid = order["id"]
    await to_callback_due(orders, oid)
    first = await orders.post("agent1", f"/api/work-orders/{oid}/call-back")
    assert first.status_code == 200, first.text
    again = await orders.post("agent1", f"/api/work-orders/{oid}/call-back")
    assert again.status_code == 409, again.text
    assert error(again)["id"] == "call-back-too-soon"
    assert error(again)["details"]["retry_after_s"] > 0
    # after the gap (Settings.work_order_callback_gap_s), two at once: one is placed, the
    # other refused
    orders.clock.t += Settings().work_order_callback_gap_s + 1
    both = await asyncio.gather(*(orders.post("agent1", f"/api/work-orders/{oid}/call-back")
                                  for _ in range(2)))
    assert sorted(r.status_code for r in both) == [200, 409]
    placed = (await orders.get("agent1", f"/api/work-orders/{oid}")).json()["call_ids"]
    assert len(placed) == 3  # the order's call and two call-backs, never more


async def test_concurrent_reply_and_link_lose_nothing(orders: Desk) -> None:
    """Two writes at once on the same order: both effects kept, or one answered 409
    stale-version; never one silently lost."""
    for n in range(6):
        order = await new_order(orders, caller=f"1390000010{n}", call_id=f"first{n}")
        oid = order["id"]
        for action in ("dispatch", "accept"):
            await orders.post("supervisor", f"/api/work-orders/{oid}/actions",
                              {"action": action})
        reply, link = await asyncio.gather(
            orders.post("supervisor", f"/api/work-orders/{oid}/actions",
                        {"action": "reply", "text": "fixed"}),
            orders.post("agent1", f"/api/work-orders/{oid}/calls", {"call_id": f"again{n}"}))
        for r in (reply, link):
            assert r.status_code in (200, 409), r.text
            if r.status_code == 409:
                assert error(r)["id"] == "stale-version"
        final = (await orders.get("supervisor", f"/api/work-orders/{oid}")).json()
        if reply.status_code == 200:
            assert (final["state"], final["reply"]) == ("callback_due", "fixed"), final
        if link.status_code == 200:
            assert f"again{n}" in final["call_ids"], final


async def test_a_stale_version_is_refused(orders: Desk) -> None:
    order = await new_order(orders)
    oid = order["id"]
    r = await orders.post("supervisor", f"/api/work-orders/{oid}/actions",
                          {"action": "dispatch", "version": order["version"]})
    assert r.status_code == 200 and r.json()["version"] == order["version"] + 1
    r = await orders.post("supervisor", f"/api/work-orders/{oid}/actions",
                          {"action": "accept", "version": order["version"]})
    assert (r.status_code, error(r)["id"]) == (409, "stale-version")


async def test_a_long_caller_is_refused_not_a_500(orders: Desk) -> None:
    r = await orders.post("agent1", "/api/work-orders", {
        "service": "fault", "caller": "1" * 100, "call_id": "c1", "description": "d"})
    assert r.status_code == 422, r.text


async def test_the_schema_limit_is_the_databases(orders: Desk,
                                                 conn: asyncpg.Connection) -> None:
    """The caller's maximum length in the OpenAPI schema equals the CHECK in PostgreSQL."""
    checks = await conn.fetch(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE conrelid = 'work_orders'::regclass AND contype = 'c'")
    [db_limit] = [int(m.group(1)) for c in checks
                  if (m := re.search(r"length\(caller\)\s*<=\s*(\d+)", c["def"]))]
    schema = (await orders.client.get("/openapi.json")).json()["components"]["schemas"]
    caller = schema["OrderIn"]["properties"]["caller"]
    assert caller["maxLength"] == db_limit


async def test_orders_of_no_one_stay_hidden_without_a_controller(
        orders: Desk, conn: asyncpg.Connection) -> None:
    """An API node without the controller knows no current caller: an agent sees its own
    orders and those on its calls only."""
    order = await new_order(orders)
    orders.services.controller = None
    assert (await orders.get("agent1", f"/api/work-orders/{order['id']}")).status_code == 200
    assert (await orders.get("agent2", f"/api/work-orders/{order['id']}")).status_code == 404


async def test_the_back_office_works_the_orders_of_its_unit_only(orders: Desk) -> None:
    """Issue #14.3: a back-office user belongs to a unit and sees, lists and acts on the
    orders dispatched or escalated to that unit, and no others (404, as for none; another
    unit's queue: 403)."""
    from hotline.api.security import Role, User

    await orders.services.users.add(User(  # the development logins' convention: password = name
        "crew", orders.services.hasher.hash("crew"), frozenset({Role.BACK_OFFICE}),
        unit="repair_crew"))
    await orders.services.users.add(User(
        "billing", orders.services.hasher.hash("billing"), frozenset({Role.BACK_OFFICE}),
        unit="billing_office"))
    fault = await new_order(orders)  # a fault: repair_crew's
    r = await orders.post("agent1", "/api/work-orders", {
        "service": "billing", "caller": CALLER, "call_id": "c9", "description": "bill"})
    bill = r.json()
    assert (fault["unit"], bill["unit"]) == ("repair_crew", "billing_office")

    assert (await orders.get("crew", f"/api/work-orders/{fault['id']}")).status_code == 200
    r = await orders.get("crew", f"/api/work-orders/{bill['id']}")
    assert (r.status_code, error(r)["id"]) == (404, "no-such-work-order")
    r = await orders.get("crew", "/api/units/repair_crew/work-orders")
    assert [o["id"] for o in r.json()] == [fault["id"]]
    r = await orders.get("crew", "/api/units/billing_office/work-orders")
    assert r.status_code == 403, r.text
    r = await orders.get("crew", f"/api/work-orders?caller={CALLER}")
    assert [o["id"] for o in r.json()] == [fault["id"]]
    # it works its own orders...
    for action in ("dispatch", "accept"):
        r = await orders.post("crew", f"/api/work-orders/{fault['id']}/actions",
                              {"action": action})
        assert r.status_code == 200, r.text
    # ...and not another unit's
    r = await orders.post("crew", f"/api/work-orders/{bill['id']}/actions",
                          {"action": "dispatch"})
    assert r.status_code == 404, r.text
    # sent on to another unit, the order leaves its scope and enters that unit's
    r = await orders.post("billing", f"/api/work-orders/{bill['id']}/actions",
                          {"action": "dispatch", "unit": "repair_crew"})
    assert r.status_code == 200, r.text
    assert (await orders.get("crew", f"/api/work-orders/{bill['id']}")).status_code == 200
    assert (await orders.get("billing", f"/api/work-orders/{bill['id']}")).status_code == 404
    # the back office neither creates orders nor rings customers
    r = await orders.post("crew", "/api/work-orders", {
        "service": "fault", "caller": CALLER, "call_id": "c8", "description": "x"})
    assert r.status_code == 403, r.text
    r = await orders.post("crew", f"/api/work-orders/{fault['id']}/call-back")
    assert r.status_code == 403, r.text


async def test_a_back_office_user_without_a_unit_sees_nothing(orders: Desk) -> None:
    from hotline.api.security import Role, User

    await orders.services.users.add(User(
        "nobody", orders.services.hasher.hash("nobody"), frozenset({Role.BACK_OFFICE})))
    order = await new_order(orders)
    assert (await orders.get("nobody", f"/api/work-orders/{order['id']}")).status_code == 404
    r = await orders.get("nobody", f"/api/work-orders?caller={CALLER}")
    assert r.json() == []


async def test_a_closed_orders_final_answer_stays_with_the_callers_next_agent(
        orders: Desk) -> None:
    """最终答复 (#17.8): once its order is closed, the final answer is what the caller's next
    call is most likely about: the agent on the line sees the order, and the desk flags the
    call as a repeat of an answered matter while within the repeat window."""
    oid = (await new_order(orders))["id"]
    await to_callback_due(orders, oid)
    r = await orders.post("supervisor", f"/api/work-orders/{oid}/final-answer",
                          {"text": "the meter was replaced; the bill is corrected"})
    assert r.status_code == 200, r.text
    for action in ("callback_done", "close"):
        r = await orders.post("supervisor", f"/api/work-orders/{oid}/actions",
                              {"action": action, "text": "told"})
        assert r.status_code == 200 and r.json()["state"] in ("replied", "closed"), r.text
    orders.clock.t += 3600  # the caller calls again an hour later
    orders.tokens.clear()  # (everyone's tokens expired meanwhile: signed in again)
    await orders.post("agent2", "/api/agents/agent2/login")
    await orders.post("agent2", "/api/agents/agent2/ready")
    ring_a_call(orders, "c2", CALLER)
    orders.clock.t += 5
    orders.controller.handle(AgentRinging(orders.clock.t, node=NODE, call_id="c2",
                                          agent_id="agent2"))
    orders.controller.handle(CallAnswered(orders.clock.t + 1, node=NODE, call_id="c2",
                                          agent_id="agent2"))
    r = await orders.get("agent2", f"/api/work-orders/{oid}")
    assert r.status_code == 200, r.text
    assert r.json()["final_answer"] == "the meter was replaced; the bill is corrected"
    desk = (await orders.get("agent2", "/api/agents/agent2/desk")).json()
    assert desk["open_orders"] == []
    [answered] = desk["answered_orders"]
    assert (answered["id"], answered["state"], answered["final_answer"]) == (
        oid, "closed", "the meter was replaced; the bill is corrected")
    assert desk["final_answer_repeat"] == oid
    # a closed order without a final answer stays out of sight
    plain = (await new_order(orders, agent="agent1", call_id="c9"))["id"]
    r = await orders.post("supervisor", f"/api/work-orders/{plain}/actions",
                          {"action": "close"})
    assert r.status_code == 200, r.text
    assert (await orders.get("agent2", f"/api/work-orders/{plain}")).status_code == 404


async def test_an_answered_matter_long_ago_is_shown_but_not_flagged(orders: Desk) -> None:
    oid = (await new_order(orders))["id"]
    r = await orders.post("supervisor", f"/api/work-orders/{oid}/final-answer",
                          {"text": "no outage planned"})
    assert r.status_code == 200, r.text
    r = await orders.post("supervisor", f"/api/work-orders/{oid}/actions", {"action": "close"})
    assert r.status_code == 200, r.text
    orders.clock.t += 3 * 86400  # beyond the 24 h window
    orders.tokens.clear()
    await orders.post("agent2", "/api/agents/agent2/login")
    await orders.post("agent2", "/api/agents/agent2/ready")
    ring_a_call(orders, "c2", CALLER)
    orders.controller.handle(AgentRinging(orders.clock.t, node=NODE, call_id="c2",
                                          agent_id="agent2"))
    orders.controller.handle(CallAnswered(orders.clock.t + 1, node=NODE, call_id="c2",
                                          agent_id="agent2"))
    desk = (await orders.get("agent2", "/api/agents/agent2/desk")).json()
    assert [o["id"] for o in desk["answered_orders"]] == [oid]
    assert desk["final_answer_repeat"] is None
