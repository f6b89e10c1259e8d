"""What history holds for a restarted controller's figures (docs/metrics.md, "Restart"):
today's closed intervals, and what happened after a moment (the last checkpoint) as the
metrics count it, read back from the `calls` and `agent_state_log` rows written since.

A call row gives its counts at their own moments (offered when queued, answered / abandoned
/ called back when its wait ended, handled when its agent's after-call work on it ended), and
only those after the moment are replayed: the checkpoint holds the rest. Agent-state rows
after the moment replay the agents' state changes. Rows left open by a crash (no end) are
closed at the last moment history knows the controller was alive, not at the restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from hotline.core.lifecycle import AgentState, CallOutcome
from hotline.realtime import ClosedInterval, QueueFigures
from hotline.realtime.quality import TodayAnswer, TodayCall
from hotline.realtime.replay import Counted, StateSeen
from hotline.reports.model import ANSWERED_OUTCOMES
from hotline.store.queries import epoch, ts

_ACW = AgentState.AFTER_CALL_WORK.value
_ANSWERED = ("answered", "failsafe")
_CALLBACK = ("callback", "callback_failed")
_ABANDONED = ("abandoned", "short_abandoned")
_NODE_FAILURE = CallOutcome.NODE_FAILURE.value
#: figures added since rows were first stored: an older row has none of them
_ADDED_FIGURES = {"lost_node_failure": 0}


@dataclass
class Since:
    """History after `start`: the counts and state changes to replay, and `last_known`, the
    latest moment any row shows (where rows left open are closed)."""

    start: float
    last_known: float
    counts: list[Counted] = field(default_factory=list)
    states: list[StateSeen] = field(default_factory=list)
    open_agents: list[str] = field(default_factory=list)  # their last row had no end


async def closed_intervals(conn: asyncpg.Connection, since: float,
                           until: float) -> list[ClosedInterval]:
    """The stored intervals starting in [since, until), every queue and all queues ("*")."""
    rows = await conn.fetch(
        "SELECT queue, interval_start, interval_end, figures FROM interval_stats"
        " WHERE interval_start >= $1 AND interval_start < $2 ORDER BY interval_start",
        ts(since), ts(until))
    fields = set(QueueFigures.__slots__)
    return [ClosedInterval(None if r["queue"] == "*" else r["queue"],
                           r["interval_start"].timestamp(), r["interval_end"].timestamp(),
                           QueueFigures(**{**_ADDED_FIGURES, **{
                               k: v for k, v in r["figures"].items() if k in fields}}))
            for r in rows]


async def since(conn: asyncpg.Connection, start: float, alive_at_start: bool = True) -> Since:
    """What the rows show after `start` (see the module's docstring). `alive_at_start`: the
    controller was running at `start` (a checkpoint's moment; not so for a day's start)."""
    states = await conn.fetch(
        "SELECT agent_id, state, reason, started_at, ended_at, call_id FROM agent_state_log"
        " WHERE started_at > $1 OR ended_at > $1 OR ended_at IS NULL ORDER BY started_at",
        ts(start))
    acw_calls = [r["call_id"] for r in states if r["state"] == _ACW and r["call_id"]]
    calls = await conn.fetch(
        "SELECT call_id, queue, service, agent_id, outcome, queued_at, answered_at, ended_at,"
        " wait_s, talk_s, hold_s, timeline FROM calls"
        " WHERE ended_at > $1 OR call_id = ANY($2::text[])", ts(start), acw_calls)
    last = max([*(r["started_at"].timestamp() for r in states),
                *(r["ended_at"].timestamp() for r in calls if r["ended_at"] is not None)],
               default=start)
    if alive_at_start:
        last = max(last, start)
    out = Since(start, last)
    # each agent's after-call work on a call: (started, ended or last known)
    acw: dict[tuple[str, str], tuple[float, float]] = {}
    last_row: dict[str, asyncpg.Record] = {}
    for r in states:
        begun = r["started_at"].timestamp()
        ended = epoch(r["ended_at"])
        if r["state"] == _ACW and r["call_id"]:
            acw[(r["call_id"], r["agent_id"])] = (begun, last if ended is None else ended)
        if begun > start:
            out.states.append(StateSeen(begun, r["agent_id"], AgentState(r["state"]),
                                        r["reason"]))
        last_row[r["agent_id"]] = r
    for agent_id, r in last_row.items():
        if r["ended_at"] is None and r["state"] != AgentState.LOGGED_OUT.value:
            out.open_agents.append(agent_id)
            end = max(last, r["started_at"].timestamp())
            if alive_at_start or end > start:  # (else before any figure restored)
                out.states.append(StateSeen(end, agent_id, AgentState.LOGGED_OUT))
    for r in calls:
        out.counts += _counts(r, start, acw)
    return out


def _counts(r: asyncpg.Record, start: float,
            acw: dict[tuple[str, str], tuple[float, float]]) -> list[Counted]:
    """The counts of one call row made after `start`, each at its own moment."""
    queue, service = r["queue"], r["service"]
    queued = epoch(r["queued_at"])
    if not queue or queued is None:
        return []  # never queued: in no figure
    base: dict[str, Any] = {"queue": queue, "service": service or "", "call_id": r["call_id"]}
    out = []
    if queued > start:
        out.append(Counted(queued, "offered", **base))
    wait = r["wait_s"]
    outcome = r["outcome"] or ""
    if wait is not None and queued + wait > start:
        end_of_wait = queued + wait
        if outcome in _ANSWERED:
            out.append(Counted(end_of_wait, "answered", agent_id=r["agent_id"] or "",
                               wait_s=wait, **base))
        elif outcome in _CALLBACK:
            out.append(Counted(end_of_wait, "callback", wait_s=wait, **base))
        elif outcome in _ABANDONED:
            out.append(Counted(end_of_wait, "abandoned", wait_s=wait, **base))
        elif outcome == _NODE_FAILURE:
            out.append(Counted(end_of_wait, "node_failure", wait_s=wait, **base))
    if outcome == "failsafe":
        taken = next((e["at"] for e in r["timeline"] if str(e["what"]).startswith("failsafe")),
                     None)
        if taken is not None and taken > start:
            out.append(Counted(taken, "failsafe", **base))
    answered, agent, ended = epoch(r["answered_at"]), r["agent_id"], epoch(r["ended_at"])
    if answered is not None and agent and ended is not None and r["talk_s"] is not None:
        # handled when the agent's after-call work on it ended (none: at the hang-up); the
        # wrap-up runs from the end of talk (the agent's leg left, else the hang-up)
        hold = r["hold_s"] or 0.0
        talk_end = min(answered + r["talk_s"] + hold, ended)
        acw_end = acw.get((r["call_id"], agent), (talk_end, talk_end))[1]
        if acw_end > start:
            out.append(Counted(acw_end, "handled", agent_id=agent, talk_s=r["talk_s"],
                               hold_s=hold, acw_s=max(acw_end - talk_end, 0.0), **base))
    return out


async def close_open_states(conn: asyncpg.Connection, at: float) -> int:
    """Agent-state rows a crash left open end at `at` (or their own start, if later);
    returns how many. A logged-out row stays open: the agent is still logged out."""
    done: str = await conn.execute(
        "UPDATE agent_state_log SET ended_at = GREATEST(started_at, $1)"
        " WHERE ended_at IS NULL AND state <> $2", ts(at), AgentState.LOGGED_OUT.value)
    return int(done.split()[-1])


__all__ = ["Since", "close_open_states", "closed_intervals", "since"]


async def today_quality(conn: asyncpg.Connection, day: float, now: float
                        ) -> tuple[list[TodayCall], list[TodayAnswer]]:
    """The live quality figures' inputs of today (realtime/quality.py): the calls with a
    caller number that entered in [day, now] (answered: an outcome the reports count as
    answered), and the survey answers given since `day`."""
    calls = await conn.fetch(
        "SELECT call_id, caller, entered_at, queue, outcome = ANY($3::text[]) AS answered"
        " FROM calls WHERE entered_at >= $1 AND entered_at <= $2 AND caller <> ''",
        ts(day), ts(now), list(ANSWERED_OUTCOMES))
    answers = await conn.fetch(
        "SELECT queue, satisfaction, nps FROM survey_answers WHERE at >= $1 AND at <= $2"
        " AND (satisfaction IS NOT NULL OR nps IS NOT NULL)", ts(day), ts(now))
    return ([TodayCall(r["call_id"], r["caller"], epoch(r["entered_at"]) or 0.0, r["queue"],
                       bool(r["answered"])) for r in calls],
            [TodayAnswer(r["queue"], r["satisfaction"], r["nps"]) for r in answers])

