"""Quality assurance through the API against the real PostgreSQL: versioned forms, a seeded
sample that says why, an evaluation with a fatal item, a dispute re-checked by another
inspector, a calibration report and the agent's scorecard, with the roles' limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from hotline.api.limits import MAX_PAGE, MAX_REPORT_SPAN_S
from hotline.core.values import ServiceType
from hotline.work_orders import queries as orders_store
from hotline.work_orders.model import WorkOrder
from tests.helpers.api_app import Clock, api_app, login, logins
from tests.helpers.qa import FORM, marks

T0 = datetime(2026, 7, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
USERS = ("qa1:pw:qa;qa2:pw:qa;boss:pw:supervisor;agent1:pw:agent;agent2:pw:agent")

def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def seed(conn: asyncpg.Connection) -> None:
    """agent1: 10 billing calls c1..c10 with talk 100..1000 s and ACW 10..100 s, one hour
    apart from T0; c11 a complaint on fault. agent2: d1, a repeat of c1's caller 2 h later.
    agent1's states: 8 h logged in, of which 3 h on call and 1 h in ACW."""
    rows = [(f"c{i}", f"1380000000{i % 10}", "billing", "billing", T0 + i * 3600, "agent1",
             100.0 * i, 10.0 * i) for i in range(1, 11)]
    rows.append(("c11", "13900000011", "fault", "complaint", T0 + 11 * 3600, "agent1", 400.0,
                 40.0))
    rows.append(("d1", "13800000001", "billing", "billing", T0 + 3 * 3600, "agent2", 500.0,
                 50.0))
    await conn.executemany(
        "INSERT INTO calls (call_id, caller, queue, service, entered_at, answered_at,"
        " agent_id, talk_s, acw_s, outcome, recording_path)"
        " VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, 'answered', NULL)",
        [(c, caller, q, s, at(t), a, talk, acw) for c, caller, q, s, t, a, talk, acw in rows])
    states = [("ready", 0, 2), ("on_call", 2, 5), ("after_call_work", 5, 6),
              ("not_ready", 6, 8), ("logged_out", 8, 20)]
    await conn.executemany(
        "INSERT INTO agent_state_log (agent_id, started_at, state, ended_at)"
        " VALUES ('agent1', $1, $2, $3)",
        [(at(T0 + a * 3600), s, at(T0 + b * 3600)) for s, a, b in states])
    # agent1's orders: one callback on time, one late; agent2's does not count for agent1
    for who, by, done in (("agent1", 2, 1), ("agent1", 3, 4), ("agent2", 3, 1)):
        await orders_store.save(conn, WorkOrder(
            None, ServiceType.FAULT, "13800000001", T0, who, "no power",
            resolve_by=T0 + DAY, callback_by=T0 + by * 3600,
            callback_done_at=T0 + done * 3600))


