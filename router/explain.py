"""Builds the human explanation of one offer decision, with bounded work.

The ranking of the eligible agents comes from the selection kernel itself (`ranked`), so it is
the order the decision used. Agents passed over for their state or their skills are found by
walking the holders of the decision's primary skill, highest level first (every agent when the
queue requires no skill), and stop after `limit` of them; the rest are counted in `omitted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hotline.domain import AgentState
from hotline.router.agents import AgentRecord
from hotline.router.decisions import (
    NOT_PREFERRED,
    NOT_READY,
    RANKED_LOWER,
    SKILL,
    Considered,
    Explanation,
)

PREFERRED = "preferred_agent"


def skill_gap(agent: AgentRecord, requirements: Mapping[str, int]) -> Considered | None:
    """The first requirement the agent does not meet, or None if it meets them all."""
    for skill, minimum in requirements.items():
        level = agent.skills.get(skill, 0)
        if level < max(minimum, 1):
            return Considered(agent.agent_id, SKILL, skill=skill, level=level, minimum=minimum)
    return None


def explain(
    *,
    call_id: str,
    at: float,
    queue: str,
    policy: str,
    requirements: Mapping[str, int],
    reason: str,
    ranked: Sequence[AgentRecord],
    candidates: Iterable[AgentRecord],
    total: int,
    limit: int,
) -> Explanation:
    """`ranked`: the eligible ready agents best first, the chosen one first. `candidates`:
    the agents to look at for the passed-over list (`total` of them), best level first."""
    chosen = ranked[0]
    primary = next(iter(requirements), None)
    if reason == PREFERRED:
        # The call waited for the agent who handled the caller's open work order.
        lower = [
            Considered(a.agent_id, NOT_PREFERRED, preferred=chosen.agent_id) for a in ranked[1:]
        ]
    else:
        lower = [
            Considered(
                a.agent_id,
                RANKED_LOWER,
                rank=n,
                policy=policy,
                skill=primary or "",
                level=a.skills.get(primary, 0) if primary else 0,
                idle_since=a.idle_since,
                calls_today=a.calls_today,
            )
            for n, a in enumerate(ranked[1:], start=2)
        ]
    listed = {a.agent_id for a in ranked}
    others: list[Considered] = []
    for agent in candidates:
        if len(others) >= limit:
            break
        if agent.agent_id in listed:
            continue
        gap = skill_gap(agent, requirements)
        if gap is not None:
            others.append(gap)
        elif agent.state != AgentState.READY:
            others.append(
                Considered(agent.agent_id, NOT_READY, state=agent.state.value, reason=agent.reason)
            )
        # else: eligible but ranked beyond the limit: counted in `omitted`
    return Explanation(
        call_id=call_id,
        at=at,
        queue=queue,
        policy=policy,
        requirements=tuple(requirements.items()),
        reason=reason,
        chosen=chosen.agent_id,
        eligible=tuple(a.agent_id for a in ranked),
        passed_over=(*lower, *others),
        omitted=max(0, total - len(ranked) - len(others)),
    )
