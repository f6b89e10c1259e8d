"""The API joined to a real Controller (not started: no Asterisk needed for agent commands)."""

from __future__ import annotations

import json

from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.wiring import agent_queues, attach_controller, metrics_config, services_for


def centre() -> Centre:
    skills = {
        1: {"general": 5, "billing": 2},
        2: {"general": 3, "billing": 5},
        3: {"general": 2, "fault": 5},
        4: {"general": 1, "complaint": 4},
    }
    return Centre(
        queues=[
            QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1}),
            QueueSpec(name="billing", service=ServiceType.BILLING, required={"billing": 1}),
            QueueSpec(
                name="fault", service=ServiceType.FAULT, required={"fault": 1}, sl_seconds=15.0
            ),
        ],
        agents=[AgentSpec(id=f"agent{n}", skills=s) for n, s in skills.items()],
    )


def test_agents_serve_the_queues_they_have_the_skills_for() -> None:
    queues = agent_queues(centre())
    assert queues == {
        "agent1": ["general", "billing"],
        "agent2": ["general", "billing"],
        "agent3": ["general", "fault"],
        "agent4": ["general"],
    }


def test_targets_come_from_the_centre() -> None:
    config = metrics_config(centre(), Settings(short_abandon_s=3.0))
    assert config.short_abandon_s == 3.0
    assert config.targets_for("fault").sl_seconds == 15.0
    assert config.targets_for("billing").sl_seconds == 20.0


async def test_controller_items_reach_the_live_view() -> None:
    settings = Settings()
    services = services_for(settings, centre())
    controller = Controller(settings, centre(), emit_line=lambda _line: None)
    attach_controller(services, controller)
    assert services.explainer is controller.router
    controller.agent_command("agent3", AgentTrigger.LOGIN)
    controller.agent_command("agent3", AgentTrigger.READY)
    await services.live.flush()
    view = json.loads(services.live.snapshot())["data"]
    assert view["agents"]["agent3"]["state"] == "ready"
    assert view["agents"]["agent3"]["queues"] == ["general", "fault"]
    assert view["agents_by_state"]["all"]["ready"] == 1
    # Every configured queue is on the board before its first call.
    assert list(view["queues"]) == ["general", "billing", "fault"]
    assert view["agents_by_state"]["fault"]["ready"] == 1
    assert view["queues"]["fault"]["sl_target"] == 0.8
    await controller.stop()
