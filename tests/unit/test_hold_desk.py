"""The hold desk over real sockets: a stand-in for Asterisk's FastAGI client (it speaks the
protocol byte for byte as res_agi does) against the AGI server with the "hold" script."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from hotline.core.settings import DEV_AGI_SECRET, AsteriskNode, Settings
from hotline.process.controller.hold_desk import (
    MAX_HOLD_PRIORITY,
    HoldDesk,
    HoldRequest,
    StallJudge,
)
from hotline.telephony.agi.server import AgiServer, by_script
from tests.helpers.waiting import wait_for, wait_for_sync


@dataclass
class Bed:
    desk: HoldDesk
    port: int
    arrived: list[HoldRequest] = field(default_factory=list)


#: the controller's clock in these tests: just after ARGS's call was queued
NOW = 1795478350.0


@pytest.fixture
async def bed() -> AsyncIterator[Bed]:
    arrived: list[HoldRequest] = []
    desk = HoldDesk(arrived.append, clock=lambda: NOW)
    # two nodes on this host (same development secret): n1 and n2
    settings = Settings(bind_host="127.0.0.1", agi_port=0, node_name="n1",
                        other_nodes=[AsteriskNode(name="n2", ami_port=1)])
    server = AgiServer(settings, by_script({"hold": desk.serve}))
    await server.start()
    try:
        yield Bed(desk, server.port, arrived)
    finally:
        desk.close()
        await server.stop()


class Channel:
    """Asterisk's side of one hold session."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def hold(cls, port: int, *args: str, channel: str = "PJSIP/caller-00000001",
                   caller: str = "13900000001", key: str = DEV_AGI_SECRET) -> Channel:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        env = ["agi_network: yes", f"agi_network_script: hold?key={key}",
               f"agi_request: agi://127.0.0.1:{port}/hold?key={key}", f"agi_channel: {channel}",
               f"agi_callerid: {caller}", "agi_context: hotline-hold"]
        env += [f"agi_arg_{n}: {a}" for n, a in enumerate(args, start=1)]
        writer.write(("\n".join(env) + "\n\n").encode())
        await writer.drain()
        return cls(reader, writer)

    async def line(self, deadline_s: float = 5) -> bytes:
        """The next line from the controller, b"" at the end of the session."""
        return await asyncio.wait_for(self.reader.readline(), deadline_s)

    async def answer_and_close(self) -> None:
        """What res_agi does with a command followed by the end: reply, then close."""
        self.writer.write(b"200 result=1\n")
        await self.writer.drain()
        self.writer.close()

    def close(self) -> None:
        self.writer.close()


ARGS = ("call-1", "n1", "billing", "billing", "2", "1795478346.881097")


async def until(predicate, deadline_s: float = 5) -> None:  # type: ignore[no-untyped-def]
    """The desk's state as the server's tasks leave it (they run on this loop: a few turns)."""
    async with asyncio.timeout(deadline_s):
        while not predicate():  # noqa: ASYNC110 (no event to wait on: the state is the point)
            await asyncio.sleep(0.005)


async def test_the_session_says_who_waits_where(bed: Bed) -> None:
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    assert bed.arrived == [HoldRequest(
        call_id="call-1", node="n1", channel="PJSIP/caller-00000001", caller="13900000001",
        queue="billing", service="billing", priority=2, queued_at=1795478346.881097)]
    assert len(bed.desk) == 1
    ch.close()


async def test_an_offer_is_one_command_then_the_end(bed: Bed) -> None:
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    assert bed.desk.offer("call-1", "agent7")
    assert await ch.line() == b'SET VARIABLE "HL_OFFER" "agent7"\n'
    assert await ch.line() == b""  # our side is closed at once: no wait for the reply
    assert not bed.desk.holds("call-1")
    assert not bed.desk.offer("call-1", "agent8")  # offered once
    await ch.answer_and_close()
    await until(lambda: len(bed.desk) == 0)


