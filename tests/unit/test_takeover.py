"""The take-over's order (hotline/process/controller/takeover.py) on the real router: a call
an agent is talking on keeps that agent (not offered to another, the agent not booked for a
waiting caller), waiting callers keep their place, and the other agents come back as their
records say."""

from __future__ import annotations

import asyncio
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


class RecordingLink:
    """A node's AMI link as delivery uses it, recording the actions sent (no Asterisk here:
    the tests/asterisk pair test runs the same on a real node)."""

    node = NODE

    def __init__(self) -> None:
        self.actions: list[tuple[str, ...]] = []

    async def setvar(self, channel: str, name: str, value: str) -> None:
        self.actions.append(("setvar", channel, name, value))

    async def redirect(self, channel: str, context: str, exten: str) -> None:
        self.actions.append(("redirect", channel, context, exten))

    async def channels(self) -> list[object]:
        return []

    async def close(self) -> None:
        return None


async def test_a_call_found_talking_is_not_offered_again_to_its_agent() -> None:
    """#16.2's double offer: the take-over replays a call found in hotline-connect as queued,
    then its agent made ready for it (an offer), then rung and answered. The caller holds no
    session with the new active, so that offer went out as an AMI Redirect once the replay had
    run: the talking caller was pulled from its bridge and its agent rung again. Only an
    offer still unrung is sent; a waiting caller's still is."""
    ctl = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    link = RecordingLink()
    ctl._state.links[NODE] = link  # type: ignore[assignment]
    now = ctl.clock()
    replay: list[Event] = [
        CallEntered(now - 30, node=NODE, call_id="talk", caller="13900000002", dialed="",
                    channel="PJSIP/caller-talk"),
        queued(ctl, "talk", now - 29),
        AgentRinging(now - 20, node=NODE, call_id="talk", agent_id="agent1",
                     channel="PJSIP/agent1-1"),
        CallAnswered(now - 19, node=NODE, call_id="talk", agent_id="agent1",
                     channel="PJSIP/agent1-1"),
        queued(ctl, "wait", now - 10),
    ]
    try:
        takeover.replay(ctl._state, replay, ctl.handle, ctl.agent_command)
        takeover.restore_agents(ctl._state, [{"agent_id": "agent2", "state": "ready"}],
                                ctl.agent_command)
        async with asyncio.timeout(5):  # the offers' deliveries, spawned by the replay
            while ctl._state.tasks:
                await asyncio.wait(set(ctl._state.tasks))
        assert link.actions == [("redirect", "PJSIP/caller-wait", "hotline-connect", "agent2")]
        assert controller_agent(ctl, "agent1") == (AgentState.ON_CALL, "talk")
    finally:
        await ctl.stop()


def controller_agent(ctl: Controller, agent_id: str) -> tuple[AgentState, str | None]:
    agent = ctl.router.agent(agent_id)
    return agent.state, agent.call_id
