"""The shared vocabulary: value types, typed events and the lifecycle tables.

This module imports nothing of the project. telephony/ produces the call events, router/
produces agent-state and routing events, realtime/ consumes both. Nothing outside telephony/
ever sees an AMI dict: what crosses a module boundary is one of the dataclasses below.

Times are float seconds since the epoch, always handed in (from Asterisk's event or an injected
clock), never read from a clock here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------
# Value types


class ServiceType(enum.StrEnum):
    """The 95598 service types: the IVR's top menu and the ticket types (domain.md)."""

    FAULT = "fault"  # 故障报修
    OUTAGE_INFO = "outage_info"  # 停电信息
    BILLING = "billing"  # 电量电费
    BUSINESS = "business"  # 业务咨询 / 服务申请
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    OPINION = "opinion"  # 意见 / 建议
    PRAISE = "praise"  # 表扬
    EV = "ev"  # 电动汽车
    GENERAL = "general"  # '0' for an agent, or three invalid inputs


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"  # chosen by the router, the ring is being set up
    RINGING = "ringing"
    ON_CALL = "on_call"  # talking or held
    AFTER_CALL_WORK = "after_call_work"


class AgentTrigger(enum.StrEnum):
    """What moves an agent from one state to the next."""

    LOGIN = "login"
    LOGOUT = "logout"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVE = "reserve"
    RING = "ring"
    ANSWER = "answer"
    NO_ANSWER = "no_answer"  # ring timed out or was refused: not_ready(missed)
    CANCEL = "cancel"  # the caller left before the agent answered
    HANGUP = "hangup"  # the call ended: after-call work
    END_WRAP_UP = "end_wrap_up"


S, T = AgentState, AgentTrigger
#: AGENT_TRANSITIONS[state][trigger] -> next state. Anything not listed is illegal.
AGENT_TRANSITIONS: dict[AgentState, dict[AgentTrigger, AgentState]] = {
    S.LOGGED_OUT: {T.LOGIN: S.NOT_READY},
    S.NOT_READY: {T.READY: S.READY, T.NOT_READY: S.NOT_READY, T.LOGOUT: S.LOGGED_OUT},
    S.READY: {
        T.NOT_READY: S.NOT_READY,
        T.RESERVE: S.RESERVED,
        T.LOGOUT: S.LOGGED_OUT,
        T.READY: S.READY,
    },
    S.RESERVED: {
        T.RING: S.RINGING,
        T.ANSWER: S.ON_CALL,
        T.NO_ANSWER: S.NOT_READY,
        T.CANCEL: S.READY,
    },
    S.RINGING: {T.ANSWER: S.ON_CALL, T.NO_ANSWER: S.NOT_READY, T.CANCEL: S.READY},
    S.ON_CALL: {T.HANGUP: S.AFTER_CALL_WORK},
    S.AFTER_CALL_WORK: {
        T.END_WRAP_UP: S.READY,
        T.NOT_READY: S.NOT_READY,
        T.READY: S.READY,
        T.LOGOUT: S.LOGGED_OUT,
    },
}
del S, T


class IllegalTransition(Exception):
    """A lifecycle was asked to make a move its table does not allow."""

    def __init__(self, what: str, state: str, trigger: str) -> None:
        super().__init__(f"{what}: no transition from {str(state)!r} on {str(trigger)!r}")
        self.what, self.state, self.trigger = what, state, trigger


def next_agent_state(state: AgentState, trigger: AgentTrigger) -> AgentState:
    try:
        return AGENT_TRANSITIONS[state][trigger]
    except KeyError:
        raise IllegalTransition("agent", state, trigger) from None


class CallPhase(enum.StrEnum):
    IVR = "ivr"
    QUEUED = "queued"
    OFFERED = "offered"  # an agent was chosen and is being rung
    TALKING = "talking"
    HELD = "held"
    ENDED = "ended"


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    SHORT_ABANDONED = "short_abandoned"  # gave up within the short-abandon threshold
    SELF_SERVED = "self_served"  # left in the IVR without wanting an agent
    CALLBACK = "callback"  # called back (virtual hold) and reached
    CALLBACK_FAILED = "callback_failed"  # every callback attempt failed: never reached
    FAILSAFE = "failsafe"  # served by app_queue because the controller was gone


