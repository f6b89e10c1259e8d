"""Supervisor commands over the API through a real (not started) Controller: moving agents,
editing skills (the next routing decision uses them), listen / whisper / barge, the audit and
the role rules."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hotline.store import db
from tests.helpers.desk import Desk, error, ring_a_call


async def test_a_supervisor_moves_an_agent(desk: Desk) -> None:
    r = await desk.post("supervisor", "/api/agents/agent2/state", {"command": "login"})
    assert r.status_code == 200 and r.json()["state"] == "not_ready"
    r = await desk.post("supervisor", "/api/agents/agent2/state",
                        {"command": "not_ready", "reason": "training"})
    assert r.json()["reason"] == "training"
    assert desk.controller.router.agent("agent2").reason == "training"
    r = await desk.post("admin", "/api/agents/agent2/state", {"command": "ready"})
    assert r.json()["state"] == "ready"
    r = await desk.post("supervisor", "/api/agents/agent2/state", {"command": "end_wrap_up"})
    assert r.status_code == 409 and error(r)["details"] == {
        "agent_id": "agent2", "state": "ready", "command": "end_wrap_up"}
    for body in ({"command": "not_ready"}, {"command": "answer"},
                 {"command": "not_ready", "reason": "Nap!"}):
        r = await desk.post("supervisor", "/api/agents/agent2/state", body)
        assert r.status_code == 422 and error(r)["id"] == "invalid-request", body
    r = await desk.post("supervisor", "/api/agents/agent2/state",
                        {"command": "not_ready", "reason": "nap"})
    assert (r.status_code, error(r)["id"]) == (409, "unknown-reason")
    assert desk.state("agent2") == "ready"
    r = await desk.post("supervisor", "/api/agents/nobody/state", {"command": "login"})
    assert r.status_code == 404 and error(r)["id"] == "no-such-agent"


async def test_a_supervisors_not_ready_takes_the_configured_reasons(
    desk: Desk, conn: asyncpg.Connection, empty_db_url: str
) -> None:
    """With a database, the reasons are those of /api/config/not-ready-reasons, at once."""
    desk.services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        await desk.post("supervisor", "/api/agents/agent2/state", {"command": "login"})
        body = {"command": "not_ready", "reason": "coaching"}
        r = await desk.post("supervisor", "/api/agents/agent2/state", body)
        assert (r.status_code, error(r)["id"]) == (409, "unknown-reason")
        assert "coaching" not in error(r)["details"]["reasons"]
        r = await desk.put("supervisor", "/api/config/not-ready-reasons/coaching",
                           {"label": "Coaching"})
        assert r.status_code == 200, r.text
        r = await desk.post("supervisor", "/api/agents/agent2/state", body)
        assert (r.status_code, r.json()["reason"]) == (200, "coaching"), r.text
        r = await desk.client.delete("/api/config/not-ready-reasons/meal",
                                     headers=await desk.auth("supervisor"))
        assert r.status_code == 204
        r = await desk.post("supervisor", "/api/agents/agent2/state",
                            {"command": "not_ready", "reason": "meal"})
        assert (r.status_code, error(r)["id"]) == (409, "unknown-reason")
        assert desk.controller.router.agent("agent2").reason == "coaching"
    finally:
        await desk.services.db_pool.close()


@pytest.mark.parametrize("user", ["agent1", "agent", "qa", "planner"])
async def test_only_supervisors_and_admins_steer(desk: Desk, user: str) -> None:
    calls = [
        desk.post(user, "/api/agents/agent1/state", {"command": "login"}),
        desk.put(user, "/api/agents/agent1/skills", {"skills": {"general": 1}}),
        desk.post(user, "/api/agents/agent1/spy",
                  {"mode": "listen", "supervisor_endpoint": "sup1"}),
        desk.get(user, "/api/audit"),
        desk.get(user, "/api/roster"),
    ]
    for r in await asyncio.gather(*calls):
        assert r.status_code == 403 and error(r)["id"] == "forbidden", r.url
    assert desk.state("agent1") == "logged_out"
    assert desk.controller.router.agent("agent1").skills == {"general": 5, "billing": 2}


async def test_a_skill_edit_routes_the_next_call(desk: Desk) -> None:
    """agent1 (general 5) would win the general queue; lowered to 1 and agent4 raised to 5,
    the next general call goes to agent4."""
    for agent in ("agent1", "agent4"):
        await desk.post("supervisor", f"/api/agents/{agent}/state", {"command": "login"})
        await desk.post("supervisor", f"/api/agents/{agent}/state", {"command": "ready"})
    r = await desk.put("supervisor", "/api/agents/agent1/skills",
                       {"skills": {"general": 1, "billing": 2}})
    assert r.status_code == 200 and r.json()["skills"] == {"general": 1, "billing": 2}
    r = await desk.put("admin", "/api/agents/agent4/skills",
                       {"skills": {"general": 5, "complaint": 4}})
    assert r.json()["skills"] == {"general": 5, "complaint": 4}
    ring_a_call(desk, "c7", "13800000007")
    assert desk.state("agent4") == "reserved" and desk.state("agent1") == "ready"
    roster = {a["agent_id"]: a for a in (await desk.get("supervisor", "/api/roster")).json()}
    assert roster["agent4"]["call_id"] == "c7" and roster["agent1"]["skills"]["general"] == 1
    audit = (await desk.get("supervisor", "/api/audit?agent_id=agent1")).json()
    assert audit[0]["action"] == "set_skills" and audit[0]["detail"] == {
        "before": {"general": 5, "billing": 2}, "after": {"general": 1, "billing": 2}}
    assert [e["action"] for e in audit] == ["set_skills", "ready", "login"]


@pytest.mark.parametrize(
    "body",
    [
        {"skills": {"general": 6}},
        {"skills": {"general": -1}},
        {"skills": {"General Skill": 2}},
        {"skills": "general"},
    ],
)
async def test_bad_skills_are_refused(desk: Desk, body: object) -> None:
    r = await desk.put("supervisor", "/api/agents/agent3/skills", body)
    assert r.status_code == 422 and error(r)["id"] == "invalid-request"
    assert desk.controller.router.agent("agent3").skills == {"general": 2, "fault": 5}
    r = await desk.put("supervisor", "/api/agents/agent9/skills", {"skills": {"general": 1}})
    assert r.status_code == 404


def own_phones(desk: Desk, **endpoints: str) -> None:
    """The app's settings with these supervisor_endpoints (user name -> its phone)."""
    state = desk.client._transport.app.state  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(update={"supervisor_endpoints": endpoints})


