"""1,000 callers waiting on one node: our hold sessions against app_queue, on the real Asterisk.

    .venv/bin/python -m bench.hold [--callers 1000] [--agents 100] [--hold-s 30] [--quick]

Run as root from the repository root. It starts its own Asterisk node, "hold", in a temporary
run dir on ports 19000-19999 (SIP, AMI, AGI, the SIPp phones), RTP 30000-37999 and SIPp
media from 38000, so it meets neither the test slots (20000+) nor bench.wire (29000+). Two
phases run back to back on the same node and the same SIPp agent phones:

- ours: the controller in this process with its FastAGI server; every agent logged in but
  not ready. The callers dial the bench-only number that takes the hotline's entry steps
  without the IVR (bench/wire_node.py) and wait in hotline-hold, each held in a FastAGI hold
  session whose lease (Settings.hold_lease_s, the platform's 20 s unless --lease-s says
  otherwise) the controller renews inside the session every half lease;
- app_queue: no controller; the callers dial the bench-only number that goes straight to
  hotline-failsafe (app_queue, the same agents as static members, autofill as shipped), every
  member paused.

Each phase: the callers enter at --rate per second; once all of them wait (or a deadline
passes), --hold-s seconds of holding with nothing else going on (the window whose Asterisk CPU
is the headline); then the agents are freed (ours: the ready command; app_queue: QueuePause
off over AMI) at --free-rate per second, and each rings, talks --talk-ms, hangs up and (ours,
after --wrap-up-s of after-call work; app_queue's wrapuptime is 0 as shipped) takes the next
caller, until every caller is served.

Measured per phase: how many callers waited at once (the controller's open hold sessions, and
Asterisk's own count of channels in AGI / Queue), Asterisk's CPU (utime + stime of its
process, /proc/<pid>/stat) for the entry, the hold window and the drain, the lease renewals
and any session opened again, refused or released, and the offer wait "an agent frees -> the
INVITE reaches its phone": for an agent's first call, from the command that freed it
(stamped here) to the INVITE's arrival at its SIPp phone;
for every later call, from the BYE its phone sent for the previous call (plus the wrap-up) to
the next INVITE, both stamped by the same SIPp process. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.wire_node import (
    BENCH_APPQUEUE_NUMBER,
    BENCH_HOLD_NUMBER,
    AgentPlan,
    add_bench_entries,
    cpu_seconds,
    listen_overflows,
    machine_ticks,
    manager_messages,
    skip_survey,
    wire_centre,
    wire_settings,
)
from bench.wire_run import (
    boot_node,
    check_ports_free,
    print_targets,
    start_phones,
    stop_on_signals,
    tear_down,
)
from bench.wire_sipp import start_callers, traced_messages
from bench.wire_stats import Latency, PhaseRecord
from hotline.centre.model import Centre
from hotline.core.events import AgentStateChanged
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess
from hotline.process import event_loop
from hotline.process.controller import Controller
from hotline.process.controller.hold_desk import HoldRequest
from hotline.process.gc_policy import settle_after_start
from hotline.router import Offer
from hotline.telephony.agi.server import AgiServer, by_script
from hotline.telephony.ami.errors import AmiError, AmiNotConnected, AmiTimeout
from hotline.telephony.ami.link import AmiLink

NODE = "hold"
_BASE = 19000
AMI_PORT, SIP_PORT, AGI_PORT = _BASE + 38, _BASE + 60, _BASE + 73
AGENT_SIP_BASE = _BASE + 100
CALLER_SIP_BASE = _BASE + 200
RTP_START, RTP_END = 30000, 37999
PHONE_MEDIA_BASE = 38000  # SIPp media ports, stepping by 4
FAILSAFE_QUEUE = "hotline-failsafe"
KEPT_LOG = Path(tempfile.gettempdir()) / "hotline-hold-asterisk.log"
OFFER_P99_TARGET_MS = 50.0


@dataclass(frozen=True, slots=True)
class Options:
    callers: int
    agents: int
    agent_processes: int
    rate: float
    hold_s: float
    free_rate: float
    ring_ms: int
    talk_ms: int
    wrap_up_s: float
    lease_s: int | None
    appqueue: bool = True  # False: our phase only (a quicker look at ours)


@dataclass
class Phase:
    router: str  # "ours" | "appqueue"
    record: PhaseRecord
    placed: int = 0
    waited_max: int = 0  # callers waiting at once, most seen (controller: open sessions)
    sessions_min: int = 0  # ours: fewest open hold sessions during the hold window
    asterisk_waiting: int = 0  # Asterisk's count of channels in AGI / Queue, hold window start
    entry_s: float = 0.0
    drain_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # Asterisk: entry, hold, drain
    own_cpu: dict[str, float] = field(default_factory=dict)  # this process, same stretches
    machine_busy: float = 0.0
    load_before: float = 0.0
    renewals_in_hold: int = 0  # ours: leases renewed inside their session, hold window
    released: int = 0  # ours: sessions ended with no decision (the AMI link went down)
    reopened_in_hold: int = 0  # ours: hold sessions opened again during the hold window
    sessions_opened: int = 0  # ours: every hold session, first and renewed
    listen_overflows: int = 0
    manager_messages: int | None = None  # AMI events Asterisk made over the phase (all kinds)
    free_at: dict[str, float] = field(default_factory=dict)  # agent -> when it was freed
    window: tuple[float, float] = (0.0, 0.0)  # epoch seconds: agents freed .. last call ended
    first: Latency | None = None
    cycle: Latency | None = None
    offer: Latency | None = None
    unmatched: int = 0  # INVITEs whose free moment is unknown (the previous ring unanswered)
    refused: dict[str, int] = field(default_factory=dict)  # ours: hold sessions, by reason
    # ours: per agent, when the controller saw it enter after-call work, and offered it a call
    acw_seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    offered: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    legs: dict[str, Latency | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def hold_settings(base: Path, opts: Options) -> Settings:
    update: dict[str, object] = {
        "node_name": NODE, "ami_port": AMI_PORT, "sip_port": SIP_PORT, "agi_port": AGI_PORT,
        "rtp_start": RTP_START, "rtp_end": RTP_END,
        "ami_write": "system,call,originate,command,agent"}  # agent: QueuePause
    if opts.lease_s is not None:
        update["hold_lease_s"] = opts.lease_s
    return wire_settings(base, wrap_up_s=opts.wrap_up_s).model_copy(update=update)


def _check_ports(opts: Options) -> None:
    plan = AgentPlan(opts.agents, opts.agent_processes, AGENT_SIP_BASE)
    udp = [SIP_PORT, *plan.ports(), CALLER_SIP_BASE, CALLER_SIP_BASE + 1]
    # as the servers do: TIME-WAIT is no holder
    check_ports_free(udp, [AMI_PORT, AGI_PORT], "another bench.hold", tcp_reuse_addr=True)


async def _until(predicate, deadline_s: float, step_s: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while not await predicate():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(step_s)
    return True


async def _waiting_in_asterisk(link: AmiLink, application: str) -> int:
    """Asterisk's own count of channels in `application`; -1 when AMI does not answer."""
    try:
        return sum(1 for ch in await link.channels() if ch.application == application)
    except AmiError:
        return -1


