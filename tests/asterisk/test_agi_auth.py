"""FastAGI peers on the real Asterisk (docs/security.md): the node's own dialplan passes its
secret and its calls go through IVR, hold and to an agent; a connection without the secret,
or with it for a call the controller never saw, gets no session and no place in line."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from hotline.router import Offer
from tests.helpers import testbed
from tests.helpers.calls import held, logout, of_caller, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

PHANTOM = "1700000000.999"


async def phantom_hold(settings: Settings, key: str | None, *args: str) -> bytes:
    """What a stranger on the AGI port sends: a hold session of its own invention; returns
    what the controller answers before it closes (b"": nothing, the session is refused)."""
    reader, writer = await asyncio.open_connection(settings.bind_host, settings.agi_port)
    script = "hold" if key is None else f"hold?key={key}"
    env = ["agi_network: yes", f"agi_network_script: {script}",
           "agi_channel: PJSIP/caller-7fffffff", "agi_callerid: 13900009999"]
    env += [f"agi_arg_{n}: {a}" for n, a in enumerate(args, start=1)]
    writer.write(("\n".join(env) + "\n\n").encode())
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_a_stranger_on_the_agi_port_gets_no_place_while_calls_go_through(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    phones.agent(1, ring_ms=300)
    # the phantom: no secret, an unbounded priority, queued since the dawn of time
    assert await phantom_hold(asterisk_node, None, PHANTOM, testbed.NODE, "general",
                              "general", str(10**9), "-inf") == b""
    assert "refused (secret" in caplog.text
    # the node's secret (leaked, say) but a call AMI never showed: no place either
    assert await phantom_hold(asterisk_node, asterisk_node.agi_secret, PHANTOM, testbed.NODE,
                              "general", "general", "0", f"{time.time():.6f}") == b""
    assert controller.holds.refused["unknown_call"] == 1

    # a real call: IVR, hold (the dialplan passes the secret), the agent answers
    caller = phones.caller("13900000001", talk_ms=2000)
    queued = await controller.wait_for(of_caller("13900000001"), 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    await held(controller, call_id, 10)  # its session, opened with the dialplan's secret
    ready(controller, "agent1")  # now the offer goes into that session
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    assert answered.agent_id == "agent1"  # type: ignore[union-attr]
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 10)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    assert controller.delivered["hold"] == 1  # through the caller's own hold session
    assert controller.holds.refused["unknown_call"] == 1  # the phantom's alone
    assert not any(isinstance(e, CallQueued | Offer) and e.call_id == PHANTOM
                   for e in controller.history)
    logout(controller, "agent1")
