"""Groups the typed call events into calls: one timeline and one outcome per call.

A call is every channel sharing a Linkedid (the events' `call_id`), per Asterisk node. Its
phase moves only through hotline.core.events.next_call_phase; an event the table does not allow in
the current phase (a duplicate Hold from the other leg, events of a call whose start we did
not see) is recorded as an anomaly on the call and skipped, never raised, because the model
sits on the ingest path. A call that ends is handed out once and forgotten, so memory holds
only live calls; `expire` evicts calls whose hangup was lost (e.g. while AMI was down). Only
CallEntered or CallQueued opens a call; other events of unknown calls are counted and dropped.

Outcome at CallEnded (decided by hotline.core.lifecycle.call_outcome, the one rule):
- the caller chose a callback (virtual hold): CALLBACK once reached, whatever followed, as the
  metrics count it (its wait ended with the request: neither answered nor abandoned). Until
  then a callback leg's end is not the call's end: the router retries, and its CallbackFailed
  ends the call as CALLBACK_FAILED;
- answered by an agent: ANSWERED, or FAILSAFE when app_queue served it (FailsafeTaken seen);
- cut off unanswered by its node's failure (CallEnded.node_failure): NODE_FAILURE;
- never queued (left in the IVR): SELF_SERVED;
- queued, never answered: SHORT_ABANDONED when the wait from the first CallQueued is at most
  `short_abandon_s`, else ABANDONED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallbackAttempted,
    CallbackFailed,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallHeld,
    CallOffered,
    CallQueued,
    CallRequeued,
    CallTransferred,
    CallUnheld,
    Event,
    FailsafeTaken,
    IvrChoice,
    RecordingStarted,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import (
    DEFAULT_SHORT_ABANDON_S,
    CallOutcome,
    CallPhase,
    CallTrigger,
    IllegalTransition,
    call_outcome,
    next_call_phase,
)
from hotline.core.values import ServiceType

log = logging.getLogger(__name__)

# Members as module constants: `CallPhase.X` goes through EnumType's __getattr__ hook (a third
# of a microsecond each, on the path of every event).
_QUEUED = CallPhase.QUEUED
_OFFERED = CallPhase.OFFERED
_TALKING = CallPhase.TALKING
_HELD = CallPhase.HELD
_ENDED = CallPhase.ENDED
_QUEUE = CallTrigger.QUEUE
_OFFER = CallTrigger.OFFER
_ANSWER = CallTrigger.ANSWER
_RING_NO_ANSWER = CallTrigger.RING_NO_ANSWER
_HOLD = CallTrigger.HOLD
_UNHOLD = CallTrigger.UNHOLD
_HANGUP = CallTrigger.HANGUP
_FAILSAFE = CallTrigger.FAILSAFE
_TRANSFER = CallTrigger.TRANSFER


@dataclass(slots=True)
class Call:
    """One call as the model knows it; `timeline` holds (time, what) in arrival order."""

    call_id: str
    node: str
    entered_at: float
    caller: str = ""
    dialed: str = ""
    phase: CallPhase = CallPhase.IVR
    timeline: list[tuple[float, str]] = field(default_factory=list)
    ivr_path: list[tuple[str, str]] = field(default_factory=list)  # (menu, digit)
    channels: list[str] = field(default_factory=list)
    queue: str = ""
    service: ServiceType | None = None
    queued_at: float | None = None  # the first CallQueued: the wait starts here
    answered_at: float | None = None
    agent_id: str = ""  # the agent who answered (or the last one rung)
    ringing: set[str] = field(default_factory=set)  # agents being rung now (app_queue ringall)
    failsafe: bool = False
    recording: str = ""
    ended_at: float | None = None
    talk_ended_at: float | None = None  # the agent left (the caller may stay for the survey)
    cause: int = 0
    node_failure: bool = False  # its node went down under it (CallEnded.node_failure)
    callback_at: float | None = None  # the caller chose a callback: the wait ended here
    callback_attempts: int = 0  # callback legs that did not reach the caller
    left_for_callback: bool = False  # the caller's own leg ended after the request
    transfers: int = 0  # times an agent transferred the call back to a queue
    outcome: CallOutcome | None = None
    seen_start: bool = True  # False when the first event we saw was not CallEntered
    anomalies: list[str] = field(default_factory=list)
    last_at: float = 0.0

    @property
    def wait_s(self) -> float | None:
        """Queue wait: until the callback request or the (first) answer, else until the
        hangup; None if never queued."""
        if self.queued_at is None:
            return None
        end = next((t for t in (self.callback_at, self.answered_at) if t is not None),
                   self.ended_at)
        return None if end is None else max(0.0, end - self.queued_at)

    def _add_channel(self, channel: str) -> None:
        if channel and channel not in self.channels:
            self.channels.append(channel)


class CallModel:
    """Applies call events; `apply` returns the finished `Call` when one ends."""

    def __init__(self, short_abandon_s: float = DEFAULT_SHORT_ABANDON_S) -> None:
        if short_abandon_s < 0:
            raise ValueError("short_abandon_s must be >= 0")
        self.short_abandon_s = short_abandon_s
        self._calls: dict[tuple[str, str], Call] = {}
        self.ended_count = 0
        self.anomaly_count = 0
        self.orphan_events = 0  # call events for no known call, dropped

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_id: str, node: str = "") -> Call | None:
        return self._calls.get((node, call_id))

    def live(self) -> list[Call]:
        return list(self._calls.values())

    def apply_all(self, events: list[Event]) -> list[Call]:
        ended: list[Call] = []
        for event in events:
            call = self.apply(event)
            if call is not None:
                ended.append(call)
        return ended

    def apply(self, event: Event) -> Call | None:
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return None  # not something a call's timeline holds (endpoint status, DTMF, ...)
        call_id: str = event.call_id  # type: ignore[attr-defined]
        key = (event.node, call_id)
        call = self._calls.get(key)
        if call is None:
            if not isinstance(event, _STARTS):
                # Not a hotline call (an agent's own call) or one whose start we missed: no
                # record, or it would end as a phantom self-served call.
                self.orphan_events += 1
                return None
            call = Call(call_id=call_id, node=event.node, entered_at=event.at)
            call.seen_start = isinstance(event, CallEntered)
            self._calls[key] = call
        call.last_at = event.at
        handler(self, call, event)
        if call.phase is _ENDED:
            del self._calls[key]
            self.ended_count += 1
            return call
        return None

    def expire(self, before: float) -> list[Call]:
        """Forget live calls with no event since `before`; they are handed out unfinished."""
        stale = [k for k, c in self._calls.items() if c.last_at < before]
        return [self._calls.pop(k) for k in stale]

    # -- transitions ---------------------------------------------------------------------

    def _move(self, call: Call, trigger: CallTrigger, at: float, what: str) -> bool:
        try:
            call.phase = next_call_phase(call.phase, trigger)
        except IllegalTransition as exc:
            call.anomalies.append(f"{at:.6f} {what}: {exc}")
            self.anomaly_count += 1
            log.debug("call %s: %s", call.call_id, exc)
            return False
        call.timeline.append((at, what))
        return True

    def _on_entered(self, call: Call, e: CallEntered) -> None:
        if call.timeline and call.timeline[0][1] == "entered":
            call.anomalies.append(f"{e.at:.6f} entered again")
            self.anomaly_count += 1
            return
        call.caller, call.dialed = e.caller, e.dialed
        call.entered_at = min(call.entered_at, e.at)
        call._add_channel(e.channel)
        call.timeline.append((e.at, "entered"))

    def _on_ivr(self, call: Call, e: IvrChoice) -> None:
        call.ivr_path.append((e.menu, e.digit))
        call.timeline.append((e.at, f"ivr:{e.menu}={e.digit}"))

    def _on_queued(self, call: Call, e: CallQueued) -> None:
        if self._move(call, _QUEUE, e.at, f"queued:{e.queue}"):
            call.queue, call.service = e.queue, e.service
            if call.queued_at is None:
                call.queued_at = e.at
            call.caller = call.caller or e.caller
            call._add_channel(e.channel)

    def _on_failsafe(self, call: Call, e: FailsafeTaken) -> None:
        if self._move(call, _FAILSAFE, e.at, f"failsafe:{e.queue}"):
            call.failsafe = True
            call.queue = e.queue or call.queue

    def _on_offered(self, call: Call, e: CallOffered) -> None:
        self._move(call, _OFFER, e.at, f"offered:{e.agent_id}")

    def _on_ringing(self, call: Call, e: AgentRinging) -> None:
        # The router's CallOffered may already have moved the call to OFFERED; without it the
        # ring itself is the offer (the failsafe's app_queue rings with no router involved).
        if call.phase is _QUEUED:
            self._move(call, _OFFER, e.at, f"offered:{e.agent_id}")
        if call.phase is _OFFERED:
            call.timeline.append((e.at, f"ringing:{e.agent_id}"))
            call.agent_id = e.agent_id
            call.ringing.add(e.agent_id)
            call._add_channel(e.channel)
        else:
            call.anomalies.append(f"{e.at:.6f} ringing:{e.agent_id} in {call.phase}")
            self.anomaly_count += 1

    def _on_answered(self, call: Call, e: CallAnswered) -> None:
        if self._move(call, _ANSWER, e.at, f"answered:{e.agent_id}"):
            call.ringing.clear()
            if call.answered_at is None:  # a transferred call keeps its first answer
                call.answered_at = e.at
            call.agent_id = e.agent_id
            call._add_channel(e.channel)

    def _on_ring_no_answer(self, call: Call, e: RingNoAnswer) -> None:
        call.ringing.discard(e.agent_id)
        if call.ringing and call.phase is _OFFERED:
            # Another agent is still ringing (app_queue's ringall): the offer stands.
            call.timeline.append((e.at, f"ring_no_answer:{e.agent_id}"))
            return
        self._move(call, _RING_NO_ANSWER, e.at, f"ring_no_answer:{e.agent_id}")

    def _on_held(self, call: Call, e: CallHeld) -> None:
        if call.phase is _HELD:
            return  # both legs may report the same hold
        self._move(call, _HOLD, e.at, "held")

    def _on_unheld(self, call: Call, e: CallUnheld) -> None:
        if call.phase is _TALKING:
            return
        self._move(call, _UNHOLD, e.at, "unheld")

    def _on_transferred(self, call: Call, e: CallTransferred) -> None:
        call.timeline.append((e.at, f"transferred:{e.target}"))

    def _on_requeued(self, call: Call, e: CallRequeued) -> None:
        if self._move(call, _TRANSFER, e.at, f"requeued:{e.queue}"):
            call.queue = e.queue or call.queue
            call.transfers += 1
            call.ringing.clear()

    def _on_callback(self, call: Call, e: CallbackRequested) -> None:
        if call.callback_at is None:
            call.callback_at = e.at
        call.timeline.append((e.at, "callback_requested"))

    def _on_callback_attempt(self, call: Call, e: CallbackAttempted) -> None:
        call.callback_attempts = max(call.callback_attempts, e.attempt)
        result = e.cause_text or f"cause {e.cause}"
        retry = f", retry at {e.retry_at:.3f}" if e.retry_at is not None else ""
        what = f"callback_attempt:{e.attempt}:{result}{retry}"
        if call.phase is _OFFERED:  # the router gave up waiting for the leg's end
            self._move(call, _RING_NO_ANSWER, e.at, what)
        else:
            call.timeline.append((e.at, what))

    def _on_callback_failed(self, call: Call, e: CallbackFailed) -> None:
        if self._move(call, _HANGUP, e.at, f"callback_failed:{e.attempts}"):
            call.ended_at = e.at
            call.outcome = CallOutcome.CALLBACK_FAILED

    def _on_recording(self, call: Call, e: RecordingStarted) -> None:
        call.recording = e.path
        call.timeline.append((e.at, "recording"))

    def _on_talk_ended(self, call: Call, e: TalkEnded) -> None:
        call.talk_ended_at = e.at
        call.timeline.append((e.at, f"talk_ended:{e.agent_id}"))

    def _on_ended(self, call: Call, e: CallEnded) -> None:
        if call.callback_at is not None and call.answered_at is None and not call.ringing:
            # The caller left to be called back, or a callback leg ended before it reached
            # them (no agent rang): the router retries or fails the call (CallbackFailed).
            # (The controller places the first callback only after the caller's own leg
            # ended, though the router may have offered it already.)
            if not call.left_for_callback:
                call.left_for_callback = True
                call.timeline.append((e.at, f"left_for_callback:{e.cause}"))
            elif call.phase is _OFFERED:
                self._move(call, _RING_NO_ANSWER, e.at, f"callback_leg_ended:{e.cause}")
            call.cause = e.cause
            return
        if not self._move(call, _HANGUP, e.at, "ended"):
            return
        call.ended_at, call.cause, call.node_failure = e.at, e.cause, e.node_failure
        call.outcome = self._outcome(call)

    def _outcome(self, call: Call) -> CallOutcome:
        return call_outcome(answered=call.answered_at is not None,
                            queued=call.queued_at is not None, wait_s=call.wait_s or 0.0,
                            short_abandon_s=self.short_abandon_s, failsafe=call.failsafe,
                            callback=call.callback_at is not None,
                            node_failure=call.node_failure)


# Only the hotline's own UserEvents open a call: HotlineEntered, or HotlineQueued when the
# controller came up while the caller was already waiting.
_STARTS = (CallEntered, CallQueued)

_HANDLERS = {
    CallEntered: CallModel._on_entered,
    IvrChoice: CallModel._on_ivr,
    CallQueued: CallModel._on_queued,
    FailsafeTaken: CallModel._on_failsafe,
    CallOffered: CallModel._on_offered,
    AgentRinging: CallModel._on_ringing,
    CallAnswered: CallModel._on_answered,
    RingNoAnswer: CallModel._on_ring_no_answer,
    CallHeld: CallModel._on_held,
    CallUnheld: CallModel._on_unheld,
    CallTransferred: CallModel._on_transferred,
    CallRequeued: CallModel._on_requeued,
    CallbackRequested: CallModel._on_callback,
    CallbackAttempted: CallModel._on_callback_attempt,
    CallbackFailed: CallModel._on_callback_failed,
    RecordingStarted: CallModel._on_recording,
    CallEnded: CallModel._on_ended,
    TalkEnded: CallModel._on_talk_ended,
}

__all__ = ["DEFAULT_SHORT_ABANDON_S", "Call", "CallModel"]