async def _queue_pause(link: AmiLink, agent: str, paused: bool, deadline_s: float = 30.0) -> None:
    """Pauses or unpauses the agent in app_queue, through a reconnect of the link."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            await link.action("QueuePause", Queue=FAILSAFE_QUEUE, Interface=f"PJSIP/{agent}",
                              Paused="true" if paused else "false", timeout_s=10.0)
            return
        except (AmiNotConnected, AmiTimeout):
            if time.monotonic() > end:
                raise
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await link.logged_in.wait()


class _Stretch:
    """Asterisk's and this process's CPU over one stretch of a phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ast0, self.own0 = cpu_seconds(pid), time.process_time()

    def end(self, phase: Phase, name: str) -> None:
        phase.cpu[name] = round(cpu_seconds(self.pid) - self.ast0, 2)
        phase.own_cpu[name] = round(time.process_time() - self.own0, 2)


async def run_phase(settings: Settings, centre: Centre, opts: Options, appqueue: bool,
                    index: int, pid: int, live: list[SippProcess]) -> Phase:
    phase = Phase("appqueue" if appqueue else "ours", PhaseRecord(appqueue=appqueue))
    controller: Controller | None = None
    agi: AgiServer | None = None
    pump: asyncio.Task[None] | None = None
    opened: list[float] = []  # ours: when each hold session opened (first and renewed)
    agents = [a.id for a in centre.agents]
    if appqueue:
        # the bench's own observer: a Ping answered late by a busy manager is no reason to
        # drop it (the controller's link keeps the platform's settings in the other phase)
        link = AmiLink(settings.model_copy(update={"ami_ping_timeout_s": 30.0}))
        await link.connect()
        for agent in agents:  # every member paused: nobody is served while they all wait
            await _queue_pause(link, agent, True)

        async def pump_events() -> None:
            while True:
                phase.record.observe(await link.events.get())

        pump = asyncio.create_task(pump_events(), name="hold-pump")
    else:
        controller = Controller(settings, centre, emit_line=lambda _line: None)
        controller.observe(phase.record.observe)

        def agent_marks(item: object) -> None:
            if isinstance(item, AgentStateChanged) and item.new is AgentState.AFTER_CALL_WORK:
                phase.acw_seen[item.agent_id].append(time.time())
            elif isinstance(item, Offer):
                phase.offered[item.agent_id].append(time.time())

        controller.observe(agent_marks)
        inner = controller.holds.on_arrival

        def arrived(request: HoldRequest) -> None:
            opened.append(time.time())
            inner(request)

        controller.holds.on_arrival = arrived
        agi = AgiServer(settings, by_script({"hold": controller.holds.serve,
                                             "survey": skip_survey}))
        await agi.start()
        await controller.start()
        link = controller.links[settings.node_name]
        for agent in agents:  # logged in, not ready: every caller waits
            controller.agent_command(agent, AgentTrigger.LOGIN)
    holds = controller.holds if controller is not None else None
    settle_after_start()

    def waiting_now() -> int:
        if holds is not None:
            return len(holds)
        r = phase.record
        return len(set(r.started) - r.ended - set(r.ringing))

    n = opts.callers
    drain_guess = n * (opts.ring_ms + opts.talk_ms + 1000 * opts.wrap_up_s + 1500) / 1000 / max(
        1, opts.agents)
    patience_ms = int(1000 * (n / opts.rate + 60 + opts.hold_s + 3 * drain_guess))
    ticks0, overflows0 = machine_ticks(), listen_overflows()
    messages0 = await asyncio.to_thread(manager_messages, settings)
    phase.load_before = os.getloadavg()[0]
    stretch = _Stretch(pid)
    started = time.monotonic()
    caller = start_callers(
        [f"138{index:02d}{i:06d}" for i in range(n)], f"127.0.0.1:{settings.sip_port}",
        BENCH_APPQUEUE_NUMBER if appqueue else BENCH_HOLD_NUMBER, opts.rate, patience_ms,
        CALLER_SIP_BASE + index, PHONE_MEDIA_BASE + 4 * (opts.agent_processes + index))
    live.append(caller)
    try:
        async def all_in() -> bool:
            phase.waited_max = max(phase.waited_max, waiting_now())
            return phase.waited_max >= n

        if not await _until(all_in, n / opts.rate + 30):
            phase.warnings.append(f"only {phase.waited_max} of {n} callers waited at once "
                                  f"{n / opts.rate + 30:.0f} s after the first")
        phase.entry_s = time.monotonic() - started
        stretch.end(phase, "entry")
        # the hold window: every caller waits, nothing else happens (but lease renewals)
        phase.asterisk_waiting = await _waiting_in_asterisk(link, "Queue" if appqueue
                                                           else "AGI")
        stretch = _Stretch(pid)
        hold_start, sessions0 = time.time(), len(opened)
        renewals0 = holds.renewals if holds is not None else 0
        phase.sessions_min = waiting_now()
        hold_end = time.monotonic() + opts.hold_s
        while time.monotonic() < hold_end:
            await asyncio.sleep(0.25)
            phase.sessions_min = min(phase.sessions_min, waiting_now())
        stretch.end(phase, "hold")
        phase.reopened_in_hold = sum(1 for t in opened[sessions0:] if t >= hold_start)
        phase.renewals_in_hold = holds.renewals - renewals0 if holds is not None else 0
        # the drain: agents freed one by one, then each serves caller after caller
        stretch = _Stretch(pid)
        drain_start = time.monotonic()
        free_from = time.time()
        for agent in agents:
            phase.free_at[agent] = time.time()
            if controller is not None:
                controller.agent_command(agent, AgentTrigger.READY)
            else:
                await _queue_pause(link, agent, False)
            await asyncio.sleep(1 / opts.free_rate)

        async def drained() -> bool:
            return not caller.running() and phase.record.all_ended()

        if not await _until(drained, patience_ms / 1000 + 30, 0.25):
            phase.warnings.append("callers still up after their patience; stopped")
            caller.proc.terminate()
        phase.drain_s = time.monotonic() - drain_start
        phase.window = (free_from, time.time())
        stretch.end(phase, "drain")
        phase.sessions_opened = len(opened)
        phase.placed = len(phase.record.started)
        caller.stop()
        live.remove(caller)
    finally:
        ticks1 = machine_ticks()
        phase.machine_busy = (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1])
        phase.listen_overflows = listen_overflows() - overflows0
        messages1 = await asyncio.to_thread(manager_messages, settings)
        if messages0 is not None and messages1 is not None:
            phase.manager_messages = messages1 - messages0
        if controller is not None:
            phase.refused = dict(controller.holds.refused)
            phase.released = controller.holds.ended["released"]
            await controller.stop()
        if agi is not None:
            await agi.stop()
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            if appqueue:
                for agent in agents:
                    with contextlib.suppress(AmiError):
                        await _queue_pause(link, agent, False)
            await link.close()
    return phase


