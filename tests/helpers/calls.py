"""What the real-Asterisk tests do around a call: agents logged in and out through the
controller, waiting for a caller's hold session or its media, checking its recording. Every
wait has a deadline."""

from __future__ import annotations

import wave

from hotline.core.events import CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.process.controller import Controller
from hotline.recordings.service import wait_closed
from hotline.telephony.ami.link import AmiLink
from tests.helpers.phones import recording_of
from tests.helpers.waiting import wait_for


def ready(controller: Controller, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        controller.agent_command(agent_id, AgentTrigger.LOGIN)
        controller.agent_command(agent_id, AgentTrigger.READY)


def logout(controller: Controller, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        view = controller.router.agent(agent_id)
        if view.state is AgentState.AFTER_CALL_WORK:
            controller.agent_command(agent_id, AgentTrigger.END_WRAP_UP)
        if controller.router.agent(agent_id).state is AgentState.READY:
            controller.agent_command(agent_id, AgentTrigger.NOT_READY, "end of test")
        if controller.router.agent(agent_id).state is AgentState.NOT_READY:
            controller.agent_command(agent_id, AgentTrigger.LOGOUT)


async def held(controller: Controller, call_id: str, deadline_s: float = 5) -> None:
    """Until the caller's FastAGI hold session is open at the controller (the desk has no
    event to wait on)."""
    await wait_for(lambda: controller.holds.holds(call_id), deadline_s,
                   f"{call_id}'s hold session open", interval=0.02)


def of_caller(caller: str):  # type: ignore[no-untyped-def]
    def match(item: object) -> bool:
        return isinstance(item, CallQueued) and item.caller == caller
    return match


async def media_flows(link: AmiLink, agent_id: str, deadline_s: float) -> tuple[int, int]:
    """Waits until both the caller's and the agent's channel have received and sent RTP."""
    async def flowing() -> tuple[int, int] | None:
        stats = await link.rtp_stats()
        agent = [s for s in stats if s.channel.startswith(f"{agent_id}-")]
        caller = [s for s in stats if s.channel.startswith("caller-")]
        if agent and caller and min(agent[0].rx_packets, agent[0].tx_packets,
                                    caller[0].rx_packets, caller[0].tx_packets) > 0:
            return agent[0].rx_packets, caller[0].rx_packets
        return None

    return await wait_for(flowing, deadline_s, "RTP both ways", interval=0.1)


async def assert_recording(settings: Settings, call_id: str, min_seconds: float) -> None:
    """The answered call's recording exists and, once Asterisk has closed it (the hang-up
    reaches us a moment before MixMonitor writes the WAV header), lasts `min_seconds`."""
    path = recording_of(settings, call_id)
    assert path.exists(), f"no recording for answered call {call_id}"
    await wait_closed(path, deadline_s=10)
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds >= min_seconds, f"recording of {call_id} is only {seconds:.2f}s"


__all__ = ["assert_recording", "held", "logout", "media_flows", "of_caller", "ready"]
