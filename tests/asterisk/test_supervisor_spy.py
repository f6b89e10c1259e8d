"""A supervisor listens in on a live call (ChanSpy through Originate) on the real Asterisk:
their phone rings, answers, and receives the call's audio; whisper and barge use the same path
with other ChanSpy options."""

from __future__ import annotations

import asyncio

import pytest

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_supervisor_listens_to_a_live_call(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=200)
    phones.agent(4, ring_ms=200)  # agent4's phone is the supervisor's here
    ready(controller, "agent1")
    caller = phones.caller("13300000001", talk_ms=8_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13300000001", 10)
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)

    with pytest.raises(LookupError):
        await controller.spy("agent4", "agent2", "listen")  # agent2 is on no call
    assert await controller.spy("agent4", "agent1", "listen") == queued.call_id

    link = controller.links[testbed.NODE]
    async with asyncio.timeout(8):  # the supervisor's leg answers and hears the call
        while True:
            spying = [c for c in await link.channels() if c.application == "ChanSpy"]
            stats = {s.channel.split("-")[0]: s for s in await link.rtp_stats()}
            if spying and "agent4" in stats and stats["agent4"].tx_packets > 0:
                break
            await asyncio.sleep(0.2)  # polling Asterisk's channel list, bounded above
    assert spying[0].channel.startswith("PJSIP/agent4-")

    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
    async with asyncio.timeout(5):  # ChanSpy's E option: the spy leaves with the call
        while True:
            if not any(c.application == "ChanSpy" for c in await link.channels()):
                break
            await asyncio.sleep(0.2)  # polling Asterisk's channel list, bounded above
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent1")
