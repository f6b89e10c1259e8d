"""The router's configuration from the centre file and the settings."""

from __future__ import annotations

from dataclasses import replace

from hotline.centre.model import Centre, QueueSpec
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.router import AgentConfig, QueueConfig, RouterConfig


def queue_config(q: QueueSpec) -> QueueConfig:
    return QueueConfig(name=q.name, service=ServiceType(q.service), required=dict(q.required),
                       policy=q.policy, priority=q.priority, sl_target=q.sl_target,
                       sl_seconds=q.sl_seconds, overflow_to=q.overflow_to,
                       overflow_wait_s=q.overflow_wait_s)


def router_config(centre: Centre, settings: Settings) -> RouterConfig:
    queues = [queue_config(q) for q in centre.queues]
    agents = [AgentConfig(agent_id=a.id, skills=dict(a.skills), name=a.name)
              for a in centre.agents]
    # Asterisk's Dial() ends an unanswered ring; the router's timer is the backstop.
    return RouterConfig(queues=queues, agents=agents, ring_timeout_s=settings.ring_timeout_s + 3,
                        callback_attempts=settings.callback_attempts,
                        callback_retry_s=settings.callback_retry_s,
                        vip_numbers=frozenset(centre.vip_numbers))


def with_queue(centre: Centre, spec: QueueSpec) -> Centre:
    """The centre with `spec` added, or in place of the queue of its name."""
    return replace(centre, queues=[*(q for q in centre.queues if q.name != spec.name), spec])


def without_queue(centre: Centre, name: str) -> Centre:
    return replace(centre, queues=[q for q in centre.queues if q.name != name])


__all__ = ["queue_config", "router_config", "with_queue", "without_queue"]