@dataclass(frozen=True, slots=True)
class _Call:
    agent: str
    invite_at: float
    bye_at: float | None  # the agent's phone hung up (it answered and talked)


def agent_calls(phones: list[SippProcess]) -> dict[str, list[_Call]]:
    """Per agent, its calls in order: the INVITE's arrival (first copy) and the BYE its phone
    sent, from each agent SIPp process's message trace."""
    invites: dict[str, tuple[str, float]] = {}
    byes: dict[str, float] = {}
    for phone in phones:
        for msg in traced_messages(phone.workdir / "messages.log"):
            call_id = msg.headers.get("call-id") or msg.headers.get("i", "")
            if msg.received and msg.start_line.startswith("INVITE sip:"):
                agent = msg.start_line.split("sip:", 1)[1].split("@", 1)[0]
                invites.setdefault(call_id, (agent, msg.at))
            elif not msg.received and msg.start_line.startswith("BYE "):
                byes.setdefault(call_id, msg.at)
    out: dict[str, list[_Call]] = defaultdict(list)
    for call_id, (agent, at) in invites.items():
        out[agent].append(_Call(agent, at, byes.get(call_id)))
    for calls in out.values():
        calls.sort(key=lambda c: c.invite_at)
    return out


def _between(stamps: list[float], lo: float, hi: float) -> float | None:
    """The last of `stamps` within [lo, hi], if any."""
    inside = [t for t in stamps if lo <= t <= hi]
    return inside[-1] if inside else None


