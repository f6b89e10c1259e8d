"""Transfer back to a queue on the real Asterisk: agent1's phone (SIPp) answers a general call
and blind-transfers it with a SIP REFER to *8billing; the same call waits again in the billing
queue, agent1 goes to after-call work, and agent2 (billing) answers the same call id. The call
is offered once (metrics) and recorded as one call with its transfer; each agent's part counts
for that agent (answered, handled, talk, after-call work), the queue's one handled call sums
both parts."""

from __future__ import annotations

import asyncio

import pytest

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CallRequeued,
    Event,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState, AgentTrigger, CallOutcome
from hotline.core.settings import Settings
from hotline.core_ext.select import load_compiled
from hotline.devtools.sipp_phones import start_transferring_agent
from hotline.realtime import Metrics
from hotline.telephony.ami.call_model import Call, CallModel
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_agent_transfers_the_caller_to_the_billing_queue(
    controller: ObservedController, phones: Phones, asterisk_node: Settings
) -> None:
    ctl = controller
    model, calls, metrics = CallModel(), list[Call](), Metrics(kernel=load_compiled("metrics"))
    waiting_at_requeue: list[int] = []  # billing's waiting count right after the transfer

    def observe(item: object) -> None:
        if isinstance(item, Event):
            metrics.apply(item)
            if isinstance(item, CallRequeued):
                waiting_at_requeue.append(
                    metrics.queue_figures("billing", "interval", item.at).waiting_now
                )
            if (call := model.apply(item)) is not None:
                calls.append(call)

    ctl.observe(observe)
    refer_to = f"sip:*8billing@127.0.0.1:{asterisk_node.sip_port}"
    agent1 = start_transferring_agent(
        "agent1",
        testbed.agent_port(1),
        testbed.next_media_port(),
        refer_to=refer_to,
        transfer_ms=1_500,
    )
    phones.started.append(agent1)
    phones.agent(2, ring_ms=300, talk_ms=2_000)
    ready(ctl, "agent1", "agent2")  # agent1: general 5, agent2: general 3 (billing 5)
    caller = phones.caller("13500000021", talk_ms=30_000)
    queued = await ctl.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000021", 10
    )
    call_id = queued.call_id
    first = await ctl.wait_for(lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    assert first.agent_id == "agent1"
    requeued = await ctl.wait_for(
        lambda e: isinstance(e, CallRequeued) and e.call_id == call_id, 10
    )
    assert (requeued.queue, requeued.agent_id) == ("billing", "agent1")
    await ctl.wait_for(
        lambda e: (
            isinstance(e, AgentStateChanged)
            and e.agent_id == "agent1"
            and e.new is AgentState.AFTER_CALL_WORK
        ),
        5,
    )
    offered = await ctl.wait_for(
        lambda e: isinstance(e, CallOffered) and e.call_id == call_id and e.agent_id != "agent1", 5
    )
    assert (offered.agent_id, offered.queue) == ("agent2", "billing")
    second = await ctl.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id and e.agent_id == "agent2",
        10,
    )
    assert second.at > requeued.at
    talk_ended = await ctl.wait_for(
        lambda e: isinstance(e, TalkEnded) and e.call_id == call_id and e.agent_id == "agent2", 10
    )
    await ctl.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    # Both agents finish their wrap-up (wrap_up_s is 0 here: only the command ends it).
    wrap_ends = {}
    for agent_id in ("agent1", "agent2"):
        ctl.agent_command(agent_id, AgentTrigger.END_WRAP_UP)
        wrap_ends[agent_id] = await ctl.wait_for(
            lambda e, a=agent_id: (
                isinstance(e, AgentStateChanged)
                and e.agent_id == a
                and e.old is AgentState.AFTER_CALL_WORK
            ),
            5,
        )
    assert await asyncio.to_thread(agent1.wait, 15) == 0, agent1.errors()
    caller.stop()

    # One call: offered once (in general), answered once, with its transfer on record.
    general = metrics.queue_figures("general", "today", ctl.clock())
    billing = metrics.queue_figures("billing", "today", ctl.clock())
    assert (general.offered, general.answered, billing.offered) == (1, 1, 0)
    assert (general.abandoned, general.answered_within_t, billing.answered) == (0, 1, 0)
    assert waiting_at_requeue == [1]  # the caller waited again, in billing
    # Per agent: agent1's part ended at the transfer, agent2's at its TalkEnded.
    now = ctl.clock()
    a1, a2 = (metrics.agent_figures(a, "today", now) for a in ("agent1", "agent2"))
    parts = {
        "agent1": (a1, requeued.at - first.at, wrap_ends["agent1"].at - requeued.at),
        "agent2": (a2, talk_ended.at - second.at, wrap_ends["agent2"].at - talk_ended.at),
    }
    for agent_id, (fig, talk, acw) in parts.items():
        assert (fig.answered, fig.handled, fig.hold_s) == (1, 1, 0.0), agent_id
        assert fig.talk_s == pytest.approx(talk, abs=0.01), agent_id
        assert fig.acw_s == pytest.approx(acw, abs=0.01), agent_id
    assert a1.talk_s == pytest.approx(1.5, abs=1.0)  # the phone transfers after 1.5 s
    assert a2.talk_s == pytest.approx(2.0, abs=1.0)  # agent2's phone talks 2 s
    # The queue: one handled call whose handle time is both parts together.
    assert (general.handled, billing.handled) == (1, 0)
    assert general.talk_s == pytest.approx(a1.talk_s + a2.talk_s)
    assert general.aht == pytest.approx(a1.talk_s + a2.talk_s + a1.acw_s + a2.acw_s)
    [call] = [c for c in calls if c.call_id == call_id]
    assert (call.outcome, call.transfers, call.agent_id, call.queue) == (
        CallOutcome.ANSWERED,
        1,
        "agent2",
        "billing",
    )
    assert call.answered_at == first.at
    assert "requeued:billing" in [w for _, w in call.timeline], call.timeline
    assert [e.queue for e in ctl.router.explain(call_id)] == ["general", "billing"]
    logout(ctl, "agent1", "agent2")
