"""AMI actions with typed results on the real Asterisk: device states of the agents' phones
during and after a call, and a recording stopped and restarted on a live channel."""

from __future__ import annotations

import asyncio
import wave

import pytest

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from hotline.recordings.service import wait_closed
from hotline.telephony.ami.link import AmiActionError
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_device_states_and_recording_control(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    link = controller.links[testbed.NODE]
    before = await link.device_states()
    assert before["PJSIP/agent1"] in {"NOT_INUSE", "UNKNOWN"}
    phones.agent(1, ring_ms=200)
    ready(controller, "agent1")
    caller = phones.caller("13200000001", talk_ms=6_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13200000001", 10)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    assert (await link.device_states())["PJSIP/agent1"] == "INUSE"

    extra = f"{asterisk_node.recordings_dir_in_root}/{queued.call_id}-agent-side.wav"
    await link.start_recording(answered.channel, extra)
    with pytest.raises(AmiActionError):
        await link.stop_recording("PJSIP/nobody-00000000")  # the server said no, typed
    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    path = asterisk_node.recordings_dir / f"{queued.call_id}-agent-side.wav"
    await wait_closed(path, deadline_s=10)
    with wave.open(str(path)) as w:
        assert w.getnframes() / w.getframerate() > 1.0
    async with asyncio.timeout(5):
        while True:
            if (await link.device_states())["PJSIP/agent1"] == "NOT_INUSE":
                break
            await asyncio.sleep(0.1)  # polling Asterisk's device state, bounded above
    logout(controller, "agent1")