class CallTrigger(enum.StrEnum):
    QUEUE = "queue"
    OFFER = "offer"
    ANSWER = "answer"
    RING_NO_ANSWER = "ring_no_answer"
    HOLD = "hold"
    UNHOLD = "unhold"
    HANGUP = "hangup"
    FAILSAFE = "failsafe"
    TRANSFER = "transfer"  # an agent transferred the caller to a queue: waiting again


P, C = CallPhase, CallTrigger
#: CALL_TRANSITIONS[phase][trigger] -> next phase.
CALL_TRANSITIONS: dict[CallPhase, dict[CallTrigger, CallPhase]] = {
    P.IVR: {C.QUEUE: P.QUEUED, C.HANGUP: P.ENDED},
    P.QUEUED: {C.OFFER: P.OFFERED, C.HANGUP: P.ENDED, C.FAILSAFE: P.QUEUED, C.QUEUE: P.QUEUED},
    P.OFFERED: {C.ANSWER: P.TALKING, C.RING_NO_ANSWER: P.QUEUED, C.HANGUP: P.ENDED},
    P.TALKING: {C.HOLD: P.HELD, C.HANGUP: P.ENDED, C.TRANSFER: P.QUEUED},
    P.HELD: {C.UNHOLD: P.TALKING, C.HANGUP: P.ENDED, C.TRANSFER: P.QUEUED},
    P.ENDED: {},
}
del P, C


def next_call_phase(phase: CallPhase, trigger: CallTrigger) -> CallPhase:
    try:
        return CALL_TRANSITIONS[phase][trigger]
    except KeyError:
        raise IllegalTransition("call", phase, trigger) from None


@dataclass(frozen=True, slots=True)
class Outage:
    """A planned or unplanned outage (停电信息), as the IVR reads it out to callers."""

    area_code: str  # what the caller types: an area code (or the area of an account number)
    start: float  # seconds since the epoch
    end: float
    reason: str = ""  # free text, spoken by run-time speech synthesis
    area_name: str = ""
    planned: bool = True


# --------------------------------------------------------------------------------------------
# Events. One base class; small, frozen, slotted.


@dataclass(frozen=True, slots=True)
class Event:
    at: float  # seconds since the epoch
    node: str = field(default="", kw_only=True)  # which Asterisk node it came from


# Telephony: produced by telephony/ from AMI and AGI.


@dataclass(frozen=True, slots=True)
class AsteriskBooted(Event):
    pass


@dataclass(frozen=True, slots=True)
class AsteriskShuttingDown(Event):
    pass


@dataclass(frozen=True, slots=True)
class ChannelCreated(Event):
    """Any channel of a call (the caller's, an agent's leg, a callback's) came to be."""

    call_id: str
    channel: str
    caller: str = ""
    exten: str = ""


@dataclass(frozen=True, slots=True)
class ChannelStateChanged(Event):
    call_id: str
    channel: str
    state: str  # Asterisk's ChannelStateDesc: Ring, Ringing, Up, Busy, ...


@dataclass(frozen=True, slots=True)
class ChannelHungUp(Event):
    """A leg other than the caller's ended (the caller's own hang-up is CallEnded)."""

    call_id: str
    channel: str
    cause: int = 16
    cause_text: str = ""


@dataclass(frozen=True, slots=True)
class CallEntered(Event):
    """A caller reached the hotline entry (the first channel of a new call)."""

    call_id: str  # Asterisk's Linkedid: one id for every channel of the call
    caller: str
    dialed: str
    channel: str


@dataclass(frozen=True, slots=True)
class IvrChoice(Event):
    call_id: str
    menu: str
    digit: str
    service: ServiceType | None = None


@dataclass(frozen=True, slots=True)
class CallQueued(Event):
    """The caller left the IVR and waits in the holding context for the router."""

    call_id: str
    queue: str
    service: ServiceType
    caller: str = ""
    priority: int = 0
    channel: str = ""


@dataclass(frozen=True, slots=True)
class AgentRinging(Event):
    call_id: str
    agent_id: str
    channel: str = ""


@dataclass(frozen=True, slots=True)
class CallAnswered(Event):
    """The agent answered; the caller's wait ends here."""

    call_id: str
    agent_id: str
    channel: str = ""


@dataclass(frozen=True, slots=True)
class RingNoAnswer(Event):
    """The agent's leg ended without an answer while the caller is still there."""

    call_id: str
    agent_id: str
    cause: int = 0