def offer_waits(phase: Phase, calls: dict[str, list[_Call]], wrap_up_s: float) -> None:
    """Fills the phase's offer latencies: freed -> INVITE (first call of each agent) and BYE
    sent + wrap-up -> next INVITE (later calls)."""
    lo, hi = phase.window
    first: list[float] = []
    cycle: list[float] = []
    legs: dict[str, list[float]] = {"bye_to_controller": [], "wrap_up_to_offer": [],
                                    "offer_to_invite": []}
    for agent, all_calls in calls.items():
        mine = [c for c in all_calls if lo <= c.invite_at <= hi]
        for k, call in enumerate(mine):
            if k == 0:
                if agent in phase.free_at:
                    first.append(call.invite_at - phase.free_at[agent])
                continue
            prev = mine[k - 1]
            if prev.bye_at is None:
                phase.unmatched += 1
                continue
            cycle.append(call.invite_at - prev.bye_at - wrap_up_s)
            seen = _between(phase.acw_seen.get(agent, []), prev.bye_at - 1, call.invite_at)
            offer = _between(phase.offered.get(agent, []), prev.bye_at, call.invite_at)
            if seen is not None and offer is not None:
                legs["bye_to_controller"].append(seen - prev.bye_at)
                legs["wrap_up_to_offer"].append(offer - seen - wrap_up_s)
                legs["offer_to_invite"].append(call.invite_at - offer)
    phase.legs = {k: Latency.of(v) for k, v in legs.items()}
    phase.first, phase.cycle = Latency.of(first), Latency.of(cycle)
    phase.offer = Latency.of(first + cycle)


