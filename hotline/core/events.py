"""The typed events: telephony/ produces the call events, router/ produces agent-state and
routing events, realtime/ consumes both. Nothing outside telephony/ ever sees an AMI dict: what
crosses a module boundary is one of the dataclasses below. One base class; small, frozen, slotted.

Times are float seconds since the epoch, always handed in (from Asterisk's event or an injected
clock), never read from a clock here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.core.frozen import fast_init
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType

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
    #: the caller's keys while waiting may ask for a callback: False when a resync found it
    #: waiting (the controller was away, so was the IVR: it may be pressing the keys meant
    #: for the menus, 1 for Mandarin)
    takes_callback_key: bool = True


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
    context: str = ""  # the dialplan context the caller's channel was in


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
    """The caller's channel hung up: the call is over, whatever phase it was in.
    `node_failure`: the platform dropped it, not a party: its Asterisk was shutting down
    (a soft hangup for shutdown) or restarted while the controller was away (resync)."""

    call_id: str
    cause: int = 16
    cause_text: str = ""
    node_failure: bool = False


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


# Every event class gets the faster constructor (core/frozen.py: same signature, same slots,
# still frozen): about ten are built on each call's path through the router and the metrics.
for _cls in [c for c in list(globals().values()) if isinstance(c, type) and issubclass(c, Event)]:
    fast_init(_cls)
del _cls

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
    "CALL_EVENTS",
    "AgentRinging",
    "AgentStateChanged",
    "AsteriskBooted",
    "AsteriskShuttingDown",
    "CallAnswered",
    "CallEnded",
    "CallEntered",
    "CallHeld",
    "CallOffered",
    "CallOverflowed",
    "CallQueued",
    "CallRequeued",
    "CallTransferred",
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
    "IvrChoice",
    "RecordingStarted",
    "RecordingStopped",
    "RingNoAnswer",
    "TalkEnded",
]
