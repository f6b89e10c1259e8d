"""A call's life in the router: queued, offered (dispatch), ringing, answered, missed or
timed out, ended, taken by the failsafe; and repeat callers with their preferred agent."""

from __future__ import annotations

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallQueued,
    FailsafeTaken,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import (
    CALL_TRANSITIONS,
    AgentState,
    AgentTrigger,
    CallPhase,
    CallTrigger,
    next_call_phase,
)
from hotline.router import callbacks, dispatch, roster
from hotline.router.agent_records import AgentRecord
from hotline.router.calls import RoutedCall
from hotline.router.definitions import REPEAT_BOOST, VIP_BOOST
from hotline.router.state import Output, RouterState

#: The not-ready reason of an agent who let an offered call ring out.
MISSED = "missed"

# Members as module constants: `AgentState.READY` goes through EnumType's __getattr__ hook
# (a third of a microsecond each, on the path of every event).
_RESERVED = AgentState.RESERVED
_QUEUED = CallPhase.QUEUED
_OFFERED = CallPhase.OFFERED
_RING = AgentTrigger.RING
_ANSWER = AgentTrigger.ANSWER
_CANCEL = AgentTrigger.CANCEL
_HANGUP = AgentTrigger.HANGUP
_NO_ANSWER = AgentTrigger.NO_ANSWER
_CALL_ANSWER = CallTrigger.ANSWER
_CALL_RING_NO_ANSWER = CallTrigger.RING_NO_ANSWER


def on_queued(state: RouterState, ev: CallQueued, now: float) -> Output:
    if ev.call_id in state.calls:
        state.ignored += 1  # a repeated UserEvent: the call keeps its place
        return []
    q = state.queues.get(ev.queue) or state.queue(ev.queue)  # the method raises UnknownQueue
    priority = q.priority + ev.priority
    if ev.caller and ev.caller in state.config.vip_numbers:
        priority += VIP_BOOST
    # positional (call_id, queue, service, caller, enqueued_at, priority, node): cheaper
    call = RoutedCall(ev.call_id, q.name, ev.service, ev.caller, ev.at, priority, ev.node)
    if ev.call_id in state.pending_repeat:
        _apply_repeat(state, call, state.pending_repeat.pop(ev.call_id), now)
    call.stage = dispatch.stage(state, call, now)
    state.calls[call.call_id] = call
    # offered at once, or into the line (the same as joining the line and being taken from
    # it: try_offer does not read the line; the line's sorted insert is saved when an agent
    # is ready, most calls)
    out = dispatch.try_offer(state, call, now, in_line=False)
    if not out:
        state.line.add(call)
    return out


def on_ringing(state: RouterState, ev: AgentRinging, now: float) -> Output:
    call, agent = _matching(state, ev.call_id, ev.agent_id)
    if call is None or agent is None or agent.state != _RESERVED:
        return []
    # A callback rings its agent only once the customer answered: the caller is live.
    call.callback_reached = call.callback_number is not None
    call.offer_due = now + state.config.offer_limit_s(rung=True, calling_back=False)
    return [roster.move(state, agent, _RING, now, call_id=call.call_id)]


def on_answered(state: RouterState, ev: CallAnswered, now: float) -> Output:
    call, agent = _matching(state, ev.call_id, ev.agent_id)
    if call is None or agent is None:
        return []
    # next_call_phase's lookup written out; it raises for a move the table lacks
    call.phase = (CALL_TRANSITIONS[call.phase].get(_CALL_ANSWER)
                  or next_call_phase(call.phase, _CALL_ANSWER))
    state.offered.pop(call.call_id, None)
    agent.calls_today += 1
    return [roster.move(state, agent, _ANSWER, now, "", call.call_id)]


def on_ring_no_answer(state: RouterState, ev: RingNoAnswer, now: float) -> Output:
    call, agent = _matching(state, ev.call_id, ev.agent_id)
    if call is None or agent is None:
        return []
    return _no_answer(state, call, agent, now)


