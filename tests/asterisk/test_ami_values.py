"""Numbers and names that reach AMI and the dialplan, on the real Asterisk (issue #14.4): a
caller id with a comma adds no UserEvent headers, a transfer target that is not a queue name
does not rewrite the hold session's arguments, a withheld number cannot ask for a callback
but keeps its place, and the AMI user may not run what the controller does not use."""

from __future__ import annotations

import asyncio
import io

import pytest

from hotline.core.events import (
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallQueued,
    CallRequeued,
)
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import start_transferring_agent
from hotline.telephony.ami.codec import AmiCodec
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk

#: What the HotlineEntered UserEvent carries: Asterisk's channel headers plus ours.
OURS = {"Caller", "Dialed"}


async def test_a_comma_in_the_caller_id_adds_no_userevent_headers(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    link = controller.links[testbed.NODE]
    tap = io.BytesIO()
    link.tap = tap
    try:
        phones.caller("1390,Queue,0001", talk_ms=4_000)
        entered = await controller.wait_for(lambda e: isinstance(e, CallEntered), 10)
        queued = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.call_id == entered.call_id, 10)
    finally:
        link.tap = None
    # withheld as far as the hotline goes: no part of the raw id reaches an event
    assert entered.caller == "" and queued.caller == ""
    events, _ = AmiCodec().feed_split(tap.getvalue())
    [user] = [e for e in events if e.get("Event") == "UserEvent"
              and e.get("UserEvent") == "HotlineEntered"]
    [plain] = [e for e in events if e.get("Event") == "Newchannel"
               and e.get("Uniqueid") == entered.call_id]
    # the UserEvent has the channel's headers and ours, nothing the caller id made up
    extra = set(dict(user)) - set(dict(plain)) - OURS - {"Event", "UserEvent"}
    assert extra == set(), (extra, dict(user))
    assert user.get("Caller") == ""
    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == entered.call_id, 10)


async def test_a_transfer_target_that_is_not_a_queue_name_is_refused(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    """*8x,ast2,general,100,0 would put ',' into the hold session's arguments (node,
    priority, queued time): the dialplan refuses it and the caller waits again, in its own
    queue, with its own node and priority, and is answered."""
    ctl = controller
    refer_to = f"sip:*8x,ast2,general,100,0@127.0.0.1:{asterisk_node.sip_port}"
    agent1 = start_transferring_agent("agent1", testbed.agent_port(1),
                                      testbed.next_media_port(), refer_to=refer_to,
                                      transfer_ms=1_500)
    phones.started.append(agent1)
    ready(ctl, "agent1")
    phones.caller("13500000041", talk_ms=30_000)
    queued = await ctl.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000041", 10)
    call_id = queued.call_id
    await ctl.wait_for(lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    requeued = await ctl.wait_for(
        lambda e: isinstance(e, CallRequeued) and e.call_id == call_id, 10)
    assert requeued.queue == "general"  # the queue it came from
    # a hold session opens for it again, with the true node, queue and priority
    await wait_for(lambda: ctl.holds.holds(call_id), 10)
    held = ctl.holds._held[call_id].request
    assert (held.node, held.queue, held.service, held.priority) == (
        testbed.NODE, "general", "general", queued.priority)
    [waiting] = [w for w in ctl.router.waiting() if w.call_id == call_id]
    assert waiting.queue == "general"
    phones.agent(2, ring_ms=300, talk_ms=2_000)
    ready(ctl, "agent2")
    answered = await ctl.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id
        and e.agent_id == "agent2", 15)
    assert answered.at > requeued.at
    await ctl.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    logout(ctl, "agent1", "agent2")


async def test_a_withheld_number_cannot_ask_for_a_callback_and_keeps_its_place(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    """The callback key from a caller whose number is withheld: no callback request (it
    could not be placed), the caller is told so, waits on in the same place and is answered
    when an agent is free."""
    caller = phones.key_caller("anonymous", key=asterisk_node.callback_key,
                               key_delay_ms=1_500, talk_ms=25_000)
    entered = await controller.wait_for(lambda e: isinstance(e, CallEntered), 10)
    assert entered.caller == ""
    call_id = entered.call_id
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.call_id == call_id, 10)
    await wait_for(lambda: controller.holds.holds(call_id), 10)
    first = controller.holds._held[call_id].request
    await wait_for(lambda: controller.holds.ended["callback"] == 1, 10)
    # told "no callback" (a few seconds), then held again: a new session, same place
    await wait_for(lambda: controller.holds.holds(call_id), 15)
    held = controller.holds._held[call_id].request
    assert held is not first and held.queued_at == first.queued_at
    [waiting] = [w for w in controller.router.waiting() if w.call_id == call_id]
    assert waiting.callback_number in ("", None)
    assert waiting.enqueued_at == queued.at
    assert not any(isinstance(e, CallbackRequested) for e in controller.history)
    phones.agent(1, ring_ms=200, talk_ms=2_000)
    ready(controller, "agent1")
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 15)
    assert answered.agent_id == "agent1"
    assert await asyncio.to_thread(caller.wait, 30) == 0, caller.errors()
    logout(controller, "agent1")


async def test_the_ami_user_may_not_forge_events_or_write_config(
        controller: ObservedController, asterisk_node: Settings) -> None:
    """manager.conf gives the AMI user only the write classes its actions need: a UserEvent
    (which could forge a HotlineCallback) and UpdateConfig (which could write a dialplan) are
    refused by Asterisk itself; the actions the controller uses still work."""
    link = controller.links[testbed.NODE]
    forged = await link._ask("UserEvent", UserEvent="HotlineCallback", Queue="general",
                             Number="13500000099")
    assert forged.refused and "permission denied" in forged.message.lower(), forged
    config = await link._ask("UpdateConfig", SrcFilename="hl-none.conf",
                             DstFilename="hl-none.conf", Reload="no")
    assert config.refused and "permission denied" in config.message.lower(), config
    # what the link sends, one of each class: system, call, and the test bed's command
    await link.db_put("hotline", "probe", "1")
    assert await link.db_get("hotline", "probe") == "1"
    assert isinstance(await link.device_states(), dict)
    assert isinstance(await link.rtp_stats(), list)
