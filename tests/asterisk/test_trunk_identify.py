"""The trunk (endpoint `caller`) is identified by the address calls come from, never by the
From user (#14.8): an INVITE from outside `caller_match` that names itself `caller` is
refused, while calls from the trunk's address reach the hotline as before."""

from __future__ import annotations

import asyncio

import pytest

from hotline.core.settings import Settings
from tests.helpers import testbed
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_a_from_user_named_caller_outside_the_trunk_is_refused(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    assert asterisk_node.caller_match == testbed.TRUNK_ADDRESS
    # From: <sip:caller@127.0.0.2>: the endpoint's own name, from an address outside the match
    outsider = phones.caller("caller", talk_ms=500, host=testbed.OUTSIDE_TRUNK)
    code = await asyncio.to_thread(outsider.wait, 20)
    errors = outsider.errors()
    assert code != 0, "an INVITE from outside the trunk, From user `caller`, was answered"
    # Asterisk's answer to a request no endpoint is identified for: a challenge (401) that no
    # credentials can meet (the trunk has none), or 403
    assert "401 Unauthorized" in errors or "403 Forbidden" in errors, errors

    # the trunk's own address still reaches the hotline, whatever the From user
    for number in ("13300000081", "caller"):
        inside = phones.caller(number, talk_ms=500)
        assert await asyncio.to_thread(inside.wait, 20) == 0, inside.errors()


async def test_agents_are_still_identified_by_their_user_name(
        phones: Phones, asterisk_node: Settings) -> None:
    """An agent's softphone (From its id, on the trunk's address too) is its own endpoint: it
    is challenged, authenticates with its secret and lands in hotline-agent (which has no
    extension `nowhere`: 404)."""
    agent = phones.agent_dial("agent1", "pw1", dial="nowhere", final=404)
    assert await asyncio.to_thread(agent.wait, 20) == 0, agent.errors()
