"""A router on a small floor with a fake clock, as the router's unit tests drive it; the
`kernel` fixture (both selection kernels, ids c / py) is in tests/unit/router/conftest.py."""

from __future__ import annotations

from types import ModuleType

from hotline.core.events import CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.values import ServiceType
from hotline.router import LONGEST_IDLE, AgentConfig, Offer, QueueConfig, Router, RouterConfig

T = AgentTrigger
KERNELS = ["c", "py"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BILLING = QueueConfig("billing", ServiceType.BILLING, {"billing": 1})
FAULT = QueueConfig("fault", ServiceType.FAULT, {"fault": 1}, priority=10)
GENERAL = QueueConfig("general", ServiceType.GENERAL, {}, policy=LONGEST_IDLE)


def make(
    kernel: ModuleType,
    agents: list[AgentConfig],
    queues: list[QueueConfig] | None = None,
    **kw: object,
) -> tuple[Router, Clock]:
    clock = Clock()
    config = RouterConfig(queues or [BILLING, FAULT, GENERAL], agents, **kw)  # type: ignore[arg-type]
    return Router(config, clock, kernel=kernel), clock


def ready(router: Router, *agent_ids: str) -> list:
    out: list = []
    for agent_id in agent_ids:
        if router.agent(agent_id).state == AgentState.LOGGED_OUT:
            out += router.agent_command(agent_id, T.LOGIN)
        out += router.agent_command(agent_id, T.READY)
    return out


def queued(clock: Clock, call_id: str, queue: str = "billing", **kw: object) -> CallQueued:
    service = {"fault": ServiceType.FAULT, "general": ServiceType.GENERAL}.get(
        queue, ServiceType.BILLING
    )
    return CallQueued(clock.now, call_id, queue, service, **kw)  # type: ignore[arg-type]


def offers(out: list) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in out if isinstance(d, Offer)]


def agents(*specs: tuple[str, dict[str, int]]) -> list[AgentConfig]:
    return [AgentConfig(agent_id, skills) for agent_id, skills in specs]


__all__ = ["BILLING", "FAULT", "GENERAL", "KERNELS", "Clock", "T", "agents", "make", "offers",
           "queued", "ready"]
