"""Configuration on the real Asterisk: an agent created through the API gets its pjsip
endpoint and its failsafe-queue membership by a reload (same Asterisk pid), logs in, turns
ready, and answers a call; deactivated, it is gone from Asterisk again."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hotline.centre.service import FAILSAFE_QUEUE
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import start_agent
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed
from tests.helpers.calls import logout
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

AGENT = testbed.CONFIG_AGENT


async def failsafe_members(link: AmiLink) -> set[str]:
    return {m.location for m in await link.queue_members(FAILSAFE_QUEUE)}


async def test_an_agent_created_through_the_api_answers_a_call_without_a_restart(
        admin: httpx.AsyncClient, controller: ObservedController, asterisk_node: Settings) -> None:
    link = controller.links[testbed.NODE]
    pid = asterisk_box.status(asterisk_node).pid
    assert await link.pjsip_endpoint(AGENT) is None
    port = testbed.agent_port(9)
    r = await admin.post("/api/config/agents", json={
        "id": AGENT, "name": "Agent 9", "secret": "pw9-secret",
        "contact": f"sip:{AGENT}@127.0.0.1:{port}", "skills": {"general": 5}})
    assert r.status_code == 201, r.text
    assert r.json()["asterisk"] == {testbed.NODE: "reloaded"}

    endpoint = await link.pjsip_endpoint(AGENT)
    assert endpoint is not None and endpoint["Context"] == "hotline-agent"
    assert f"PJSIP/{AGENT}" in await failsafe_members(link)
    assert asterisk_box.status(asterisk_node).pid == pid  # reloaded, not restarted

    phone = start_agent(AGENT, port, testbed.next_media_port(), ring_ms=200)
    caller = None
    try:
        controller.agent_command(AGENT, AgentTrigger.LOGIN)
        controller.agent_command(AGENT, AgentTrigger.READY)
        phones = Phones(asterisk_node)
        caller = phones.caller("13900000909", talk_ms=3000)
        queued = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13900000909", 10)
        call_id = queued.call_id  # type: ignore[union-attr]
        answered = await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
        assert answered.agent_id == AGENT  # type: ignore[union-attr]
        await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id,
                                  15)
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    finally:
        if caller is not None:
            caller.stop()
        phone.stop()
    logout(controller, AGENT)

    r = await admin.delete(f"/api/config/agents/{AGENT}")
    assert r.status_code == 200, r.text
    assert await link.pjsip_endpoint(AGENT) is None
    assert f"PJSIP/{AGENT}" not in await failsafe_members(link)
    assert await link.pjsip_endpoint("agent1") is not None  # the others stay
    assert asterisk_box.status(asterisk_node).pid == pid
