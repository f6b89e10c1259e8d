"""Transfer back to a queue on the real Asterisk: agent1's phone (SIPp) answers a general call
and blind-transfers it with a SIP REFER to *8billing; the same call waits again in the billing
queue, agent1 goes to after-call work, and agent2 (billing) answers the same call id. The call
is offered once (metrics) and recorded as one call with its transfer."""

from __future__ import annotations

import asyncio

import pytest

from hotline.controller import Controller
from hotline.domain import (
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallOutcome,
    CallQueued,
    CallRequeued,
    Event,
    TalkEnded,
)
from hotline.realtime import Metrics
from hotline.settings import Settings
from hotline.sipp_phones import start_transferring_agent
from hotline.telephony.call_model import Call, CallModel
from tests import testbed
from tests.conftest import Phones
from tests.test_first_call import logout, ready

pytestmark = pytest.mark.asterisk


async def test_agent_transfers_the_caller_to_the_billing_queue(
        controller: Controller, phones: Phones, asterisk_node: Settings) -> None:
    ctl = controller
    model, calls, metrics = CallModel(), list[Call](), Metrics()

    def observe(item: object) -> None:
        if isinstance(item, Event):
            metrics.apply(item)
            if (call := model.apply(item)) is not None:
                calls.append(call)

    ctl.observe(observe)
    refer_to = f"sip:*8billing@127.0.0.1:{asterisk_node.sip_port}"
    agent1 = start_transferring_agent("agent1", testbed.agent_port(1), testbed.next_media_port(),
                                      refer_to=refer_to, transfer_ms=1_500)
    phones.started.append(agent1)
    phones.agent(2, ring_ms=300, talk_ms=2_000)
    ready(ctl, "agent1", "agent2")  # agent1: general 5, agent2: general 3 (billing 5)
    caller = phones.caller("13500000021", talk_ms=30_000)
    queued = await ctl.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000021", 10)
    call_id = queued.call_id
    first = await ctl.wait_for(lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    assert first.agent_id == "agent1"
    requeued = await ctl.wait_for(
        lambda e: isinstance(e, CallRequeued) and e.call_id == call_id, 10)
    assert (requeued.queue, requeued.agent_id) == ("billing", "agent1")
    await ctl.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent1"
        and e.new is AgentState.AFTER_CALL_WORK, 5)
    offered = await ctl.wait_for(
        lambda e: isinstance(e, CallOffered) and e.call_id == call_id and e.agent_id != "agent1",
        5)
    assert (offered.agent_id, offered.queue) == ("agent2", "billing")
    second = await ctl.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id
        and e.agent_id == "agent2", 10)
    assert second.at > requeued.at
    await ctl.wait_for(
        lambda e: isinstance(e, TalkEnded) and e.call_id == call_id and e.agent_id == "agent2",
        10)
    await ctl.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    assert await asyncio.to_thread(agent1.wait, 15) == 0, agent1.errors()
    caller.stop()

    # One call: offered once (in general), answered once, with its transfer on record.
    general = metrics.queue_figures("general", "today", ctl.clock())
    billing = metrics.queue_figures("billing", "today", ctl.clock())
    assert (general.offered, general.answered, billing.offered) == (1, 1, 0)
    [call] = [c for c in calls if c.call_id == call_id]
    assert (call.outcome, call.transfers, call.agent_id, call.queue) == (
        CallOutcome.ANSWERED, 1, "agent2", "billing")
    assert call.answered_at == first.at
    assert "requeued:billing" in [w for _, w in call.timeline], call.timeline
    assert [e.queue for e in ctl.router.explain(call_id)] == ["general", "billing"]
    logout(ctl, "agent1", "agent2")
