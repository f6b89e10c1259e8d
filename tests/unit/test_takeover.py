"""The take-over's order (hotline/process/controller/takeover.py) on the real router: a call
an agent is talking on keeps that agent (not offered to another, the agent not booked for a
waiting caller), waiting callers keep their place, and the other agents come back as their
records say."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hotline.core.events import AgentRinging, CallAnswered, CallEntered, CallQueued, Event
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.observer import ControllerObserver
from hotline.process.controller import Controller, takeover
from hotline.router import Offer
from tests.helpers import testbed

NODE = "t1"


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    ctl.holds.offer = lambda _call, _agent: True  # type: ignore[method-assign]
    yield ctl
    await ctl.stop()


def queued(ctl: Controller, call_id: str, at: float) -> CallQueued:
    return CallQueued(at, node=NODE, call_id=call_id, queue="general",
                      service=ServiceType.GENERAL, caller="13900000001",
                      channel=f"PJSIP/caller-{call_id}", takes_callback_key=False)


async def test_a_talking_call_keeps_its_agent_and_waiting_callers_their_place(
        controller: Controller) -> None:
    now = controller.clock()
    seen = ControllerObserver(controller)
    # the node's replay as a resync reads it: a waiting caller first (channel order), then
    # the call agent1 is talking on (in hotline-connect), then a caller who waited longer
    replay: list[Event] = [
        queued(controller, "w-new", now - 5),
        CallEntered(now - 30, node=NODE, call_id="talk", caller="13900000002", dialed="",
                    channel="PJSIP/caller-talk"),
        queued(controller, "talk", now - 29),
        AgentRinging(now - 20, node=NODE, call_id="talk", agent_id="agent1",
                     channel="PJSIP/agent1-1"),
        CallAnswered(now - 19, node=NODE, call_id="talk", agent_id="agent1",
                     channel="PJSIP/agent1-1"),
        queued(controller, "w-old", now - 10),
    ]
    takeover.replay(controller._state, replay, controller.handle, controller.agent_command)
    agent1 = controller.router.agent("agent1")
    assert (agent1.state, agent1.call_id) == (AgentState.ON_CALL, "talk")
    offers = [i for i in seen.history if isinstance(i, Offer)]
    assert [(o.call_id, o.agent_id) for o in offers] == [("talk", "agent1")]
    # the last active's records: agent1 on its call, agent2 ready, agent3 on a break
    records = [{"agent_id": "agent1", "state": "on_call"},
               {"agent_id": "agent2", "state": "ready"},
               {"agent_id": "agent3", "state": "not_ready", "reason": "break"},
               {"agent_id": "agent4", "state": "logged_out"}]
    assert takeover.restore_agents(controller._state, records, controller.agent_command) == 2
    assert controller.router.agent("agent1").call_id == "talk"  # not booked twice
    agent3 = controller.router.agent("agent3")
    assert (agent3.state, agent3.reason) == (AgentState.NOT_READY, "break")
    assert controller.router.agent("agent4").state is AgentState.LOGGED_OUT
    offers = [i for i in seen.history if isinstance(i, Offer)]
    assert [(o.call_id, o.agent_id) for o in offers[1:]] == [("w-old", "agent2")]  # its place
