"""Teams and vendors through the configuration API against the real PostgreSQL (#17.3): an
admin adds an outsourced vendor and a team of it, moves an agent there, and each change is
audited; the roll-up view then says agent -> team -> vendor; a team of an unknown vendor, an
agent in an unknown team and a bad id are refused; supervisors read, only admins change."""

from __future__ import annotations

from tests.helpers.centre import Api


async def test_an_admin_builds_the_roll_up_chain(api: Api) -> None:
    c, boss = api.client, api.headers["boss"]
    # a fresh centre: one vendor of own staff, one team (migration 016's defaults)
    r = await c.get("/api/config/vendors", headers=api.headers["sup"])
    assert r.json() == [{"id": "own", "name": "Own staff", "kind": "own"}]
    r = await c.put("/api/config/vendors/acme", headers=boss,
                    json={"name": "外包 Acme", "kind": "outsourced"})
    assert (r.status_code, r.json()) == (200, {"created": True})
    r = await c.put("/api/config/teams/night", headers=boss,
                    json={"name": "Night", "vendor": "acme"})
    assert (r.status_code, r.json()) == (200, {"created": True})
    r = await c.get("/api/config/teams", headers=api.headers["sup"])
    assert r.json() == [{"id": "main", "name": "Main team", "vendor": "own"},
                        {"id": "night", "name": "Night", "vendor": "acme"}]
    r = await c.patch("/api/config/agents/agent1", headers=boss, json={"team": "night"})
    assert r.status_code == 200, r.text
    assert r.json()["agent"]["team"] == "night"
    r = await c.post("/api/config/agents", headers=boss, json={
        "id": "agent8", "secret": "s3cret", "skills": {"general": 1}, "team": "night"})
    assert r.status_code == 201, r.text
    assert r.json()["agent"]["team"] == "night"
    rows = await api.pool.fetch("SELECT * FROM agent_rollup ORDER BY agent_id")
    assert [tuple(r) for r in rows] == [("agent1", "night", "acme", "outsourced"),
                                        ("agent8", "night", "acme", "outsourced")]
    [vendor] = await api.audit("vendor.created")
    assert (vendor.who, vendor.details) == ("boss", {"vendor": "acme", "name": "外包 Acme",
                                                     "kind": "outsourced"})
    [team] = await api.audit("team.created")
    assert team.details == {"team": "night", "name": "Night", "vendor": "acme"}
    moved = [a for a in await api.audit("agent.updated") if "team" in a.details]
    assert moved[0].details["team"] == {"before": "main", "after": "night"}
    # a second PUT changes, not creates
    r = await c.put("/api/config/teams/night", headers=boss,
                    json={"name": "Night shift", "vendor": "acme"})
    assert r.json() == {"created": False}


async def test_broken_chains_and_roles_are_refused(api: Api) -> None:
    c, boss, sup = api.client, api.headers["boss"], api.headers["sup"]
    r = await c.put("/api/config/teams/lost", headers=boss, json={"vendor": "nobody"})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "vendor-not-found")
    r = await c.patch("/api/config/agents/agent1", headers=boss, json={"team": "nowhere"})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "team-not-found")
    r = await c.post("/api/config/agents", headers=boss, json={
        "id": "agent9", "secret": "s3cret", "team": "nowhere"})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "team-not-found")
    assert (await c.put("/api/config/teams/Bad Id", headers=boss,
                        json={"vendor": "own"})).status_code == 422
    assert (await c.put("/api/config/vendors/x", headers=boss,
                        json={"kind": "franchise"})).status_code == 422
    assert (await c.put("/api/config/teams/t2", headers=sup,
                        json={"vendor": "own"})).status_code == 403
    assert (await c.get("/api/config/teams", headers=api.headers["agent1"])).status_code == 403
    assert await api.pool.fetchval("SELECT count(*) FROM teams") == 1
    assert await api.pool.fetchval("SELECT team_id FROM agents WHERE id = 'agent1'") == "main"
