"""One readable line per step of a call's life, for `hotline run` and the demo."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import lru_cache

from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallHeld,
    CallQueued,
    CallUnheld,
    Event,
    FailsafeTaken,
    IvrChoice,
    RecordingStarted,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import DEFAULT_SHORT_ABANDON_S, CallOutcome, call_outcome
from hotline.router.decisions import CallbackDue, Offer


@lru_cache(maxsize=4)
def _hms(second: int) -> str:
    # Formatted once per second: time.localtime re-reads the time zone on every call, which
    # showed in the controller's profile at 50 calls/s (a line per call event).
    return time.strftime("%H:%M:%S", time.localtime(second))


def _clock(at: float) -> str:
    return f"{_hms(int(at))}.{int(at * 1000) % 1000:03d}"


# A line is "<clock> call <id>  <what>" or "<clock> agent <id>  <what>": who it is about, for
# a JSON log record's call_id or agent_id (hotline/process/console.py)
_SUBJECT = re.compile(r"^\S+ (call|agent) (\S+)  ")


def line_subject(line: str) -> dict[str, str]:
    """{"call_id": ...} or {"agent_id": ...} of one of CallLog's lines; {} of any other."""
    m = _SUBJECT.match(line)
    return {f"{m.group(1)}_id": m.group(2)} if m else {}


class CallLog:
    def __init__(self, emit: Callable[[str], None],
                 short_abandon_s: float = DEFAULT_SHORT_ABANDON_S) -> None:
        self.emit = emit
        self.short_abandon_s = short_abandon_s
        self._queued_at: dict[str, float] = {}
        self._answered_at: dict[str, float] = {}
        self._callers: dict[str, str] = {}
        self._talk_ended_at: dict[str, float] = {}
        self._failsafe: set[str] = set()  # app_queue took the call
        self._callback: dict[str, float] = {}  # the caller asked to be called back, when

    def line(self, item: Event | Offer | CallbackDue) -> None:
        text = self.describe(item)
        if text:
            self.emit(text)

    def describe(self, item: Event | Offer | CallbackDue) -> str | None:
        if isinstance(item, Offer | CallbackDue):
            ex = item.explanation
            how = "callback to " + item.number + ", " if isinstance(item, CallbackDue) else ""
            return (f"{_clock(ex.at)} call {item.call_id}  offered to {item.agent_id} "
                    f"({how}{ex.reason}/{ex.policy}, {len(ex.eligible)} eligible, "
                    f"{len(ex.passed_over)} passed over) after {item.wait_s:.2f}s in queue "
                    f"{item.queue}")
        if isinstance(item, AgentStateChanged):
            why = f" ({item.reason})" if item.reason else ""
            return f"{_clock(item.at)} agent {item.agent_id}  {item.old} -> {item.new}{why}"
        if not isinstance(item, Event):
            return None
        call = getattr(item, "call_id", "")
        head = f"{_clock(item.at)} call {call}"
        match item:
            case CallEntered():
                self._callers[call] = item.caller
                return f"{head}  entered from {item.caller} to {item.dialed} on {item.node}"
            case IvrChoice():
                return f"{head}  IVR {item.menu}: pressed {item.digit} ({item.service or '-'})"
            case CallQueued():
                self._queued_at.setdefault(call, item.at)
                return f"{head}  joined queue {item.queue} (priority {item.priority})"
            case AgentRinging():
                return f"{head}  ringing {item.agent_id}"
            case RingNoAnswer():
                return f"{head}  {item.agent_id} did not answer; back to the head of the queue"
            case CallAnswered():
                self._answered_at[call] = item.at
                wait = item.at - self._queued_at.get(call, item.at)
                return f"{head}  answered by {item.agent_id} after {wait:.2f}s wait"
            case TalkEnded():
                self._talk_ended_at[call] = item.at
                return f"{head}  {item.agent_id} left the call (the caller may take the survey)"
            case CallHeld():
                return f"{head}  on hold"
            case CallUnheld():
                return f"{head}  off hold"
            case RecordingStarted():
                return f"{head}  recording to {item.path}"
            case FailsafeTaken():
                self._failsafe.add(call)
                return f"{head}  FAILSAFE: no controller heartbeat, app_queue serves it"
            case CallbackRequested():
                self._callback.setdefault(call, item.at)
                return None
            case CallEnded():
                how = self._ended(call, item.at, item.node_failure)
                return f"{head}  ended: {how} (cause {item.cause} {item.cause_text})".rstrip()
        return None

    def _ended(self, call: str, at: float, node_failure: bool = False) -> str:
        """How the call ended, in words: the outcome as hotline.core.lifecycle decides it."""
        queued = self._queued_at.pop(call, None)
        answered = self._answered_at.pop(call, None)
        talk_end = self._talk_ended_at.pop(call, at)
        callback = self._callback.pop(call, None)
        failsafe = call in self._failsafe
        self._failsafe.discard(call)
        self._callers.pop(call, None)
        wait = 0.0 if queued is None else (callback or answered or at) - queued
        outcome = call_outcome(answered=answered is not None, queued=queued is not None,
                               wait_s=wait, short_abandon_s=self.short_abandon_s,
                               failsafe=failsafe, callback=callback is not None,
                               node_failure=node_failure)
        match outcome:
            case CallOutcome.CALLBACK:
                return f"to be called back after {wait:.1f}s wait"
            case CallOutcome.ANSWERED:
                return f"answered, talk {talk_end - (answered or at):.1f}s"
            case CallOutcome.FAILSAFE:
                return f"answered by the failsafe queue, talk {talk_end - (answered or at):.1f}s"
            case CallOutcome.NODE_FAILURE:
                return (f"lost to a node failure after {wait:.1f}s wait" if queued is not None
                        else "lost to a node failure before queueing")
            case CallOutcome.SHORT_ABANDONED:
                return f"abandoned after {wait:.1f}s wait (short)"
            case CallOutcome.ABANDONED:
                return f"abandoned after {wait:.1f}s wait"
        return "left before queueing"