async def test_the_lease_is_renewed_in_the_open_session(bed: Bed) -> None:
    """Every half lease, SET AUTOHANGUP with the whole lease, in the same session; the replies
    are read and dropped, and an offer after them is still one command and the end."""
    bed.desk.lease_s = 0.2
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    for _ in range(3):
        assert await ch.line() == b'SET AUTOHANGUP "0.2"\n'
        ch.writer.write(b"200 result=0\n")
    assert await ch.line() == b'SET AUTOHANGUP "0.2"\n'  # its reply still on its way
    assert bed.desk.offer("call-1", "agent7")
    assert await ch.line() == b'SET VARIABLE "HL_OFFER" "agent7"\n'
    assert await ch.line() == b""
    ch.writer.write(b"200 result=0\n")  # the renewal's reply, then the offer's
    await ch.answer_and_close()
    await until(lambda: len(bed.desk) == 0)
    assert bed.arrived == [bed.arrived[0]]  # one session
    assert bed.desk.renewals == 4


async def test_callback_key_and_release(bed: Bed) -> None:
    first = await Channel.hold(bed.port, *ARGS)
    second = await Channel.hold(bed.port, "call-2", "n2", "general", "general")
    await until(lambda: bed.desk.holds("call-1") and bed.desk.holds("call-2"))
    assert bed.desk.callback("call-1")
    assert await first.line() == b'SET VARIABLE "HL_HOLD_END" "callback"\n'
    assert bed.desk.release_node("n1") == 0  # call-1 was already ended
    assert bed.desk.release_node("n2") == 1
    assert await second.line() == b""  # released: no command, the dialplan goes on
    assert bed.desk.ended == {"offer": 0, "callback": 1, "released": 1}
    assert bed.arrived[1].priority == 0 and bed.arrived[1].queued_at is None
    for ch in (first, second):
        await ch.answer_and_close()


async def test_a_caller_who_leaves_ends_the_session(bed: Bed) -> None:
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    ch.writer.write(b"HANGUP\n")  # res_agi's notice: hung up, or redirected elsewhere
    await ch.writer.drain()
    await until(lambda: not bed.desk.holds("call-1"))
    assert not bed.desk.offer("call-1", "agent7")  # the controller falls back to Redirect
    assert await ch.line() == b""
    ch.close()


async def test_the_connection_closing_ends_the_session(bed: Bed) -> None:
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    ch.close()
    await until(lambda: not bed.desk.holds("call-1"))


@pytest.mark.parametrize("args", [(), ("call-1",), ("call-1", "n1"), ("", "n1", "q", "s"),
                                  ("c", "n", "q", "s", "high"), ("c", "n", "q", "s", "0", "x")])
async def test_a_session_that_does_not_say_who_waits_is_refused(
        bed: Bed, args: tuple[str, ...], caplog: pytest.LogCaptureFixture) -> None:
    ch = await Channel.hold(bed.port, *args)
    assert await ch.line() == b""  # ended at once: the dialplan's own loop takes the caller
    assert bed.arrived == [] and len(bed.desk) == 0
    assert "hold session refused" in caplog.text
    ch.close()


@pytest.mark.parametrize(("args", "reason"), [
    (("call-1", "n1", "billing", "billing", str(10**9), ARGS[5]), "priority"),
    (("call-1", "n1", "billing", "billing", str(MAX_HOLD_PRIORITY + 1), ARGS[5]), "priority"),
    (("call-1", "n1", "billing", "billing", "٣", ARGS[5]), "priority"),
    (("call-1", "n1", "billing", "billing", "2", "-inf"), "queued_at"),
    (("call-1", "n1", "billing", "billing", "2", "nan"), "queued_at"),
    (("call-1", "n1", "billing", "billing", "2", "1e400"), "queued_at"),
    (("call-1", "n1", "billing", "billing", "2", "0"), "queued_at"),
    (("call-1", "n1", "billing", "billing", "2", str(NOW + 3600)), "queued_at"),  # the future
    # before the call entered (a linkedid says when: 1795478000)
    (("1795478000.7", "n1", "billing", "billing", "2", "1795470000.0"), "queued_at"),
    (("call 1", "n1", "billing", "billing"), "call_id"),
    (("c" * 65, "n1", "billing", "billing"), "call_id"),
    (("call-1", "n1", "bill,ing", "billing"), "queue"),
    (("call-1", "n1", "billing", "billing", "2", ARGS[5], "extra"), "arguments"),
    (("call-1", "ast9", "billing", "billing"), "node"),  # not the node the connection is
])
async def test_an_argument_out_of_bounds_is_refused_and_counted(
        bed: Bed, args: tuple[str, ...], reason: str) -> None:
    ch = await Channel.hold(bed.port, *args)
    assert await ch.line() == b""  # ended at once: the caller goes on in the dialplan
    assert bed.arrived == [] and len(bed.desk) == 0
    assert bed.desk.refused == {reason: 1}
    ch.close()