@pytest.fixture
async def client(conn: asyncpg.Connection, empty_db_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    await seed(conn)
    async with api_app(empty_db_url, clock=Clock(T0 + 2 * DAY)) as api:
        yield api.client


async def test_forms_are_versioned(client: httpx.AsyncClient) -> None:
    qa1, agent = await login(client, "qa1"), await login(client, "agent1")
    r = await client.post("/api/qa/forms", headers=qa1, json=FORM)
    assert (r.status_code, r.json()["version"]) == (201, 1)
    r = await client.post("/api/qa/evaluations", headers=qa1, json={
        "call_id": "c2", "form_id": "std", "marks": marks(8, 5, 5, 4)})
    assert (r.json()["score"], r.json()["form_version"]) == (78.75, 1)
    first = r.json()["id"]

    heavier = {**FORM, "sections": [FORM["sections"][0]]}  # v2 drops the handling section
    r = await client.post("/api/qa/forms", headers=qa1, json=heavier)
    assert r.json()["version"] == 2
    assert (await client.get("/api/qa/forms/std", headers=qa1)).json()["version"] == 2
    v1 = (await client.get("/api/qa/forms/std", headers=qa1, params={"version": 1})).json()
    assert len(v1["sections"]) == 2
    # the old evaluation keeps its version and its score
    r = await client.get(f"/api/qa/evaluations/{first}", headers=qa1)
    assert (r.json()["form_version"], r.json()["score"]) == (1, 78.75)
    # marks for v1's items do not fit v2
    r = await client.post("/api/qa/evaluations", headers=qa1, json={
        "call_id": "c2", "form_id": "std", "marks": marks(8, 5, 5, 4)})
    assert (r.status_code, r.json()["error"]["id"]) == (409, "qa-refused")
    # an agent may read forms, not write them; a bad form is refused
    assert (await client.post("/api/qa/forms", headers=agent, json=FORM)).status_code == 403
    dup = {**FORM, "sections": [FORM["sections"][0], FORM["sections"][0]]}
    assert (await client.post("/api/qa/forms", headers=qa1, json=dup)).status_code == 409


async def test_sample_is_reproducible_and_says_why(client: httpx.AsyncClient) -> None:
    qa1 = await login(client, "qa1")
    r = await client.put("/api/qa/agents/agent2/start", headers=qa1,
                         json={"started_at": T0 - 10 * DAY})
    assert r.status_code == 204
    body = {"since": T0, "until": T0 + DAY, "percentage": 20, "seed": 7}
    r = await client.post("/api/qa/samples", headers=qa1, json=body)
    assert r.status_code == 201, r.text
    picked = {c["call_id"]: set(c["reasons"]) for c in r.json()["calls"]}
    # billing talk times 100..1000 plus d1's 500: p10 = 200, p90 = 900 (11 values)
    assert {"short_call"} <= picked["c1"] and {"long_call"} <= picked["c10"]
    assert "complaint" in picked["c11"]
    assert {"new_agent", "repeat_caller"} <= picked["d1"]  # c1's caller again, 2 h later
    randoms = [c for c, why in picked.items() if "random" in why]
    assert len([c for c in randoms if c.startswith("c")]) == 3  # 20 % of 11, rounded up
    assert len([c for c in randoms if c.startswith("d")]) == 1
    again = await client.post("/api/qa/samples", headers=qa1, json=body)
    assert {c["call_id"]: set(c["reasons"]) for c in again.json()["calls"]} == picked
    got = await client.get(f"/api/qa/samples/{r.json()['id']}", headers=qa1)
    assert got.json()["calls"] == r.json()["calls"]
    agent = await login(client, "agent1")
    assert (await client.post("/api/qa/samples", headers=agent, json=body)).status_code == 403


async def test_fatal_dispute_recheck_and_scorecard(client: httpx.AsyncClient) -> None:
    qa1, qa2 = await login(client, "qa1"), await login(client, "qa2")
    agent1, agent2 = await login(client, "agent1"), await login(client, "agent2")
    await client.post("/api/qa/forms", headers=qa1, json=FORM)
    r = await client.post("/api/qa/evaluations", headers=qa1, json={
        "call_id": "c3", "form_id": "std", "marks": marks(10, 1, 10, 4, fatal=True),
        "comment": "did not verify the account holder"})
    fatal = r.json()
    assert (r.status_code, fatal["score"], fatal["fatal"], fatal["agent_id"]) == (
        201, 0.0, True, "agent1")
    r = await client.post("/api/qa/evaluations", headers=qa1, json={
        "call_id": "c4", "form_id": "std", "marks": marks(8, 5, 5, 4)})
    assert r.json()["errors"] == {"general": 1, "important": 1, "major": 0}

    # the agent sees their own; the other agent sees none of them
    mine = (await client.get("/api/qa/evaluations", headers=agent1)).json()
    assert {e["call_id"] for e in mine} == {"c3", "c4"}
    theirs = await client.get("/api/qa/evaluations", headers=agent2,
                              params={"agent": "agent1"})
    assert theirs.json() == []
    r = await client.get(f"/api/qa/evaluations/{fatal['id']}", headers=agent2)
    assert r.status_code == 404
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/dispute", headers=agent2,
                          json={"reason": "not mine"})
    assert r.status_code == 404

    card = (await client.get("/api/qa/scorecard/agent1", headers=agent1,
                             params={"since": T0, "until": T0 + DAY})).json()
    assert card["qa_score"] == pytest.approx((0 + 78.75) / 2)
    assert (card["fatal_errors"], card["non_fatal_error_rate"]) == (1, 0.5)

    # a re-check before a dispute, by the same inspector, or twice: refused
    recheck = {"marks": marks(10, 5, 10, 4), "comment": "the caller was verified at 0:40"}
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/recheck", headers=qa2,
                          json=recheck)
    assert r.json()["error"]["id"] == "not-disputed"
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/dispute", headers=agent1,
                          json={"reason": "I verified the caller at 0:40"})
    assert (r.status_code, r.json()["disputed"]) == (201, True)
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/dispute", headers=agent1,
                          json={"reason": "again"})
    assert r.json()["error"]["id"] == "already-disputed"
    disputed = (await client.get("/api/qa/evaluations", headers=qa2,
                                 params={"disputed": "true"})).json()
    assert [e["id"] for e in disputed] == [fatal["id"]]
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/recheck", headers=qa1,
                          json=recheck)
    assert r.json()["error"]["id"] == "same-inspector"
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/recheck", headers=qa2,
                          json=recheck)
    assert (r.status_code, r.json()["score"], r.json()["rechecks"]) == (201, 100.0, fatal["id"])
    r = await client.post(f"/api/qa/evaluations/{fatal['id']}/recheck", headers=qa2,
                          json=recheck)
    assert r.json()["error"]["id"] == "already-rechecked"

    # the scorecard now takes the re-check's score
    r = await client.get("/api/qa/scorecard/agent1", headers=agent1,
                         params={"since": T0, "until": T0 + DAY})
    card = r.json()
    assert card["qa_score"] == pytest.approx((100 + 78.75) / 2)
    assert (card["evaluations"], card["fatal_errors"], card["non_fatal_error_rate"]) == (
        2, 0, 0.5)
    # by hand: callbacks due in the day 2 (at 2 h done 1 h, at 3 h done 4 h): 1/2 on time
    assert (card["callback_timeliness"], card["callbacks_done"]) == (0.5, 2)
    # (3 h on call + 1 h ACW) / 8 h logged in
    assert card["utilisation"] == pytest.approx(0.5)
    # talk 100..1000 and 400 over 11 calls: 5900 / 11; ACW 590 / 11
    assert card["calls"] == 11
    assert card["avg_talk_s"] == pytest.approx(5900 / 11)
    assert card["avg_acw_s"] == pytest.approx(590 / 11)
    r = await client.get("/api/qa/scorecard/agent1", headers=agent2,
                         params={"since": T0, "until": T0 + DAY})
    assert r.status_code == 403