def on_ended(state: RouterState, ev: CallEnded | TalkEnded, now: float) -> Output:
    state.pending_repeat.pop(ev.call_id, None)
    call = state.calls.get(ev.call_id)
    if call is None:
        return []
    if call.phase == _QUEUED:
        if call.on_hold:
            return []  # the caller hung up to be called back: the call keeps its place
        state.line.remove(call)
        del state.calls[call.call_id]
        return []
    if call.on_hold and call.phase == _OFFERED and isinstance(ev, CallEnded):
        return callbacks.unreached(state, call, now, ev.cause, ev.cause_text)
    return _release(state, call, now)


def on_failsafe(state: RouterState, ev: FailsafeTaken, now: float) -> Output:
    call = state.calls.get(ev.call_id)
    if call is None:
        return []
    if call.phase == _QUEUED:
        if state.retrying.pop(call.call_id, None) is None:
            state.line.remove(call)
        del state.calls[call.call_id]
        return []
    return _release(state, call, now)


def expire_offers(state: RouterState, now: float) -> Output:
    """Offers past their limit (RouterConfig.offer_limit_s): rung without an answer, or
    never rung."""
    # on every event while an offer is out (the answer's own): usually none is due
    due = None
    for c in state.offered.values():
        if now >= c.offer_due:
            if due is None:
                due = []
            due.append(c)
    if due is None:
        return []
    out: Output = []
    for call in due:
        if call.on_hold:
            # the customer's phone never answered (its end was not reported): not the
            # agent's fault, the attempt failed
            out += callbacks.unreached(state, call, now, 0, "callback not answered in time")
            continue
        out += _no_answer(state, call, state.agents[call.agent_id or ""], now)
    return out


def mark_repeat(
    state: RouterState, call_id: str, preferred_agent_id: str | None, now: float
) -> Output:
    """See Router.mark_repeat."""
    call = state.calls.get(call_id)
    if call is None:
        state.pending_repeat[call_id] = preferred_agent_id
        return []
    if call.phase != _QUEUED:
        call.repeat = True  # too late to matter for routing; kept for the record
        return []
    if call.call_id in state.retrying:  # applies when the next callback attempt is due
        _apply_repeat(state, call, preferred_agent_id, now)
        return []
    state.line.remove(call)
    _apply_repeat(state, call, preferred_agent_id, now)
    state.line.add(call)
    call.stage = dispatch.stage(state, call, now)
    return dispatch.try_offer(state, call, now)


def _apply_repeat(
    state: RouterState, call: RoutedCall, preferred: str | None, now: float
) -> None:
    if not call.repeat:
        call.repeat = True
        call.priority += REPEAT_BOOST
    if preferred is not None:
        state.timed = True  # the preferred agent's turn runs out with time
        call.preferred_agent = preferred
        call.preferred_until = now + state.queues[call.queue].preferred_agent_s


def _release(state: RouterState, call: RoutedCall, now: float) -> Output:
    """The call is gone while offered (the agent is freed) or talking (wrap-up)."""
    del state.calls[call.call_id]
    state.offered.pop(call.call_id, None)
    agent = state.agents.get(call.agent_id or "")
    if agent is None or agent.call_id != call.call_id:
        return []
    if call.phase == _OFFERED:
        out: Output = [roster.move(state, agent, _CANCEL, now, call_id=call.call_id)]
        return out + dispatch.agent_takes(state, agent, now)
    return [roster.move(state, agent, _HANGUP, now, "", call.call_id)]


def _no_answer(state: RouterState, call: RoutedCall, agent: AgentRecord, now: float) -> Output:
    """Agent to not_ready(missed); the call back to the head, keeping its enqueue time."""
    out: Output = [
        roster.move(state, agent, _NO_ANSWER, now, reason=MISSED, call_id=call.call_id)
    ]
    state.offered.pop(call.call_id, None)
    call.phase = next_call_phase(call.phase, _CALL_RING_NO_ANSWER)
    call.agent_id = None
    call.at_head = True
    state.line.add(call)
    return out + dispatch.try_offer(state, call, now)


def _matching(
    state: RouterState, call_id: str, agent_id: str
) -> tuple[RoutedCall | None, AgentRecord | None]:
    """The offered call and its agent, if the event agrees with the router's view."""
    call = state.calls.get(call_id)
    agent = state.agents.get(agent_id)
    if call is None or agent is None or call.phase != _OFFERED:
        state.ignored += 1
        return None, None
    if call.agent_id != agent_id or agent.call_id != call_id:
        state.ignored += 1
        return None, None
    return call, agent
