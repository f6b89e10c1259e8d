"""Virtual hold: a caller keeps its place without a channel and is called back when it
reaches an agent (dispatch makes that offer a CallbackDue). A callback leg that ends before
the customer answers frees the agent and is retried after callback_retry_s, keeping the
call's place, up to callback_attempts times (CallbackAttempted each, CallbackFailed last)."""

from __future__ import annotations

from hotline.core.events import CallbackAttempted, CallbackFailed
from hotline.core.lifecycle import AgentTrigger, CallPhase, CallTrigger, next_call_phase
from hotline.router import dispatch, roster
from hotline.router.calls import RoutedCall
from hotline.router.errors import UnknownCall
from hotline.router.state import Output, RouterState


def request(state: RouterState, call_id: str, number: str) -> None:
    call = state.calls.get(call_id)
    if call is None or call.phase != CallPhase.QUEUED:
        raise UnknownCall(call_id)
    call.callback_number = number


def attempts(state: RouterState, call_id: str) -> list[CallbackAttempted]:
    """The failed callback attempts of a live call, oldest first."""
    call = state.calls.get(call_id)
    return list(call.callback_tries) if call is not None else []


def unreached(
    state: RouterState, call: RoutedCall, now: float, cause: int, cause_text: str
) -> Output:
    """The callback leg ended before the customer answered (busy, no answer, not placed):
    the reserved agent is free at once; the call retries after callback_retry_s keeping
    its place, or, after the last attempt, ends unreached (CallbackFailed)."""
    config = state.config
    state.offered.pop(call.call_id, None)
    attempt = len(call.callback_tries) + 1
    last = attempt >= config.callback_attempts
    tried = CallbackAttempted(
        now, node=call.node, call_id=call.call_id, attempt=attempt,
        agent_id=call.agent_id or "", cause=cause, cause_text=cause_text,
        retry_at=None if last else now + config.callback_retry_s,
    )
    call.callback_tries.append(tried)
    out: Output = [tried]
    agent = state.agents.get(call.agent_id or "")
    call.agent_id = None
    if last:
        del state.calls[call.call_id]
        out.append(CallbackFailed(now, node=call.node, call_id=call.call_id, attempts=attempt))
    else:
        call.phase = next_call_phase(call.phase, CallTrigger.RING_NO_ANSWER)
        call.retry_at = tried.retry_at
        state.retrying[call.call_id] = call
    if agent is not None and agent.call_id == call.call_id:
        out.append(roster.move(state, agent, AgentTrigger.CANCEL, now, call_id=call.call_id))
        out += dispatch.agent_takes(state, agent, now)
    return out


def retry_due(state: RouterState, now: float) -> Output:
    """Callbacks whose pause is over: back in line, at the head, for the next attempt."""
    out: Output = []
    for call in [c for c in state.retrying.values() if now >= (c.retry_at or 0.0)]:
        del state.retrying[call.call_id]
        call.retry_at, call.at_head = None, True
        call.stage = dispatch.stage(state, call, now)
        state.line.add(call)
        out += dispatch.try_offer(state, call, now)
    return out