@dataclass(frozen=True, slots=True)
class TalkEnded(Event):
    """The agent's leg left an answered call; the caller may stay on (the survey). Talk time
    and the agent's part end here; the call itself ends with CallEnded."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class CallHeld(Event):
    call_id: str


@dataclass(frozen=True, slots=True)
class CallUnheld(Event):
    call_id: str


@dataclass(frozen=True, slots=True)
class CallTransferred(Event):
    call_id: str
    target: str


@dataclass(frozen=True, slots=True)
class DtmfReceived(Event):
    call_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class RecordingStarted(Event):
    call_id: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordingStopped(Event):
    call_id: str
    path: str


@dataclass(frozen=True, slots=True)
class FailsafeTaken(Event):
    """The dialplan handed a waiting caller to app_queue: the controller was not there."""

    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class CallbackRequested(Event):
    """The waiting caller chose to be called back: the wait ends, neither answered nor abandoned."""

    call_id: str
    queue: str
    number: str = ""


@dataclass(frozen=True, slots=True)
class CallRequeued(Event):
    """An agent blind-transferred the caller to a queue: the same call waits again, in
    `queue` (the holding context raised it; the transferring agent's part is over)."""

    call_id: str
    queue: str
    agent_id: str = ""  # the transferring agent, as the dialplan knows it
    channel: str = ""


@dataclass(frozen=True, slots=True)
class CallEnded(Event):
    """The caller's channel hung up: the call is over, whatever phase it was in."""

    call_id: str
    cause: int = 16
    cause_text: str = ""


@dataclass(frozen=True, slots=True)
class EndpointStatus(Event):
    endpoint: str
    reachable: bool


# Router: produced by router/ as it applies commands and call events.


@dataclass(frozen=True, slots=True)
class AgentStateChanged(Event):
    agent_id: str
    old: AgentState
    new: AgentState
    reason: str = ""  # the not-ready reason code, e.g. "break", "missed"
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class CallOffered(Event):
    """The router chose an agent for a waiting call."""

    call_id: str
    agent_id: str
    queue: str
    wait_s: float


@dataclass(frozen=True, slots=True)
class CallbackAttempted(Event):
    """A callback (virtual hold) did not reach the customer: busy, no answer, or the call
    could not be placed. The reserved agent is free again; the call retries at `retry_at`,
    keeping its place, or (None) that was the last attempt and CallbackFailed follows."""

    call_id: str
    attempt: int  # 1 for the first
    agent_id: str  # the agent that was reserved for it
    cause: int = 0  # Q.850 cause of the callback leg's end (17 busy, 19 no answer, ...)
    cause_text: str = ""
    retry_at: float | None = None


@dataclass(frozen=True, slots=True)
class CallbackFailed(Event):
    """Every callback attempt failed: the call ends unreached (outcome callback_failed)."""

    call_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class CallOverflowed(Event):
    call_id: str
    from_queue: str
    to_queue: str


CALL_EVENTS: tuple[type[Event], ...] = (
    CallEntered,
    IvrChoice,
    CallQueued,
    AgentRinging,
    CallAnswered,
    RingNoAnswer,
    CallHeld,
    CallUnheld,
    CallTransferred,
    DtmfReceived,
    RecordingStarted,
    RecordingStopped,
    FailsafeTaken,
    CallEnded,
    TalkEnded,
    CallRequeued,
)

__all__ = [
    "AGENT_TRANSITIONS",
    "CALL_EVENTS",
    "CALL_TRANSITIONS",
    "AgentRinging",
    "AgentState",
    "AgentStateChanged",
    "AgentTrigger",
    "AsteriskBooted",
    "AsteriskShuttingDown",
    "CallAnswered",
    "CallEnded",
    "CallEntered",
    "CallHeld",
    "CallOffered",
    "CallOutcome",
    "CallOverflowed",
    "CallPhase",
    "CallQueued",
    "CallRequeued",
    "CallTransferred",
    "CallTrigger",
    "CallUnheld",
    "CallbackAttempted",
    "CallbackFailed",
    "CallbackRequested",
    "ChannelCreated",
    "ChannelHungUp",
    "ChannelStateChanged",
    "DtmfReceived",
    "EndpointStatus",
    "Event",
    "FailsafeTaken",
    "IllegalTransition",
    "IvrChoice",
    "Outage",
    "RecordingStarted",
    "RecordingStopped",
    "RingNoAnswer",
    "ServiceType",
    "TalkEnded",
    "next_agent_state",
    "next_call_phase",
]
