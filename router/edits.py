"""Live configuration edits while calls flow: queues put and removed, agents added and
removed, skills replaced. Each validates before it changes anything; the Router then matches
the line again where requirements may have changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from hotline.core.lifecycle import AgentState, AgentTrigger, CallPhase
from hotline.router import dispatch, roster
from hotline.router.definitions import VIP_BOOST, AgentConfig, QueueConfig
from hotline.router.errors import AgentBusy, DuplicateAgent, QueueInUse, UnknownQueue
from hotline.router.state import Output, RouterState, timed_queue

_REMOVABLE = frozenset({AgentState.LOGGED_OUT, AgentState.NOT_READY, AgentState.READY})


def put_queue(state: RouterState, config: QueueConfig, now: float) -> None:
    """Add or replace a queue; its waiting calls keep their order relative to each other
    (their priority moves by the queue's change) and get their stage under the new rules."""
    over = config.overflow_to
    if over is not None and over != config.name and over not in state.queues:
        raise UnknownQueue(over)
    for req in (config.required, *(r for _, r in config.expand_after)):
        state.skills.register(req)  # may raise TooManySkills: before any change
    old = state.queues.get(config.name)
    state.queues[config.name] = config
    state.timed = state.timed or timed_queue(config)  # stays on: cheap and always right
    shift = config.priority - old.priority if old is not None else 0
    for call in state.line.calls():
        if call.queue != config.name:
            continue
        if shift:
            state.line.remove(call)
            call.priority += shift
            state.line.add(call)
        call.stage = dispatch.stage(state, call, now)


def remove_queue(state: RouterState, name: str) -> None:
    """Refused (QueueInUse) while a call waits in the queue or is offered from it, or while
    another queue overflows to it."""
    state.queue(name)
    held = sorted(c.call_id for c in state.calls.values()
                  if c.queue == name and c.phase in (CallPhase.QUEUED, CallPhase.OFFERED))
    if held:
        raise QueueInUse(f"queue {name!r} still has {len(held)} waiting or offered "
                         f"call(s): {', '.join(held[:5])}")
    feeders = sorted(q.name for q in state.queues.values()
                     if q.overflow_to == name and q.name != name)
    if feeders:
        raise QueueInUse(f"queue {name!r} is the overflow of {', '.join(feeders)}")
    del state.queues[name]
    state.rr_cursor.pop(name, None)


def add_agent(state: RouterState, config: AgentConfig) -> None:
    if config.agent_id in state.agents:
        raise DuplicateAgent(f"agent {config.agent_id!r} exists")
    roster.add(state, config)


def remove_agent(state: RouterState, agent_id: str, now: float) -> Output:
    """Only an agent holding no call; a logged-in one is logged out first."""
    agent = state.agent(agent_id)
    if agent.state not in _REMOVABLE:
        raise AgentBusy(f"agent {agent_id!r} is {agent.state.value}")
    out: Output = []
    if agent.state != AgentState.LOGGED_OUT:
        out.append(roster.move(state, agent, AgentTrigger.LOGOUT, now))
    roster.remove(state, agent)
    return out


def set_skills(state: RouterState, agent_id: str, skills: Mapping[str, int]) -> None:
    roster.set_skills(state, state.agent(agent_id), skills)


def set_vip_numbers(state: RouterState, numbers: frozenset[str]) -> None:
    """Replace the VIP numbers: calls queued from now on are raised by VIP_BOOST
    (lifecycle.on_queued), and the calls the router holds now move by it when their number
    joins or leaves the set (a waiting one changes place in the line)."""
    before = state.config.vip_numbers
    state.config = replace(state.config, vip_numbers=numbers)
    waiting = {id(c) for c in state.line.calls()}
    for call in state.calls.values():
        shift = VIP_BOOST * ((call.caller in numbers) - (call.caller in before))
        if not shift or not call.caller:
            continue
        if id(call) in waiting:
            state.line.remove(call)
            call.priority += shift
            state.line.add(call)
        else:
            call.priority += shift