def _lat(x: Latency | None) -> str:
    if x is None:
        return "n/a"
    return (f"median {x.median_ms:8.2f} ms, p99 {x.p99_ms:8.2f} ms, max {x.max_ms:8.2f} ms "
            f"(n={x.n})")


def describe(p: Phase) -> str:
    r = p.record
    held = (f"hold sessions open: most {p.waited_max}, fewest during the hold window "
            f"{p.sessions_min}; " if p.router == "ours" else
            f"waiting in app_queue: most {p.waited_max}; ")
    lines = [
        f"{p.router:<8}: {p.placed} callers queued, {len(r.answered)} answered, "
        f"{r.rings} rings; entry {p.entry_s:.1f} s, drain {p.drain_s:.1f} s",
        f"    {held}Asterisk's channels in "
        f"{'Queue' if p.router == 'appqueue' else 'AGI'} at the hold window's start: "
        f"{p.asterisk_waiting}",
        "    Asterisk CPU: " + ", ".join(f"{k} {v:.2f} s" for k, v in p.cpu.items())
        + "; this process: " + ", ".join(f"{k} {v:.2f} s" for k, v in p.own_cpu.items()),
        f"    machine {100 * p.machine_busy:.0f}% busy ({os.cpu_count()} cores, load "
        f"{p.load_before:.2f} before); TCP connections refused on a full accept queue: "
        f"{p.listen_overflows}",
        f"    AMI events Asterisk made (all kinds, before any eventfilter): "
        f"{p.manager_messages if p.manager_messages is not None else '?'}",
    ]
    if p.router == "ours":
        lines.append(f"    hold sessions opened {p.sessions_opened} (opened again during the "
                     f"hold window: {p.reopened_in_hold}); leases renewed in their session "
                     f"during the hold window: {p.renewals_in_hold}; failsafe taken "
                     f"{len(r.failsafe)}")
    if p.released:
        lines.append(f"    hold sessions released with no decision (AMI link down): {p.released}")
    if p.refused:
        lines.append("    hold sessions refused: " + ", ".join(
            f"{k} {v}" for k, v in sorted(p.refused.items())))
    lines += [f"    warning: {w}" for w in p.warnings[:10]]
    return "\n".join(lines)


def offers_text(p: Phase) -> str:
    lines = [
        f"    freed -> INVITE (first call)        {_lat(p.first)}",
        f"    BYE + wrap-up -> next INVITE         {_lat(p.cycle)}",
        f"    every offer                          {_lat(p.offer)}",
    ]
    lines += [f"      {name.replace('_', ' '):<34} {_lat(x)}" for name, x in p.legs.items()
              if x is not None]
    if p.unmatched:
        lines.append(f"    {p.unmatched} INVITEs after an unanswered ring left out")
    return "\n".join(lines)


