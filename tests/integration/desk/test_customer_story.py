"""The caller's whole story (客户 360, docs/customer-story.md) over the API, through a real
(not started) Controller and the real PostgreSQL: what it holds when a call is offered to an
agent, and who may read it (the agent the call is offered to and supervisors; no other agent;
recordings only for the roles that may hear them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from hotline.centre import queries as centre
from hotline.core.events import AgentRinging, CallAnswered, CallEnded, TalkEnded
from hotline.core.values import ServiceType
from hotline.customer.queries import link_phone
from hotline.store import db, queries
from hotline.store.records import CallRecord, Outage, SurveyAnswer
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import OrderState, WorkOrder
from tests.helpers.desk import NODE, T0, Desk, error, ring_a_call

CALLER = "13900000042"
HOUR = 3600.0


@pytest.fixture
async def story_desk(desk: Desk, conn: asyncpg.Connection,
                     empty_db_url: str) -> AsyncIterator[Desk]:
    """The desk fixture with the store wired and the caller's past seeded: an account at an
    address in 0571 marked sensitive, an outage there now and one next week, two past calls
    (agent2's and agent1's, both recorded), a survey, three orders (open, closed with a final
    answer, closed without one) and the number a VIP."""
    await conn.execute("UPDATE accounts SET sensitive = true, sensitive_note = 'media'"
                       " WHERE account_no = '3305710001'")
    await link_phone(conn, CALLER, "3305710001")
    await link_phone(conn, "13900000043", "3305710002")  # someone else's
    now = await queries.add_outage(conn, Outage(area_code="0571", kind="unplanned",
                                                starts_at=T0 - HOUR, description_en="cable"))
    await queries.add_outage(conn, Outage(area_code="0571", kind="planned",
                                          starts_at=T0 + 7 * 24 * HOUR, description_en="later"))
    await queries.add_outage(conn, Outage(area_code="010", kind="planned", starts_at=T0 - HOUR))
    await queries.upsert(conn, [
        CallRecord(call_id="old1", caller=CALLER, agent_id="agent2", queue="general",
                   service="general", entered_at=T0 - 5 * HOUR, outcome="answered",
                   talk_s=60.0, recording_path="/rec/old1.wav"),
        CallRecord(call_id="old2", caller=CALLER, agent_id="agent1", queue="billing",
                   service="billing", entered_at=T0 - 2 * HOUR, outcome="answered",
                   talk_s=30.0, recording_path="/rec/old2.wav"),
        CallRecord(call_id="else1", caller="13900000043", agent_id="agent1",
                   entered_at=T0 - HOUR)])
    await queries.save_survey(conn, SurveyAnswer(
        call_id="old1", at=T0 - 5 * HOUR + 100, agent_id="agent2", satisfaction=4, scale=5,
        nps=3, service="general"))
    base = WorkOrder(id=None, service=ServiceType.FAULT, caller=CALLER,
                     created_at=T0 - 30 * 24 * HOUR, created_by="agent3",
                     description="flicker", resolve_by=T0)
    desk.seeds = {  # type: ignore[attr-defined]
        "open": (await work_orders.save(conn, WorkOrder(
            **{**_fields(base), "description": "no power", "created_at": T0 - 3 * HOUR}))).id,
        "answered": (await work_orders.save(conn, WorkOrder(
            **{**_fields(base), "state": OrderState.CLOSED, "closed_at": T0 - 20 * 24 * HOUR,
               "final_answer": "line replaced", "description": "sparks"}))).id,
        "closed": (await work_orders.save(conn, WorkOrder(
            **{**_fields(base), "state": OrderState.CLOSED,
               "closed_at": T0 - 25 * 24 * HOUR}))).id,
        "outage": now.id}
    await centre.upsert_vip(conn, CALLER, "hospital", "boss")
    desk.services.db_pool = await db.create_pool(empty_db_url, min_size=1, max_size=3)
    try:
        yield desk
    finally:
        await desk.services.db_pool.close()


def _fields(order: WorkOrder) -> dict[str, object]:
    return {f: getattr(order, f) for f in order.__dataclass_fields__}


async def offer_to_agent1(d: Desk) -> None:
    for agent in ("agent1", "agent2"):
        await d.post(agent, f"/api/agents/{agent}/login")
    await d.post("agent1", "/api/agents/agent1/ready")  # agent2 stays not ready
    ring_a_call(d, "now1", CALLER)
    assert d.controller.router.agent("agent1").call_id == "now1"


async def test_the_agent_offered_the_call_reads_the_whole_story(story_desk: Desk) -> None:
    d = story_desk
    seeds = d.seeds  # type: ignore[attr-defined]
    await offer_to_agent1(d)
    r = await d.get("agent1", "/api/calls/now1/story")
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["caller"], s["call_id"]) == (CALLER, "now1")
    [account] = s["accounts"]
    assert (account["account_no"], account["area_code"], account["sensitive"]) == (
        "3305710001", "0571", True)
    assert account["address"].endswith("Hangzhou") and account["holder"]
    # the outage in force in the area now; not next week's, nor another area's
    assert [(o["id"], o["kind"], o["description_en"]) for o in account["outages"]] == [
        (seeds["outage"], "unplanned", "cable")]
    # every past call of the number, newest first, not this one nor another number's;
    # a recording only where agent1 may hear it (its own call)
    assert [(c["call_id"], c["agent_id"], c["recording_url"]) for c in s["calls"]] == [
        ("old2", "agent1", "/api/recordings/old2"), ("old1", "agent2", None)]
    # the orders in agent1's scope: the open one and the closed one with its final answer;
    # a closed order without a final answer stays out of an agent's sight
    assert [(o["id"], o["state"], o["final_answer"]) for o in s["orders"]] == [
        (seeds["open"], "created", ""), (seeds["answered"], "closed", "line replaced")]
    assert [(v["call_id"], v["satisfaction"], v["scale"], v["nps"]) for v in s["surveys"]] == [
        ("old1", 4, 5, 3)]
    assert s["flags"] == {"vip": True, "vip_note": "hospital", "sensitive": True,
                          "sensitive_notes": ["media"], "repeat": True,
                          "repeat_open_order": seeds["open"], "repeat_answered_order": None}

    # a supervisor reads it too, with every recording and every order
    r = await d.get("supervisor", "/api/calls/now1/story")
    assert r.status_code == 200, r.text
    sup = r.json()
    assert [c["recording_url"] for c in sup["calls"]] == [
        "/api/recordings/old2", "/api/recordings/old1"]
    assert {o["id"] for o in sup["orders"]} == {seeds["open"], seeds["answered"],
                                                seeds["closed"]}


async def test_no_other_agent_reads_the_story(story_desk: Desk) -> None:
    d = story_desk
    await offer_to_agent1(d)
    for path in ("/api/calls/now1/story", "/api/calls/old1/story", "/api/calls/nope/story"):
        r = await d.get("agent3", path)
        assert (r.status_code, error(r)["id"]) == (404, "no-such-call"), path
    # agent2 handled old1 (its story stays readable to it), but now1 is not its call
    assert (await d.get("agent2", "/api/calls/now1/story")).status_code == 404
    r = await d.get("agent2", "/api/calls/old1/story")
    assert r.status_code == 200, r.text
    assert [c["call_id"] for c in r.json()["calls"]] == ["old2"]
    for user in ("qa", "planner", "back_office"):
        r = await d.get(user, "/api/calls/now1/story")
        assert (r.status_code, error(r)["id"]) == (403, "forbidden"), user
    assert (await d.client.get("/api/calls/now1/story")).status_code == 401


async def test_the_story_follows_the_call_from_ringing_to_wrap_up(story_desk: Desk) -> None:
    """Ringing, talking and wrapping up, the call stays agent1's to read; once agent1 has
    ended the wrap-up and the call is in history, its own call still is."""
    d = story_desk
    await offer_to_agent1(d)
    t = d.clock.t + 5
    d.controller.handle(AgentRinging(t, node=NODE, call_id="now1", agent_id="agent1"))
    assert (await d.get("agent1", "/api/calls/now1/story")).status_code == 200
    d.controller.handle(CallAnswered(t + 1, node=NODE, call_id="now1", agent_id="agent1"))
    assert (await d.get("agent1", "/api/calls/now1/story")).status_code == 200
    d.controller.handle(TalkEnded(t + 9, node=NODE, call_id="now1", agent_id="agent1"))
    d.controller.handle(CallEnded(t + 9, node=NODE, call_id="now1"))
    assert d.state("agent1") == "after_call_work"
    assert (await d.get("agent1", "/api/calls/now1/story")).status_code == 200
    await d.post("agent1", "/api/agents/agent1/end-wrap-up")
    assert (await d.get("agent1", "/api/calls/now1/story")).status_code == 404  # not stored
    async with d.services.db_pool.acquire() as conn:  # type: ignore[union-attr]
        await queries.upsert(conn, [CallRecord(call_id="now1", caller=CALLER,
                                               agent_id="agent1", entered_at=T0)])
    assert (await d.get("agent1", "/api/calls/now1/story")).status_code == 200


async def test_a_withheld_number_has_no_story(story_desk: Desk) -> None:
    d = story_desk
    await d.post("agent1", "/api/agents/agent1/login")
    await d.post("agent1", "/api/agents/agent1/ready")
    ring_a_call(d, "anon1", "")
    r = await d.get("agent1", "/api/calls/anon1/story")
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["accounts"], s["calls"], s["orders"], s["surveys"]) == ([], [], [], [])
    assert not (s["flags"]["vip"] or s["flags"]["repeat"] or s["flags"]["sensitive"])
