"""Who takes which call: waiting calls matched with ready agents through the select_agent
kernel under each call's current requirements (its stage: bullseye step, overflow, preferred
agent), and the offer itself (Offer, or CallbackDue for a caller on virtual hold)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from hotline.core.events import CallOffered, CallOverflowed
from hotline.core.lifecycle import (
    CALL_TRANSITIONS,
    AgentState,
    AgentTrigger,
    CallTrigger,
    next_call_phase,
)
from hotline.router import roster
from hotline.router.agent_records import AgentRecord
from hotline.router.calls import RoutedCall
from hotline.router.decisions import CallbackDue, Decision, Explanation, Offer
from hotline.router.definitions import QueueConfig, qualifies
from hotline.router.explain import PREFERRED, explain_offer
from hotline.router.state import Output, RouterState

# Members as module constants: `AgentState.READY` goes through EnumType's __getattr__ hook
# (a third of a microsecond each, on the path of every event).
_LOGGED_OUT = AgentState.LOGGED_OUT
_READY = AgentState.READY
_RESERVE = AgentTrigger.RESERVE
_CALL_OFFER = CallTrigger.OFFER
#: The explanation an offer carries when RouterConfig.explain is off: one shared, empty record
#: (building one per offer costs as much as a tenth of the simulator's time per call).
UNEXPLAINED = Explanation("", 0.0, "", "", (), "unexplained", "", (), ())


def stage(state: RouterState, call: RoutedCall, now: float) -> tuple[int, bool, bool]:
    """What decides the call's requirements now; a change means it may match new agents."""
    q = state.queues[call.queue]
    step = q.step_after(call.wait_s(now)) if q.expand_after else 0  # no steps: 0 (most)
    return (step, call.overflowed,
            call.preferred_agent is not None and preferred_active(state, call, now))


def preferred_active(state: RouterState, call: RoutedCall, now: float) -> bool:
    if call.preferred_agent is None or now >= call.preferred_until:
        return False
    agent = state.agents.get(call.preferred_agent)
    return agent is not None and agent.state != _LOGGED_OUT


def alternatives(
    state: RouterState, call: RoutedCall, now: float
) -> list[tuple[QueueConfig, dict]]:
    """(queue whose policy decides, requirements) to try in order for this call."""
    q = state.queues[call.queue]
    req = q.requirements_after(call.wait_s(now)) if q.expand_after else q.required
    alts: list[tuple[QueueConfig, dict]] = [(q, req)]
    if call.overflowed and q.overflow_to is not None:
        over = state.queues[q.overflow_to]
        alts.append((over, over.required))
    return alts


def restage(state: RouterState, now: float) -> Output:
    """Overflow the calls that waited long enough; if any call's stage changed (bullseye
    step, overflow, preferred agent expired), match the whole line again."""
    out: Output = []
    changed = False
    for call in state.line.calls():
        q = state.queues[call.queue]
        if (
            q.overflow_to is not None
            and q.overflow_wait_s is not None
            and not call.overflowed
            and call.wait_s(now) >= q.overflow_wait_s
        ):
            call.overflowed = True
            out.append(CallOverflowed(now, call.call_id, q.name, q.overflow_to))
        new = stage(state, call, now)
        if new != call.stage:
            call.stage = new
            changed = True
    if changed:
        out += dispatch_all(state, now)
    return out


def next_due(state: RouterState, now: float) -> float:
    """The earliest moment after `now` at which time alone changes something: a ring timeout,
    a callback retry, an overflow, a bullseye step or a preferred agent's turn running out
    (what Router._advance looks at), if nothing else happens meanwhile."""
    due = math.inf
    for call in state.offered.values():
        due = min(due, call.offer_due)
    for call in state.retrying.values():
        due = min(due, call.retry_at or 0.0)
    for call in state.line.calls():
        q = state.queues[call.queue]
        if q.overflow_wait_s is not None and q.overflow_to is not None and not call.overflowed:
            due = min(due, call.enqueued_at + q.overflow_wait_s)
        for after, _ in q.expand_after:  # ascending
            if call.enqueued_at + after > now:
                due = min(due, call.enqueued_at + after)
                break
        if call.preferred_agent is not None and call.preferred_until > now:
            due = min(due, call.preferred_until)
    return due