async def test_calibration_reports_the_spread(client: httpx.AsyncClient) -> None:
    qa1, qa2, boss = await logins(client, "qa1", "qa2", "boss")
    await client.post("/api/qa/forms", headers=qa1, json=FORM)
    for who, m in ((qa1, marks(10, 5, 10, 4)), (qa2, marks(8, 5, 5, 4)),
                   (boss, marks(6, 5, 10, 4, fatal=True))):
        r = await client.post("/api/qa/evaluations", headers=who, json={
            "call_id": "c5", "form_id": "std", "kind": "calibration", "marks": m})
        assert r.status_code == 201, r.text
    r = await client.get("/api/qa/calibration/c5", headers=boss,
                         params={"form_id": "std", "version": 1})
    report = r.json()
    assert report["inspectors"] == ["boss", "qa2", "qa1"]
    assert (report["total"]["min"], report["total"]["max"]) == (0, 100)
    assert report["total"]["stdev"] == pytest.approx(43.0157, abs=1e-4)
    assert report["items"]["greeting"]["mean"] == pytest.approx(80)
    # calibration scores do not reach the agent
    agent = await login(client, "agent1")
    assert (await client.get("/api/qa/evaluations", headers=agent)).json() == []
    r = await client.get("/api/qa/calibration/c5", headers=agent,
                         params={"form_id": "std", "version": 1})
    assert r.status_code == 403


async def test_a_sample_or_scorecard_spans_at_most_a_month(client: httpx.AsyncClient) -> None:
    """#14.6: the sample and the scorecard reduce a period to one answer: at most
    MAX_REPORT_SPAN_S (31 days); beyond, 422 before any call is read."""
    qa1 = await login(client, "qa1")
    wide = {"since": T0, "until": T0 + MAX_REPORT_SPAN_S + 1, "percentage": 10, "seed": 1}
    r = await client.post("/api/qa/samples", headers=qa1, json=wide)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["max_span_s"] == MAX_REPORT_SPAN_S
    r = await client.post("/api/qa/samples", headers=qa1,
                          json={**wide, "until": T0 + MAX_REPORT_SPAN_S})
    assert r.status_code == 201, r.text
    r = await client.get("/api/qa/scorecard/agent1", headers=qa1,
                         params={"since": 0, "until": T0})
    assert r.status_code == 422, r.text


async def test_a_sample_is_read_a_page_at_a_time(client: httpx.AsyncClient) -> None:
    """#14.6: the sample's calls page (total_calls, next_offset), drawn in SQL."""
    qa1 = await login(client, "qa1")
    r = await client.post("/api/qa/samples", headers=qa1, json={
        "since": T0, "until": T0 + DAY, "percentage": 100, "seed": 3})
    assert r.status_code == 201, r.text
    sample = r.json()
    assert sample["total_calls"] == 12 and len(sample["calls"]) == 12
    assert sample["next_offset"] is None
    pages, offset = [], 0
    while offset is not None:
        page = (await client.get(f"/api/qa/samples/{sample['id']}", headers=qa1,
                                 params={"limit": 5, "offset": offset})).json()
        assert len(page["calls"]) <= 5
        pages += page["calls"]
        offset = page["next_offset"]
    assert pages == sample["calls"]
    r = await client.get(f"/api/qa/samples/{sample['id']}", headers=qa1,
                         params={"limit": MAX_PAGE + 1})
    assert r.status_code == 422


async def test_a_form_id_longer_than_the_table_keeps_is_refused(
        client: httpx.AsyncClient) -> None:
    """The qa_forms CHECK keeps 64 characters; the schema once allowed 128, and a longer id
    reached PostgreSQL: 500. Refused at the edge now (one limit, model.FORM_ID_MAX_LEN)."""
    qa1 = await login(client, "qa1")
    r = await client.post("/api/qa/forms", headers=qa1, json={**FORM, "form_id": "f" * 65})
    assert r.status_code == 422, r.text
    r = await client.post("/api/qa/forms", headers=qa1, json={**FORM, "form_id": "f" * 64})
    assert r.status_code == 201, r.text
