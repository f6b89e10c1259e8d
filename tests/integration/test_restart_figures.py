"""Today's figures across a controller restart (#15.4, #15.9), on the real PostgreSQL: a
station (the platform's figures side, tests/helpers/restart.py) takes calls, is dropped
without a stop (a crash) or stopped cleanly, and the next one on the same database shows the
same figures at the same moment (same day, same interval), then keeps counting. Before,
/api/queues was empty after a restart and the wallboard's figures all zero."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    TalkEnded,
)
from hotline.core.values import ServiceType
from hotline.store import queries
from tests.helpers.desk import NODE, Clock
from tests.helpers.restart import T0, Station, station, stop_cleanly

BILLING, COMPLAINT, FAULT = ServiceType.BILLING, ServiceType.COMPLAINT, ServiceType.FAULT
QUEUES = ["general", "billing", "fault", "business", "complaint", "ev"]


@pytest.fixture(autouse=True)
def dev_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)


def shown(figures: dict[str, Any]) -> dict[str, Any]:
    """What must be the same after a restart: every queue's today and interval figures on
    /api/queues and the wallboard, all queues', the open interval and the SL trend. (Not the
    sliding window, nor agents now: they start again, see docs/metrics.md.)"""
    board = figures["wallboard"]
    return {
        "queues": {name: {k: q[k] for k in ("today", "interval", "waiting", "sl_target")}
                   for name, q in figures["queues"].items()},
        "board": {name: {s: scopes[s] for s in ("today", "interval")}
                  for name, scopes in [("*", board["all"]), *board["queues"].items()]},
        "interval": board["interval"],
        "trend": board["sl_trend"],
    }


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as readable paths (the test's failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_same(after: Any, before: Any) -> None:
    found = differences(after, before)
    assert not found, "after != before:\n" + "\n".join(found)


def first_calls(s: Station) -> None:
    s.login("agent2")
    s.login("agent3")
    s.answered_call("c1", "billing", BILLING, "agent2", wait_s=8, talk_s=60, acw_s=10)
    s.abandoned_call("c2", "complaint", COMPLAINT, wait_s=30)  # no complaint agent is in
    s.clock.t += 5


def later_calls(s: Station) -> None:
    s.clock.t += 1  # after the checkpoint's moment
    s.answered_call("c3", "fault", FAULT, "agent3", wait_s=15, talk_s=40, acw_s=5)
    s.abandoned_call("c4", "billing", BILLING, wait_s=3)  # short
    s.answered_call("c5", "billing", BILLING, "agent2", wait_s=12, talk_s=30, acw_s=1)
    s.clock.t += 5


def expected_billing(today: dict[str, Any]) -> None:
    assert (today["offered"], today["answered"], today["abandoned"],
            today["short_abandoned"], today["handled"]) == (3, 2, 1, 1, 2)
    assert today["service_level"] == 1.0  # both within 20 s; the short abandon is out
    assert today["aht"] == pytest.approx((60 + 10 + 30 + 1) / 2)


async def test_figures_survive_a_crash_between_checkpoints(
        empty_db_url: str, tmp_path: Path) -> None:
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        first_calls(s)
        await s.keeper.checkpoint()  # the periodic one (every 30 s)
        later_calls(s)  # after it: only the history rows know these
        assert await s.writer.flush(10)  # what the outbox (#15.8) keeps through a crash
        before = await s.figures()
        expected_billing(before["queues"]["billing"]["today"])
        # the crash: the station is dropped, nothing stopped, no last checkpoint
    async with station(empty_db_url, tmp_path, clock) as s:
        after = await s.figures()
        assert list(after["queues"]) == QUEUES
        assert_same(shown(after), shown(before))
        # and it keeps counting
        s.answered_call("c6", "billing", BILLING, "agent2", wait_s=30, talk_s=20, acw_s=2,
                        login_after_s=25)  # agents are logged out after a restart
        today = (await s.figures())["queues"]["billing"]["today"]
        assert (today["offered"], today["answered"], today["handled"]) == (4, 3, 3)
        assert today["service_level"] == pytest.approx(2 / 3)


async def test_figures_survive_a_clean_stop(empty_db_url: str, tmp_path: Path) -> None:
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        first_calls(s)
        later_calls(s)
        before = await s.figures()
        await stop_cleanly(s)  # the last checkpoint holds everything
    async with station(empty_db_url, tmp_path, clock) as s:
        after = await s.figures()
        assert_same(shown(after), shown(before))
        expected_billing(after["queues"]["billing"]["today"])


async def test_a_restart_in_a_later_interval_closes_the_missed_one(
        empty_db_url: str, tmp_path: Path, conn: asyncpg.Connection) -> None:
    """Crashed in one interval, back in the next: the interval the crash left open is closed
    with every call of it (checkpoint + rows) and written; today goes on from it."""
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        first_calls(s)
        await s.keeper.checkpoint()
        later_calls(s)
        assert await s.writer.flush(10)
        before = await s.figures()
    clock.t = T0 - 30 + 900 + 60  # a minute into the next interval
    async with station(empty_db_url, tmp_path, clock) as s:
        after = await s.figures()
        billing = after["queues"]["billing"]
        assert billing["today"] == {**before["queues"]["billing"]["today"],
                                    "longest_wait_s": 0.0}
        assert billing["interval"]["offered"] == 0
        s.recorder.close_intervals(clock.t)
        assert await s.writer.flush(10)
        [row] = await queries.intervals(conn, "billing", T0 - 30, T0 + 1)
        assert row.figures == {**before["queues"]["billing"]["interval"],
                               "longest_wait_s": 0.0}
        trend = (await s.get("/api/wallboard"))["sl_trend"]
        assert [(p["queue"], p["start"]) for p in trend][:2] == [(None, T0 - 30),
                                                                 ("general", T0 - 30)]
        assert {p["queue"]: p["service_level"] for p in trend}["billing"] == 1.0


async def test_open_agent_rows_end_at_the_last_known_moment(
        empty_db_url: str, tmp_path: Path, conn: asyncpg.Connection) -> None:
    """A crash leaves each logged-in agent's state row open. The next start ends it when the
    controller was last known alive (its last row or checkpoint), not at the restart, and
    the agent's state time today goes on from what it was."""
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        first_calls(s)
        later_calls(s)
        await s.keeper.checkpoint()
        last_known = clock.t
        assert await s.writer.flush(10)
        ready_before = s.services.metrics.agent_figures("agent2", "today", clock.t).ready_idle_s
    clock.t += 120  # the restart comes two minutes later
    async with station(empty_db_url, tmp_path, clock) as s:
        open_rows = await conn.fetch(
            "SELECT * FROM agent_state_log WHERE ended_at IS NULL AND state <> 'logged_out'")
        assert open_rows == []
        ends = await conn.fetch(
            "SELECT DISTINCT ON (agent_id) agent_id, state, ended_at FROM agent_state_log"
            " ORDER BY agent_id, started_at DESC")
        assert {(r["agent_id"], r["state"], r["ended_at"].timestamp()) for r in ends} == {
            ("agent2", "ready", last_known), ("agent3", "ready", last_known)}
        agent2 = s.services.metrics.agent_figures("agent2", "today", clock.t)
        assert agent2.state == "logged_out"  # until it logs in again
        assert agent2.ready_idle_s == pytest.approx(ready_before)
        s.login("agent2")
        clock.t += 10
        again = s.services.metrics.agent_figures("agent2", "today", clock.t)
        assert again.ready_idle_s == pytest.approx(ready_before + 10)


