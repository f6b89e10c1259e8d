"""Virtual hold on the real Asterisk: a waiting caller presses the callback key and hangs up,
keeps their place, and is called back (Originate) when an agent is free; the callback keeps
the call's id, rings the agent, is answered and recorded."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallQueued,
    TalkEnded,
)
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.router import CallbackDue
from hotline.work_orders.model import link_call
from tests.helpers.calls import assert_recording, logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_caller_on_virtual_hold_is_called_back(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=200, talk_ms=2_000)
    caller = phones.key_caller("13500000001", key=asterisk_node.callback_key,
                               key_delay_ms=1_500, talk_ms=10_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000001", 10)
    call_id = queued.call_id
    request = await controller.wait_for(
        lambda e: isinstance(e, CallbackRequested) and e.call_id == call_id, 8)
    assert request.number == "13500000001"
    # The key reached the controller as DTMFEnd (the hold session swallows digits), which
    # ended the caller's session toward the callback key's extension.
    assert controller.holds.ended["callback"] == 1
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 8)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    # The caller is gone, the place is kept.
    [waiting] = controller.router.waiting()
    assert (waiting.call_id, waiting.callback_number) == (call_id, "13500000001")

    phones.callback_phone(talk_ms=30_000)
    ready(controller, "agent1")
    due = await controller.wait_for(lambda e: isinstance(e, CallbackDue), 5)
    assert (due.call_id, due.agent_id, due.number) == (call_id, "agent1", "13500000001")
    await controller.wait_for(
        lambda e: isinstance(e, AgentRinging) and e.call_id == call_id, 10)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    assert answered.agent_id == "agent1"
    ended = [e for e in controller.history if isinstance(e, CallEnded) and e.call_id == call_id]
    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == call_id and e not in ended, 10)
    assert controller.router.waiting() == []
    await assert_recording(asterisk_node, call_id, min_seconds=1.0)
    logout(controller, "agent1")


async def test_turn_before_the_caller_hung_up_never_double_books_the_agent(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    """The turn can come while the caller still hears "we will call you back" (an agent turns
    free at that moment): the callback waits for that hang-up, and the agent's reservation
    survives it, so the agent is not given another caller meanwhile (found by
    bench.callback)."""
    phones.agent(2, ring_ms=200, talk_ms=1_500)
    phones.callback_phone(talk_ms=30_000)
    phones.key_caller("13500000002", key=asterisk_node.callback_key, key_delay_ms=1_000,
                      talk_ms=10_000)
    asked = await controller.wait_for(lambda e: isinstance(e, CallbackRequested), 10)
    ready(controller, "agent2")  # the turn comes now, before the caller has hung up
    due = await controller.wait_for(lambda e: isinstance(e, CallbackDue), 5)
    assert due.call_id == asked.call_id
    other = phones.caller("13500000003", talk_ms=20_000)  # waits for agent2 meanwhile
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000003", 10)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == asked.call_id, 15)
    assert answered.agent_id == "agent2"
    assert not any(isinstance(e, CallAnswered) and e.call_id == queued.call_id
                   for e in controller.history)  # agent2 was never double-booked
    await controller.wait_for(
        lambda e: isinstance(e, TalkEnded) and e.call_id == asked.call_id, 10)
    controller.agent_command("agent2", AgentTrigger.END_WRAP_UP)
    second = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 10)
    assert second.agent_id == "agent2"
    await controller.wait_for(
        lambda e: isinstance(e, TalkEnded) and e.call_id == queued.call_id, 10)
    assert await asyncio.to_thread(other.wait, 25) == 0, other.errors()
    logout(controller, "agent2")


async def test_work_order_callback_is_a_real_call_to_the_customer(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        conn: asyncpg.Connection) -> None:
    """回访: a replied work order's callback is queued like a call of its service; the agent
    who takes it in turn is connected to the customer's phone, recorded, and the call joins
    the order."""
    from hotline.work_orders import queries as store
    from hotline.work_orders.model import OrderAction, act, create

    order = create(ServiceType.FAULT, "13500000009", "no power", "first-call", "agent1", 0.0)
    for action, text in ((OrderAction.DISPATCH, ""), (OrderAction.ACCEPT, ""),
                         (OrderAction.REPLY, "fuse replaced")):
        order = act(order, action, 1.0, text=text)
    order = await store.save(conn, order)
    phones.agent(3, ring_ms=200, talk_ms=2_000)  # fault 5
    phones.callback_phone(talk_ms=30_000)
    call_id = controller.queue_callback(order.service, order.caller)
    order = await store.save(conn, link_call(order, call_id))
    assert order.call_ids == ("first-call", call_id)
    ready(controller, "agent3")
    due = await controller.wait_for(
        lambda e: isinstance(e, CallbackDue) and e.call_id == call_id, 5)
    assert (due.agent_id, due.number, due.queue) == ("agent3", "13500000009", "fault")
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 15)
    assert answered.agent_id == "agent3"
    await controller.wait_for(
        lambda e: isinstance(e, TalkEnded | CallEnded) and e.call_id == call_id, 10)
    await assert_recording(asterisk_node, call_id, min_seconds=1.0)
    logout(controller, "agent3")