async def test_a_session_the_controller_does_not_vouch_for_keeps_no_place(bed: Bed) -> None:
    """A phantom with a real call id neither enters nor takes the real caller's session."""
    bed.desk.vet = lambda r: None if r.channel == "PJSIP/caller-00000001" else "wrong_channel"
    real = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    phantom = await Channel.hold(bed.port, *ARGS, channel="PJSIP/caller-99999999")
    assert await phantom.line() == b""
    assert bed.desk.refused == {"wrong_channel": 1}
    assert bed.desk.offer("call-1", "agent1")  # the real caller still holds its session
    assert await real.line() == b'SET VARIABLE "HL_OFFER" "agent1"\n'
    assert len(bed.arrived) == 1
    for c in (real, phantom):
        c.close()


async def test_a_closed_desk_refuses_and_releases(bed: Bed) -> None:
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    bed.desk.close()
    assert await ch.line() == b""
    late = await Channel.hold(bed.port, "call-2", "n1", "general", "general")
    assert await late.line() == b""
    assert [r.call_id for r in bed.arrived] == ["call-1"]
    for c in (ch, late):
        c.close()


async def test_arrival_waits_for_a_session_within_its_deadline(bed: Bed) -> None:
    assert not await bed.desk.arrival("call-1", 0.05)
    waiting = asyncio.create_task(bed.desk.arrival("call-1", 5))
    await wait_for(lambda: "call-1" in bed.desk._arrivals, 1, "arrival() waiting")
    ch = await Channel.hold(bed.port, *ARGS)
    assert await waiting
    assert await bed.desk.arrival("call-1", 0)  # already open
    ch.close()


async def test_a_second_session_for_the_same_call_replaces_the_first(bed: Bed) -> None:
    old = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    new = await Channel.hold(bed.port, *ARGS)
    assert await old.line() == b""  # released
    await until(lambda: len(bed.arrived) == 2)
    assert bed.desk.offer("call-1", "agent1")
    assert await new.line() == b'SET VARIABLE "HL_OFFER" "agent1"\n'
    for c in (old, new):
        c.close()


