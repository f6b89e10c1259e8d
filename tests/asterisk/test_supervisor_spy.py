"""A supervisor listens in on a live call (ChanSpy through Originate) on the real Asterisk:
their phone rings, answers, and receives the call's audio. Whisper and barge use the same path
with other ChanSpy options: what the caller's and the agent's ends hear while the supervisor
speaks shows that whisper reaches the agent only, barge both, listen neither."""

from __future__ import annotations

import asyncio
import time

import pytest

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.rtp_ear import rtp_ear
from tests.helpers.waiting import wait_for

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


LOUD = 1_000  # a peak |sample| above this is speech; a-law silence decodes to 8


@pytest.mark.parametrize(("mode", "agent_hears", "caller_hears"), [
    ("listen", False, False),
    ("whisper", True, False),  # the supervisor coaches the agent; the caller hears nothing
    ("barge", True, True),  # the supervisor joins the conversation
])
async def test_the_supervisors_voice_reaches_whom_the_mode_says(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        mode: str, agent_hears: bool, caller_hears: bool) -> None:
    """The caller's and agent1's media are the test's own RTP ends (each sends silence, as a
    phone does, and measures what Asterisk sends it); the supervisor's phone (agent4's)
    speaks SIPp's voice sample once it answers. What each end hears while the supervisor
    speaks shows the ChanSpy mode Asterisk runs."""
    async with rtp_ear() as caller_ear, rtp_ear() as agent_ear:
        phones.agent(1, ring_ms=200, sdp_media_port=agent_ear.port)
        phones.agent(4, ring_ms=200, voice=True)  # the supervisor's phone
        ready(controller, "agent1")
        number = f"1330000010{len(mode)}"
        caller = phones.caller(number, talk_ms=14_000, sdp_media_port=caller_ear.port)
        queued = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == number, 10)
        await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
        talking = time.monotonic()  # both ends hear the other's silence
        await wait_for(lambda: agent_ear.packets(talking) > 25
                       and caller_ear.packets(talking) > 25, 5, "media both ways")
        assert agent_ear.loudest(talking) < LOUD and caller_ear.loudest(talking) < LOUD

        assert await controller.spy("agent4", "agent1", mode) == queued.call_id  # type: ignore[arg-type]
        link = controller.links[testbed.NODE]

        async def supervisor_speaks() -> bool:  # the spy leg is up and sends its voice
            spying = [c for c in await link.channels() if c.application == "ChanSpy"]
            stats = {s.channel.split("-")[0]: s for s in await link.rtp_stats()}
            return bool(spying) and "agent4" in stats and stats["agent4"].rx_packets > 10

        await wait_for(supervisor_speaks, 8, "the supervisor's leg in ChanSpy", interval=0.1)
        speaking = time.monotonic()
        # 4 s of the voice sample (it lasts 6.8 s), as frames reach the agent's end
        await wait_for(lambda: agent_ear.packets(speaking) >= 200
                       and caller_ear.packets(speaking) >= 200, 8, "4 s of media")
        heard = {"agent": agent_ear.loudest(speaking), "caller": caller_ear.loudest(speaking)}
        assert {k: v > LOUD for k, v in heard.items()} == {
            "agent": agent_hears, "caller": caller_hears}, heard

    assert await asyncio.to_thread(caller.wait, 20) == 0, caller.errors()
    logout(controller, "agent1")
