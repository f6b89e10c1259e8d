"""VIP numbers on the real Asterisk (docs/customer-story.md, "VIP"): a number made VIP through
the configuration API is raised by the running controller's router, so a VIP caller who
arrives after a normal caller is answered first when the agent becomes free."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentTrigger
from hotline.router import VIP_BOOST, Offer
from tests.helpers.calls import held, logout
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk

NORMAL, VIP = "13900000701", "13900000702"


async def test_a_vip_caller_who_arrives_second_is_answered_first(
        admin: httpx.AsyncClient, controller: ObservedController, phones: Phones) -> None:
    r = await admin.put(f"/api/config/vip-numbers/{VIP}", json={"note": "hospital"})
    assert r.status_code == 200, r.text
    assert controller.router.vip_numbers == frozenset({VIP})
    phones.agent(1, ring_ms=300)
    controller.agent_command("agent1", AgentTrigger.LOGIN)  # not ready: both callers wait

    # a caller's talk time runs from the hold session's answer: the normal one waits through
    # the VIP's call
    normal = phones.caller(NORMAL, talk_ms=9000)
    first = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == NORMAL, 10)
    normal_id: str = first.call_id
    await held(controller, normal_id)
    vip = phones.caller(VIP, talk_ms=3000)
    second = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == VIP, 10)
    vip_id: str = second.call_id
    await held(controller, vip_id)
    waiting = controller.router.waiting()
    assert [(w.caller, w.priority) for w in waiting] == [(VIP, VIP_BOOST), (NORMAL, 0)]
    assert waiting[1].enqueued_at < waiting[0].enqueued_at  # the normal caller came first

    controller.agent_command("agent1", AgentTrigger.READY)  # the agent is free
    answered = await controller.wait_for(lambda e: isinstance(e, CallAnswered), 10)
    assert (answered.call_id, answered.agent_id) == (vip_id, "agent1")
    offers = [x for x in controller.history if isinstance(x, Offer)]
    assert [o.call_id for o in offers] == [vip_id]
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == vip_id, 15)

    # then the normal caller, once the agent ends its wrap-up
    await wait_for(lambda: controller.router.agent("agent1").state.value == "after_call_work",
                   5, "agent1 wrapping up")
    controller.agent_command("agent1", AgentTrigger.END_WRAP_UP)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == normal_id, 10)
    assert answered.agent_id == "agent1"
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == normal_id, 15)
    for caller in (vip, normal):
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent1")
