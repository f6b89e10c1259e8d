"""Configuration through the API against the real PostgreSQL: roles, validation, the router
(a real, unstarted Controller) and the rendered Asterisk files follow every change, and every
change leaves an audit row. (asterisk/test_config_live.py does the same on a real Asterisk.)"""

from __future__ import annotations

import pytest

from hotline.api.security import PostgresUserRepository
from hotline.centre import queries as store
from hotline.centre.model import Centre, QueueSpec
from hotline.centre.service import load_or_seed_centre
from hotline.core.lifecycle import AgentTrigger
from hotline.core.values import ServiceType
from tests.helpers.centre import Api

NEW_AGENT = {"id": "agent7", "name": "Agent 7", "secret": "s3cret",
             "contact": "sip:agent7@127.0.0.1:5099", "skills": {"general": 4, "billing": 2}}


async def test_an_admin_creates_an_agent_everywhere_and_it_is_audited(api: Api) -> None:
    r = await api.client.post("/api/config/agents", json=NEW_AGENT, headers=api.headers["boss"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["agent"] == {"id": "agent7", "name": "Agent 7", "active": True,
                             "contact": "sip:agent7@127.0.0.1:5099",
                             "skills": {"general": 4, "billing": 2}, "team": "main"}
    assert body["asterisk"] == {"n1": "files written, no AMI link to reload"}
    assert "secret" not in body["agent"]
    # the router has it (logged out) and can log it in
    view = api.controller.router.agent("agent7")
    assert view.skills == {"general": 4, "billing": 2}
    api.controller.agent_command("agent7", AgentTrigger.LOGIN)
    # the live panels know which queues it serves (general needs general >= 1)
    live = api.live_side.live
    assert live._agent_queues["agent7"] == ("general",)
    # the node's files: endpoint, auth with the secret, AOR with the contact, failsafe member
    pjsip = (api.etc / "pjsip_agents.conf").read_text()
    assert "[agent7](agent-template)" in pjsip and "password = s3cret" in pjsip
    assert "contact = sip:agent7@127.0.0.1:5099" in pjsip and "[agent1](agent-template)" in pjsip
    assert "member => PJSIP/agent7,0,Agent 7" in (api.etc / "queues_members.conf").read_text()
    [row] = await api.audit("agent.created")
    assert (row.who, row.details["agent_id"], row.details["skills"]) == (
        "boss", "agent7", {"general": 4, "billing": 2})
    assert "s3cret" not in str(row.details)
    # a second create of the same id is a conflict, and leaves no second audit row
    r = await api.client.post("/api/config/agents", json=NEW_AGENT, headers=api.headers["boss"])
    assert (r.status_code, r.json()["error"]["id"]) == (409, "agent-exists")
    assert len(await api.audit("agent.created")) == 1


async def test_roles(api: Api) -> None:
    c, h = api.client, api.headers
    assert (await c.post("/api/config/agents", json=NEW_AGENT, headers=h["sup"])).status_code \
        == 403
    assert (await c.get("/api/config/agents", headers=h["agent1"])).status_code == 403
    assert (await c.get("/api/config/agents")).status_code == 401
    assert (await c.get("/api/config/audit", headers=h["sup"])).status_code == 403
    assert (await c.put("/api/config/queues/general", headers=h["sup"],
                        json={"service": "general"})).status_code == 403
    # supervisors edit skills and reasons; everybody reads the reasons
    assert (await c.put("/api/config/agents/agent1/skills", headers=h["sup"],
                        json={"skills": {"general": 2}})).status_code == 200
    assert (await c.put("/api/config/not-ready-reasons/meal", headers=h["sup"],
                        json={"label": "Meal"})).status_code == 200
    r = await c.put("/api/config/not-ready-reasons/coaching", headers=h["sup"],
                    json={"label": "Coaching"})
    assert r.status_code == 200
    r = await c.get("/api/config/not-ready-reasons", headers=h["qa"])
    assert {"code": "coaching", "label": "Coaching"} in r.json()


async def test_the_seeded_reasons_are_the_built_in_ones(api: Api) -> None:
    from hotline.centre.service import DEFAULT_REASONS

    r = await api.client.get("/api/config/not-ready-reasons", headers=api.headers["agent1"])
    assert {x["code"]: x["label"] for x in r.json()} == DEFAULT_REASONS


@pytest.mark.parametrize(("change", "error_id"), [
    ({"id": "agent-7"}, "invalid-request"),  # not a SIP endpoint / extension
    ({"secret": "a b\nc"}, "invalid-request"),  # would break pjsip_agents.conf
    ({"secret": "ab"}, "invalid-request"),
    ({"contact": "http://x"}, "invalid-request"),
    ({"name": "x\n[evil]"}, "invalid-request"),
    ({"skills": {"general": 6}}, "invalid-request"),
    ({"role": "admin"}, "invalid-request"),  # unknown fields are refused
])
async def test_invalid_agents_are_refused_and_not_stored(api: Api, change: dict[str, object],
                                                         error_id: str) -> None:
    r = await api.client.post("/api/config/agents", json={**NEW_AGENT, **change},
                              headers=api.headers["boss"])
    assert (r.status_code, r.json()["error"]["id"]) == (422, error_id)
    async with api.pool.acquire() as conn:
        assert [a.spec.id for a in await store.list_agents(conn)] == ["agent1"]
    assert await api.audit("agent.") == []


async def test_skills_are_stored_applied_and_audited(api: Api) -> None:
    r = await api.client.put("/api/config/agents/agent1/skills", headers=api.headers["sup"],
                             json={"skills": {"general": 5, "fault": 3}})
    assert r.status_code == 200, r.text
    assert r.json()["agent"]["skills"] == {"general": 5, "fault": 3}
    assert api.controller.router.agent("agent1").skills == {"general": 5, "fault": 3}
    [row] = await api.audit("agent.updated")
    assert row.who == "sup"
    assert row.details["skills"] == {"before": {"general": 3},
                                     "after": {"general": 5, "fault": 3}}
    r = await api.client.put("/api/config/agents/nobody/skills", headers=api.headers["sup"],
                             json={"skills": {"general": 1}})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "no-such-agent")


async def test_rename_and_deactivate(api: Api) -> None:
    h = api.headers["boss"]
    r = await api.client.patch("/api/config/agents/agent1", headers=h, json={"name": "Li Wei"})
    assert r.json()["agent"]["name"] == "Li Wei"
    assert 'callerid = "Li Wei" <agent1>' in (api.etc / "pjsip_agents.conf").read_text()
    r = await api.client.delete("/api/config/agents/agent1", headers=h)
    assert r.status_code == 200 and r.json()["agent"]["active"] is False
    assert "agent1" not in (api.etc / "pjsip_agents.conf").read_text()
    assert "agent1" not in [a.agent_id for a in api.controller.router.agents()]
    r = await api.client.delete("/api/config/agents/agent1", headers=h)
    assert r.status_code == 404
    assert [row.what for row in await api.audit("agent.")] == [
        "agent.deactivated", "agent.updated"]
    # listed only on request; creating the id again brings it back
    r = await api.client.get("/api/config/agents", headers=h)
    assert r.json() == []
    r = await api.client.get("/api/config/agents", headers=h, params={"include_inactive": 1})
    assert [a["id"] for a in r.json()] == ["agent1"]
    r = await api.client.post("/api/config/agents", headers=h,
                              json={**NEW_AGENT, "id": "agent1"})
    assert r.status_code == 201 and r.json()["agent"]["active"] is True


async def test_an_agent_on_a_call_cannot_be_deactivated(api: Api) -> None:
    """The router refuses (the agent holds a call): nothing is stored nor audited."""
    from hotline.core.events import CallQueued

    api.controller.agent_command("agent1", AgentTrigger.LOGIN)
    api.controller.agent_command("agent1", AgentTrigger.READY)
    api.controller.handle(CallQueued(api.controller.clock(), node="n1", call_id="c1",
                                    channel="PJSIP/x-1", queue="general",
                                    service=ServiceType.GENERAL, priority=0, caller="139"))
    assert api.controller.router.agent("agent1").call_id == "c1"
    r = await api.client.delete("/api/config/agents/agent1", headers=api.headers["boss"])
    assert (r.status_code, r.json()["error"]["id"]) == (409, "agent-busy")
    async with api.pool.acquire() as conn:
        assert (await store.get_agent(conn, "agent1")).active  # type: ignore[union-attr]
    assert await api.audit("agent.") == []


async def test_queues(api: Api) -> None:
    h = api.headers["boss"]
    r = await api.client.put("/api/config/queues/billing", headers=h, json={
        "service": "billing", "required": {"billing": 2}, "policy": "longest_idle",
        "priority": 3, "sl_target": 0.9, "sl_seconds": 15})
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    r = await api.client.put("/api/config/queues/billing", headers=h, json={
        "service": "billing", "required": {"billing": 3}})
    assert r.json()["created"] is False
    r = await api.client.get("/api/config/queues", headers=h)
    billing = next(q for q in r.json() if q["name"] == "billing")
    assert (billing["required"], billing["policy"], billing["priority"]) == (
        {"billing": 3}, "most_skilled", 0)
    rows = await api.audit("queue.")
    assert [x.what for x in rows] == ["queue.updated", "queue.created"]
    assert rows[0].details["before"]["required"] == {"billing": 2}
    for bad in ({"service": "nonsense"}, {"service": "billing", "policy": "random"},
                {"service": "billing", "sl_target": 2}):
        r = await api.client.put("/api/config/queues/billing", headers=h, json=bad)
        assert r.status_code == 422, bad


async def test_reasons_and_outages(api: Api) -> None:
    sup, boss = api.headers["sup"], api.headers["boss"]
    r = await api.client.put("/api/config/not-ready-reasons/Bad-Code", headers=sup,
                             json={"label": "x"})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "invalid-request")
    await api.client.put("/api/config/not-ready-reasons/training", headers=sup,
                         json={"label": "Training"})
    assert (await api.client.delete("/api/config/not-ready-reasons/training",
                                    headers=sup)).status_code == 204
    assert (await api.client.delete("/api/config/not-ready-reasons/training",
                                    headers=sup)).status_code == 404
    assert [x.what for x in await api.audit("reason.")] == ["reason.deleted", "reason.put"]

    outage = {"area_code": "3201", "kind": "planned", "starts_at": 1_800_000_000.0,
              "duration_s": 7200.0, "description_zh": "线路检修"}
    r = await api.client.post("/api/config/outages", headers=boss, json=outage)
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    r = await api.client.get("/api/config/outages", headers=sup,
                             params={"area_code": "3201", "at": 1_800_000_100.0})
    assert [(o["id"], o["ends_at"]) for o in r.json()] == [(oid, 1_800_007_200.0)]
    r = await api.client.post("/api/config/outages", headers=boss,
                              json={**outage, "duration_s": -60.0})
    assert (r.status_code, r.json()["error"]["id"]) == (422, "invalid-request")
    assert (await api.client.post("/api/config/outages", headers=sup,
                                  json=outage)).status_code == 403
    assert (await api.client.delete(f"/api/config/outages/{oid}",
                                    headers=boss)).status_code == 204
    assert [x.what for x in await api.audit("outage.")] == ["outage.deleted", "outage.put"]
    r = await api.client.get("/api/config/audit", headers=boss, params={"what": "outage."})
    assert [x["who"] for x in r.json()] == ["boss", "boss"]


