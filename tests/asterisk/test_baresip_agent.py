"""A desk softphone as an agent's phone on the real Asterisk: Debian's baresip registers as
agent8 (plain SIP over UDP, its own secret), the agent goes ready, a SIPp caller is routed to
it, baresip answers by itself, RTP flows both ways (Asterisk's channel statistics), and the
call ends when the caller hangs up, with the agent in after-call work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from tests.helpers import testbed
from tests.helpers.baresip import Baresip, start_baresip
from tests.helpers.calls import logout, media_flows, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.softphones import (
    endpoint_option,
    observed_controller,
    registered,
    registering_agent,
    with_agents,
)

pytestmark = pytest.mark.asterisk
AGENT = testbed.BARESIP_AGENT
SECRET = "pw8-baresip-desk"


@pytest.fixture
def baresip_centre(asterisk_node: Settings, centre: Centre) -> Iterator[Centre]:
    with with_agents(asterisk_node, centre, registering_agent(AGENT, SECRET)) as grown:
        yield grown


@pytest.fixture
async def desk(asterisk_node: Settings, baresip_centre: Centre,
               agi_scripts: dict[str, Any]) -> AsyncIterator[ObservedController]:
    async with observed_controller(asterisk_node, baresip_centre, agi_scripts,
                                   ring_timeout_s=10) as ctl:
        yield ctl


@pytest.fixture
def phone(asterisk_node: Settings) -> Iterator[Baresip]:
    p = start_baresip(AGENT, SECRET, f"127.0.0.1:{asterisk_node.sip_port}",
                      testbed.agent_port(8), testbed.next_media_port())
    yield p
    p.stop()
    print(p.log[-3000:])  # shown in a failing test's report


async def test_baresip_answers_a_routed_call(desk: ObservedController, phone: Baresip,
                                             phones: Phones, asterisk_node: Settings) -> None:
    # a plain SIP/RTP endpoint, like the SIPp agents'
    assert endpoint_option(asterisk_node, AGENT, "webrtc") == "no"
    assert endpoint_option(asterisk_node, AGENT, "media_encryption") == "no"
    await registered(asterisk_node, AGENT, 10)
    ready(desk, AGENT)
    try:
        phones.caller("13500000081", talk_ms=8_000)
        queued = await desk.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13500000081", 10)
        answered = await desk.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 10)
        assert answered.agent_id == AGENT
        agent_rx, caller_rx = await media_flows(desk.links[asterisk_node.node_name], AGENT, 10)
        print("asterisk: agent leg received", agent_rx, "caller leg received", caller_rx)
        await desk.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id,
                            15)
        assert desk.router.agent(AGENT).state is AgentState.AFTER_CALL_WORK
        assert phone.proc.poll() is None  # still running, still registered
        assert "Call established" in phone.log or "established" in phone.log.lower()
    finally:
        logout(desk, AGENT)
