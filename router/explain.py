"""Builds the human explanation of one offer decision, after the kernel has chosen.

It looks at the candidates of the decision's primary skill only (or at every agent when the
queue requires none) and ranks the eligible ones with the same keys as the selection kernel, so
the first eligible agent is the chosen one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hotline.router.agents import AgentRecord
from hotline.router.config import LEAST_CALLS, LONGEST_IDLE, MOST_SKILLED, ROUND_ROBIN
from hotline.router.decisions import (
    NOT_PREFERRED,
    NOT_READY,
    RANKED_LOWER,
    SKILL,
    Considered,
    Explanation,
)

from hotline.domain import AgentState

Rank = tuple[float, ...]


def rank_key(agent: AgentRecord, policy: str, primary: str | None, cursor: int) -> Rank:
    """The kernel's ordering for `policy` (smaller first; the agent index ends every tie)."""
    if policy == MOST_SKILLED:
        level = agent.skills.get(primary, 0) if primary else 0
        return (-level, agent.idle_since, agent.index)
    if policy == LONGEST_IDLE:
        return (agent.idle_since, agent.index)
    if policy == LEAST_CALLS:
        return (agent.calls_today, agent.idle_since, agent.index)
    if policy == ROUND_ROBIN:
        return (0 if agent.index > cursor else 1, agent.index)
    raise ValueError(f"unknown policy {policy!r}")


def skill_gap(agent: AgentRecord, requirements: Mapping[str, int]) -> str:
    """Why the agent does not meet `requirements`, or "" if it does."""
    for skill, minimum in requirements.items():
        level = agent.skills.get(skill, 0)
        if level == 0:
            return f"lacks {skill}"
        if level < minimum:
            return f"{skill} level {level} < {minimum}"
    return ""


def explain(
    *,
    call_id: str,
    at: float,
    queue: str,
    policy: str,
    requirements: Mapping[str, int],
    reason: str,
    chosen: AgentRecord,
    candidates: Iterable[AgentRecord],
    cursor: int,
    limit: int,
) -> Explanation:
    """Explain why `chosen` got the call; `chosen` must still be in the ready state."""
    primary = next(iter(requirements), None)
    eligible: list[AgentRecord] = []
    gaps: list[Considered] = []
    absent: list[Considered] = []
    for agent in candidates:
        if agent is chosen:
            continue
        gap = skill_gap(agent, requirements)
        if gap:
            gaps.append(Considered(agent.agent_id, SKILL, gap))
        elif agent.state != AgentState.READY:
            detail = agent.state.value + (f" ({agent.reason})" if agent.reason else "")
            absent.append(Considered(agent.agent_id, NOT_READY, detail))
        else:
            eligible.append(agent)
    if reason == "preferred_agent":
        # The call waited for the agent who handled the caller's open work order.
        ranked = [chosen, *eligible]
        lower = [
            Considered(a.agent_id, NOT_PREFERRED, f"preferred {chosen.agent_id}") for a in eligible
        ]
    else:
        ranked = sorted([chosen, *eligible], key=lambda a: rank_key(a, policy, primary, cursor))
        lower = [
            Considered(a.agent_id, RANKED_LOWER, f"rank {n} by {policy}: {_describe(a, primary)}")
            for n, a in enumerate(ranked[1:], start=2)
        ]
    passed = [*lower, *gaps, *absent]
    return Explanation(
        call_id=call_id,
        at=at,
        queue=queue,
        policy=policy,
        requirements=tuple(requirements.items()),
        reason=reason,
        chosen=chosen.agent_id,
        eligible=tuple(a.agent_id for a in ranked[:limit]),
        passed_over=tuple(passed[:limit]),
        omitted=max(0, len(ranked) - limit) + max(0, len(passed) - limit),
    )


def _describe(agent: AgentRecord, primary: str | None) -> str:
    parts = [f"{primary} level {agent.skills.get(primary, 0)}"] if primary else []
    parts += [f"idle since {agent.idle_since:g}", f"{agent.calls_today} calls today"]
    return ", ".join(parts)
