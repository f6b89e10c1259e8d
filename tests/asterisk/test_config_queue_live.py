"""A queue changed through the API on the real Asterisk: the running controller routes the
next SIPp call by the queue's new required skill, without a restart."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentTrigger
from hotline.router import Offer
from tests.helpers.calls import logout
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_a_required_skill_changed_through_the_api_routes_the_next_call(
        admin: httpx.AsyncClient, controller: ObservedController, phones: Phones) -> None:
    phones.agent(1, ring_ms=300)
    phones.agent(4, ring_ms=300)
    for agent_id in ("agent1", "agent4"):
        controller.agent_command(agent_id, AgentTrigger.LOGIN)
        controller.agent_command(agent_id, AgentTrigger.READY)
    # callers without the IVR wait in general, where agent1 (general 5) would be first;
    # general now asks for complaint >= 3, which only agent4 (complaint 4) has
    r = await admin.put("/api/config/queues/general", json={
        "service": "general", "required": {"complaint": 3}})
    assert r.status_code == 200, r.text
    assert controller.router.queue("general").required == {"complaint": 3}

    caller = phones.caller("13900000707", talk_ms=2000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13900000707", 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    assert queued.queue == "general"  # type: ignore[union-attr]
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    assert answered.agent_id == "agent4"  # type: ignore[union-attr]
    offer = await controller.wait_for(
        lambda e: isinstance(e, Offer) and e.call_id == call_id, 1)
    assert dict(offer.explanation.requirements) == {"complaint": 3}  # type: ignore[union-attr]
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent1", "agent4")
