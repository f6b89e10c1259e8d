"""Joining the API's services to the ACD process (the controller) and the centre's config.

services = services_for(settings, centre)        # metrics with the centre's targets
attach_controller(services, controller)          # events in, explanations out
app = create_app(settings, services)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.api.services import Services
from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.realtime import MetricsConfig, QueueTargets
from hotline.realtime.fanout import Backend

if TYPE_CHECKING:
    from hotline.process.controller import Controller


def metrics_config(centre: Centre, settings: Settings) -> MetricsConfig:
    """Per-queue service-level targets from centre.toml, thresholds from Settings."""
    return MetricsConfig(
        short_abandon_s=settings.short_abandon_s,
        day_start_offset_s=settings.utc_offset_s,
        targets={q.name: QueueTargets(q.sl_seconds, q.sl_target) for q in centre.queues},
    )


def agent_queues(centre: Centre) -> dict[str, list[str]]:
    """The queues each agent can serve: those whose every required skill it has at the
    minimum level (the router's own eligibility rule, minus the live state)."""
    return {
        a.id: [
            q.name
            for q in centre.queues
            if all(a.skills.get(s, 0) >= max(m, 1) for s, m in q.required.items())
        ]
        for a in centre.agents
    }


def services_for(settings: Settings, centre: Centre, backend: Backend | None = None) -> Services:
    services = Services.build(backend, metrics_config=metrics_config(centre, settings))
    services.live.declare_queues(q.name for q in centre.queues)
    for agent_id, queues in agent_queues(centre).items():
        services.live.set_agent_queues(agent_id, queues)
    return services


def attach_controller(services: Services, controller: Controller) -> None:
    """Every item the controller records reaches the live feed; explanations come from its
    router."""
    controller.observe(services.live.on_item)
    services.explainer = controller.router
    services.controller = controller


__all__ = ["agent_queues", "attach_controller", "metrics_config", "services_for"]
