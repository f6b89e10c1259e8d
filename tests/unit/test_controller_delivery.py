"""The controller's offer-once rules without Asterisk: a real (not started) Controller whose
AMI link and hold sessions are stand-ins recording what it sends where. An offer goes into
the caller's hold session or out as one Redirect; a hold delivery lost with a lease is sent
once more into the next session, not again and again; a Redirect is never followed by a hold
delivery of the same offer. The projection the agent desk reads, and the observer tests use,
are checked here too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest

from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    DtmfReceived,
    IvrChoice,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.observer import ControllerObserver
from hotline.history.desk import DeskProjection
from hotline.process.controller import Controller
from hotline.process.controller.delivery import DeliveryState
from hotline.process.controller.hold_desk import HoldRequest
from hotline.router import Offer
from tests.helpers import testbed

NODE = "n1"


@dataclass
class FakeLink:
    """Stands in for a logged-in AMI link: records the Redirects asked of it."""

    node: str = NODE
    redirects: list[tuple[str, str, str]] = field(default_factory=list)
    originates: list[str] = field(default_factory=list)
    logged_in: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.logged_in.set()

    async def redirect(self, channel: str, context: str, exten: str) -> None:
        self.redirects.append((channel, context, exten))

    async def channels(self) -> list[object]:
        return []

    async def originate(self, dial: str, *args: object, **kwargs: object) -> None:
        self.originates.append(dial)

    async def close(self) -> None:
        pass


@dataclass
class Sessions:
    """Stands in for the hold desk's open sessions: which calls hold one, what each got."""

    open: set[str] = field(default_factory=set)
    offers: list[tuple[str, str]] = field(default_factory=list)

    def offer(self, call_id: str, agent_id: str) -> bool:
        if call_id not in self.open:
            return False
        self.open.discard(call_id)  # our last word ends the session
        self.offers.append((call_id, agent_id))
        return True


@dataclass
class Bed:
    controller: Controller
    link: FakeLink
    sessions: Sessions
    seen: ControllerObserver


@pytest.fixture
async def bed() -> AsyncIterator[Bed]:
    controller = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    link = FakeLink()
    controller.links[NODE] = link  # type: ignore[assignment]
    sessions = Sessions()
    controller.holds.offer = sessions.offer  # type: ignore[method-assign]
    seen = ControllerObserver(controller)
    yield Bed(controller, link, sessions, seen)
    await controller.stop()


def request(call_id: str) -> HoldRequest:
    return HoldRequest(call_id=call_id, node=NODE, channel=f"PJSIP/caller-{call_id}",
                       caller="13900000001", queue="general", service="general", priority=0,
                       queued_at=None)


def session_opens(bed: Bed, call_id: str) -> None:
    """A hold session of the call reaches the controller (the hold desk's on_arrival)."""
    bed.sessions.open.add(call_id)
    bed.controller.holds.on_arrival(request(call_id))


def queue(bed: Bed, call_id: str) -> None:
    bed.controller.handle(CallQueued(bed.controller.clock(), node=NODE, call_id=call_id,
                                     queue="general", service=ServiceType.GENERAL,
                                     caller="13900000001", channel=f"PJSIP/caller-{call_id}"))


def ready(bed: Bed, agent_id: str) -> None:
    bed.controller.agent_command(agent_id, AgentTrigger.LOGIN)
    bed.controller.agent_command(agent_id, AgentTrigger.READY)


async def test_an_offer_goes_into_the_callers_session(bed: Bed) -> None:
    session_opens(bed, "c1")  # the session queues the call
    ready(bed, "agent1")
    assert bed.sessions.offers == [("c1", "agent1")]
    assert bed.controller.delivered == {"hold": 1, "redirect": 0}
    assert bed.link.redirects == []


async def test_without_a_session_an_offer_goes_out_as_one_redirect(bed: Bed) -> None:
    queue(bed, "c1")  # the AMI event, no session (the node's callers never held here)
    ready(bed, "agent1")
    await bed.seen.wait_for(lambda e: isinstance(e, Offer), 1)
    await wait_until(lambda: bed.controller.delivered["redirect"] == 1)
    assert bed.link.redirects == [("PJSIP/caller-c1", "hotline-connect", "agent1")]
    session_opens(bed, "c1")  # a session opening after the Redirect: the offer is not resent
    assert bed.sessions.offers == []
    assert bed.controller.delivered == {"hold": 0, "redirect": 1}


