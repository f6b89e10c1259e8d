"""The router's configuration: queues, agents and the ACD-wide settings. Plain frozen data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hotline.core.values import ServiceType

MOST_SKILLED = "most_skilled"
LONGEST_IDLE = "longest_idle"
LEAST_CALLS = "least_calls"
ROUND_ROBIN = "round_robin"
POLICIES = (MOST_SKILLED, LONGEST_IDLE, LEAST_CALLS, ROUND_ROBIN)

#: How much a repeat caller and a VIP number add to a call's priority.
REPEAT_BOOST = 5
VIP_BOOST = 3

MAX_LEVEL = 5


@dataclass(frozen=True, slots=True)
class AgentConfig:
    agent_id: str
    skills: dict[str, int] = field(default_factory=dict)  # skill -> level 1..5
    name: str = ""

    def __post_init__(self) -> None:
        check_levels(self.skills, f"agent {self.agent_id!r}", low=0)


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    service: ServiceType
    required: dict[str, int] = field(default_factory=dict)  # skill -> minimum level
    policy: str = MOST_SKILLED
    sl_target: float = 0.8
    sl_seconds: float = 20.0
    #: bullseye: after N seconds of waiting, accept these (lower) requirements instead
    expand_after: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    overflow_to: str | None = None
    overflow_wait_s: float | None = None
    preferred_agent_s: float = 10.0
    priority: int = 0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"queue {self.name!r}: unknown policy {self.policy!r}")
        check_levels(self.required, f"queue {self.name!r}", low=0)
        after = [s for s, _ in self.expand_after]
        if after != sorted(after) or any(s < 0 for s in after):
            raise ValueError(f"queue {self.name!r}: expand_after steps must be ascending, >= 0")
        for _, req in self.expand_after:
            check_levels(req, f"queue {self.name!r} expand_after", low=0)
        if (self.overflow_to is None) != (self.overflow_wait_s is None):
            raise ValueError(f"queue {self.name!r}: overflow_to needs overflow_wait_s")

    @property
    def primary_skill(self) -> str | None:
        """The skill most_skilled ranks by: the first one listed in `required`."""
        return next(iter(self.required), None)

    def requirements_after(self, wait_s: float) -> dict[str, int]:
        """The requirements a call meets after waiting `wait_s` (the bullseye's last step)."""
        current = self.required
        for after, req in self.expand_after:
            if wait_s >= after:
                current = req
        return current

    def step_after(self, wait_s: float) -> int:
        step = 0  # a loop, not sum() over a generator: this runs for every waiting call often
        for after, _ in self.expand_after:
            if wait_s >= after:
                step += 1
        return step


@dataclass(frozen=True, slots=True)
class RouterConfig:
    queues: list[QueueConfig]
    agents: list[AgentConfig]
    #: an offer whose agent's phone rings gives up this long after the ring began (Asterisk's
    #: Dial ends an unanswered ring first; this is the backstop)
    ring_timeout_s: float = 15.0
    #: an offer whose agent's phone has not rung yet gives up this long after the offer (at
    #: least ring_timeout_s): the phone not ringing is the node's delay, not the agent's. A
    #: node holding 1,000 callers with media took up to 51 s from an offer to the ring
    #: (bench.hold); counted from the offer like the ring, every offer the node was slow to
    #: dial set its agent not ready ("missed") and the line stopped moving.
    offer_reach_s: float = 45.0
    vip_numbers: frozenset[str] = frozenset()
    #: at most this many agents are listed per explanation (the rest are counted)
    explain_limit: int = 20
    #: explanations are kept in memory for this many most recent calls: every one is also
    #: stored (history's routing_explanations), and GET /api/calls/{id}/explanation puts the
    #: stored ones first, so the router's only need to cover the write-behind's lag (#15:
    #: 10,000 calls' were ~4.6 MB, the soak's fill for its first 33 minutes)
    explain_keep: int = 2_000
    #: False: offers carry one shared empty explanation (dispatch.UNEXPLAINED) and none is
    #: kept: for the what-if simulator, where nobody reads them. The decision is the same
    #: (the kernel's select); only the record after it is skipped.
    explain: bool = True
    #: virtual hold: tries to reach a caller, and the pause between them (the agent is free)
    callback_attempts: int = 3
    callback_retry_s: float = 120.0

    def __post_init__(self) -> None:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("duplicate queue names")
        for q in self.queues:
            if q.overflow_to is not None and q.overflow_to not in names:
                raise ValueError(f"queue {q.name!r} overflows to unknown {q.overflow_to!r}")
        if self.callback_attempts < 1 or self.callback_retry_s < 0:
            raise ValueError("callback_attempts must be >= 1 and callback_retry_s >= 0")
        ids = [a.agent_id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate agent ids")

    def offer_limit_s(self, *, rung: bool, calling_back: bool) -> float:
        """How long an offer stands before the router gives it up (the agent not ready,
        "missed"; the call back to the head): from the ring once the agent's phone rings,
        else from the offer. A callback's customer not reached yet rings from the offer."""
        if rung or calling_back:
            return self.ring_timeout_s
        return max(self.offer_reach_s, self.ring_timeout_s)


def check_levels(levels: dict[str, int], what: str, low: int) -> None:
    for skill, level in levels.items():
        if not low <= level <= MAX_LEVEL:
            raise ValueError(f"{what}: skill {skill!r} level {level} outside {low}..{MAX_LEVEL}")


def qualifies(skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    """The router's eligibility rule: the agent holds every required skill at its minimum
    level (a minimum of 0 still means: must hold the skill). The selection kernel applies the
    same rule to ready agents (core_ext/select_agent: `max(m, 1)`)."""
    for skill, minimum in required.items():  # a loop, not all(...): it runs per waiting call
        if skills.get(skill, 0) < (minimum if minimum > 1 else 1):
            return False
    return True


def queues_served(skills: Mapping[str, int],
                  queues: Iterable[tuple[str, Mapping[str, int]]]) -> list[str]:
    """The queues (name, required) whose requirements an agent with `skills` meets, in the
    order given: which queues it serves, its live state aside."""
    return [name for name, required in queues if qualifies(skills, required)]


def agent_queues(agents: Iterable[tuple[str, Mapping[str, int]]],
                 queues: Iterable[tuple[str, Mapping[str, int]]]) -> dict[str, list[str]]:
    """agent id -> the queues it serves, for agents and queues given as (id, skills) and
    (name, required): e.g. from the centre's configuration, before any router runs."""
    queue_list = list(queues)
    return {agent_id: queues_served(skills, queue_list) for agent_id, skills in agents}
