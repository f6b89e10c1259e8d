"""Call history over the API, against a real PostgreSQL: filters, paging, role rules, a call in
full with its explanations, agents' state logs."""

from __future__ import annotations

import httpx
import pytest

from hotline.api.limits import MAX_LIST_SPAN_S, MAX_PAGE
from hotline.core.events import CallQueued
from hotline.core.values import ServiceType
from hotline.store import queries
from hotline.store.records import AgentStateEntry, CallRecord, RoutingExplanation
from tests.helpers.history import T0, Api


def ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [c["call_id"] for c in r.json()["calls"]]


async def test_calls_newest_first_with_filters(api: Api) -> None:
    assert ids(await api.get("boss", "/api/calls")) == [
        "c11", "c12", *[f"c{i:02d}" for i in range(10, -1, -1)], "c99"]
    assert ids(await api.get("qa1", "/api/calls", params={"queue": "fault"})) == [
        "c09", "c06", "c03", "c00"]
    assert ids(await api.get("root", "/api/calls", params={
        "since": T0 + 20, "until": T0 + 60, "outcome": "answered"})) == ["c05", "c03", "c02"]
    assert ids(await api.get("boss", "/api/calls", params={
        "agent": "agent1", "service": "billing", "caller": "13800001"})) == ["c07", "c01"]
    assert ids(await api.get("boss", "/api/calls", params={"caller": "nobody"})) == []
    assert ids(await api.get("boss", "/api/calls", params={"since": T0, "until": T0})) == []


async def test_paging_walks_every_call_once(api: Api) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        r = await api.get("boss", "/api/calls", params=params)
        seen += ids(r)
        pages += 1
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    everything = ids(await api.get("boss", "/api/calls", params={"limit": 500}))
    assert seen == everything and len(seen) == 14 and pages == 4
    # a call written meanwhile, newer than the cursor, does not shift the next page
    first = await api.get("boss", "/api/calls", params={"limit": 3})
    await queries.upsert_call(api.conn, CallRecord(call_id="new", entered_at=T0 + 500))
    second = await api.get("boss", "/api/calls",
                           params={"limit": 3, "cursor": first.json()["next_cursor"]})
    assert ids(second) == everything[3:6]


async def test_an_agent_sees_only_own_calls(api: Api) -> None:
    mine = ids(await api.get("agent1", "/api/calls"))
    assert mine == ["c11", "c12", "c09", "c07", "c05", "c03", "c01"]
    # asking for someone else's calls still gives only one's own
    assert ids(await api.get("agent1", "/api/calls", params={"agent": "agent2"})) == mine
    assert (await api.get("agent1", "/api/calls/c01")).status_code == 200
    r = await api.get("agent1", "/api/calls/c02")
    assert r.status_code == 404 and r.json()["error"]["id"] == "no-such-call"
    r = await api.get("plan", "/api/calls")
    assert r.status_code == 403 and r.json()["error"]["id"] == "forbidden"


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 501}, {"since": -1}, {"since": "nan"}, {"until": "inf"},
    {"cursor": "12~"}, {"cursor": "x~c1"}, {"cursor": "1" * 18 + "~c1"},
    {"queue": ""}, {"caller": "a\x01b"}, {"agent": "x" * 129},
])
async def test_bad_queries_are_422_in_the_error_format(api: Api, params: dict[str, object]) -> None:
    r = await api.get("boss", "/api/calls", params=params)
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert body["id"] == "invalid-request" and body["details"]["errors"][0]["loc"][0] == "query"


async def test_one_call_in_full_with_stored_explanations(api: Api) -> None:
    detail = {
        "call_id": "c05", "at": T0 + 52, "queue": "billing", "policy": "longest_idle",
        "requirements": [["billing", 1]], "reason": "policy", "chosen": "agent1",
        "eligible": ["agent1", "agent2"],
        "passed_over": [["agent2", "ranked_lower", 2, "longest_idle", "billing", 1, 0, "", "",
                         T0 - 100, 3, ""]],
        "omitted": 0,
    }
    await queries.save_explanation(api.conn, RoutingExplanation("c05", T0 + 52, detail))
    r = await api.get("qa1", "/api/calls/c05")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["outcome"], body["agent_id"], body["wait_s"], body["talk_s"]) == (
        "answered", "agent1", 3.0, 4.0)
    assert body["ivr_path"] == ["lang=1", "main=2"] and body["recording_url"] is None
    assert [s["what"] for s in body["timeline"]] == ["entered", "ended"]
    assert body["explanations_from"] == "store"
    [why] = body["explanations"]
    assert why["chosen"] == "agent1" and why["requirements"] == {"billing": 1}
    assert why["passed_over"][0]["agent_id"] == "agent2"
    assert why["passed_over"][0]["detail"].startswith("rank 2 by longest_idle")
    c01 = (await api.get("boss", "/api/calls/c01")).json()
    assert c01["recording_url"] == "/api/recordings/c01"


