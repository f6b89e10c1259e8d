"""Agent commands and the agent's desk over the API, through a real (not started) Controller:
its router applies every command; only its AMI link is a recording stand-in, since no
Asterisk runs here. The desk's recent calls come from a real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    TalkEnded,
)
from hotline.core.values import ServiceType
from hotline.store import db, queries
from hotline.store.records import CallRecord
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import create as create_order
from tests.helpers.desk import NODE, T0, Desk, error, ring_a_call
from tests.helpers.waiting import wait_for


async def test_an_agent_walks_its_own_day(desk: Desk) -> None:
    assert (await desk.post("agent1", "/api/agents/agent1/login")).json()["state"] == "not_ready"
    r = await desk.post("agent1", "/api/agents/agent1/not-ready", {"reason": "meal"})
    assert r.status_code == 200 and r.json()["reason"] == "meal"
    assert desk.state("agent1") == "not_ready"
    assert (await desk.post("agent1", "/api/agents/agent1/ready")).json()["state"] == "ready"
    assert desk.controller.router.agent("agent1").state.value == "ready"
    desk.clock.t += 30
    r = await desk.get("agent1", "/api/agents/agent1/desk")
    body = r.json()
    assert r.status_code == 200
    assert (body["state"], body["time_in_state_s"], body["call"]) == ("ready", 30.0, None)
    assert body["reasons"] == ["break", "meal", "training", "meeting", "callback_work", "other"]
    await desk.post("agent1", "/api/agents/agent1/not-ready", {"reason": "break"})
    assert (await desk.post("agent1", "/api/agents/agent1/logout")).json()["state"] == (
        "logged_out")


@pytest.mark.parametrize(
    ("setup", "command", "state"),
    [
        ([], "ready", "logged_out"),
        ([], "end-wrap-up", "logged_out"),
        ([], "logout", "logged_out"),
        (["login"], "login", "not_ready"),
        (["login"], "end-wrap-up", "not_ready"),
        (["login", "ready"], "end-wrap-up", "ready"),
        (["login", "ready"], "login", "ready"),
    ],
)
async def test_illegal_moves_answer_409_naming_state_and_command(
    desk: Desk, setup: list[str], command: str, state: str
) -> None:
    for step in setup:
        assert (await desk.post("agent2", f"/api/agents/agent2/{step}")).status_code == 200
    r = await desk.post("agent2", f"/api/agents/agent2/{command}")
    assert r.status_code == 409
    err = error(r)
    assert err["id"] == "illegal-transition"
    assert err["details"] == {"agent_id": "agent2", "state": state,
                              "command": command.replace("-", "_")}
    assert state in err["message"] and command.replace("-", "_") in err["message"]
    assert desk.state("agent2") == state  # nothing moved


async def test_an_agent_may_act_only_on_itself(desk: Desk) -> None:
    for path in ("login", "ready", "logout", "end-wrap-up", "desk"):
        method = desk.get if path == "desk" else desk.post
        r = await method("agent1", f"/api/agents/agent2/{path}")
        assert r.status_code == 403 and error(r)["id"] == "forbidden", path
    assert desk.state("agent2") == "logged_out"
    r = await desk.post("agent1", "/api/agents/agent2/not-ready", {"reason": "break"})
    assert r.status_code == 403
    # a supervisor and an admin may act on anyone; qa and planners may not
    assert (await desk.post("supervisor", "/api/agents/agent2/login")).status_code == 200
    assert (await desk.post("admin", "/api/agents/agent2/ready")).status_code == 200
    assert desk.state("agent2") == "ready"
    for user in ("qa", "planner"):
        r = await desk.post(user, "/api/agents/agent2/logout")
        assert r.status_code == 403 and error(r)["id"] == "forbidden"
    assert (await desk.client.post("/api/agents/agent2/logout")).status_code == 401


async def test_unknown_agent_and_bad_reasons(desk: Desk) -> None:
    r = await desk.post("supervisor", "/api/agents/agent9/login")
    assert r.status_code == 404 and error(r)["id"] == "no-such-agent"
    assert (await desk.get("admin", "/api/agents/agent9/desk")).status_code == 404
    await desk.post("agent3", "/api/agents/agent3/login")
    for body in ({"reason": "Nap!"}, {"reason": "break", "why": "x"}, {}, None):
        r = await desk.post("agent3", "/api/agents/agent3/not-ready", body)
        assert r.status_code == 422 and error(r)["id"] == "invalid-request"
    r = await desk.post("agent3", "/api/agents/agent3/not-ready", {"reason": "nap"})
    assert (r.status_code, error(r)["id"]) == (409, "unknown-reason")
    assert error(r)["details"]["reasons"] == [
        "break", "meal", "training", "meeting", "callback_work", "other"]
    assert desk.controller.router.agent("agent3").reason == "login"


async def test_not_ready_reasons_are_the_configured_ones(
    desk: Desk, conn: asyncpg.Connection, empty_db_url: str
) -> None:
    """With a database the desk offers, and the command accepts, the reasons configured
    through /api/config/not-ready-reasons (seeded with the built-in six), at once."""
    desk.services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        await desk.post("agent1", "/api/agents/agent1/login")
        body = (await desk.get("agent1", "/api/agents/agent1/desk")).json()
        assert body["reasons"] == sorted(
            ["break", "meal", "training", "meeting", "callback_work", "other"])
        r = await desk.post("agent1", "/api/agents/agent1/not-ready", {"reason": "coaching"})
        assert (r.status_code, error(r)["id"]) == (409, "unknown-reason")
        r = await desk.put("supervisor", "/api/config/not-ready-reasons/coaching",
                           {"label": "Coaching"})
        assert r.status_code == 200, r.text
        r = await desk.post("agent1", "/api/agents/agent1/not-ready", {"reason": "coaching"})
        assert (r.status_code, r.json()["reason"]) == (200, "coaching"), r.text
        r = await desk.client.delete("/api/config/not-ready-reasons/meal",
                                     headers=await desk.auth("supervisor"))
        assert r.status_code == 204
        r = await desk.post("agent1", "/api/agents/agent1/not-ready", {"reason": "meal"})
        assert (r.status_code, error(r)["id"]) == (409, "unknown-reason")
        assert "coaching" in error(r)["message"] and "meal" not in error(r)["details"]["reasons"]
        assert desk.controller.router.agent("agent1").reason == "coaching"
        body = (await desk.get("agent1", "/api/agents/agent1/desk")).json()
        assert "coaching" in body["reasons"] and "meal" not in body["reasons"]
    finally:
        await desk.services.db_pool.close()


async def test_commands_take_the_controllers_path_and_are_audited(desk: Desk) -> None:
    """A ready agent takes the waiting call at once: the controller redirects the caller."""
    ring_a_call(desk, "c1", "13800000001")
    assert desk.link.redirects == []  # nobody ready: it waits
    await desk.post("agent4", "/api/agents/agent4/login")
    await desk.post("agent4", "/api/agents/agent4/ready")
    assert desk.state("agent4") == "reserved"
    # the redirect runs as a task of the controller
    await wait_for(lambda: desk.link.redirects, 1, "the controller's redirect")
    assert desk.link.redirects == [("PJSIP/caller-c1", "hotline-connect", "agent4")]
    audit = (await desk.get("supervisor", "/api/audit")).json()
    assert [(e["actor"], e["agent_id"], e["action"]) for e in audit] == [
        ("agent4", "agent4", "ready"), ("agent4", "agent4", "login")]
    assert audit[0]["detail"] == {"reason": "", "state_before": "not_ready"}


async def test_the_desk_shows_the_call_and_the_callers_history(
    desk: Desk, conn: asyncpg.Connection, empty_db_url: str
) -> None:
    await queries.upsert(conn, [
        CallRecord(call_id="old1", caller="13800000002", queue="billing", service="billing",
                   entered_at=T0 - 86_400, agent_id="agent2", outcome="answered", talk_s=60.0),
        CallRecord(call_id="old2", caller="13800000002", queue="fault", service="fault",
                   entered_at=T0 - 3_600, outcome="abandoned"),
        CallRecord(call_id="other", caller="13900000000", entered_at=T0 - 60),
    ])
    order = await work_orders.save(conn, create_order(
        ServiceType.FAULT, "13800000002", "no power since the storm", "old2", "agent2",
        T0 - 3_600))
    desk.services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        await desk.post("agent1", "/api/agents/agent1/login")
        await desk.post("agent1", "/api/agents/agent1/ready")
        ring_a_call(desk, "c2", "13800000002")
        desk.clock.t += 5
        desk.controller.handle(AgentRinging(desk.clock.t, node=NODE, call_id="c2",
                                           agent_id="agent1"))
        desk.controller.handle(CallAnswered(desk.clock.t + 1, node=NODE, call_id="c2",
                                           agent_id="agent1"))
        desk.clock.t += 11
        body = (await desk.get("agent1", "/api/agents/agent1/desk")).json()
        # the router stamps its moves with its clock (T0 + 5), not the event's time
        assert (body["state"], body["time_in_state_s"]) == ("on_call", 11.0)
        assert body["call"] == {
            "call_id": "c2", "caller": "13800000002", "queue": "general",
            "service": "general", "ivr_path": ["lang=1", "main=0"], "entered_at": T0,
            "queued_at": T0 + 3, "answered_at": T0 + 6}
        assert [c["call_id"] for c in body["recent_calls"]] == ["old2", "old1"]
        assert body["recent_calls"][1]["talk_s"] == 60.0
        [open_order] = body["open_orders"]  # what this repeat call is most likely about
        assert (open_order["id"], open_order["created_by"]) == (order.id, "agent2")

        desk.controller.handle(TalkEnded(desk.clock.t, node=NODE, call_id="c2",
                                        agent_id="agent1"))
        desk.controller.handle(CallEnded(desk.clock.t, node=NODE, call_id="c2"))
        body = (await desk.get("supervisor", "/api/agents/agent1/desk")).json()
        assert body["state"] == "after_call_work" and body["call"]["call_id"] == "c2"
        r = await desk.post("agent1", "/api/agents/agent1/end-wrap-up")
        assert r.json()["state"] == "ready"
        assert (await desk.get("agent1", "/api/agents/agent1/desk")).json()["call"] is None
    finally:
        await desk.services.db_pool.close()


async def test_no_controller_answers_503(desk: Desk) -> None:
    await desk.lose_controller()
    r = await desk.post("agent1", "/api/agents/agent1/login")
    assert r.status_code == 503 and error(r)["id"] == "controller-unavailable"
    r = await desk.get("agent1", "/api/agents/agent1/desk")  # no state to show either
    assert r.status_code == 503 and error(r)["id"] == "controller-unavailable"


async def test_pages_redirect(desk: Desk) -> None:
    for page in ("agent", "supervisor"):
        r = await desk.client.get(f"/{page}?lang=en")
        assert r.status_code == 307 and r.headers["location"] == f"/static/{page}.html?lang=en"
        html = await desk.client.get(f"/static/{page}.html")
        assert html.status_code == 200 and f"{page}.js" in html.text