async def test_the_centre_comes_from_the_database_once_seeded(api: Api) -> None:
    await api.client.post("/api/config/agents", json=NEW_AGENT, headers=api.headers["boss"])
    other = Centre(queues=[QueueSpec(name="general", service=ServiceType.GENERAL)], agents=[])
    centre = await load_or_seed_centre(api.pool, other)  # the file is not read again
    assert [a.id for a in centre.agents] == ["agent1", "agent7"]
    assert centre.agents[1].secret == "s3cret"
    assert [q.name for q in centre.queues] == ["general"]
    assert [x.what for x in await api.audit("centre.")] == ["centre.seeded"]


async def test_users_live_in_postgresql(api: Api) -> None:
    async with api.pool.acquire() as conn:
        assert await store.count_users(conn) >= 4
        row = await store.get_user(conn, "boss")
    assert row is not None and row.roles == ("admin",) and row.password_hash.startswith(
        "$argon2")
    repo = PostgresUserRepository(api.pool)
    user = await repo.get("agent1")
    assert user is not None and user.agent_id == "agent1"
    assert await repo.get("nobody") is None
    r = await api.client.post("/api/auth/token", json={"username": "boss", "password": "no"})
    assert r.status_code == 401


async def test_agent_desk_commands_are_audited_in_postgresql(api: Api) -> None:
    r = await api.client.post("/api/agents/agent1/state", headers=api.headers["sup"],
                              json={"command": "login"})
    assert r.status_code == 200, r.text
    audit = api.client._transport.app.state.audit  # type: ignore[attr-defined]
    await audit.flush()
    [row] = await api.audit("agent_desk.")
    assert (row.who, row.details["agent_id"]) == ("sup", "agent1")


