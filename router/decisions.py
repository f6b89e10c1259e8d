"""What the router decides, for the controller to execute, and why (for humans)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from hotline.core.frozen import fast_init

# Verdicts on an agent in an explanation.
CHOSEN = "chosen"
RANKED_LOWER = "ranked_lower"  # eligible, but the policy preferred another
NOT_READY = "state"  # not in the ready state
SKILL = "skill"  # lacks a required skill or its level
NOT_PREFERRED = "not_preferred"  # the call waited for its preferred agent


class Considered(NamedTuple):
    """One agent looked at in a decision; the facts are kept, the wording made on demand.
    (A NamedTuple: cheap to build, and a decision builds dozens of them.)"""

    agent_id: str
    verdict: str
    rank: int = 0  # RANKED_LOWER: the place in the policy's order (the chosen one is 1)
    policy: str = ""
    skill: str = ""  # SKILL: the requirement not met; RANKED_LOWER: the primary skill
    level: int = 0  # the agent's level in `skill`
    minimum: int = 0
    state: str = ""  # NOT_READY: the agent's state and not-ready reason
    reason: str = ""
    idle_since: float = 0.0
    calls_today: int = 0
    preferred: str = ""  # NOT_PREFERRED: the agent the call waited for

    @property
    def detail(self) -> str:
        if self.verdict == RANKED_LOWER:
            parts = [f"{self.skill} level {self.level}"] if self.skill else []
            parts += [f"idle since {self.idle_since:g}", f"{self.calls_today} calls today"]
            return f"rank {self.rank} by {self.policy}: " + ", ".join(parts)
        if self.verdict == SKILL:
            if self.level == 0:
                return f"lacks {self.skill}"
            return f"{self.skill} level {self.level} < {self.minimum}"
        if self.verdict == NOT_READY:
            return self.state + (f" ({self.reason})" if self.reason else "")
        if self.verdict == NOT_PREFERRED:
            return f"preferred {self.preferred}"
        return self.verdict


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
    callback_attempt: int = 0  # a callback: which attempt this offer starts (1 = first)

    def verdict(self, agent_id: str) -> Considered | None:
        if agent_id == self.chosen:
            return Considered(agent_id, CHOSEN, rank=1, policy=self.policy)
        return next((c for c in self.passed_over if c.agent_id == agent_id), None)


@fast_init  # built for every call: see hotline/core/frozen.py
@dataclass(frozen=True, slots=True)
class Offer:
    """Redirect the waiting caller to this agent (the agent is now reserved)."""

    call_id: str
    agent_id: str
    queue: str
    wait_s: float
    explanation: Explanation


@fast_init
@dataclass(frozen=True, slots=True)
class CallbackDue:
    """A caller on virtual hold reached the head and an agent is reserved: originate the call."""

    call_id: str
    agent_id: str
    number: str
    queue: str
    wait_s: float
    explanation: Explanation
    attempt: int = 1


Decision = Offer | CallbackDue
