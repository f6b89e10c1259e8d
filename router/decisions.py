"""What the router decides, for the controller to execute, and why (for humans)."""

from __future__ import annotations

from dataclasses import dataclass

# Verdicts on an agent in an explanation.
CHOSEN = "chosen"
RANKED_LOWER = "ranked_lower"  # eligible, but the policy preferred another
NOT_READY = "state"  # not in the ready state
SKILL = "skill"  # lacks a required skill or its level
NOT_PREFERRED = "not_preferred"  # the call waited for its preferred agent


@dataclass(frozen=True, slots=True)
class Considered:
    agent_id: str
    verdict: str
    detail: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """One offer decision: who could take the call, who was passed over and why."""

    call_id: str
    at: float
    queue: str  # whose requirements and policy decided (the call's queue, or its overflow)
    policy: str
    requirements: tuple[tuple[str, int], ...]
    reason: str  # "policy", "preferred_agent", "overflow"
    chosen: str
    eligible: tuple[str, ...]  # ready agents meeting the requirements, best first
    passed_over: tuple[Considered, ...]  # everyone else looked at, ranked lower ones first
    omitted: int = 0  # agents looked at but not listed (explain_limit)

    def verdict(self, agent_id: str) -> Considered | None:
        if agent_id == self.chosen:
            return Considered(agent_id, CHOSEN, f"rank 1 by {self.policy}")
        return next((c for c in self.passed_over if c.agent_id == agent_id), None)


@dataclass(frozen=True, slots=True)
class Offer:
    """Redirect the waiting caller to this agent (the agent is now reserved)."""

    call_id: str
    agent_id: str
    queue: str
    wait_s: float
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class CallbackDue:
    """A caller on virtual hold reached the head and an agent is reserved: originate the call."""

    call_id: str
    agent_id: str
    number: str
    queue: str
    wait_s: float
    explanation: Explanation


Decision = Offer | CallbackDue