async def test_a_lost_hold_delivery_is_sent_once_more_not_again(bed: Bed) -> None:
    session_opens(bed, "c1")
    ready(bed, "agent1")
    assert bed.sessions.offers == [("c1", "agent1")]
    session_opens(bed, "c1")  # the lease ran out as the offer was written: a new session
    assert bed.sessions.offers == [("c1", "agent1")] * 2
    session_opens(bed, "c1")  # and again: the offer is not sent a third time
    assert bed.sessions.offers == [("c1", "agent1")] * 2
    assert bed.controller.delivered == {"hold": 2, "redirect": 0}
    assert bed.link.redirects == []


async def test_a_ring_or_a_new_offer_starts_delivery_afresh(bed: Bed) -> None:
    session_opens(bed, "c1")
    ready(bed, "agent1")
    now = bed.controller.clock()
    bed.controller.handle(AgentRinging(now, node=NODE, call_id="c1", agent_id="agent1"))
    assert bed.controller._state.deliveries.sent("c1") is None  # the channel acted on it
    bed.controller.handle(RingNoAnswer(now, node=NODE, call_id="c1", agent_id="agent1",
                                       cause=19))
    ready(bed, "agent2")  # agent1 missed it: the call back in line goes to agent2
    session_opens(bed, "c1")  # the requeued caller's session takes the new offer
    assert bed.sessions.offers == [("c1", "agent1"), ("c1", "agent2")]
    assert bed.controller._state.deliveries.sent("c1") == ("agent2", DeliveryState.HELD)
    bed.controller.handle(CallEnded(now, node=NODE, call_id="c1"))
    assert bed.controller._state.deliveries.sent("c1") is None


async def wait_until(predicate, deadline_s: float = 2) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(deadline_s):
        while not predicate():  # noqa: ASYNC110 (the Redirect is a spawned task's)
            await asyncio.sleep(0.005)


async def test_the_observer_wakes_waiters_without_a_task_per_item(bed: Bed) -> None:
    tasks_before = len(asyncio.all_tasks())
    waiter = asyncio.create_task(bed.seen.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.new is AgentState.READY, 1))
    await asyncio.sleep(0)  # the waiter is registered
    bed.controller.agent_command("agent3", AgentTrigger.LOGIN)
    assert len(asyncio.all_tasks()) == tasks_before + 1  # the waiter's own, nothing per item
    bed.controller.agent_command("agent3", AgentTrigger.READY)
    found = await waiter
    assert found.agent_id == "agent3"
    assert await bed.seen.wait_for(lambda e: isinstance(e, AgentStateChanged), 0.1) is (
        bed.seen.history[0])  # seen already: at once
    with pytest.raises(TimeoutError):
        await bed.seen.wait_for(lambda e: isinstance(e, CallEnded), 0.05)
    assert not bed.seen._waiters or all(f.done() for _, f in bed.seen._waiters)


def test_the_desk_projection_keeps_each_agents_recent_calls() -> None:
    desk = DeskProjection(keep_calls=3, keep_per_agent=2)
    t = 1_800_000_000.0
    for n in range(1, 5):
        call = f"c{n}"
        desk.record(CallEntered(t, node=NODE, call_id=call, caller=f"1390000000{n}",
                                dialed="95598", channel=f"PJSIP/caller-{call}"))
        desk.record(IvrChoice(t, node=NODE, call_id=call, menu="main", digit="0"))
        desk.record(CallQueued(t + 1, node=NODE, call_id=call, queue="general",
                               service=ServiceType.GENERAL))
        desk.record(AgentStateChanged(t + 2, agent_id="agent1", old=AgentState.READY,
                                      new=AgentState.RESERVED, call_id=call))
        desk.record(CallAnswered(t + 3, node=NODE, call_id=call, agent_id="agent1"))
        t += 10
    assert [c.call_id for c in desk.recent_calls("agent1")] == ["c3", "c4"]  # bounded
    c4 = desk.call("agent1", "c4")
    assert c4 is not None and c4.caller == "13900000004" and c4.ivr_path == ["main=0"]
    assert c4.answered_at == c4.queued_at + 2 and c4.queue == "general"
    assert c4.service == "general" and c4.entered_at == c4.queued_at - 1
    assert desk.call("agent1", "c1") is None  # older than both bounds
    change = desk.last_change("agent1")
    assert change is not None and change.call_id == "c4"
    assert desk.last_change("agent2") is None
    # a call whose entry was never seen has no context to show
    desk.record(AgentStateChanged(t, agent_id="agent2", old=AgentState.READY,
                                  new=AgentState.RESERVED, call_id="x"))
    assert desk.call("agent2", "x") is None


