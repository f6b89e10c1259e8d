"""Recovery on the real Asterisk: a restarted controller picks up the callers already waiting;
an Asterisk restart mid-call is accounted for once, and routing goes on afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.telephony.node import box as asterisk_box
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_restarted_controller_takes_over_waiting_callers(
        asterisk_node: Settings, centre: Centre, phones: Phones,
        loop_errors: list[dict[str, Any]]) -> None:
    first = ObservedController(asterisk_node, centre, emit_line=lambda _: None)
    await first.start()
    caller = phones.caller("13700000001", talk_ms=12_000)
    queued = await first.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13700000001", 10)
    await first.stop()  # nobody was ready: the caller is still in the holding context

    lines: list[str] = []
    second = ObservedController(asterisk_node, centre, emit_line=lines.append)
    await second.start()  # within the failsafe guard time: no app_queue
    try:
        requeued = await second.wait_for(
            lambda e: isinstance(e, CallQueued) and e.call_id == queued.call_id, 5)
        assert requeued.at == pytest.approx(queued.at, abs=1.0)  # its original wait kept
        phones.agent(2, ring_ms=200)
        ready(second, "agent2")
        answered = await second.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
        assert answered.agent_id == "agent2"
        assert sum(isinstance(e, CallQueued) for e in second.history) == 1  # queued once
        await second.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
        logout(second, "agent2")
    finally:
        await second.stop()
        print("\n".join(lines))


async def test_asterisk_restart_mid_call_is_counted_once(
        asterisk_node: Settings, centre: Centre, controller: ObservedController,
        phones: Phones) -> None:
    phones.agent(1, ring_ms=200)
    ready(controller, "agent1")
    caller = phones.caller("13700000002", talk_ms=30_000)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.agent_id == "agent1", 10)
    call_id = answered.call_id

    await asyncio.to_thread(asterisk_box.kill, asterisk_node)
    await asyncio.to_thread(asterisk_box.start, asterisk_node, centre.agents)
    link = controller.links[asterisk_node.node_name]
    await asyncio.wait_for(link.logged_in.wait(), 15)

    ended = await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 10)
    assert "not connected" in ended.cause_text
    await controller.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent1"
        and e.new is AgentState.AFTER_CALL_WORK, 5)
    assert sum(isinstance(e, CallEnded) and e.call_id == call_id
               for e in controller.history) == 1
    caller.stop()

    # Routing goes on on the restarted node.
    controller.agent_command("agent1", AgentTrigger.END_WRAP_UP)
    again = phones.caller("13700000003", talk_ms=3_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13700000003", 10)
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 10)
    assert await asyncio.to_thread(again.wait, 10) == 0, again.errors()
    logout(controller, "agent1")