def figures(ours: Phase, theirs: Phase, opts: Options) -> dict[str, object]:
    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 3) if b > 0 else None

    out: dict[str, object] = {
        "waiting": (min(ours.waited_max, ours.asterisk_waiting) if ours.asterisk_waiting >= 0
                    else ours.waited_max),
        "callers": opts.callers,
        "asterisk_cpu_s": ours.cpu.get("hold"),
        "appqueue_cpu_s": theirs.cpu.get("hold"),
        "offer_p99_ms": ours.offer.p99_ms if ours.offer else None,
    }
    out["cpu_ratio"] = ratio(ours.cpu.get("hold", 0.0), theirs.cpu.get("hold", 0.0))
    ours_total, theirs_total = sum(ours.cpu.values()), sum(theirs.cpu.values())
    out["asterisk_cpu_s_total"] = round(ours_total, 2)
    out["appqueue_cpu_s_total"] = round(theirs_total, 2)
    out["cpu_ratio_total"] = ratio(ours_total, theirs_total)
    for name in ("entry", "drain"):
        out[f"asterisk_cpu_s_{name}"] = ours.cpu.get(name)
        out[f"appqueue_cpu_s_{name}"] = theirs.cpu.get(name)
    out["controller_cpu_s"] = ours.own_cpu.get("hold")
    out["appqueue_waiting"] = (min(theirs.waited_max, theirs.asterisk_waiting)
                               if theirs.asterisk_waiting >= 0 else theirs.waited_max)
    out["sessions_min"] = ours.sessions_min
    out["renewals_in_hold"] = ours.renewals_in_hold
    out["sessions_released"] = ours.released
    out["sessions_reopened_in_hold"] = ours.reopened_in_hold
    out["sessions_opened"] = ours.sessions_opened
    out["sessions_refused"] = sum(ours.refused.values())
    out["offer_median_ms"] = ours.offer.median_ms if ours.offer else None
    out["offer_first_p99_ms"] = ours.first.p99_ms if ours.first else None
    out["offer_cycle_p99_ms"] = ours.cycle.p99_ms if ours.cycle else None
    out["offers"] = ours.offer.n if ours.offer else 0
    out["appqueue_offer_median_ms"] = theirs.offer.median_ms if theirs.offer else None
    out["appqueue_offer_p99_ms"] = theirs.offer.p99_ms if theirs.offer else None
    out["offer_p99_ratio"] = (ratio(ours.offer.p99_ms, theirs.offer.p99_ms)
                              if ours.offer and theirs.offer else None)
    for key, p in (("manager_messages_per_caller", ours),
                   ("appqueue_manager_messages_per_caller", theirs)):
        out[key] = (round(p.manager_messages / opts.callers, 1)
                    if p.manager_messages is not None else None)
    out["answered"] = len(ours.record.answered)
    out["appqueue_answered"] = len(theirs.record.answered)
    out["failsafe"] = len(ours.record.failsafe)
    out["hold_s"] = opts.hold_s
    out["agents"] = opts.agents
    out["lease_s"] = opts.lease_s
    out["load_before"] = round(ours.load_before, 2)
    out["appqueue_load_before"] = round(theirs.load_before, 2)
    out["target_waiting"] = out["waiting"] == opts.callers
    out["target_cpu"] = out["cpu_ratio"] is not None and out["cpu_ratio"] <= 1.0  # type: ignore[operator]
    out["target_offer_p99"] = (ours.offer is not None
                               and ours.offer.p99_ms <= OFFER_P99_TARGET_MS)
    return out


