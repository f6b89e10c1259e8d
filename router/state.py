"""The router's state in one place: what the concern modules (lifecycle, dispatch, callbacks,
transfers, edits, roster) read and change, each taking it as their first argument."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from hotline.core.events import Event
from hotline.router.agent_records import AgentRecord
from hotline.router.calls import RoutedCall, WaitingLine
from hotline.router.decisions import Decision
from hotline.router.definitions import (
    LEAST_CALLS,
    LONGEST_IDLE,
    MOST_SKILLED,
    ROUND_ROBIN,
    QueueConfig,
    RouterConfig,
)
from hotline.router.errors import UnknownAgent, UnknownQueue
from hotline.router.explain import ExplanationLog, verdicts
from hotline.router.skills import SkillRegistry

#: What every entry point returns: events that happened and decisions to execute.
Output = list[Event | Decision]


def timed_queue(q: QueueConfig) -> bool:
    """Whether the queue's requirements for a call change with its wait."""
    return q.overflow_to is not None or bool(q.expand_after)


@dataclass(slots=True, eq=False)
class RouterState:
    config: RouterConfig
    kernel: ModuleType
    index: Any  # the kernel's AgentIndex: skill levels and the ready sets
    skills: SkillRegistry
    policy_codes: dict[str, int]
    queues: dict[str, QueueConfig]
    explanations: ExplanationLog
    verdicts: Any  # the kernel's builder of explanation records (explain.verdicts)
    agents: dict[str, AgentRecord] = field(default_factory=dict)
    by_index: list[AgentRecord | None] = field(default_factory=list)  # None: removed
    #: skill -> per level 1..5 (list index level-1): the agents holding it at that level
    holders: dict[str, list[dict[str, AgentRecord]]] = field(default_factory=dict)
    calls: dict[str, RoutedCall] = field(default_factory=dict)  # waiting, offered or talking
    offered: dict[str, RoutedCall] = field(default_factory=dict)
    retrying: dict[str, RoutedCall] = field(default_factory=dict)  # callbacks between tries
    line: WaitingLine = field(default_factory=WaitingLine)
    rr_cursor: dict[str, int] = field(default_factory=dict)
    pending_repeat: dict[str, str | None] = field(default_factory=dict)
    #: events that did not match the router's view (e.g. app_queue ringing in failsafe)
    ignored: int = 0
    #: decisions where the kernel's ranking did not put the chosen agent first (a bug)
    rank_mismatches: int = 0
    #: whether a waiting call's requirements can change with time alone: a queue overflows
    #: or widens them (bullseye), or a call was ever held for a preferred agent. False: the
    #: restage pass over the line on every event is skipped (it could change nothing).
    timed: bool = True

    @classmethod
    def create(cls, config: RouterConfig, kernel: ModuleType) -> RouterState:
        """The state before any agent is added: queues known, their skills registered."""
        state = cls(
            config=config,
            kernel=kernel,
            index=kernel.AgentIndex(len(config.agents)),
            skills=SkillRegistry(kernel.MAX_SKILLS),
            policy_codes={
                MOST_SKILLED: kernel.MOST_SKILLED,
                LONGEST_IDLE: kernel.LONGEST_IDLE,
                LEAST_CALLS: kernel.LEAST_CALLS,
                ROUND_ROBIN: kernel.ROUND_ROBIN,
            },
            queues={q.name: q for q in config.queues},
            explanations=ExplanationLog(config.explain_keep),
            verdicts=verdicts(kernel),
        )
        for q in config.queues:
            state.skills.register(q.required)
            for _, req in q.expand_after:
                state.skills.register(req)
        state.timed = any(timed_queue(q) for q in config.queues)
        return state

    def agent(self, agent_id: str) -> AgentRecord:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def queue(self, name: str) -> QueueConfig:
        try:
            return self.queues[name]
        except KeyError:
            raise UnknownQueue(name) from None