async def test_live_call_explained_by_the_router(api: Api) -> None:
    for agent in ("agent1", "agent2"):
        api.router.agent_command(agent, "login")  # type: ignore[arg-type]
        api.router.agent_command(agent, "ready")  # type: ignore[arg-type]
    api.router.handle(CallQueued(T0, call_id="c07", queue="billing",
                                 service=ServiceType.BILLING))
    body = (await api.get("boss", "/api/calls/c07")).json()
    assert body["explanations_from"] == "router"
    assert body["explanations"][0]["chosen"] in {"agent1", "agent2"}
    none = (await api.get("boss", "/api/calls/c09")).json()
    assert none["explanations_from"] == "none" and none["explanations"] == []


async def test_an_explanation_comes_from_the_store_then_the_router(api: Api) -> None:
    """GET /api/calls/{id}/explanation: the stored decisions and the router's not stored yet.
    The router keeps its recent calls' only (explain_keep, #15): an older call's come from
    the history alone (404 before: only the router was asked)."""
    stored = {
        "call_id": "c07", "at": T0 - 60, "queue": "billing", "policy": "longest_idle",
        "requirements": [["billing", 1]], "reason": "policy", "chosen": "agent9",
        "eligible": ["agent9"], "passed_over": [], "omitted": 0,
    }
    await queries.save_explanation(api.conn, RoutingExplanation("c07", T0 - 60, stored))
    r = await api.get("boss", "/api/calls/c07/explanation")
    assert r.status_code == 200, r.text
    assert [e["chosen"] for e in r.json()] == ["agent9"]  # the router never saw c07
    for agent in ("agent1", "agent2"):
        api.router.agent_command(agent, "login")  # type: ignore[arg-type]
        api.router.agent_command(agent, "ready")  # type: ignore[arg-type]
    api.router.handle(CallQueued(T0, call_id="c07", queue="billing",
                                 service=ServiceType.BILLING))  # offered again, live
    r = await api.get("boss", "/api/calls/c07/explanation")
    chosen = [e["chosen"] for e in r.json()]
    assert chosen in (["agent9", "agent1"], ["agent9", "agent2"]), chosen
    assert [e["chosen"] for e in (await api.get(
        "boss", "/api/calls/c07/explanation", params={"offset": 1})).json()] in (
        ["agent1"], ["agent2"])
    r = await api.get("boss", "/api/calls/nope/explanation")
    assert r.status_code == 404 and r.json()["error"]["id"] == "no-such-call"


async def test_unknown_call_is_404(api: Api) -> None:
    r = await api.get("boss", "/api/calls/nope")
    assert r.status_code == 404 and r.json()["error"]["id"] == "no-such-call"


async def test_agent_state_history(api: Api) -> None:
    for n, state in enumerate(["not_ready", "ready", "on_call"]):
        await queries.log_agent_state(api.conn, AgentStateEntry(
            "agent1", state, T0 + 100 * n, ended_at=T0 + 100 * (n + 1)))
    await queries.log_agent_state(api.conn, AgentStateEntry("agent2", "ready", T0))
    for user in ("boss", "plan", "root", "agent1"):
        r = await api.get(user, "/api/agents/agent1/states")
        assert r.status_code == 200, (user, r.text)
        assert [s["state"] for s in r.json()["states"]] == ["not_ready", "ready", "on_call"]
    r = await api.get("boss", "/api/agents/agent1/states",
                      params={"since": T0 + 50, "until": T0 + 200})
    assert [s["state"] for s in r.json()["states"]] == ["ready"]
    for user in ("agent2", "qa1"):
        r = await api.get(user, "/api/agents/agent1/states")
        assert r.status_code == 403 and r.json()["error"]["id"] == "forbidden"
    r = await api.get("boss", "/api/agents/agent1/states", params={"since": -5})
    assert r.status_code == 422