async def test_configured_queues_are_listed_from_the_start(
        empty_db_url: str, tmp_path: Path) -> None:
    async with station(empty_db_url, tmp_path, Clock(T0)) as s:
        queues = await s.get("/api/queues")
        assert [q["name"] for q in queues] == QUEUES
        assert all(q["today"]["offered"] == 0 for q in queues)
        assert set((await s.get("/api/wallboard"))["queues"]) == set(QUEUES)


async def test_a_caller_waiting_through_the_crash_is_offered_once(
        empty_db_url: str, tmp_path: Path) -> None:
    """A caller queued before the checkpoint still waits at the crash. The new controller
    learns it again (resync, or its hold session: CallQueued with the original moment): it
    was offered already; its wait runs from when it first queued."""
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        first_calls(s)
        queued_at = clock.t
        s.controller.handle(CallQueued(queued_at, node=NODE, call_id="w1", queue="complaint",
                                       service=COMPLAINT, caller="13800000003"))
        clock.t += 10
        await s.keeper.checkpoint()
        before = (await s.figures())["queues"]["complaint"]["today"]
        assert (before["offered"], before["waiting_now"]) == (2, 1)
    clock.t += 20
    async with station(empty_db_url, tmp_path, clock) as s:
        s.controller.handle(CallQueued(queued_at, node=NODE, call_id="w1", queue="complaint",
                                       service=COMPLAINT, caller="13800000003"))
        today = (await s.figures())["queues"]["complaint"]["today"]
        assert (today["offered"], today["waiting_now"]) == (2, 1)
        assert today["longest_wait_s"] == pytest.approx(clock.t - queued_at)
        clock.t += 5
        s.controller.handle(CallEnded(clock.t, node=NODE, call_id="w1"))
        today = (await s.figures())["queues"]["complaint"]["today"]
        assert (today["offered"], today["abandoned"], today["waiting_now"]) == (2, 2, 0)
        assert today["wait_abandoned_s"] == pytest.approx(30 + (clock.t - queued_at))


async def test_figures_survive_a_crash_before_the_first_checkpoint(
        empty_db_url: str, tmp_path: Path) -> None:
    """No checkpoint of today yet: today's rows are replayed from the day's start."""
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        first_calls(s)
        later_calls(s)
        assert await s.writer.flush(10)
        before = await s.figures()
    async with station(empty_db_url, tmp_path, clock) as s:
        assert_same(shown(await s.figures()), shown(before))