async def test_a_queue_change_reaches_the_running_router_at_once(api: Api) -> None:
    """A call waits in billing (nobody has the skill); the admin changes billing's required
    skill to one agent1 has: the router offers the waiting call on that very change."""
    from hotline.core.events import CallQueued
    from hotline.router import Offer

    h = api.headers["boss"]
    r = await api.client.put("/api/config/queues/billing", headers=h, json={
        "service": "billing", "required": {"billing": 2}, "priority": 2})
    assert (r.status_code, r.json()["takes_effect"]) == (200, "at once"), r.text
    assert api.controller.router.queue("billing").required == {"billing": 2}
    api.controller.agent_command("agent1", AgentTrigger.LOGIN)
    api.controller.agent_command("agent1", AgentTrigger.READY)
    api.controller.handle(CallQueued(api.controller.clock(), node="n1", call_id="b1",
                                    channel="PJSIP/x-1", queue="billing",
                                    service=ServiceType.BILLING, priority=0, caller="139"))
    assert [w.call_id for w in api.controller.router.waiting()] == ["b1"]
    r = await api.client.put("/api/config/queues/billing", headers=h, json={
        "service": "billing", "required": {"general": 3}, "sl_target": 0.9})
    assert r.status_code == 200, r.text
    assert api.controller.router.waiting() == []
    offer = next(x for x in api.controller.history if isinstance(x, Offer))
    assert (offer.call_id, offer.agent_id) == ("b1", "agent1")
    assert dict(offer.explanation.requirements) == {"general": 3}
    services = api.live_side
    assert services.metrics.config.targets["billing"].sl_target == 0.9
    assert "billing" in services.live._agent_queues["agent1"]
    # queue_callback finds the new queue by its service
    assert any(q.name == "billing" for q in api.controller.centre.queues)


