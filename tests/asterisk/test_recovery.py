"""Recovery on the real Asterisk: a restarted controller picks up the callers already waiting;
an Asterisk restart mid-call is accounted for once, and routing goes on afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    FailsafeTaken,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.router import Offer
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.watcher import Watcher

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


async def test_a_controller_back_offers_nothing_to_an_agent_app_queue_is_ringing(
        asterisk_node: Settings, centre: Centre, phones: Phones,
        loop_errors: list[dict[str, Any]]) -> None:
    """Issue #15.3: no controller; app_queue (the failsafe) rings agent X for caller A while
    caller B waits in the holding context. The controller that comes back meanwhile learns
    who app_queue is ringing before offering anyone: X, made ready first, gets no offer of B
    (it would have had two calls at once); B goes to another agent, and X is the
    controller's again once A's failsafe call is over."""
    link = AmiLink(asterisk_node)
    await link.connect()
    watcher = Watcher(link)
    next_event, seen = watcher.next, watcher.seen

    back: ObservedController | None = None
    lines: list[str] = []
    try:
        # No phone answers yet: app_queue rings an agent (its contact is static) for
        # ring_timeout_s, then again after a second.
        a = phones.caller("13700000021", talk_ms=12_000)
        first = await next_event(lambda e: isinstance(e, CallQueued)
                                 and e.caller == "13700000021", 10)
        a_id = first.call_id  # type: ignore[attr-defined]
        ring = await next_event(lambda e: isinstance(e, AgentRinging) and e.call_id == a_id,
                                asterisk_node.failsafe_guard_s + 5)
        x = ring.agent_id  # type: ignore[attr-defined]
        b = phones.caller("13700000022", talk_ms=4_000)  # the failsafe guard is ahead of it
        second = await next_event(lambda e: isinstance(e, CallQueued)
                                  and e.caller == "13700000022", 10)
        b_id = second.call_id  # type: ignore[attr-defined]
        others = [f"agent{n}" for n in (1, 2, 3, 4) if f"agent{n}" != x]
        for agent in others:
            phones.agent(int(agent.removeprefix("agent")), ring_ms=200)
        back = ObservedController(asterisk_node, centre, emit_line=lines.append)
        await back.start()
        # the resync: A in app_queue ringing X, then B waiting, queued
        await back.wait_for(lambda e: isinstance(e, CallQueued) and e.call_id == b_id, 5)
        ready(back, x)  # the one ready agent: B's offer (at once), unless X is known busy
        view = back.router.agent(x)
        assert (view.state, view.reason) == (AgentState.NOT_READY, "failsafe call"), lines
        ready(back, *others)
        offer = await back.wait_for(lambda e: isinstance(e, Offer) and e.call_id == b_id, 10)
        assert not any(isinstance(e, FailsafeTaken) and e.call_id == b_id for e in seen)
        assert offer.agent_id != x, lines  # type: ignore[union-attr]
        await back.wait_for(lambda e: isinstance(e, CallAnswered) and e.call_id == b_id, 8)
        # A hangs up in app_queue, never answered: X is the controller's again
        await back.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == a_id, 20)
        await back.wait_for(lambda e: isinstance(e, AgentStateChanged)
                            and e.agent_id == x and e.new is AgentState.READY, 5)
        for phone in (a, b):
            assert await asyncio.to_thread(phone.wait, 15) == 0, phone.errors()
        logout(back, "agent1", "agent2", "agent3", "agent4")
    finally:
        if back is not None:
            await back.stop()
        await link.close()
        print("\n".join(lines))
        print("\n".join(map(repr, seen)))