async def test_a_call_on_the_line_at_a_crash_is_written_and_counted(
        empty_db_url: str, tmp_path: Path) -> None:
    """Found by the kill -9 proof (asterisk/test_kill_controller.py): a call an agent had
    answered when the controller was killed, which ended while none ran, never reached
    history, and today's figures lost its answer (offered 9, answered 9 before the kill;
    5 and 3 after the restart). It is written as answered, ended at the last moment history
    knows the controller alive, and counted."""
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        s.login("agent2")
        c, t = s.controller, clock.t
        c.handle(CallEntered(t, node=NODE, call_id="c1", caller="13800000001",
                             dialed="95598", channel="PJSIP/caller-c1"))
        c.handle(CallQueued(t, node=NODE, call_id="c1", queue="billing", service=BILLING,
                            caller="13800000001"))
        clock.t = t + 3
        c.handle(AgentRinging(clock.t, node=NODE, call_id="c1", agent_id="agent2"))
        clock.t = t + 4
        c.handle(CallAnswered(clock.t, node=NODE, call_id="c1", agent_id="agent2"))
        clock.t = t + 30
        c.handle(TalkEnded(clock.t, node=NODE, call_id="c1", agent_id="agent2"))
        assert await s.writer.flush(10)
        before = (await s.figures())["queues"]["billing"]["today"]
        assert (before["offered"], before["answered"]) == (1, 1)
        # the crash, the caller hangs up meanwhile (in the survey)
    clock.t += 60
    async with station(empty_db_url, tmp_path, clock) as s:
        call = await s.pool.fetchrow("SELECT outcome, agent_id, talk_s,"
                                     " extract(epoch FROM answered_at) AS answered,"
                                     " extract(epoch FROM ended_at) AS ended FROM calls"
                                     " WHERE call_id = 'c1'")
        assert (call["outcome"], call["agent_id"], float(call["answered"])) == (
            "answered", "agent2", pytest.approx(T0 + 4))
        assert call["talk_s"] == pytest.approx(26.0)
        assert T0 + 30 <= float(call["ended"]) < clock.t
        after = (await s.figures())["queues"]["billing"]["today"]
        assert (after["offered"], after["answered"], after["handled"]) == (1, 1, 1)
        assert await s.pool.fetchval("SELECT count(*) FROM open_calls") == 0


async def test_a_call_still_talking_at_a_crash_is_written_once_after_the_resyncs(
        empty_db_url: str, tmp_path: Path) -> None:
    """A call an agent was still talking on when the controller died is settled after the
    restarted controller's resyncs. Still on the line, the resync replays it (found in
    hotline-connect) and nothing more is written: closed at start as well, it was counted
    twice (offered and answered again by the replay). In neither a resync nor a ledger (it
    ended within the heartbeat's stale time of the crash), it is written then, once."""
    clock = Clock(T0)
    async with station(empty_db_url, tmp_path, clock) as s:
        s.login("agent2")
        s.login("agent3")
        c, t = s.controller, clock.t
        for cid, agent in (("c2", "agent2"), ("c3", "agent3")):
            c.handle(CallEntered(t, node=NODE, call_id=cid, caller="13800000002",
                                 dialed="95598", channel=f"PJSIP/caller-{cid}"))
            c.handle(CallQueued(t, node=NODE, call_id=cid, queue="billing", service=BILLING,
                                caller="13800000002"))
            c.handle(AgentRinging(t + 3, node=NODE, call_id=cid, agent_id=agent))
            c.handle(CallAnswered(t + 4, node=NODE, call_id=cid, agent_id=agent))
        clock.t = t + 10
        assert await s.writer.flush(10)
        # the crash, both agents talking; c2 goes on, c3 ends a moment later
    clock.t += 60
    async with station(empty_db_url, tmp_path, clock) as s:
        assert {c.call_id for c in s.left_on_line} == {"c2", "c3"}
        c = s.controller
        # the resync finds c2's caller in hotline-connect: replayed from its start
        c.handle(CallEntered(T0, node=NODE, call_id="c2", caller="13800000002",
                             dialed="", channel="PJSIP/caller-c2"))
        c.handle(CallQueued(T0, node=NODE, call_id="c2", queue="billing", service=BILLING,
                            caller="13800000002"))
        c.handle(AgentRinging(T0 + 4, node=NODE, call_id="c2", agent_id="agent2"))
        c.handle(CallAnswered(T0 + 4, node=NODE, call_id="c2", agent_id="agent2"))
        assert await s.settle_left_on_line() == ["c3"]
        rows = {r["call_id"]: r for r in await s.pool.fetch(
            "SELECT call_id, outcome, agent_id, extract(epoch FROM ended_at) AS ended"
            " FROM calls")}
        assert "c2" not in rows  # still talking: written when it ends
        assert (rows["c3"]["outcome"], rows["c3"]["agent_id"]) == ("answered", "agent3")
        assert T0 + 4 <= float(rows["c3"]["ended"]) < clock.t
        today = (await s.figures())["queues"]["billing"]["today"]
        assert (today["offered"], today["answered"]) == (2, 2)
        assert await s.settle_left_on_line() == []  # once
        c.handle(CallEnded(clock.t, node=NODE, call_id="c2"))
        assert await s.writer.flush(10)
        today = (await s.figures())["queues"]["billing"]["today"]
        assert (today["offered"], today["answered"]) == (2, 2)
