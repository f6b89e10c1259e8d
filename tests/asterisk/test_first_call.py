"""The first routed call, end to end: SIPp phones, the real Asterisk, the controller.

Every wait has a deadline and waits on an event; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from hotline.centre.model import Centre
from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    Event,
    FailsafeTaken,
    RecordingStarted,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState, AgentTrigger, CallOutcome
from hotline.core.settings import Settings
from hotline.devtools.embedded import EmbeddedRedis
from hotline.router import Offer
from hotline.telephony.ami.call_model import CallModel
from hotline.telephony.ami.link import AmiLink
from tests.helpers import testbed
from tests.helpers.calls import (
    assert_recording,
    held,
    logout,
    media_flows,
    of_caller,
    ready,
)
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk


async def test_call_reaches_ready_agent_with_media_and_recording(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=300)
    ready(controller, "agent1")
    caller = phones.caller("13900000001", talk_ms=4000)

    queued = await controller.wait_for(of_caller("13900000001"), 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    offer = await controller.wait_for(
        lambda e: isinstance(e, Offer) and e.call_id == call_id, 5)
    assert offer.agent_id == "agent1"  # type: ignore[union-attr]
    await controller.wait_for(lambda e: isinstance(e, AgentRinging) and e.call_id == call_id, 5)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 5)
    assert answered.agent_id == "agent1"  # type: ignore[union-attr]
    assert controller.router.agent("agent1").state is AgentState.ON_CALL

    rx_agent, rx_caller = await media_flows(controller.links[testbed.NODE], "agent1", 5)
    assert rx_agent > 0 and rx_caller > 0

    rec = await controller.wait_for(
        lambda e: isinstance(e, RecordingStarted) and e.call_id == call_id, 5)
    assert rec.path.endswith(f"{call_id}.wav")  # type: ignore[union-attr]
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 10)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    await controller.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent1"
        and e.new is AgentState.AFTER_CALL_WORK, 5)
    await assert_recording(asterisk_node, call_id, min_seconds=2.0)
    logout(controller, "agent1")


async def test_caller_waits_until_an_agent_turns_ready(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(2, ring_ms=200)
    caller = phones.caller("13900000002", talk_ms=6000)
    queued = await controller.wait_for(of_caller("13900000002"), 10)
    call_id = queued.call_id  # type: ignore[union-attr]
    # Nobody is ready: the call waits, held in its FastAGI session; no offer was made.
    assert [w.call_id for w in controller.router.waiting()] == [call_id]
    assert not any(isinstance(e, Offer) and e.call_id == call_id for e in controller.history)
    await held(controller, call_id)

    ready(controller, "agent2")
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 8)
    assert answered.agent_id == "agent2"  # type: ignore[union-attr]
    assert controller.delivered == {"hold": 1, "redirect": 0}  # the session's last word
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 15)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    await assert_recording(asterisk_node, call_id, min_seconds=1.0)
    logout(controller, "agent2")


async def test_no_answer_sends_agent_not_ready_and_call_back_to_head(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=60_000)  # never answers within the 3 s ring timeout
    phones.agent(2, ring_ms=200)
    ready(controller, "agent1")  # the only ready agent: the first caller goes to it
    first = phones.caller("13900000003", talk_ms=6_000)
    q1 = await controller.wait_for(of_caller("13900000003"), 10)
    first_id = q1.call_id  # type: ignore[union-attr]
    await controller.wait_for(lambda e: isinstance(e, AgentRinging) and e.call_id == first_id, 5)

    second = phones.caller("13900000004", talk_ms=14_000)  # joins while agent1 rings
    q2 = await controller.wait_for(of_caller("13900000004"), 10)
    second_id = q2.call_id  # type: ignore[union-attr]

    await controller.wait_for(lambda e: isinstance(e, RingNoAnswer) and e.call_id == first_id, 8)
    missed = await controller.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent1"
        and e.new is AgentState.NOT_READY and e.old is AgentState.RINGING, 5)
    assert missed.reason == "missed"  # type: ignore[union-attr]
    # Back at the head, ahead of the caller who came later, keeping its original wait.
    assert [w.call_id for w in controller.router.waiting()] == [first_id, second_id]

    ready(controller, "agent2")
    offer = await controller.wait_for(
        lambda e: isinstance(e, Offer) and e.agent_id == "agent2", 5)
    assert offer.call_id == first_id  # type: ignore[union-attr]
    assert offer.wait_s >= 3.0  # type: ignore[union-attr]  # counted from the first queueing
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == first_id, 5)
    # agent1 is still not ready: the second caller waits for agent2's wrap-up to end.
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == first_id, 20)
    controller.agent_command("agent2", AgentTrigger.END_WRAP_UP)
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == second_id, 8)
    await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == second_id, 20)
    # After the missed ring each caller waited held again: those offers went to its session.
    assert controller.delivered["hold"] >= 2
    for phone in (first, second):
        assert await asyncio.to_thread(phone.wait, 10) == 0, phone.errors()
    await assert_recording(asterisk_node, first_id, min_seconds=1.0)
    await assert_recording(asterisk_node, second_id, min_seconds=1.0)
    logout(controller, "agent1", "agent2")


@pytest.mark.parametrize("mode", ["agi-down", "held-killed", "held-frozen"])
async def test_killed_controller_leaves_waiting_callers_to_the_failsafe_then_takes_over(
        asterisk_node: Settings, centre: Centre, phones: Phones, loop_errors: list,
        empty_db_url: str, redis_server: EmbeddedRedis, mode: str) -> None:
    """agi-down: callers wait in the dialplan's loop, the process is killed. held-killed: they
    wait held in its FastAGI sessions, which the kill closes. held-frozen: the process is
    stopped (SIGSTOP) with them held: its sessions stay open, their leases run out."""
    held = mode != "agi-down"
    # The controller as its own process, as in production; its agents stay logged out, so
    # the callers wait in the holding context.
    env = testbed.settings_env(asterisk_node)
    # the session's PostgreSQL and Redis: a killed process must not leave servers behind
    env["HOTLINE_DATABASE_URL"], env["HOTLINE_REDIS_URL"] = empty_db_url, redis_server.url
    if not held:
        # Its FastAGI listens elsewhere and the address it advertises is made a dead one
        # below, as when it is down: callers go straight to the general queue and wait in
        # the dialplan's own loop.
        env["HOTLINE_AGI_PORT"] = str(asterisk_node.agi_port + 500)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.process.cli", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    watcher = AmiLink(asterisk_node)
    await watcher.connect()
    seen: list[Event] = []

    async def next_event(pred, deadline_s: float) -> Event:  # type: ignore[no-untyped-def]
        for event in seen:
            if pred(event):
                return event
        async with asyncio.timeout(deadline_s):
            while True:
                event = await watcher.events.get()
                seen.append(event)
                if pred(event):
                    return event

    back: ObservedController | None = None
    numbers = ["13900000005", "13900000006", "13900000007"]
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):  # migrations run first
            lines = []
            while not (lines and lines[-1].startswith(b"controller up")):
                line = await proc.stdout.readline()
                assert line, b"".join(lines)
                lines.append(line)
        if not held:  # the address the active advertises (tried first) answers nobody either
            await watcher.db_put("hotline", "agi",
                                 f"agi://{asterisk_node.bind_host}:{asterisk_node.agi_port + 501}")
        for n in (1, 2, 3, 4):  # every agent's phone: all are static members of the failsafe
            phones.agent(n, ring_ms=200)
        # Through the hotline number's own entry; each caller picks Mandarin (1) and "0 for
        # an agent" (the general queue), then speaks (recorded). held: the process's IVR
        # answers. agi-down: the IVR fails at once and the dialplan sends the caller to the
        # general queue itself, where the keys meant for the IVR must not be taken for the
        # callback key (issue #15.2: nobody would record that callback).
        # agi-down: the keys come once the controller is gone (a live controller hears the
        # callback key over AMI and honours it: callbacks.on_key).
        first_key_ms = 1_500 if held else 6_000
        callers = [phones.dtmf_caller(number, [(first_key_ms, "1"), (1200, "0")],
                                      talk_ms=1_000, voice_s=30) for number in numbers]
        call_ids = []
        for number in numbers:
            queued = await next_event(  # the IVR's two menus first when held
                lambda e, number=number: isinstance(e, CallQueued) and e.caller == number, 20)
            call_ids.append(queued.call_id)  # type: ignore[attr-defined]
        # Held: each caller waits inside its FastAGI session; else in the dialplan's loop.
        async with asyncio.timeout(10):
            while True:
                apps = {ch.linkedid: ch.application for ch in await watcher.channels()
                        if ch.is_caller_leg}
                if all((apps.get(c) == "AGI") == held for c in call_ids):
                    break
                await asyncio.sleep(0.1)

        if mode == "held-frozen":
            proc.send_signal(signal.SIGSTOP)  # alive, silent: no heartbeat, no answer
            # a lease that began just before may see a fresh heartbeat once: two leases
            deadline = 2 * asterisk_node.hold_lease_s + asterisk_node.failsafe_guard_s + 5
        else:
            proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), 5)
            deadline = asterisk_node.failsafe_guard_s + 5

        busy: set[str] = set()
        for call_id in call_ids:  # every waiting caller is served by app_queue
            await next_event(lambda e, c=call_id: isinstance(e, FailsafeTaken)
                             and e.call_id == c, deadline)
            answered = await next_event(lambda e, c=call_id: isinstance(e, CallAnswered)
                                        and e.call_id == c, 15)
            busy.add(answered.agent_id)  # type: ignore[attr-defined]
        assert len(busy) == 3
        if proc.returncode is None:  # the frozen one goes for good
            proc.kill()
            await asyncio.wait_for(proc.wait(), 5)

        # The controller is back: the agents app_queue gave calls to are not offered anything.
        back = ObservedController(asterisk_node, centre, emit_line=lambda _: None)
        # what the history recorder makes of the calls (the call model), from start to end
        model, ended = CallModel(), {}

        def to_model(item: object) -> None:
            if isinstance(item, Event) and (call := model.apply(item)) is not None:
                ended[call.call_id] = call

        back.observe(to_model)
        await back.start()
        for call_id in call_ids:
            await back.wait_for(lambda e, c=call_id: isinstance(e, FailsafeTaken)
                                and e.call_id == c, 5)
        ready(back, "agent1", "agent2", "agent3", "agent4")
        for agent_id in busy:
            view = back.router.agent(agent_id)
            assert (view.state, view.reason) == (AgentState.NOT_READY, "failsafe call")
        newcomer = phones.caller("13900000008", talk_ms=4_000)
        offer = await back.wait_for(lambda e: isinstance(e, Offer), 10)
        assert offer.agent_id not in busy  # type: ignore[union-attr]
        await back.wait_for(lambda e: isinstance(e, CallAnswered)
                            and e.call_id == offer.call_id, 8)  # type: ignore[union-attr]

        for call_id in call_ids:
            await next_event(lambda e, c=call_id: isinstance(e, CallEnded)
                             and e.call_id == c, 45)  # keys, ~34 s of voice, then the end
            await assert_recording(asterisk_node, call_id, min_seconds=0.5)
        # The controller that was away writes each app_queue call whole, with its true times
        # (#15.1): queued and answered when the watcher saw it, not at the resync.
        await wait_for(lambda: set(call_ids) <= set(ended), 10, "every call ended in history")
        for call_id in call_ids:
            call, seen_at = ended[call_id], {type(e): e.at for e in seen
                                             if getattr(e, "call_id", None) == call_id}
            assert call.outcome is CallOutcome.FAILSAFE, (call.timeline, call.answered_at)
            assert call.queued_at == pytest.approx(seen_at[CallQueued], abs=0.5), call
            assert call.answered_at == pytest.approx(seen_at[CallAnswered], abs=0.5), call
            assert call.entered_at <= call.queued_at and call.agent_id in busy, call
        for phone in [*callers, newcomer]:
            assert await asyncio.to_thread(phone.wait, 15) == 0, phone.errors()
        for agent_id in busy:  # their failsafe calls are over: ready for the controller
            await back.wait_for(lambda e, a=agent_id: isinstance(e, AgentStateChanged)
                                and e.agent_id == a and e.new is AgentState.READY
                                and e.old is AgentState.NOT_READY, 5)
        logout(back, "agent1", "agent2", "agent3", "agent4")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if back is not None:
            await back.stop()
        await watcher.close()
        print("\n".join(map(repr, seen)))  # shown in the report of a failing test
