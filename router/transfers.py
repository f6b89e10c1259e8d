"""Transfers back to a queue: an agent hands its caller to a queue (CallRequeued)."""

from __future__ import annotations

from hotline.core.events import CallRequeued
from hotline.core.lifecycle import AgentState, AgentTrigger, CallPhase, CallTrigger, next_call_phase
from hotline.router import dispatch, roster
from hotline.router.state import Output, RouterState


def on_requeued(state: RouterState, ev: CallRequeued, now: float) -> Output:
    """An agent transferred the caller to a queue: the agent goes to after-call work and
    the same call waits again, at the head of the target queue (it was served once
    already), its wait for that queue starting now (the call was offered and answered once:
    docs/metrics.md, "What counts and what does not"; bullseye and overflow of the target
    queue count from the transfer)."""
    call = state.calls.get(ev.call_id)
    if call is None or call.phase not in (CallPhase.TALKING, CallPhase.HELD):
        state.ignored += 1
        return []
    # An unknown target keeps the call's queue: the caller is in the holding context
    # already and must not be stranded there.
    old = state.queues.get(call.queue)  # None if removed since the call was queued
    q = state.queues.get(ev.queue) or old
    if q is None:
        state.ignored += 1
        return []
    out: Output = []
    agent = state.agents.get(call.agent_id or "")
    if agent is not None and agent.call_id == call.call_id:
        if agent.state == AgentState.ON_CALL:
            out.append(roster.move(state, agent, AgentTrigger.HANGUP, now, call_id=call.call_id))
    call.phase = next_call_phase(call.phase, CallTrigger.TRANSFER)
    call.priority += q.priority - (old.priority if old is not None else 0)
    call.queue, call.service = q.name, q.service
    call.enqueued_at, call.at_head, call.agent_id = now, True, None
    call.overflowed, call.preferred_agent = False, None
    call.transfers += 1
    call.stage = dispatch.stage(state, call, now)
    state.line.add(call)
    return out + dispatch.try_offer(state, call, now)
