"""The lifecycle tables: agent states and call phases, each a literal transition table
`TRANSITIONS[state][trigger] -> next state`; an illegal move raises IllegalTransition naming both.

Times are float seconds since the epoch, always handed in, never read from a clock here.
"""

from __future__ import annotations

import enum

from hotline.core.errors import Conflict


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


class IllegalTransition(Conflict):
    """A lifecycle was asked to make a move its table does not allow."""

    error_id = "illegal-transition"

    def __init__(self, what: str, state: str, trigger: str) -> None:
        super().__init__(f"{what}: no transition from {str(state)!r} on {str(trigger)!r}",
                         details={"what": what, "state": str(state), "trigger": str(trigger)})
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
    NODE_FAILURE = "node_failure"  # lost to a node failure: its Asterisk stopped or crashed


#: A caller who gives up within this many seconds of queueing abandoned "short" (Settings'
#: short_abandon_s overrides it).
DEFAULT_SHORT_ABANDON_S = 5.0


def is_short_abandon(wait_s: float, short_abandon_s: float) -> bool:
    """An abandon is short when the wait is at most the threshold (5.0 s of 5.0 is short)."""
    return wait_s <= short_abandon_s


def call_outcome(*, answered: bool, queued: bool, wait_s: float, short_abandon_s: float,
                 failsafe: bool = False, callback: bool = False,
                 node_failure: bool = False) -> CallOutcome:
    """How a call ended, from the facts at its end: the one rule (the call model, the
    metrics kernel's twin and the call log all ask it).

    - the caller asked to be called back (virtual hold): CALLBACK;
    - answered by an agent: ANSWERED, or FAILSAFE when app_queue served it (a talk cut by
      a node failure stays answered: its wait was served and judged when it ended);
    - cut off unanswered by its node going down (`node_failure`: Asterisk stopped or
      crashed under it): NODE_FAILURE, whatever the wait, in the IVR or queued; the
      platform dropped it, the caller did not give up;
    - never queued (left in the IVR): SELF_SERVED;
    - queued, never answered: SHORT_ABANDONED when the wait was at most `short_abandon_s`,
      else ABANDONED.
    (CALLBACK_FAILED is not decided at the end of a call: the router gives up on it.)
    """
    if callback:
        return CallOutcome.CALLBACK
    if answered:
        return CallOutcome.FAILSAFE if failsafe else CallOutcome.ANSWERED
    if node_failure:
        return CallOutcome.NODE_FAILURE
    if not queued:
        return CallOutcome.SELF_SERVED
    if is_short_abandon(wait_s, short_abandon_s):
        return CallOutcome.SHORT_ABANDONED
    return CallOutcome.ABANDONED


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

__all__ = [
    "AGENT_TRANSITIONS",
    "CALL_TRANSITIONS",
    "DEFAULT_SHORT_ABANDON_S",
    "AgentState",
    "AgentTrigger",
    "CallOutcome",
    "CallPhase",
    "CallTrigger",
    "IllegalTransition",
    "call_outcome",
    "is_short_abandon",
    "next_agent_state",
    "next_call_phase",
]