async def test_no_database_is_503(api: Api) -> None:
    pool, api.services.db_pool = api.services.db_pool, None
    try:
        r = await api.get("boss", "/api/calls")
        assert r.status_code == 503 and r.json()["error"]["id"] == "history-unavailable"
    finally:
        api.services.db_pool = pool


async def test_agent_states_page_with_a_maximum(api: Api) -> None:
    """#14.6: the state log pages (limit at most MAX_PAGE, next_offset), as every list."""
    for n in range(7):
        await queries.log_agent_state(api.conn, AgentStateEntry(
            "agent1", "ready" if n % 2 else "not_ready", T0 + 10 * n, ended_at=T0 + 10 * n + 5))
    seen: list[float] = []
    offset: int | None = 0
    while offset is not None:
        r = await api.get("boss", "/api/agents/agent1/states",
                          params={"limit": 3, "offset": offset})
        assert r.status_code == 200, r.text
        assert len(r.json()["states"]) <= 3
        seen += [s["started_at"] for s in r.json()["states"]]
        offset = r.json()["next_offset"]
    assert seen == [T0 + 10 * n for n in range(7)]
    r = await api.get("boss", "/api/agents/agent1/states", params={"limit": MAX_PAGE + 1})
    assert r.status_code == 422


@pytest.mark.parametrize("path", ["/api/calls", "/api/agents/agent1/states"])
async def test_a_date_range_has_a_maximum_span(api: Api, path: str) -> None:
    """#14.6: [since, until) spans at most MAX_LIST_SPAN_S; an open end is paged."""
    wide = {"since": T0 - MAX_LIST_SPAN_S - 1, "until": T0}
    r = await api.get("boss", path, params=wide)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["query", "until"]
    ok = {"since": T0 - MAX_LIST_SPAN_S, "until": T0}
    assert (await api.get("boss", path, params=ok)).status_code == 200
    assert (await api.get("boss", path, params={"since": 0})).status_code == 200


async def test_a_call_row_carries_its_after_call_work(api: Api) -> None:
    """#15.7: acw_s was null in every /api/calls row. The recorder writes the call's row at
    the hang-up, before its agent's wrap-up ends; the wrap-up is in agent_state_log."""
    from pathlib import Path

    from hotline.core.events import (
        AgentRinging,
        AgentStateChanged,
        CallAnswered,
        CallEnded,
        CallEntered,
    )
    from hotline.core.lifecycle import AgentState as S
    from hotline.history.service import Recorder

    rows: list[object] = []
    recorder = Recorder(type("Sink", (), {"submit": staticmethod(rows.append)})(),
                        Path("/rec"), "/var/spool/asterisk/hotline", 5.0)
    t = T0 + 300
    for item in (
        CallEntered(t - 5, call_id="w1", caller="13800000009", dialed="95598",
                    channel="PJSIP/caller-w1"),
        CallQueued(t, call_id="w1", queue="billing", service=ServiceType.BILLING),
        AgentRinging(t + 2, call_id="w1", agent_id="agent1"),
        AgentStateChanged(t + 4, agent_id="agent1", old=S.RINGING, new=S.ON_CALL,
                          call_id="w1"),
        CallAnswered(t + 4, call_id="w1", agent_id="agent1"),
        CallEnded(t + 64, call_id="w1"),
        AgentStateChanged(t + 64, agent_id="agent1", old=S.ON_CALL, new=S.AFTER_CALL_WORK,
                          call_id="w1"),
        AgentStateChanged(t + 94.5, agent_id="agent1", old=S.AFTER_CALL_WORK, new=S.READY),
    ):
        recorder.observe(item)
    for record in rows:  # in order, as the writer would
        await queries.upsert(api.conn, [record])  # type: ignore[list-item]
    r = await api.get("boss", "/api/calls", params={"since": t - 10})
    assert r.status_code == 200, r.text
    [row] = r.json()["calls"]
    assert row["talk_s"] == 60.0
    assert row["acw_s"] == 30.5
    full = await api.get("boss", "/api/calls/w1")
    assert full.json()["acw_s"] == 30.5
    # a call with no wrap-up recorded says so: null, not 0
    [other] = [c for c in (await api.get("boss", "/api/calls")).json()["calls"]
               if c["call_id"] == "c01"]
    assert other["acw_s"] is None