async def test_a_hold_session_must_be_a_call_ami_showed_on_that_node_and_channel(
        bed: Bed) -> None:
    """The hold desk asks the controller before a session takes any place (docs/security.md):
    a phantom, a stolen call id or an unknown queue is refused."""
    vet = bed.controller.holds.vet
    assert vet is not None
    assert vet(request("ghost")) == "unknown_call"
    queue(bed, "c1")  # the AMI event: the controller follows the call on its channel
    assert vet(request("c1")) is None
    assert vet(replace(request("c1"), channel="PJSIP/caller-other")) == "wrong_channel"
    assert vet(replace(request("c1"), node="elsewhere")) == "wrong_channel"
    assert vet(replace(request("c1"), queue="no-such-queue")) == "queue"


@pytest.mark.parametrize("number", ["1/sip:900@evil.example", "1390,0001", "", "anonymous"])
async def test_a_callback_to_anything_but_a_phone_number_is_refused(
        bed: Bed, number: str) -> None:
    """Issue #14.4: the number goes into the Originate's dial string (PJSIP/{number}@caller):
    the controller queues no callback to anything but a phone number, whatever its caller
    (a work order stored before the API checked it)."""
    from hotline.core.errors import InvalidRequest
    from hotline.core.values import ServiceType

    with pytest.raises(InvalidRequest):
        bed.controller.queue_callback(ServiceType.FAULT, number)
    assert bed.controller.router.waiting() == []
    assert bed.controller.queue_callback(ServiceType.FAULT, "+8613900000001")


@pytest.mark.parametrize("number", ["1/sip:900@evil.example", "1390,0001", "anonymous"])
async def test_a_due_callback_to_anything_but_a_phone_number_is_never_dialled(
        bed: Bed, number: str) -> None:
    """A virtual-hold callback carries the number HotlineCallback gave: whatever brought a bad
    one, it never reaches an Originate; the call ends, refused."""
    from hotline.core.events import CallEnded, Event
    from hotline.process.controller import callbacks
    from hotline.router import CallbackDue

    fed: list[Event] = []
    due = CallbackDue("c-1", "agent1", number, "general", 1.0, None)  # type: ignore[arg-type]
    await callbacks.call_back(bed.controller._state, due, fed.append)
    assert bed.link.originates == []
    [ended] = fed
    assert isinstance(ended, CallEnded) and "not a phone number" in ended.cause_text
    good = CallbackDue("c-2", "agent1", "13500000001", "general", 1.0, None)  # type: ignore[arg-type]
    await callbacks.call_back(bed.controller._state, good, fed.append)
    assert bed.link.originates == ["PJSIP/13500000001@caller"]


async def test_the_callback_key_of_a_caller_who_never_had_the_ivr_is_a_menu_key(
        bed: Bed) -> None:
    """Found by the store outages' kill -9 proof: a caller whose IVR was away (the controller
    restarting) presses the keys meant for the menus (1 for Mandarin) while it waits; the
    controller back found it waiting (resync), took the 1 for the callback key and hung the
    caller up to call back a phone that does not answer calls. A caller a resync queues has
    takes_callback_key False: its keys never ask for a callback; any other caller's may."""
    c = bed.controller
    for call_id, ivr in (("c1", False), ("c2", True)):
        c.handle(CallQueued(c.clock(), node=NODE, call_id=call_id, queue="general",
                            service=ServiceType.GENERAL, caller="13900000001",
                            channel=f"PJSIP/caller-{call_id}", takes_callback_key=ivr))
        c.handle(DtmfReceived(c.clock(), node=NODE, call_id=call_id, digit="1",
                              context="hotline-hold"))
    await wait_until(lambda: len(bed.link.redirects) == 1)
    assert bed.link.redirects == [("PJSIP/caller-c2", "hotline-hold", "1")]
