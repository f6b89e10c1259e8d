"""Joining the API's services to the ACD process (the controller) and the centre's config.

services = services_for(settings, centre)        # metrics with the centre's targets
attach_controller(services, controller)          # events in, explanations out
app = create_app(settings, services)

and the centre's agent changes to Asterisk: NodeAgentFiles(local_nodes(settings),
controller.links) is the Configuration service's `agent_files` (hotline.centre.service).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.api.services import Services
from hotline.centre.model import AgentSpec, Centre
from hotline.centre.service import FAILSAFE_QUEUE
from hotline.core.settings import Settings
from hotline.realtime import Metrics, MetricsConfig, QueueTargets
from hotline.realtime.fanout import Backend
from hotline.router import agent_queues as router_agent_queues
from hotline.telephony.ami.errors import AmiError
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node.box import root_dir
from hotline.telephony.node.render import write_agent_files

if TYPE_CHECKING:
    from hotline.process.controller import Controller

log = logging.getLogger("hotline.process.wiring")


def metrics_config(centre: Centre, settings: Settings) -> MetricsConfig:
    """Per-queue service-level targets from centre.toml, thresholds from Settings."""
    return MetricsConfig(
        short_abandon_s=settings.short_abandon_s,
        day_start_offset_s=settings.utc_offset_s,
        targets={q.name: QueueTargets(q.sl_seconds, q.sl_target) for q in centre.queues},
    )


def agent_queues(centre: Centre) -> dict[str, list[str]]:
    """The queues each agent of the centre serves (the router's rule: router.agent_queues)."""
    return router_agent_queues(((a.id, a.skills) for a in centre.agents),
                               ((q.name, q.required) for q in centre.queues))


# ---- the centre's agents on Asterisk (hotline.centre.service.AgentFiles)


@dataclass(frozen=True, slots=True)
class NodeFiles:
    """Where a node's /etc/asterisk is on this host (None: another host, reload only)."""

    node: str
    etc_dir: Path | None


def local_nodes(settings: Settings) -> list[NodeFiles]:
    out = []
    for node in settings.nodes():
        etc = root_dir(settings.model_copy(update={"node_name": node.name})) / "etc/asterisk"
        out.append(NodeFiles(node.name, etc if etc.is_dir() else None))
    return out


@dataclass
class NodeAgentFiles:
    """Puts the agent set on every node: rewrites its pjsip_agents.conf and
    queues_members.conf where its /etc/asterisk is on this host, then reloads res_pjsip and
    the failsafe queue's members over the node's AMI link (`links`: node -> link, e.g. the
    controller's, read at each change)."""

    nodes: list[NodeFiles]
    links: Mapping[str, AmiLink] = field(default_factory=dict)
    #: the agents whose endpoints speak WebRTC (Settings.webrtc_agents)
    webrtc: Collection[str] = ()

    async def apply(self, agents: list[AgentSpec]) -> dict[str, str]:
        """node -> "reloaded" or what failed (the change stays stored: the next change or
        start renders the files again)."""
        results: dict[str, str] = {}
        for node in self.nodes:
            try:
                if node.etc_dir is not None:
                    await asyncio.to_thread(write_agent_files, agents, node.etc_dir, self.webrtc)
                link = self.links.get(node.node)
                if link is None:
                    results[node.node] = "files written, no AMI link to reload"
                    continue
                await link.reload_module("res_pjsip.so")
                await link.queue_reload_members(FAILSAFE_QUEUE)
                results[node.node] = "reloaded"
            except (OSError, AmiError) as exc:  # the files, or the node's AMI
                log.warning("agent files of %s not applied: %r", node.node, exc)
                results[node.node] = f"failed: {exc!r}"
        return results


def services_for(settings: Settings, centre: Centre, backend: Backend | None = None, *,
                 metrics: Metrics | None = None,
                 clock: Callable[[], float] = time.time) -> Services:
    """`metrics`: one already restored (hotline.process.restart), else a new one. The
    centre's queues are shown (and written per interval) from the start, before any call."""
    services = Services.build(backend, metrics_config=metrics_config(centre, settings),
                              metrics=metrics, clock=clock)
    services.metrics.declare_queues(q.name for q in centre.queues)
    services.live.declare_queues(q.name for q in centre.queues)
    services.live.quality.window_s = settings.repeat_window_s  # the centre's one window
    for agent_id, queues in agent_queues(centre).items():
        services.live.set_agent_queues(agent_id, queues)
    return services


def attach_controller(services: Services, controller: Controller) -> None:
    """Every item the controller records reaches the live feed; explanations come from its
    router."""
    controller.observe(services.live.on_item)
    services.explainer = controller.router
    services.controller = controller


__all__ = ["NodeAgentFiles", "NodeFiles", "agent_queues", "attach_controller", "local_nodes",
           "metrics_config", "services_for"]
