"""The balanced scorecard (#17.5) against the real PostgreSQL, on the hand-worked day of
tests/helpers/report_day.py plus, entered through the API: two sample evaluations of a1's
calls (80 with a general error, 100), exam scores (a1 72, a2 90), a1's typing (60 a minute),
a1's conduct (+5, -2), and typing's target set to 60. The values by hand
(tests/unit/test_balanced_scorecard.py works a1's card):

  a1: FCR 0/1, complaints 1/2, callbacks 1/1, utilisation 3 h / 7 h, QA 90, non-fatal 1/2,
      exam 72, typing 60, conduct 3
  team day (a1, a2): FCR 2/3, complaints 2/4, callbacks 2/3, utilisation 7 h / 31 h, QA 90,
      non-fatal 1/2, exam (72 + 90) / 2 = 81, typing 60, conduct 3 / 2 agents = 1.5
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from hotline.core.settings import Settings
from hotline.reports import scorecard as sc
from tests.helpers.report_day import SINCE, T0, UNTIL, H
from tests.integration import test_report_exports as exports
from tests.integration.test_report_exports import MakeClient, login

PERIOD = {"from": SINCE, "to": UNTIL}
make_client = exports.make_client  # the fixture: the app over the hand-worked day


async def evaluations(conn: asyncpg.Connection) -> None:
    at = datetime.fromtimestamp(T0, UTC)
    await conn.execute("INSERT INTO qa_forms VALUES ('f', 1, 'f', '[]', 'qa1', $1)", at)
    for call, score, errors in (("k1", 80.0, {"general": 1, "important": 0, "major": 0}),
                                ("k10", 100.0, {"general": 0, "important": 0, "major": 0})):
        await conn.execute(
            "INSERT INTO qa_evaluations (call_id, agent_id, form_id, form_version, inspector,"
            " kind, marks, score, fatal, errors, created_at) VALUES ($1, 'a1', 'f', 1, 'qa1',"
            " 'sample', '[]', $2, false, $3, $4)", call, score, errors, at)


def by_hand(values: dict[str, float], conduct: float) -> float:
    indicators = sc.with_targets({"typing": (60.0, 10.0)})
    scores = {"first_call_resolution": min(1, values["first_call_resolution"] / 0.85),
              "complaint_rate": min(1, 0.01 / values["complaint_rate"]),
              "callback_timeliness": min(1, values["callback_timeliness"] / 0.95),
              "utilisation": min(1, values["utilisation"] / 0.75),
              "qa_score": min(1, values["qa_score"] / 90), "non_fatal_error_rate": 0.05 / 0.5,
              "exam": min(1, values["exam"] / 90), "typing": min(1, values["typing"] / 60)}
    weights = {i.name: i.weight for i in indicators}
    return sum(weights[k] * 100 * s for k, s in scores.items()) / sum(weights.values()) + conduct


async def test_the_scorecard_by_agent_and_team(make_client: MakeClient,
                                               conn: asyncpg.Connection) -> None:
    client = await make_client(Settings(report_schedule_poll_s=0))
    await evaluations(conn)
    boss, qa = await login(client, "boss"), await login(client, "qa1")
    for body in ({"agent_id": "a1", "kind": "exam", "taken_at": T0 + 2 * H, "score": 72},
                 {"agent_id": "a2", "kind": "exam", "taken_at": T0 + 3 * H, "score": 90},
                 {"agent_id": "a1", "kind": "typing", "taken_at": T0 + 3 * H, "score": 60},
                 {"agent_id": "a1", "kind": "exam", "taken_at": T0 - 2 * H, "score": 10}):
        r = await client.post("/api/reports/scorecard/scores", headers=qa, json=body)
        assert r.status_code == 201, r.text
    for points, reason in ((5, "praised by a caller"), (-2, "late")):
        r = await client.post("/api/reports/scorecard/conduct", headers=boss, json={
            "agent_id": "a1", "at": T0 + 4 * H, "points": points, "reason": reason})
        assert r.status_code == 201, r.text
    r = await client.put("/api/reports/scorecard/targets/typing", headers=boss,
                         json={"target": 60, "weight": 10})
    assert r.status_code == 204, r.text
    targets = (await client.get("/api/reports/scorecard/targets", headers=qa)).json()
    assert [t["name"] for t in targets] == [i.name for i in sc.INDICATORS]
    assert next(t for t in targets if t["name"] == "typing")["target"] == 60

    r = await client.get("/api/reports/scorecard", headers=boss, params=PERIOD)
    assert r.status_code == 200, r.text
    cards = {c["key"]: c for c in r.json()["cards"]}
    a1 = cards["a1"]
    values = {ln["name"]: ln["value"] for ln in a1["lines"]}
    assert values == pytest.approx({
        "first_call_resolution": 0.0, "complaint_rate": 0.5, "callback_timeliness": 1.0,
        "utilisation": 3 / 7, "qa_score": 90.0, "non_fatal_error_rate": 0.5, "exam": 72.0,
        "typing": 60.0})
    assert (a1["conduct"], a1["errors"], a1["fatal_errors"]) == (
        3.0, {"general": 1, "important": 0, "major": 0}, 0)
    assert a1["business"] == pytest.approx(54.914286, abs=1e-6)
    assert a1["total"] == pytest.approx(57.914286, abs=1e-6)
    assert a1["total"] == pytest.approx(by_hand(values, 3.0))
    # a2: no evaluation, no typing: those lines are empty and weigh nothing
    a2 = {ln["name"]: ln for ln in cards["a2"]["lines"]}
    assert (a2["qa_score"]["score"], a2["typing"]["value"], a2["exam"]["value"]) == (
        None, None, 90.0)

    r = await client.get("/api/reports/scorecard", headers=boss, params={**PERIOD,
                                                                         "by": "team"})
    day = next(c for c in r.json()["cards"] if c["key"] == "day")
    values = {ln["name"]: ln["value"] for ln in day["lines"]}
    assert values == pytest.approx({
        "first_call_resolution": 2 / 3, "complaint_rate": 0.5, "callback_timeliness": 2 / 3,
        "utilisation": 7 / 31, "qa_score": 90.0, "non_fatal_error_rate": 0.5, "exam": 81.0,
        "typing": 60.0})
    assert day["conduct"] == 1.5
    assert day["total"] == pytest.approx(by_hand(values, 1.5))
    assert day["total"] == pytest.approx(67.414571, abs=1e-6)
    r = await client.get("/api/reports/scorecard", headers=boss, params={**PERIOD,
                                                                         "by": "vendor"})
    assert {c["key"] for c in r.json()["cards"]} == {"own", "partner"}


async def test_who_reads_and_keeps_the_scorecard(make_client: MakeClient) -> None:
    client = await make_client(Settings(report_schedule_poll_s=0))
    a1 = await login(client, "a1")
    r = await client.get("/api/reports/scorecard", headers=a1, params=PERIOD)
    assert [c["key"] for c in r.json()["cards"]] == ["a1"]  # its own card only
    r = await client.get("/api/reports/scorecard", headers=a1, params={**PERIOD,
                                                                       "by": "team"})
    assert (r.status_code, r.json()["error"]["id"]) == (403, "not-your-card")
    for user, status in (("plan", 200), ("qa1", 200), ("bo", 403)):
        r = await client.get("/api/reports/scorecard", headers=await login(client, user),
                             params=PERIOD)
        assert r.status_code == status, user
    score = {"agent_id": "a1", "kind": "exam", "taken_at": T0, "score": 100}
    for user in ("a1", "plan", "bo"):
        headers = await login(client, user)
        assert (await client.post("/api/reports/scorecard/scores", headers=headers,
                                  json=score)).status_code == 403, user
    r = await client.put("/api/reports/scorecard/targets/exam",
                         headers=await login(client, "qa1"), json={"target": 1, "weight": 1})
    assert r.status_code == 403
    boss = await login(client, "boss")
    for bad in ({**score, "kind": "iq"}, {**score, "score": -1}):
        r = await client.post("/api/reports/scorecard/scores", headers=boss, json=bad)
        assert r.status_code == 422, bad
    r = await client.put("/api/reports/scorecard/targets/charm", headers=boss,
                         json={"target": 1, "weight": 1})
    assert r.status_code == 422