async def test_overflow_and_its_validation(api: Api) -> None:
    h = api.headers["boss"]
    body = {"service": "billing", "required": {"billing": 1}}
    for bad, status, message in (
            ({"to": "nowhere", "after_s": 30}, 409, "no such queue"),
            ({"to": "billing", "after_s": 30}, 409, "itself"),
            ({"to": "general"}, 422, "after_s")):
        r = await api.client.put("/api/config/queues/billing", headers=h,
                                 json={**body, "overflow": bad})
        assert (r.status_code, message in r.text) == (status, True), r.text
    assert await api.audit("queue.") == []
    r = await api.client.put("/api/config/queues/billing", headers=h, json={
        **body, "overflow": {"to": "general", "after_s": 30}})
    assert r.status_code == 200, r.text
    q = api.controller.router.queue("billing")
    assert (q.overflow_to, q.overflow_wait_s) == ("general", 30)
    r = await api.client.get("/api/config/queues", headers=h)
    billing = next(x for x in r.json() if x["name"] == "billing")
    assert billing["overflow"] == {"to": "general", "after_s": 30}


async def test_removing_queues(api: Api) -> None:
    from hotline.core.events import CallEnded, CallQueued
    from hotline.router import UnknownQueue

    h = api.headers["boss"]
    r = await api.client.delete("/api/config/queues/general", headers=h)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "queue-in-use")
    assert (await api.client.delete("/api/config/queues/nope", headers=h)).status_code == 404
    for name, over in (("billing", None), ("fault", "billing")):
        r = await api.client.put(f"/api/config/queues/{name}", headers=h, json={
            "service": name, "required": {name: 1},
            "overflow": {"to": over, "after_s": 30} if over else None})
        assert r.status_code == 200, r.text
    r = await api.client.delete("/api/config/queues/billing", headers=h)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "queue-in-use")
    assert "overflow of fault" in r.json()["error"]["message"]
    # a caller waits in fault: refused by the router, nothing stored nor audited
    api.controller.handle(CallQueued(api.controller.clock(), node="n1", call_id="f1",
                                    channel="PJSIP/x-1", queue="fault",
                                    service=ServiceType.FAULT, priority=0, caller="139"))
    r = await api.client.delete("/api/config/queues/fault", headers=h)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "queue-in-use")
    assert "f1" in r.json()["error"]["message"]
    assert [q.name for q in await api.client_queues()] == ["billing", "fault", "general"]
    api.controller.handle(CallEnded(api.controller.clock(), node="n1", call_id="f1"))
    assert (await api.client.delete("/api/config/queues/fault", headers=h)).status_code == 204
    with pytest.raises(UnknownQueue):
        api.controller.router.queue("fault")
    assert [q.name for q in await api.client_queues()] == ["billing", "general"]
    assert [x.what for x in await api.audit("queue.deleted")] == ["queue.deleted"]
    # the IVR's queues are kept
    configuration = api.configuration
    configuration.ivr_queues = lambda: {"billing"}
    r = await api.client.delete("/api/config/queues/billing", headers=h)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "queue-in-use")
    assert "IVR" in r.json()["error"]["message"]
    assert (await api.client.delete("/api/config/queues/billing",
                                    headers=api.headers["sup"])).status_code == 403