def try_offer(
    state: RouterState, call: RoutedCall, now: float, in_line: bool = True
) -> Output:
    """Offer one waiting call to the best ready agent, if any. `in_line` False: the call is
    not in the waiting line yet (a new call: it joins the line only if nobody takes it)."""
    if call.preferred_agent is not None and preferred_active(state, call, now):
        agent = state.agents[call.preferred_agent or ""]
        if agent.state != _READY:
            return []
        q = state.queues[call.queue]
        return offer(state, call, agent, q, q.required, PREFERRED, now, in_line)
    for n, (q, req) in enumerate(alternatives(state, call, now)):
        skills, mins = state.skills.columns(req)
        cursor = state.rr_cursor.get(q.name, -1)
        found = state.index.select(skills, mins, state.policy_codes[q.policy], cursor)
        if found >= 0:
            agent = state.by_index[found]
            assert agent is not None  # removed agents are never ready in the kernel
            return offer(
                state, call, agent, q, req, "overflow" if n else "policy", now, in_line
            )
    return []


def agent_takes(state: RouterState, agent: AgentRecord, now: float) -> Output:
    """An agent just turned ready: the first waiting call it can take, in line order."""
    if agent.state != _READY or not len(state.line):  # e.g. cancelled, unreachable
        return []
    for call in state.line.calls():
        if preferred_active(state, call, now):
            if call.preferred_agent == agent.agent_id:
                q = state.queues[call.queue]
                return offer(state, call, agent, q, q.required, PREFERRED, now)
            continue
        for n, (q, req) in enumerate(alternatives(state, call, now)):
            if qualifies(agent.skills, req):
                return offer(state, call, agent, q, req, "overflow" if n else "policy", now)
    return []


def dispatch_all(state: RouterState, now: float) -> Output:
    out: Output = []
    for call in state.line.calls():
        if state.index.count_ready() == 0:
            break
        out += try_offer(state, call, now)
    return out


def offer(
    state: RouterState,
    call: RoutedCall,
    agent: AgentRecord,
    q: QueueConfig,
    req: Mapping[str, int],
    reason: str,
    now: float,
    in_line: bool = True,
) -> Output:
    calling_back = call.on_hold
    if state.config.explain:
        why = explain_offer(state, call, agent, q, req, reason, now)  # before it leaves ready
        if calling_back:
            why = replace(why, callback_attempt=len(call.callback_tries) + 1)
        state.explanations.add(why)
    else:
        why = UNEXPLAINED
    if reason != PREFERRED:
        state.rr_cursor[q.name] = agent.index
    moved = roster.move(state, agent, _RESERVE, now, "", call.call_id)
    if in_line:
        state.line.remove(call)
    # next_call_phase's lookup written out; it raises for a move the table lacks
    call.phase = (CALL_TRANSITIONS[call.phase].get(_CALL_OFFER)
                  or next_call_phase(call.phase, _CALL_OFFER))
    call.agent_id, call.offered_at, call.at_head = agent.agent_id, now, False
    call.offer_due = now + state.config.offer_limit_s(rung=False, calling_back=call.on_hold)
    state.offered[call.call_id] = call
    wait = now - call.enqueued_at  # call.wait_s(now) written out
    if wait < 0.0:
        wait = 0.0
    offered = CallOffered(now, call.call_id, agent.agent_id, call.queue, wait)
    decision: Decision
    if calling_back:
        decision = CallbackDue(
            call.call_id, agent.agent_id, call.callback_number or "", call.queue, wait, why,
            attempt=len(call.callback_tries) + 1,
        )
    else:
        decision = Offer(call.call_id, agent.agent_id, call.queue, wait, why)
    return [moved, offered, decision]