async def test_spy_needs_a_call(desk: Desk) -> None:
    own_phones(desk, supervisor="sup1")
    body = {"mode": "whisper", "supervisor_endpoint": "sup1"}
    r = await desk.post("supervisor", "/api/agents/agent2/spy", body)
    assert r.status_code == 409 and error(r)["id"] == "agent-not-on-call"
    r = await desk.post("supervisor", "/api/agents/agent9/spy", body)
    assert r.status_code == 404
    for bad in ({"mode": "shout", "supervisor_endpoint": "sup1"},
                {"mode": "listen", "supervisor_endpoint": "sup1&Hangup"}):
        r = await desk.post("supervisor", "/api/agents/agent2/spy", bad)
        assert r.status_code == 422
    await desk.post("agent2", "/api/agents/agent2/login")
    await desk.post("agent2", "/api/agents/agent2/ready")
    ring_a_call(desk, "c8", "13800000008")
    for mode in ("listen", "whisper", "barge"):
        r = await desk.post("supervisor", "/api/agents/agent2/spy",
                            {"mode": mode, "supervisor_endpoint": "sup1"})
        assert r.status_code == 200 and r.json() == {
            "agent_id": "agent2", "call_id": "c8", "mode": mode}
    assert desk.link.spies == [("PJSIP/sup1", "agent2", m) for m in ("listen", "whisper", "barge")]
    audit = (await desk.get("admin", "/api/audit?limit=1")).json()
    assert len(audit) == 1 and audit[0]["action"] == "spy:barge"
    assert audit[0]["detail"] == {"call_id": "c8", "supervisor_endpoint": "sup1"}


async def test_spy_audio_goes_only_to_the_supervisors_own_endpoint(desk: Desk) -> None:
    """#14.7: a supervisor rings only its own phone into a call (the endpoint configured for
    it in supervisor_endpoints, or its own agent's); naming another endpoint is refused with
    403 and nothing reaches Asterisk. An admin may name any endpoint."""
    own_phones(desk, supervisor="agent4")
    await desk.post("agent2", "/api/agents/agent2/login")
    await desk.post("agent2", "/api/agents/agent2/ready")
    ring_a_call(desk, "c9", "13800000009")

    for other in ("agent1", "sup1"):  # another agent's phone, any other endpoint
        r = await desk.post("supervisor", "/api/agents/agent2/spy",
                            {"mode": "listen", "supervisor_endpoint": other})
        assert r.status_code == 403 and error(r)["id"] == "not-your-endpoint", r.text
        assert error(r)["details"] == {"supervisor_endpoint": other, "own_endpoint": "agent4"}
    assert desk.link.spies == []

    r = await desk.post("supervisor", "/api/agents/agent2/spy", {"mode": "whisper"})
    assert r.status_code == 200, r.text  # no endpoint named: the supervisor's own
    r = await desk.post("supervisor", "/api/agents/agent2/spy",
                        {"mode": "barge", "supervisor_endpoint": "agent4"})
    assert r.status_code == 200, r.text
    r = await desk.post("admin", "/api/agents/agent2/spy",
                        {"mode": "listen", "supervisor_endpoint": "sup1"})
    assert r.status_code == 200, r.text  # an admin may direct it anywhere
    assert desk.link.spies == [("PJSIP/agent4", "agent2", "whisper"),
                               ("PJSIP/agent4", "agent2", "barge"),
                               ("PJSIP/sup1", "agent2", "listen")]
    audit = (await desk.get("admin", "/api/audit?limit=3")).json()
    assert [e["detail"]["supervisor_endpoint"] for e in audit] == ["sup1", "agent4", "agent4"]


async def test_a_supervisor_without_an_endpoint_cannot_spy(desk: Desk) -> None:
    await desk.post("agent2", "/api/agents/agent2/login")
    await desk.post("agent2", "/api/agents/agent2/ready")
    ring_a_call(desk, "c10", "13800000010")
    r = await desk.post("supervisor", "/api/agents/agent2/spy", {"mode": "listen"})
    assert r.status_code == 409 and error(r)["id"] == "no-own-endpoint", r.text
    r = await desk.post("supervisor", "/api/agents/agent2/spy",
                        {"mode": "listen", "supervisor_endpoint": "agent3"})
    assert r.status_code == 403 and error(r)["id"] == "not-your-endpoint", r.text
    assert desk.link.spies == []
