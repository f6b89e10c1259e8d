"""Two Asterisk nodes, one controller, one queue order: a caller on node B is never overtaken
by a later caller on node A, and every event says which node it came from."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import AsteriskNode, Settings
from hotline.router import Offer
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def second_node(asterisk_node: Settings, centre: Centre) -> Iterator[Settings]:
    settings = testbed.second_node_settings(asterisk_node)
    asterisk_box.stop(settings)
    asterisk_box.start(settings, centre.agents)
    yield settings
    asterisk_box.stop(settings)


async def test_one_queue_order_across_two_nodes(
        asterisk_node: Settings, second_node: Settings, centre: Centre, phones: Phones,
        loop_errors: list[dict[str, Any]]) -> None:
    both = asterisk_node.model_copy(update={"other_nodes": [
        AsteriskNode(name=second_node.node_name, ami_port=second_node.ami_port,
                     ami_user=second_node.ami_user, ami_secret=second_node.ami_secret)]})
    lines: list[str] = []
    controller = ObservedController(both, centre, emit_line=lines.append)
    await controller.start()
    try:
        assert set(controller.links) == {asterisk_node.node_name, second_node.node_name}
        on_b = phones.caller("13600000001", talk_ms=8_000, sip_port=second_node.sip_port)
        q_b = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13600000001", 10)
        on_a = phones.caller("13600000002", talk_ms=12_000)
        q_a = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13600000002", 10)
        assert (q_b.node, q_a.node) == (second_node.node_name, asterisk_node.node_name)
        assert q_b.call_id.startswith(second_node.node_name + "-")
        assert [w.call_id for w in controller.router.waiting()] == [q_b.call_id, q_a.call_id]

        phones.agent(2, ring_ms=200)
        phones.agent(3, ring_ms=200)
        ready(controller, "agent2")  # one agent: the earlier caller, on node B, goes first
        first = await controller.wait_for(lambda e: isinstance(e, Offer), 5)
        assert first.call_id == q_b.call_id
        answered_b = await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == q_b.call_id, 8)
        assert (answered_b.agent_id, answered_b.node) == ("agent2", second_node.node_name)

        ready(controller, "agent3")
        answered_a = await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == q_a.call_id, 8)
        assert (answered_a.agent_id, answered_a.node) == ("agent3", asterisk_node.node_name)
        for q in (q_b, q_a):
            await controller.wait_for(
                lambda e, q=q: isinstance(e, CallEnded) and e.call_id == q.call_id, 15)
        for phone in (on_b, on_a):
            assert await asyncio.to_thread(phone.wait, 10) == 0, phone.errors()
        logout(controller, "agent2", "agent3")
    finally:
        await controller.stop()
        print("\n".join(lines))
