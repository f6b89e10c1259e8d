"""A node lost for good (hotline/process/controller/node_lost.py) and the settings of a
centre on several machines (docs/deploy.md, "Several machines"), on a real Controller that is
not started (its AMI links are recording stand-ins). End to end, with machines as network
namespaces: tests/netns/test_machines.py."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    EndpointStatus,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller, node_lost
from hotline.telephony.node import render
from tests.helpers import testbed
from tests.helpers.desk import T0, Clock, RecordingLink

A, B = "na", "nb"


def _call(ctl: Controller, node: str, call_id: str, at: float) -> None:
    ctl.handle(CallEntered(at, node=node, call_id=call_id, caller="13900000000",
                           dialed="95598", channel=f"PJSIP/caller-{call_id}"))
    ctl.handle(CallQueued(at, node=node, call_id=call_id, queue="general",
                          service=ServiceType.GENERAL, caller="13900000000",
                          channel=f"PJSIP/caller-{call_id}"))


async def test_a_lost_node_s_calls_end_and_its_agents_are_freed_for_the_others() -> None:
    clock, lines = Clock(T0), list[str]()
    ctl = Controller(Settings(node_lost_s=3.0, wrap_up_s=0), testbed.test_centre(), clock=clock,
                     emit_line=lines.append)
    for node in (A, B):
        ctl.links[node] = RecordingLink(node=node)  # type: ignore[assignment]
    ended: list[CallEnded] = []
    ctl.observe(lambda item: ended.append(item) if isinstance(item, CallEnded) else None)
    for node in (A, B):  # both nodes reach agent1's phone
        ctl.handle(EndpointStatus(T0, node=node, endpoint="agent1", reachable=True))
    ctl.agent_command("agent1", AgentTrigger.LOGIN)
    ctl.agent_command("agent1", AgentTrigger.READY)
    _call(ctl, A, "talking", T0 + 1)
    ctl.handle(AgentRinging(T0 + 2, node=A, call_id="talking", agent_id="agent1"))
    ctl.handle(CallAnswered(T0 + 3, node=A, call_id="talking", agent_id="agent1"))
    _call(ctl, A, "waiting", T0 + 4)  # agent1 is busy: it waits
    await asyncio.sleep(0)  # the offer's delivery task
    assert [w.call_id for w in ctl.router.waiting()] == ["waiting"]

    clock.t = T0 + 20
    lost = node_lost.declare(ctl._state, A, ctl.handle)

    assert lost == ["talking", "waiting"]
    assert [(e.call_id, e.node_failure, e.at) for e in ended] == [
        ("talking", True, T0 + 20), ("waiting", True, T0 + 20)]
    assert "lost to a node failure" in ended[0].cause_text
    assert not ctl.router.waiting()
    assert ctl.router.agent("agent1").state is AgentState.AFTER_CALL_WORK
    assert ctl.router.reachability(A) == {"agent1": False}  # A's word no longer counts...
    ctl.agent_command("agent1", AgentTrigger.END_WRAP_UP)
    assert ctl.router.agent("agent1").state is AgentState.READY  # ...B still reaches it
    _call(ctl, B, "on-b", T0 + 21)
    assert ctl.router.agent("agent1").call_id == "on-b"  # offered B's caller
    assert ctl.nodes_lost == 1 and any(f"node {A} lost" in line for line in lines)

    # A back (the network healed): what its resync or its live events say of the calls
    # declared lost is history already
    ctl.handle(CallQueued(T0 + 30, node=A, call_id="waiting", queue="general",
                          service=ServiceType.GENERAL))
    ctl.handle(CallEnded(T0 + 31, node=A, call_id="waiting"))
    assert not ctl.router.knows("waiting")
    assert sum(e.call_id == "waiting" for e in ended) == 1


async def test_the_timer_is_armed_by_a_link_down_and_disarmed_by_a_login() -> None:
    ctl = Controller(Settings(node_lost_s=0.05), testbed.test_centre(), emit_line=print)
    ctl.links[A] = RecordingLink(node=A)  # type: ignore[assignment]
    ctl._state.routing = True
    node_lost.arm(ctl._state, A, ctl.handle)
    node_lost.disarm(ctl._state, A)  # back in time
    await asyncio.sleep(0.1)
    assert ctl.nodes_lost == 0
    standby = Controller(Settings(node_lost_s=0.05), testbed.test_centre(), emit_line=print)
    node_lost.arm(standby._state, A, standby.handle)  # a standby routes nothing
    assert not standby._state.lost_timers


def test_the_settings_of_several_machines() -> None:
    s = Settings(bind_host="10.0.0.1", agi_host="10.0.0.5", agi_port=4573,
                 ami_permit=["10.0.0.5", "10.0.1.0/24"])
    assert s.agi_address == "agi://10.0.0.5:4573"  # what the nodes are told to dial
    assert Settings(bind_host="10.0.0.1").agi_address == "agi://10.0.0.1:4573"
    manager = render.render_all(s, [])["manager.conf"]
    assert "permit = 10.0.0.5/255.255.255.255\npermit = 10.0.1.0/255.255.255.0\n" in manager
    assert "deny = 0.0.0.0/0.0.0.0" in manager
    assert "permit = 10.0.0" not in render.render_all(Settings(), [])["manager.conf"]
    for bad in ({"ami_permit": ["10.0.0.5\npermit=0.0.0.0/0"]}, {"ami_permit": ["any"]},
                {"agi_host": "10.0.0.5,x"}, {"agi_host": "a b"}):
        with pytest.raises(ValidationError):
            Settings(**bad)