async def run_all(settings: Settings, centre: Centre, opts: Options, pid: int,
                  phones: list[SippProcess], live: list[SippProcess]) -> dict[str, object]:
    link = AmiLink(settings)
    await link.connect()
    try:
        await add_bench_entries(link)
    finally:
        await link.close()
    phases = []
    for index, appqueue in enumerate((False, True)[:2 if opts.appqueue else 1]):
        phase = await run_phase(settings, centre, opts, appqueue, index, pid, live)
        phases.append(phase)
        print(describe(phase), flush=True)
        await asyncio.sleep(2)  # the last hang-ups settle before the next phase
    calls = agent_calls(phones)
    ours = phases[0]
    theirs = phases[1] if len(phases) > 1 else Phase("appqueue", PhaseRecord(appqueue=True))
    offer_waits(ours, calls, opts.wrap_up_s)
    offer_waits(theirs, calls, 0.0)  # app_queue's wrapuptime as shipped
    print("\nthe offers, from the agents' phones' traces:")
    for p in phases:
        print(f"{p.router:<8}:\n" + offers_text(p))
    return figures(ours, theirs, opts)


def _options(argv: list[str] | None) -> Options:
    ap = argparse.ArgumentParser(prog="python -m bench.hold", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 callers, 20 agents, 10 s hold")
    ap.add_argument("--callers", type=int, default=1000)
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--agent-processes", type=int, default=4)
    ap.add_argument("--rate", type=float, default=25.0, help="callers entering per second")
    ap.add_argument("--hold-s", type=float, default=30.0,
                    help="seconds every caller waits before agents are freed")
    ap.add_argument("--free-rate", type=float, default=20.0, help="agents freed per second")
    ap.add_argument("--ring-ms", type=int, default=100)
    ap.add_argument("--talk-ms", type=int, default=1000)
    ap.add_argument("--wrap-up-s", type=float, default=1.0, help="ours: after-call work")
    ap.add_argument("--lease-s", type=int, default=None,
                    help="the hold session's lease (default: the platform's)")
    ap.add_argument("--ours-only", action="store_true", help="skip the app_queue phase")
    a = ap.parse_args(argv)
    if a.quick:
        a.callers, a.agents, a.hold_s = 200, 20, 10.0
    return Options(a.callers, a.agents, a.agent_processes, a.rate, a.hold_s, a.free_rate,
                   a.ring_ms, a.talk_ms, a.wrap_up_s, a.lease_s, not a.ours_only)


def main(argv: list[str] | None = None) -> int:
    opts = _options(argv)
    if os.geteuid() != 0:
        print("bench.hold starts its own Asterisk node (mount, chroot): run it as root",
              file=sys.stderr)
        return 2
    _check_ports(opts)
    base = Path(tempfile.mkdtemp(prefix="hotline-hold-"))
    settings = hold_settings(base, opts)
    plan = AgentPlan(opts.agents, opts.agent_processes, AGENT_SIP_BASE)
    centre = wire_centre(plan)
    phones: list[SippProcess] = []
    live: list[SippProcess] = []
    stop_on_signals(signal.SIGTERM, signal.SIGINT)
    try:
        node = boot_node(settings, centre)
        print(f"Asterisk node {node.node} (pid {node.pid}): {opts.callers} callers at "
              f"{opts.rate:g}/s, held {opts.hold_s:g} s, then {opts.agents} agents freed at "
              f"{opts.free_rate:g}/s (ring {opts.ring_ms} ms, talk {opts.talk_ms} ms, wrap-up "
              f"{opts.wrap_up_s:g} s ours); hold lease {settings.hold_lease_s} s; load "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        phones.extend(start_phones(plan, PHONE_MEDIA_BASE, opts.ring_ms, opts.talk_ms))
        live.extend(phones)
        result = event_loop.run(run_all(settings, centre, opts, node.pid, phones, live),
                                settings.event_loop, nice=settings.controller_nice)
    except KeyboardInterrupt:
        print("interrupted: stopping SIPp and Asterisk", file=sys.stderr)
        return 130
    finally:
        tear_down(settings, base, live, KEPT_LOG)
    print()
    print_targets(result, (("target_waiting", f"{opts.callers} callers held at once"),
                           ("target_cpu", "Asterisk CPU holding them no more than app_queue's"),
                           ("target_offer_p99", f"offer p99 <= {OFFER_P99_TARGET_MS:g} ms")))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
