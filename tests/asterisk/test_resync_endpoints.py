"""Agents' phones and AstDB after a reconnect: what resync reads besides the channels.

Pure part: which EndpointStatus a resync replays, and the heartbeat's age. Real Asterisk:
DBPut / DBGet; an agent phone that Asterisk qualifies (OPTIONS every second) stops, the router
stops offering it calls and says why; and the same change made while the controller's AMI link
is down is applied by the resync after the reconnect, both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    EndpointStatus,
)
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess, start_agent
from hotline.process.controller.reconcile import (
    HEARTBEAT_FAMILY,
    HEARTBEAT_KEY,
    endpoint_events,
    heartbeat_age,
)
from hotline.router import UNREACHABLE, Offer
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from hotline.telephony.node.render import pjsip_agents
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

NOW = 1_000.0

# --- pure ------------------------------------------------------------------------------------


def test_only_changed_reachability_is_replayed() -> None:
    live = {"agent1": False, "agent2": True, "agent3": True, "caller": True}
    known = {"agent1": True, "agent2": True}  # agent3 never heard of from this node
    events = endpoint_events("n1", live, known, ["agent1", "agent2", "agent3", "agent4"], NOW)
    assert events == [
        EndpointStatus(NOW, node="n1", endpoint="agent1", reachable=False),
        EndpointStatus(NOW, node="n1", endpoint="agent3", reachable=True),
    ]  # agent2 unchanged, agent4 not reported by the node, "caller" no agent


def test_heartbeat_age() -> None:
    assert heartbeat_age("990", NOW) == 10.0
    assert heartbeat_age(None, NOW) is None
    assert heartbeat_age("", NOW) is None
    assert heartbeat_age("garbage", NOW) is None


# --- real Asterisk ---------------------------------------------------------------------------

QUALIFIED = "agent1"  # most skilled for "general": the router's first choice when ready


async def test_db_put_then_get(controller: ObservedController) -> None:
    link = controller.links[testbed.NODE]
    await link.db_put("hotline-test", "answer", "42")
    assert await link.db_get("hotline-test", "answer") == "42"
    await link.db_put("hotline-test", "answer", "43 and more")
    assert await link.db_get("hotline-test", "answer") == "43 and more"
    assert await link.db_get("hotline-test", "never-written") is None
    beat = await link.db_get(HEARTBEAT_FAMILY, HEARTBEAT_KEY)  # the controller's own
    age = heartbeat_age(beat, controller.clock())
    assert age is not None and -1.0 <= age <= 3.0


def agent_phone(phones: Phones, n: int) -> SippProcess:
    """A SIPp agent that also answers OPTIONS: reachable to qualify while it runs."""
    phone = start_agent(
        f"agent{n}",
        testbed.agent_port(n),
        testbed.next_media_port(),
        ring_ms=300,
        answer_options=True,
    )
    phones.started.append(phone)
    return phone


async def write_agents(
    link: AmiLink, settings: Settings, centre: Centre, qualify: dict[str, float]
) -> None:
    etc = asterisk_box.root_dir(settings) / "etc/asterisk"
    (etc / "pjsip_agents.conf").write_text(pjsip_agents(centre.agents, qualify))
    await link.reload_module("res_pjsip.so")


@pytest.fixture
async def side_link(asterisk_node: Settings) -> AsyncIterator[AmiLink]:
    """A second AMI connection of the test's own: Asterisk's view while the controller's
    link is down."""
    link = AmiLink(asterisk_node)
    await link.connect()
    yield link
    await link.close()


@pytest.fixture
async def qualified(
    asterisk_node: Settings, centre: Centre, side_link: AmiLink
) -> AsyncIterator[None]:
    """agent1's contact qualified every second (the test bed's phones are not otherwise)."""
    await write_agents(side_link, asterisk_node, centre, {QUALIFIED: 1.0})
    yield
    await write_agents(side_link, asterisk_node, centre, {})


def newer(controller: ObservedController, match: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """`match`, for items recorded from now on only."""
    seen = {id(item) for item in controller.history}
    return lambda item: id(item) not in seen and match(item)


def went(agent_id: str, state: AgentState, reason: str = "") -> Callable[[Any], bool]:
    return lambda e: (
        isinstance(e, AgentStateChanged)
        and e.agent_id == agent_id
        and e.new is state
        and e.reason == reason
    )


def phone_is(agent_id: str, reachable: bool) -> Callable[[Any], bool]:
    return lambda e: (
        isinstance(e, EndpointStatus) and e.endpoint == agent_id and e.reachable is reachable
    )


async def asterisk_sees(link: AmiLink, agent_id: str, reachable: bool, deadline_s: float) -> None:
    async with asyncio.timeout(deadline_s):
        while True:
            if (await link.endpoint_reachability()).get(agent_id) is reachable:
                return
            await asyncio.sleep(0.1)  # polling Asterisk's own state, bounded above


pytestmark = pytest.mark.asterisk


@pytest.mark.usefixtures("qualified")
async def test_unreachable_phone_is_not_offered_and_the_explanation_says_why(
    controller: ObservedController, phones: Phones
) -> None:
    phone = agent_phone(phones, 1)
    await controller.wait_for(phone_is(QUALIFIED, True), 10)
    phones.agent(2)
    ready(controller, QUALIFIED, "agent2")

    gone = newer(controller, went(QUALIFIED, AgentState.NOT_READY, UNREACHABLE))
    phone.stop()  # the next OPTIONS goes unanswered
    await controller.wait_for(gone, 10)
    assert controller.router.unreachable() == [QUALIFIED]

    caller = phones.caller("13600000001", talk_ms=2_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13600000001", 10
    )
    offer = await controller.wait_for(
        lambda e: isinstance(e, Offer) and e.call_id == queued.call_id, 5
    )
    assert offer.agent_id == "agent2"
    verdict = offer.explanation.verdict(QUALIFIED)
    assert verdict is not None and verdict.detail == "not_ready (unreachable)"
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8
    )
    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15
    )
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()

    back = newer(controller, went(QUALIFIED, AgentState.READY))
    agent_phone(phones, 1)
    await controller.wait_for(back, 10)  # it was ready: ready again
    assert controller.router.unreachable() == []
    logout(controller, QUALIFIED, "agent2")


@pytest.mark.usefixtures("qualified")
async def test_reachability_changed_while_disconnected_is_resynced(
    asterisk_node: Settings,
    centre: Centre,
    phones: Phones,
    side_link: AmiLink,
    loop_errors: list[dict[str, Any]],
) -> None:
    # A slow reconnect, so that the phone's change surely falls while the link is down.
    settings = asterisk_node.model_copy(update={"ami_reconnect_base_s": 6.0,
                                                "ami_reconnect_max_s": 6.0})
    lines: list[str] = []
    ctl = ObservedController(settings, centre, emit_line=lines.append)
    phone = agent_phone(phones, 1)
    await asterisk_sees(side_link, QUALIFIED, True, 10)
    await ctl.start()
    link = ctl.links[testbed.NODE]
    try:
        await ctl.wait_for(phone_is(QUALIFIED, True), 10)  # read at the first resync
        ready(ctl, QUALIFIED)

        for reachable, change in ((False, phone.stop), (True, lambda: agent_phone(phones, 1))):
            logins = link.logins
            link._manager.protocol.transport.close()  # the AMI link drops
            await asyncio.wait_for(_down(link), 5)
            change()
            await asterisk_sees(side_link, QUALIFIED, reachable, 5)
            assert not link.logged_in.is_set(), "the change must fall while disconnected"
            if reachable:
                want = went(QUALIFIED, AgentState.READY)  # restored: it was ready before
            else:
                want = went(QUALIFIED, AgentState.NOT_READY, UNREACHABLE)
            applied = newer(ctl, want)
            await asyncio.wait_for(link.logged_in.wait(), 15)
            assert link.logins == logins + 1
            await ctl.wait_for(applied, 5)
            assert ctl.router.unreachable() == ([] if reachable else [QUALIFIED])

        # Down for longer than the failsafe guard: resync saw the stale heartbeat and
        # wrote a fresh one at once.
        assert any("heartbeat was" in line for line in lines), lines
        age = heartbeat_age(await side_link.db_get(HEARTBEAT_FAMILY, HEARTBEAT_KEY), ctl.clock())
        assert age is not None and age <= 2.0
        logout(ctl, QUALIFIED)
    finally:
        await ctl.stop()
        print("\n".join(lines))


async def _down(link: AmiLink) -> None:
    # the transport's close reaches the protocol on a later turn of the loop
    await wait_for(lambda: not link.logged_in.is_set(), 5, "the AMI link noticing it is down")
