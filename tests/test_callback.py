"""Virtual hold on the real Asterisk: a waiting caller presses the callback key and hangs up,
keeps their place, and is called back (Originate) when an agent is free; the callback keeps
the call's id, rings the agent, is answered and recorded."""

from __future__ import annotations

import asyncio

import pytest

from hotline.controller import Controller
from hotline.domain import (
    AgentRinging,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallQueued,
)
from hotline.router import CallbackDue
from hotline.settings import Settings
from tests.conftest import Phones
from tests.test_first_call import assert_recording, logout, ready

pytestmark = pytest.mark.asterisk


async def test_caller_on_virtual_hold_is_called_back(
        controller: Controller, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=200, talk_ms=2_000)
    caller = phones.key_caller("13500000001", key=asterisk_node.callback_key,
                               key_delay_ms=1_500, talk_ms=10_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000001", 10)
    call_id = queued.call_id
    request = await controller.wait_for(
        lambda e: isinstance(e, CallbackRequested) and e.call_id == call_id, 8)
    assert request.number == "13500000001"
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
    assert_recording(asterisk_node, call_id, min_seconds=1.0)
    logout(controller, "agent1")
