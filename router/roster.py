"""The agents the router knows: their rows and skill levels in the kernel's index, who holds
which skill at which level (explanations walk it), and the one place an agent's state changes."""

from __future__ import annotations

from collections.abc import Mapping

from hotline.core.events import AgentStateChanged
from hotline.core.lifecycle import (
    AGENT_TRANSITIONS,
    AgentState,
    AgentTrigger,
    IllegalTransition,
)
from hotline.router.agent_records import UNREACHABLE, AgentRecord
from hotline.router.definitions import MAX_LEVEL, AgentConfig, check_levels
from hotline.router.state import RouterState


def add(state: RouterState, config: AgentConfig) -> None:
    index = len(state.by_index)
    state.index.ensure(index + 1)
    agent = AgentRecord(config.agent_id, index, config.name)
    state.by_index.append(agent)
    state.agents[config.agent_id] = agent
    for skill, level in config.skills.items():
        state.index.set_level(index, state.skills.id(skill), level)
    agent.skills = {s: lv for s, lv in config.skills.items() if lv > 0}
    _hold(state, agent)


def set_skills(state: RouterState, agent: AgentRecord, skills: Mapping[str, int]) -> None:
    """Replace the agent's skills; raises (bad level, too many skills) before any change."""
    check_levels(dict(skills), f"agent {agent.agent_id!r}", low=0)
    columns = {state.skills.id(s): lv for s, lv in skills.items()}
    state.index.clear_skills(agent.index)
    for col, lv in columns.items():
        state.index.set_level(agent.index, col, lv)
    _unhold(state, agent)
    agent.skills = {s: lv for s, lv in skills.items() if lv > 0}
    _hold(state, agent)


def remove(state: RouterState, agent: AgentRecord) -> None:
    """Forget a logged-out agent; its kernel row stays, empty and never ready."""
    state.index.clear_skills(agent.index)
    _unhold(state, agent)
    state.by_index[agent.index] = None
    del state.agents[agent.agent_id]


# Module-level aliases: `AgentState.READY` goes through EnumType's __getattr__ hook (a third
# of a microsecond each), and move runs for every state change.
_READY = AgentState.READY
_NOT_READY = AgentState.NOT_READY
_AFTER_CALL_WORK = AgentState.AFTER_CALL_WORK
_WITH_CALL = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL})
_CANCEL = AgentTrigger.CANCEL


def move(
    state: RouterState,
    agent: AgentRecord,
    trigger: AgentTrigger,
    now: float,
    reason: str = "",
    call_id: str = "",
) -> AgentStateChanged:
    """The only place an agent's state changes; keeps the kernel's ready sets in step.

    An agent whose phone is unreachable never turns ready (a command, the end of wrap-up, a
    cancelled offer): it goes to not_ready(unreachable) instead, and back to ready once the
    phone is reachable again (reachability.py)."""
    # States are the enum's members (AGENT_TRANSITIONS' values): compared by identity.
    # next_agent_state and the `reachable` property written out (four times a call).
    old = agent.state
    try:
        new = AGENT_TRANSITIONS[old][trigger]
    except KeyError:
        raise IllegalTransition("agent", old, trigger) from None
    if new is _READY and agent.reach and not any(agent.reach.values()):
        new, reason = _NOT_READY, UNREACHABLE
    agent.state = new
    agent.reason = reason = reason if new is _NOT_READY else ""
    if new in _WITH_CALL:
        agent.call_id = call_id
    elif new is not _AFTER_CALL_WORK:
        agent.call_id = ""
    if new is _READY:
        if old is not _READY:
            if trigger != _CANCEL:  # a cancelled offer keeps the agent's rank
                agent.idle_since = now
            state.index.set_ready(agent.index, agent.idle_since, agent.calls_today)
    elif old is _READY:
        state.index.set_unready(agent.index)
    # positional: keyword arguments cost a dataclass __init__ more (every state change)
    return AgentStateChanged(now, agent.agent_id, old, new, reason, call_id or agent.call_id)


def reset_daily(state: RouterState) -> None:
    """Start a new day of calls_today (least_calls ranks by it)."""
    for agent in state.agents.values():
        agent.calls_today = 0
        if agent.state == AgentState.READY:
            state.index.set_ready(agent.index, agent.idle_since, 0)


def _hold(state: RouterState, agent: AgentRecord) -> None:
    for skill, level in agent.skills.items():
        by_level = state.holders.setdefault(skill, [{} for _ in range(MAX_LEVEL)])
        by_level[level - 1][agent.agent_id] = agent


def _unhold(state: RouterState, agent: AgentRecord) -> None:
    for skill, level in agent.skills.items():
        del state.holders[skill][level - 1][agent.agent_id]