async def test_watchdog_cuts_sessions_when_the_loop_stalls(
        bed: Bed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    bed.desk.start_watchdog(0.3)
    try:
        # the point: the event loop stalls (blocked, not awaiting) until the watchdog acts
        wait_for_sync(lambda: "event loop stalled" in caplog.text, 5, "the watchdog's cut")
        # the watchdog thread cut the session meanwhile: Asterisk reads the end
        assert await ch.line() == b""
        assert "event loop stalled" in caplog.text
    finally:
        bed.desk.stop_watchdog()
        ch.close()


async def test_watchdog_leaves_a_live_loop_alone(bed: Bed) -> None:
    ch = await Channel.hold(bed.port, *ARGS)
    await until(lambda: bed.desk.holds("call-1"))
    bed.desk.start_watchdog(0.3)
    try:
        for _ in range(20):  # 1 s of a loop that stays alive
            bed.desk.alive()
            await asyncio.sleep(0.05)
        assert bed.desk.holds("call-1")
        assert bed.desk.offer("call-1", "agent2")
        assert await ch.line() == b'SET VARIABLE "HL_OFFER" "agent2"\n'
    finally:
        bed.desk.stop_watchdog()
        ch.close()


def test_abort_cuts_a_session_from_another_thread_on_uvloop() -> None:
    """The platform runs on uvloop, whose transport sockets refuse shutdown()."""
    import threading

    import uvloop

    from hotline.telephony.agi.server import AgiStream

    async def main() -> bytes:
        streams: list[AgiStream] = []
        accepted = asyncio.Event()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            streams.append(AgiStream(reader, writer))
            accepted.set()

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(accepted.wait(), 5)
        cutter = threading.Thread(target=streams[0].abort)
        cutter.start()
        cutter.join()
        end = await asyncio.wait_for(reader.read(), 5)  # the end, not a hang
        writer.close()
        await streams[0].close()
        server.close()
        await server.wait_closed()
        return end

    assert uvloop.run(main()) == b""


async def test_a_session_before_its_ami_event_waits_on_the_event_not_a_poll(bed: Bed) -> None:
    """A real caller's session may reach us before the AMI event that queued it (two sockets):
    it waits for the controller's word that the call is known (`caller_seen`), asking again
    once then; no polling of the vet meanwhile."""
    known: set[str] = set()
    asked: list[str] = []

    def vet(r: HoldRequest) -> str | None:
        asked.append(r.call_id)
        return None if r.call_id in known else "unknown_call"

    bed.desk.vet = vet
    ch = await Channel.hold(bed.port, *ARGS)
    await wait_for(lambda: asked, 2, "the first vet")
    # the loop turns many times (the old code asked every 10 ms) before AMI speaks
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert asked == ["call-1"]
    known.add("call-1")
    bed.desk.caller_seen("call-1")
    await until(lambda: bed.desk.holds("call-1"))
    assert asked == ["call-1", "call-1"] and bed.desk.refused == {}
    ch.close()


async def test_a_session_whose_ami_event_is_seconds_late_keeps_its_place(bed: Bed) -> None:
    """With 1,000 callers entering on a busy node, AMI delivered a call's event over a second
    after its hold session (bench.hold); the session refused as unknown sent its caller round
    the dialplan's Wait(1) loop, more work for the same node. The grace covers the AMI lag the
    link itself tolerates (its Ping's timeout)."""
    from hotline.process.controller import hold_desk

    assert hold_desk.AMI_GRACE_S >= Settings().ami_ping_timeout_s
    known: set[str] = set()
    bed.desk.vet = lambda r: None if r.call_id in known else "unknown_call"
    ch = await Channel.hold(bed.port, *ARGS)
    await asyncio.sleep(1.5)  # the AMI event's lag under test
    known.add("call-1")
    bed.desk.caller_seen("call-1")
    await until(lambda: bed.desk.holds("call-1"))
    assert bed.desk.refused == {}
    ch.close()


async def test_a_session_no_ami_event_vouches_for_is_refused_after_the_grace(
        bed: Bed, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.process.controller import hold_desk

    monkeypatch.setattr(hold_desk, "AMI_GRACE_S", 0.05)
    bed.desk.vet = lambda r: "unknown_call"
    ch = await Channel.hold(bed.port, *ARGS)
    assert await ch.line() == b""
    assert bed.desk.refused == {"unknown_call": 1} and bed.desk._awaited == {}
    ch.close()


def watch(judge: StallJudge, wakes: list[float], alive_at: float) -> list[float]:
    """The wakes at which the judge says the loop stalled (its last `alive` at `alive_at`)."""
    cuts = []
    for now in wakes:
        judge.starved(now)
        if judge.stalled(now, alive_at):
            cuts.append(now)
    return cuts


def test_a_loop_silent_while_the_watchdog_wakes_on_time_is_stalled() -> None:
    judge = StallJudge(guard_s=5.0, interval_s=0.5, now=0.0)
    cuts = watch(judge, [0.5 * i for i in range(1, 13)], alive_at=0.0)
    assert cuts == [5.5, 6.0]  # over the guard from 5.5 s on


def test_a_starved_process_is_no_stall_until_the_guard_passes_on_time() -> None:
    """The whole process got no CPU for 10 s (the 1,000-caller bench on 2 cores: 929 held
    callers were cut and came back at once): the loop had no chance either. Only the time
    the watchdog watched on time counts."""
    judge = StallJudge(guard_s=5.0, interval_s=0.5, now=0.0)
    assert judge.starved(0.5) == 0.0
    assert judge.starved(10.5) == 10.0  # the watchdog itself woke 10 s late
    assert not judge.stalled(10.5, alive_at=0.0)
    cuts = watch(judge, [10.5 + 0.5 * i for i in range(1, 13)], alive_at=0.0)
    assert cuts == [16.0, 16.5]  # still silent for a whole guard watched on time


def test_a_live_loop_is_never_stalled() -> None:
    judge = StallJudge(guard_s=5.0, interval_s=0.5, now=0.0)
    assert not any(judge.stalled(now, alive_at=now - 0.2)
                   for now in (0.5 * i for i in range(1, 40)) if judge.starved(now) == 0.0)
