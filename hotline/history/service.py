"""Turns what the controller sees into history rows for PostgreSQL, through the write-behind
writer (so the call path never waits on the database).

- each call, when it ends: one `calls` row with its timeline and outcome (the call model);
- each call an agent answered, at the answer and at the end of talk: an `open_calls` row of
  it as known so far, so that a start after a crash closes it if it ended meanwhile
  (hotline/history/unfinished.py);
- each agent state change: an `agent_state_log` row (the previous one gets its end);
- each routing decision: its explanation, readable later through the API;
- each closed metrics interval: an `interval_stats` row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from hotline.core.events import AgentStateChanged, CallAnswered, Event, TalkEnded
from hotline.realtime import Metrics
from hotline.router.decisions import CallbackDue, Offer
from hotline.store.records import (
    AgentStateEntry,
    CallRecord,
    IntervalRecord,
    OpenCall,
    RoutingExplanation,
)
from hotline.telephony.ami.call_model import Call, CallModel


class Sink(Protocol):
    def submit(self, record: Any) -> None: ...


def _hold_seconds(call: Call) -> float:
    held_at: float | None = None
    total = 0.0
    for at, what in call.timeline:
        if what == "held" and held_at is None:
            held_at = at
        elif what in ("unheld", "ended") and held_at is not None:
            total += at - held_at
            held_at = None
    return total


#: timestamptz's resolution: the smallest step between two rows of one agent's log
_ROW_KEY_STEP_S = 1e-6


class Recorder:
    def __init__(self, sink: Sink, recordings_dir: Path, recordings_dir_in_root: str,
                 short_abandon_s: float, metrics: Metrics | None = None,
                 clock: Callable[[], float] | None = None,
                 on_recorded_call: Callable[[str, str], None] | None = None) -> None:
        """`on_recorded_call(call_id, host_path)` is told of every ended call that was
        recorded (the platform then stores the file's checksum and duration)."""
        self.on_recorded_call = on_recorded_call
        self.sink = sink
        self.model = CallModel(short_abandon_s=short_abandon_s)
        self.metrics = metrics
        self._recordings = (recordings_dir, recordings_dir_in_root.rstrip("/"))
        self._open_states: dict[str, AgentStateEntry] = {}

    def observe(self, item: object) -> None:
        if isinstance(item, Offer | CallbackDue):
            self.sink.submit(RoutingExplanation(
                call_id=item.call_id, at=item.explanation.at,
                detail=_jsonable(dataclasses.asdict(item.explanation))))
            return
        if isinstance(item, AgentStateChanged):
            self._agent_state(item)
            return
        if isinstance(item, Event):
            ended = self.model.apply(item)
            if ended is None and isinstance(item, CallAnswered | TalkEnded):
                self._journal(item)
            if ended is not None:
                row = self.call_record(ended)
                self.sink.submit(row)
                if row.recording_path and self.on_recorded_call is not None:
                    self.on_recorded_call(row.call_id, row.recording_path)

    def _journal(self, event: CallAnswered | TalkEnded) -> None:
        """The answered call as known now, for a start after a crash (a kill -9 loses the
        model, and a call that ends while no controller runs leaves no trace of its own)."""
        call = self.model.get(event.call_id, event.node)
        if call is None or call.answered_at is None:
            return
        row = self.call_record(call)
        self.sink.submit(OpenCall(call_id=call.call_id, at=event.at,
                                  record=_jsonable(dataclasses.asdict(row))))

    def close_intervals(self, now: float) -> int:
        """Writes every metrics interval that ended by `now`; returns how many."""
        if self.metrics is None:
            return 0
        closed = self.metrics.close_due(now)
        for interval in closed:
            self.sink.submit(IntervalRecord(
                queue=interval.queue or "*", interval_start=interval.start,
                interval_end=interval.end, figures=_jsonable(interval.figures.as_dict())))
        return len(closed)

    def _agent_state(self, change: AgentStateChanged) -> None:
        previous = self._open_states.get(change.agent_id)
        started = change.at
        if previous is not None:
            # (agent, started_at) keys a row: a state begun in the very instant the previous
            # one began (it lasted no time) starts a microsecond later, so both rows stay
            started = max(started, previous.started_at + _ROW_KEY_STEP_S)
            self.sink.submit(dataclasses.replace(previous, ended_at=started))
        entry = AgentStateEntry(agent_id=change.agent_id, state=str(change.new),
                                started_at=started, reason=change.reason,
                                call_id=change.call_id)
        self._open_states[change.agent_id] = entry
        self.sink.submit(entry)

    def call_record(self, call: Call) -> CallRecord:
        talk_end = call.talk_ended_at if call.talk_ended_at is not None else call.ended_at
        talk = (talk_end - call.answered_at
                if talk_end is not None and call.answered_at is not None else None)
        hold = _hold_seconds(call) if call.answered_at is not None else None
        return CallRecord(
            call_id=call.call_id, node=call.node, caller=call.caller, dialed=call.dialed,
            queue=call.queue or None, service=str(call.service) if call.service else None,
            entered_at=call.entered_at, queued_at=call.queued_at,
            answered_at=call.answered_at, ended_at=call.ended_at,
            agent_id=call.agent_id or None,
            outcome=str(call.outcome) if call.outcome else None,
            wait_s=call.wait_s, talk_s=None if talk is None or hold is None else talk - hold,
            hold_s=hold, ivr_path=[f"{menu}={digit}" for menu, digit in call.ivr_path],
            recording_path=self._host_path(call.recording),
            timeline=[{"at": at, "what": what} for at, what in call.timeline],
        )

    def _host_path(self, inside: str) -> str | None:
        if not inside:
            return None
        host_dir, root_dir = self._recordings
        if inside.startswith(root_dir + "/"):
            return str(host_dir / inside[len(root_dir) + 1:])
        return inside


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
