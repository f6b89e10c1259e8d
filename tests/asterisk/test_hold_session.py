"""Callers held in FastAGI sessions on the real Asterisk: what happens to them when the
controller stops, its event loop stalls, or its AMI link drops (the failsafe, or a new hold)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued, FailsafeTaken
from hotline.core.settings import Settings
from hotline.process.controller.hold_desk import HoldRequest
from hotline.router import Offer
from hotline.telephony.agi.server import Handler
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from tests.helpers.calls import held, logout, of_caller, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for_sync
from tests.helpers.watcher import Watcher

pytestmark = pytest.mark.asterisk


def in_failsafe_queue(settings: Settings, caller: str) -> bool:
    """Whether `caller`'s channel is in app_queue (the failsafe) on the node, by Asterisk's
    CLI: a blocking call, usable while the event loop is stalled."""
    proc = subprocess.run(["chroot", str(asterisk_box.root_dir(settings)), "/usr/sbin/asterisk",
                           "-rx", "core show channels concise"],
                          capture_output=True, text=True, timeout=10)
    rows = [line.split("!") for line in proc.stdout.splitlines()]
    # Channel!Context!Extension!Priority!State!Application!Data!CallerID!...
    return any(len(r) > 7 and r[5] == "Queue" and r[7] == caller for r in rows)


async def asterisk_session_of(settings: Settings, caller: str) -> tuple[str, str] | None:
    """(channel, application) of `caller`'s channel on the node, by Asterisk's CLI."""
    proc = await asyncio.to_thread(
        subprocess.run, ["chroot", str(asterisk_box.root_dir(settings)), "/usr/sbin/asterisk",
                         "-rx", "core show channels concise"],
        capture_output=True, text=True, timeout=10)
    for row in (line.split("!") for line in proc.stdout.splitlines()):
        if len(row) > 7 and row[7] == caller:
            return row[0], row[5]
    return None


@pytest.fixture
async def watcher(asterisk_node: Settings) -> AsyncIterator[Watcher]:
    link = AmiLink(asterisk_node)
    await link.connect()
    try:
        yield Watcher(link)
    finally:
        await link.close()


async def test_a_stopped_controller_releases_held_callers_to_the_failsafe(
        asterisk_node: Settings, centre: Centre, phones: Phones, watcher: Watcher,
        agi_scripts: dict[str, Handler], loop_errors: list[dict[str, Any]]) -> None:
    ctl = ObservedController(asterisk_node, centre, emit_line=lambda _: None)
    agi_scripts["hold"] = ctl.holds.serve  # the AGI server outlives the controller here
    await ctl.start()
    for n in (1, 2, 3, 4):  # every agent's phone: all are static members of the failsafe
        phones.agent(n, ring_ms=200)
    caller = phones.caller("13700000011", talk_ms=15_000)
    queued = await ctl.wait_for(of_caller("13700000011"), 10)
    await held(ctl, queued.call_id)  # type: ignore[union-attr]
    stopped_at = time.time()
    await ctl.stop()  # nobody was ready: the caller is still waiting, held
    # The session ends with no decision; the dialplan's loop finds the heartbeat going stale
    # and hands the caller to app_queue, which rings an agent.
    taken = await watcher.next(lambda e: isinstance(e, FailsafeTaken)
                               and e.call_id == queued.call_id,  # type: ignore[union-attr]
                               asterisk_node.failsafe_guard_s + 5)
    assert taken.at - stopped_at <= asterisk_node.failsafe_guard_s + 3
    await watcher.next(lambda e: isinstance(e, CallAnswered)
                       and e.call_id == queued.call_id, 10)  # type: ignore[union-attr]
    await watcher.next(lambda e: isinstance(e, CallEnded)
                       and e.call_id == queued.call_id, 15)  # type: ignore[union-attr]
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()


async def test_a_stalled_event_loop_lets_the_failsafe_take_held_callers(
        asterisk_node: Settings, controller: ObservedController, phones: Phones,
        watcher: Watcher) -> None:
    for n in (1, 2, 3, 4):  # every agent's phone: all are static members of the failsafe
        phones.agent(n, ring_ms=200)
    caller = phones.caller("13700000012", talk_ms=15_000)
    queued = await controller.wait_for(of_caller("13700000012"), 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    await held(controller, call_id)
    # The loop blocks (a bug, a swap storm): no heartbeat, no answer to the held caller. The
    # watchdog thread cuts the session after the guard time; the dialplan then sees the
    # stale heartbeat and the failsafe takes the caller, while this loop is still blocked.
    # The stall lasts until Asterisk itself shows the caller in the failsafe queue (asked
    # through its CLI, since this loop may not run), at most well past the guard time.
    wait_for_sync(lambda: in_failsafe_queue(asterisk_node, "13700000012"),
                  asterisk_node.failsafe_guard_s + 10,
                  "the caller in app_queue while the loop stalls", interval=0.2)
    taken = await watcher.next(lambda e: isinstance(e, FailsafeTaken)
                               and e.call_id == call_id, 5)
    assert taken is not None
    await watcher.next(lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 10)
    # Back to life, the controller knows: the failsafe call's agent is not offered anything.
    await controller.wait_for(lambda e: isinstance(e, FailsafeTaken) and e.call_id == call_id, 5)
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    assert not any(isinstance(e, Offer) and e.call_id == call_id for e in controller.history)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()


async def test_a_held_caller_outlives_the_ami_link_dropping(
        asterisk_node: Settings, controller: ObservedController, phones: Phones) -> None:
    phones.agent(3, ring_ms=200)
    caller = phones.caller("13700000013", talk_ms=10_000)
    queued = await controller.wait_for(of_caller("13700000013"), 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    await held(controller, call_id)
    link = controller.links[asterisk_node.node_name]
    logins = link.logins
    link._manager.protocol.transport.close()  # the TCP connection to AMI drops
    # Without events from the node the router cannot route its callers: the session is
    # released to the dialplan's loop, which asks again once the link is back.
    async with asyncio.timeout(5):
        while link.logins == logins or not link.logged_in.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await held(controller, call_id, deadline_s=asterisk_node.failsafe_guard_s)
    ready(controller, "agent3")
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 8)
    assert answered.agent_id == "agent3"  # type: ignore[union-attr]
    assert controller.delivered["hold"] >= 1
    assert sum(isinstance(e, CallQueued) and e.call_id == call_id
               for e in controller.history) == 1  # queued once, for all its sessions
    assert not any(isinstance(e, FailsafeTaken) for e in controller.history)
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent3")


async def test_a_long_wait_renews_its_lease_and_keeps_its_place(
        asterisk_node: Settings, controller: ObservedController, phones: Phones) -> None:
    sessions: list[str] = []
    inner = controller.holds.on_arrival

    def counted(request: HoldRequest) -> None:
        sessions.append(request.call_id)
        inner(request)

    controller.holds.on_arrival = counted
    phones.agent(4, ring_ms=200)
    caller = phones.caller("13700000014", talk_ms=20_000)
    queued = await controller.wait_for(of_caller("13700000014"), 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    # Nobody is ready for over two leases: the controller renews the lease inside the open
    # session (SET AUTOHANGUP), so the caller keeps that one session: no reconnect and no
    # trip through the dialplan every lease, nor a moment with no session to deliver an
    # offer into (bench.hold: 1,000 callers renewing by reconnecting left up to 11% of
    # them between two sessions at once).
    lease = asterisk_node.hold_lease_s
    await held(controller, call_id)
    first = await asterisk_session_of(asterisk_node, "13700000014")
    assert first is not None and first[1] == "AGI"
    await asyncio.sleep(2.5 * lease)  # the time under test: leases that would run out
    assert controller.holds.holds(call_id)
    assert sessions.count(call_id) == 1
    assert await asterisk_session_of(asterisk_node, "13700000014") == first
    await held(controller, call_id)
    ready(controller, "agent4")
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 8)
    assert answered.agent_id == "agent4"  # type: ignore[union-attr]
    assert controller.delivered == {"hold": 1, "redirect": 0}
    assert [e.at for e in controller.history if isinstance(e, CallQueued)
            and e.call_id == call_id] == [queued.at]  # queued once, its place kept
    assert not any(isinstance(e, FailsafeTaken) for e in controller.history)
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 25)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent4")
