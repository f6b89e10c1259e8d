"""Routing on the wire: our controller vs Asterisk's app_queue, on the real Asterisk, with SIPp.

    .venv/bin/python -m bench.wire [--quick] [--rates 5,20,50] [--seconds 10] [--agents 300]

Run as root from the repository root (it starts its own Asterisk node, "wire", in a temporary
run dir on ports 29000-29999, RTP 50000-59999). At each call rate, for `--seconds` seconds of
calls, two phases run back to back on the same node and the same SIPp agent phones (300
agents served by a few SIPp processes, each ringing 200 ms and ending the call after 2 s):

- ours: the controller in this process with its FastAGI server (the "hold" script), every
  agent logged in and ready, after-call work ending by itself (Settings.wrap_up_s); callers
  dial a bench-only number that takes the hotline's entry steps without the IVR, and wait in
  hotline-hold, held in a FastAGI session, until the controller answers it with the agent
  (hotline-connect); offers that find no session go by AMI Redirect (counted apart);
- app_queue: no controller; callers dial a bench-only number whose extension (added over AMI,
  the same entry steps) goes straight to hotline-failsafe, app_queue with the same agents as
  static members. The node's rendered queues.conf gets `autofill = yes` (--appqueue-shipped
  keeps it as shipped, which rings for one waiting caller at a time).

Measured per phase:
- the wait from the caller entering it (HotlineQueued / HotlineFailsafe UserEvent, stamped by
  Asterisk: AMI Timestamp) to the INVITE's arrival at the agent's SIPp phone (SIPp's message
  trace; same machine clock), median and p99: the headline figure; also to DialBegin;
- the same wait on SIPp stamps alone: the hotline's 200 OK reaching the caller -> the INVITE
  reaching the agent (AMI stamps an event when it formats it, under load late);
- ours only, where the wait goes: Asterisk's stamp -> the controller holds the typed event ->
  the router's Offer -> DialBegin (the session's answer or a Redirect, hotline-connect,
  MixMonitor, Dial);
- failed calls (SIPp caller failures plus calls that never reached an agent); Asterisk's CPU
  time (/proc/<pid>/stat), this process's, and how busy the whole machine was.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.wire_node import (
    AMI_PORT,
    BENCH_APPQUEUE_NUMBER,
    BENCH_HOLD_NUMBER,
    CALLER_SIP_BASE,
    PHONE_MEDIA_BASE,
    SIP_PORT,
    AgentPlan,
    add_bench_entries,
    autofill_failsafe,
    busiest_threads,
    cpu_seconds,
    listen_overflows,
    log_size,
    machine_ticks,
    overload_warnings,
    pressure_stall_us,
    skip_survey,
    thread_cpu,
    udp_receive_drops,
    udp_socket_drops,
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
from bench.wire_sipp import (
    SIPP_NICE,
    answers_at_callers,
    caller_counts,
    invite_arrivals,
    start_callers,
)
from bench.wire_stats import (
    Latency,
    PhaseRecord,
    breakdown,
    match_invites,
    slowest,
    waits,
    wire_waits,
)
from hotline.centre.model import Centre
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess
from hotline.process import event_loop
from hotline.process.controller import Controller
from hotline.process.controller.hold_desk import HoldRequest
from hotline.process.gc_policy import settle_after_start
from hotline.telephony.agi.server import AgiServer, by_script
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node.box import log_path as asterisk_log

KEPT_LOG = Path(tempfile.gettempdir()) / "hotline-wire-asterisk.log"
PATIENCE_MS = 20_000  # a caller nobody connects hangs up this long after the hotline answered
LEG_NAMES = {"ami_in": "queued -> controller", "decide": "controller -> offer",
             "redirect_dial": "offer -> DialBegin",  # keys kept for older runs' JSON
             "hold_in": "queued -> hold session"}
MEDIAN_TARGET_MS = 5.0  # ours within this of app_queue's median at the lowest rate
P99_TARGET_MS = 50.0  # ours at the highest rate


@dataclass(frozen=True, slots=True)
class Options:
    rates: list[float]
    seconds: float
    agents: int
    agent_processes: int
    ring_ms: int
    talk_ms: int
    wrap_up_s: float
    appqueue_shipped: bool = False  # keep queues.conf as shipped (no autofill)


@dataclass
class Phase:
    router: str  # "ours" | "appqueue"
    rate: float
    record: PhaseRecord
    placed: int = 0
    sipp_failed: int = 0
    sipp_exit: int | None = None
    sipp_errors: str = ""
    cpu_s: float = 0.0  # Asterisk's
    own_cpu_s: float = 0.0  # this process: the controller (ours), the event pump (app_queue)
    machine_busy: float = 0.0  # share of all cores busy during the phase, 0..1
    machine_steal: float = 0.0  # share of all cores' time taken by the hypervisor, 0..1
    udp_drops: int = 0  # datagrams dropped on full UDP receive buffers, machine-wide
    listen_overflows: int = 0  # TCP connections refused on a full accept queue, machine-wide
    drops_by_socket: dict[str, int] = field(default_factory=dict)  # local address -> drops
    overloads: dict[str, int] = field(default_factory=dict)  # task processor -> warnings
    stalls: dict[str, float] = field(default_factory=dict)  # PSI kind -> share of the phase
    hot_threads: list[tuple[str, float]] = field(default_factory=list)  # Asterisk's busiest
    phones_cpu_s: float = 0.0  # the agents' SIPp processes
    callers_cpu_s: float = 0.0  # the callers' SIPp (reaped children of this process)
    others_cpu_s: float = 0.0  # the machine's busy time minus all of the above: disturbance
    load_before: float = 0.0  # 1-minute load average when the phase began
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the controller's call log (ours)
    delivered: dict[str, int] = field(default_factory=dict)  # ours: offers by hold / Redirect
    to_invite: Latency | None = None
    to_dial: Latency | None = None
    answers: dict[str, float] = field(default_factory=dict)  # caller number -> 200 OK arrival
    answer_to_invite: Latency | None = None
    legs: dict[str, Latency | None] = field(default_factory=dict)  # ours: where the wait goes
    slowest: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.sipp_failed + self.record.not_connected

    @property
    def key(self) -> str:
        return f"{self.rate:g}cps"


class _Collect(logging.Handler):
    """Warnings and errors logged by the platform during a phase (lost redirects, router bugs)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.sink: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.sink is not None:
            self.sink.append(self.format(record))


_collect = _Collect()


def _check_ports(opts: Options, phases: int) -> None:
    udp = [SIP_PORT, *AgentPlan(opts.agents, opts.agent_processes).ports(),
           *range(CALLER_SIP_BASE, CALLER_SIP_BASE + phases)]
    check_ports_free(udp, [AMI_PORT], "another wire benchmark")


async def _wait_until(predicate: Callable[[], bool], deadline_s: float) -> bool:
    """Polls (the benchmark has no event for "Asterisk is idle"); True if it came true."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.05)
    return True


async def _drained(link: AmiLink, deadline_s: float = 15.0) -> bool:
    """No channel left on the node, so the next phase starts with every agent free."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not await link.channels():
            return True
        await asyncio.sleep(0.2)
    return False


async def _pump(link: AmiLink, record: PhaseRecord) -> None:
    while True:
        record.observe(await link.events.get())


def _phones_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a phone died
            total += cpu_seconds(pid)
    return total


def _time_hold_arrivals(controller: Controller, record: PhaseRecord) -> None:
    """Notes when each call's first hold session reached the controller."""
    inner = controller.holds.on_arrival

    def arrived(request: HoldRequest) -> None:
        record.held.setdefault(request.call_id, record.clock())
        inner(request)

    controller.holds.on_arrival = arrived


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run_phase(settings: Settings, centre: Centre, opts: Options, rate: float,
                    appqueue: bool, index: int, pid: int, live: list[SippProcess]) -> Phase:
    phase = Phase("appqueue" if appqueue else "ours", rate, PhaseRecord(appqueue=appqueue))
    calls = max(1, round(rate * opts.seconds))
    controller: Controller | None = None
    agi: AgiServer | None = None
    link: AmiLink
    pump: asyncio.Task[None] | None = None
    _collect.sink = phase.warnings
    if appqueue:
        link = AmiLink(settings)
        await link.connect()
        pump = asyncio.create_task(_pump(link, phase.record), name="wire-pump")
    else:
        controller = Controller(settings, centre, emit_line=phase.lines.append)
        controller.observe(phase.record.observe)
        _time_hold_arrivals(controller, phase.record)
        agi = AgiServer(settings, by_script({"hold": controller.holds.serve,
                                             "survey": skip_survey}))
        await agi.start()  # callers wait held in FastAGI, as the platform serves them
        await controller.start()
        link = controller.links[settings.node_name]
        for agent in centre.agents:
            controller.agent_command(agent.id, AgentTrigger.LOGIN)
            controller.agent_command(agent.id, AgentTrigger.READY)
    settle_after_start()  # as hotline run does once it has started
    cpu0, own0, ticks0 = cpu_seconds(pid), time.process_time(), machine_ticks()
    drops0, socket_drops0 = udp_receive_drops(), udp_socket_drops()
    overflows0 = listen_overflows()
    log0, stall0 = log_size(asterisk_log(settings)), pressure_stall_us()
    threads0 = thread_cpu(pid)
    phone_pids = [phone.proc.pid for phone in live]  # the agents' phones, before the callers
    phones0 = _phones_cpu(phone_pids)
    children0 = _children_cpu()
    phase.load_before = os.getloadavg()[0]
    started = time.monotonic()
    try:
        caller = start_callers(
            [f"139{index:02d}{i:06d}" for i in range(calls)], f"127.0.0.1:{settings.sip_port}",
            BENCH_APPQUEUE_NUMBER if appqueue else BENCH_HOLD_NUMBER, rate,
            PATIENCE_MS, CALLER_SIP_BASE + index,
            PHONE_MEDIA_BASE + 4 * (opts.agent_processes + index))
        live.append(caller)
        # Polled rather than waited for in a thread: a Ctrl-C must not wait for SIPp.
        if await _wait_until(lambda: not caller.running(),
                             calls / rate + PATIENCE_MS / 1000 + 30):
            phase.sipp_exit = caller.proc.returncode
        else:
            phase.warnings.append("SIPp callers did not finish in time; stopped")
            caller.proc.terminate()
        # SIPp is done; the last hang-ups may still be on their way over AMI
        await _wait_until(phase.record.all_ended, 10)
        phase.duration_s = time.monotonic() - started
        if not await _drained(link):
            phase.warnings.append("channels still up 15 s after the last call")
        counts = caller_counts(caller)
        if counts is None:
            phase.warnings.append("SIPp wrote no counters: every call counted as failed")
            phase.placed, phase.sipp_failed = calls, calls
        else:
            phase.placed, phase.sipp_failed = counts.created, counts.failed
            # calls SIPp never placed (it was stopped early) count as failed too
            phase.sipp_failed += max(0, calls - counts.created)
        phase.answers = answers_at_callers(caller)
        phase.drops_by_socket = {
            addr: n - socket_drops0.get(addr, 0) for addr, n in udp_socket_drops().items()
            if n > socket_drops0.get(addr, 0)}
        if phase.sipp_exit not in (0, None) or phase.sipp_failed:
            phase.sipp_errors = caller.errors()[-2000:]
        caller.stop()
        live.remove(caller)
    finally:
        phase.cpu_s = cpu_seconds(pid) - cpu0
        phase.own_cpu_s = time.process_time() - own0
        ticks1 = machine_ticks()
        phase.machine_busy = (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1])
        phase.machine_steal = (ticks1[2] - ticks0[2]) / max(1, ticks1[1] - ticks0[1])
        busy_s = (ticks1[0] - ticks0[0]) / os.sysconf("SC_CLK_TCK")
        phase.udp_drops = udp_receive_drops() - drops0
        phase.listen_overflows = listen_overflows() - overflows0
        phase.overloads = overload_warnings(asterisk_log(settings), log0)
        phase.hot_threads = busiest_threads(threads0, thread_cpu(pid))
        phase.phones_cpu_s = _phones_cpu(phone_pids) - phones0
        phase.callers_cpu_s = _children_cpu() - children0
        phase.others_cpu_s = max(0.0, busy_s - phase.cpu_s - phase.own_cpu_s
                                 - phase.phones_cpu_s - phase.callers_cpu_s)
        wall_us = max(1.0, (time.monotonic() - started) * 1e6)
        phase.stalls = {k: (v - stall0.get(k, v)) / wall_us
                        for k, v in pressure_stall_us().items()}
        _collect.sink = None
        if controller is not None:
            phase.delivered = dict(controller.delivered)
            await controller.stop()
        if agi is not None:
            await agi.stop()
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await link.close()
    return phase


def _describe(p: Phase) -> str:
    def lat(x: Latency | None) -> str:
        if x is None:
            return "n/a"
        return f"median {x.median_ms:7.2f} ms, p99 {x.p99_ms:7.2f} ms, max {x.max_ms:7.2f} ms"

    r = p.record
    lines = [
        f"{p.router:<8} {p.rate:>4g} cps: {p.placed} calls placed, {len(r.started)} waited, "
        f"{len(r.answered)} answered, {r.rings} rings, {p.duration_s:.1f} s",
        f"    CPU: Asterisk {p.cpu_s:.2f} s, this process {p.own_cpu_s:.2f} s, SIPp agents "
        f"{p.phones_cpu_s:.2f} s, SIPp callers {p.callers_cpu_s:.2f} s, anything else "
        f"{p.others_cpu_s:.2f} s; machine "
        f"{100 * p.machine_busy:.0f}% busy, {100 * p.machine_steal:.1f}% stolen "
        f"({os.cpu_count()} cores, load {p.load_before:.1f} before); UDP datagrams dropped on "
        f"full receive buffers: {p.udp_drops}; TCP connections refused on a full accept "
        f"queue: {p.listen_overflows}",
        f"    wait -> INVITE at agent   {lat(p.to_invite)}"
        f"  (n={p.to_invite.n if p.to_invite else 0})",
        f"    wait -> DialBegin         {lat(p.to_dial)}",
        f"    caller's 200 OK -> INVITE {lat(p.answer_to_invite)}"
        f"  (n={p.answer_to_invite.n if p.answer_to_invite else 0}, SIPp stamps only)",
        *[f"      {LEG_NAMES[name]:<23} {lat(x)}" for name, x in p.legs.items()],
        *([f"    offers: {r.offers} made, {p.delivered.get('hold', 0)} delivered through the "
           f"hold session, {p.delivered.get('redirect', 0)} by AMI Redirect"]
          if p.delivered else []),
        f"    failed {p.failed} (SIPp callers {p.sipp_failed}, never connected "
        f"{r.not_connected})" + (f", via failsafe {len(r.failsafe)}"
                                 if p.router == "ours" else ""),
    ]
    lines += [f"    slowest: {', '.join(p.slowest)}"]
    if p.hot_threads:
        lines.append("    Asterisk's busiest threads (CPU s): " + ", ".join(
            f"{name} {sec:.2f}" for name, sec in p.hot_threads))
    if p.stalls:
        lines.append("    stalled (share of the phase): " + ", ".join(
            f"{k.replace('_', ' ')} {100 * v:.1f}%" for k, v in sorted(p.stalls.items())))
    if p.overloads:
        lines.append("    Asterisk task processor queues over high water: " + ", ".join(
            f"{name} x{n}" for name, n in sorted(p.overloads.items())))
    if p.drops_by_socket:
        lines.append("    UDP drops by socket: " + ", ".join(
            f"{addr} {n}" for addr, n in sorted(p.drops_by_socket.items(), key=lambda x: -x[1])))
    lines += [f"    warning: {w}" for w in p.warnings[:10]]
    if len(p.warnings) > 10:
        lines.append(f"    ... {len(p.warnings) - 10} more warnings")
    if p.sipp_errors:
        lines.append("    SIPp errors (tail):\n" + p.sipp_errors[-800:])
    return "\n".join(lines)


def _figures(phases: list[Phase], opts: Options, timing: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in phases:
        prefix = "" if p.router == "ours" else "appqueue_"
        main = p.to_invite if timing == "invite" else p.to_dial
        out[f"{prefix}median_ms_{p.key}"] = main.median_ms if main else None
        out[f"{prefix}p99_ms_{p.key}"] = main.p99_ms if main else None
        out[f"{prefix}dial_median_ms_{p.key}"] = p.to_dial.median_ms if p.to_dial else None
        out[f"{prefix}dial_p99_ms_{p.key}"] = p.to_dial.p99_ms if p.to_dial else None
        wire = p.answer_to_invite
        out[f"{prefix}answer_to_invite_median_ms_{p.key}"] = wire.median_ms if wire else None
        out[f"{prefix}answer_to_invite_p99_ms_{p.key}"] = wire.p99_ms if wire else None
        out[f"{prefix}failed_{p.key}"] = p.failed
        if p.delivered:
            out[f"offers_by_hold_{p.key}"] = p.delivered.get("hold", 0)
            out[f"offers_by_redirect_{p.key}"] = p.delivered.get("redirect", 0)
            out[f"offers_made_{p.key}"] = p.record.offers
        for name, x in p.legs.items():
            out[f"{name}_median_ms_{p.key}"] = x.median_ms if x else None
            out[f"{name}_p99_ms_{p.key}"] = x.p99_ms if x else None
        out[f"{prefix}asterisk_cpu_s_{p.key}"] = round(p.cpu_s, 2)
        out[f"{prefix}process_cpu_s_{p.key}"] = round(p.own_cpu_s, 2)
        out[f"{prefix}sipp_cpu_s_{p.key}"] = round(p.phones_cpu_s + p.callers_cpu_s, 2)
        out[f"{prefix}others_cpu_s_{p.key}"] = round(p.others_cpu_s, 2)
        out[f"{prefix}machine_busy_pct_{p.key}"] = round(100 * p.machine_busy, 1)
        out[f"{prefix}machine_steal_pct_{p.key}"] = round(100 * p.machine_steal, 1)
        out[f"{prefix}udp_drops_{p.key}"] = p.udp_drops
        out[f"{prefix}listen_overflows_{p.key}"] = p.listen_overflows
        out[f"{prefix}overload_warnings_{p.key}"] = sum(p.overloads.values())
        for k, v in p.stalls.items():
            out[f"{prefix}stall_{k}_pct_{p.key}"] = round(100 * v, 1)
    ours = [p for p in phases if p.router == "ours"]
    theirs = [p for p in phases if p.router == "appqueue"]
    for prefix, group in (("", ours), ("appqueue_", theirs)):
        out[f"{prefix}failed"] = sum(p.failed for p in group)
        out[f"{prefix}calls"] = sum(p.placed for p in group)
        out[f"{prefix}asterisk_cpu_s"] = round(sum(p.cpu_s for p in group), 2)
    low, high = f"{min(opts.rates):g}cps", f"{max(opts.rates):g}cps"
    m_ours, m_aq = out.get(f"median_ms_{low}"), out.get(f"appqueue_median_ms_{low}")
    if isinstance(m_ours, float) and isinstance(m_aq, float):
        out["median_delta_ms_low"] = round(m_ours - m_aq, 2)
        out["median_ratio_low"] = round(m_ours / m_aq, 3) if m_aq > 0 else None
        out["target_median_within_5ms"] = m_ours - m_aq <= MEDIAN_TARGET_MS
    p99_high = out.get(f"p99_ms_{high}")
    out["target_p99_le_50ms_at_max_rate"] = (isinstance(p99_high, float)
                                             and p99_high <= P99_TARGET_MS)
    out["target_no_failed_at_max_rate"] = out.get(f"failed_{high}") == 0
    out["timing"] = timing
    out["appqueue_autofill"] = not opts.appqueue_shipped
    out["rates"] = opts.rates
    out["agents"] = opts.agents
    return out


async def run_all(settings: Settings, centre: Centre, opts: Options, pid: int,
                  agent_phones: list[SippProcess], live: list[SippProcess]) -> dict[str, object]:
    link = AmiLink(settings)
    await link.connect()
    try:
        await add_bench_entries(link)
        if not opts.appqueue_shipped:
            autofill_failsafe(settings)
            await link.action("Command", Command="queue reload all")
    finally:
        await link.close()
    phases: list[Phase] = []
    index = 0
    for rate in opts.rates:
        for appqueue in (False, True):
            phase = await run_phase(settings, centre, opts, rate, appqueue, index, pid, live)
            index += 1
            phases.append(phase)
            print(f"  done: {phase.router} at {rate:g} cps", flush=True)
    invites = [inv for phone in agent_phones for inv in invite_arrivals(phone)]
    matched_any = False
    for p in phases:
        matched = match_invites(p.record, invites)
        to_invite, to_dial = waits(p.record, matched)
        p.to_invite, p.to_dial = Latency.of(to_invite), Latency.of(to_dial)
        p.answer_to_invite = Latency.of(wire_waits(p.record, p.answers, matched))
        p.slowest = slowest(p.record, matched)
        if p.router == "ours":
            p.legs = {name: Latency.of(v) for name, v in breakdown(p.record).items()}
        matched_any = matched_any or bool(to_invite)
    timing = "invite" if matched_any else "dialbegin"
    print()
    print(f"{len(invites)} INVITEs traced at the agents' phones; wait measured to "
          f"{'the INVITE arrival' if timing == 'invite' else 'DialBegin (no INVITE trace)'}")
    for p in phases:
        print(_describe(p))
        if p.router == "ours" and (p.failed or p.warnings):
            lost = set(p.record.started) - p.record.answered
            story = [line for line in p.lines if any(f"call {c} " in line for c in lost)]
            print("    controller log of the calls never connected:\n      "
                  + "\n      ".join(story[-40:]))
            print("    controller log (last 20 lines):\n      "
                  + "\n      ".join(p.lines[-20:]))
    return _figures(phases, opts, timing)


def _options(argv: list[str] | None) -> Options:
    ap = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one rate (5 cps), 4 s, 60 agents")
    ap.add_argument("--rates", default="5,20,50", help="calls per second, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of calls per phase")
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--agent-processes", type=int, default=6,
                    help="SIPp processes serving the agents' phones")
    ap.add_argument("--ring-ms", type=int, default=200, help="agent phone rings before answer")
    ap.add_argument("--talk-ms", type=int, default=2000, help="agent ends the call after")
    ap.add_argument("--wrap-up", type=float, default=1.0, help="after-call work, seconds (ours)")
    ap.add_argument("--appqueue-shipped", action="store_true",
                    help="app_queue exactly as asterisk-config/queues.conf ships it (no "
                         "autofill: it rings for one waiting caller at a time)")
    ap.add_argument("--sipp-nice", type=int, default=0,
                    help="niceness of the SIPp phones and callers (they stand for other "
                         "machines; 10: they take only the CPU Asterisk and the controller "
                         "leave; 0, the default: they compete as equals)")
    a = ap.parse_args(argv)
    SIPP_NICE["value"] = a.sipp_nice
    if a.quick:
        return Options([5.0], 4.0, 60, 2, a.ring_ms, a.talk_ms, a.wrap_up,
                       a.appqueue_shipped)
    rates = [float(r) for r in a.rates.split(",") if r.strip()]
    return Options(rates, a.seconds, a.agents, a.agent_processes, a.ring_ms, a.talk_ms,
                   a.wrap_up, a.appqueue_shipped)


def main(argv: list[str] | None = None) -> int:
    opts = _options(argv)
    if os.geteuid() != 0:
        print("bench.wire starts its own Asterisk node (mount, chroot): run it as root",
              file=sys.stderr)
        return 2
    _check_ports(opts, 2 * len(opts.rates))
    logging.getLogger().addHandler(_collect)
    base = Path(tempfile.mkdtemp(prefix="hotline-wire-"))
    settings = wire_settings(base, wrap_up_s=opts.wrap_up_s)
    plan = AgentPlan(opts.agents, opts.agent_processes)
    centre = wire_centre(plan)
    agent_phones: list[SippProcess] = []
    live: list[SippProcess] = []
    stop_on_signals(signal.SIGTERM, signal.SIGINT)
    try:
        node = boot_node(settings, centre, name_log=True)
        print(f"Asterisk node {node.node} (pid {node.pid}): SIP {node.sip}, AMI {node.ami}; "
              f"{opts.agents} agents on {opts.agent_processes} SIPp processes; rates "
              f"{', '.join(f'{r:g}' for r in opts.rates)} cps for {opts.seconds:g} s each; "
              f"ring {opts.ring_ms} ms, talk {opts.talk_ms} ms, wrap-up {opts.wrap_up_s:g} s; "
              f"app_queue {'as shipped' if opts.appqueue_shipped else 'with autofill = yes'}",
              flush=True)
        agent_phones.extend(start_phones(plan, PHONE_MEDIA_BASE, opts.ring_ms, opts.talk_ms))
        live.extend(agent_phones)
        # the controller at the platform's priority (hotline run does the same); the SIPp
        # callers it starts take --sipp-nice, absolute
        figures = event_loop.run(
            run_all(settings, centre, opts, node.pid, agent_phones, live), settings.event_loop,
            nice=settings.controller_nice)
    except KeyboardInterrupt:
        print("interrupted: stopping SIPp and Asterisk", file=sys.stderr)
        return 130
    finally:
        tear_down(settings, base, live, KEPT_LOG)
    print()
    print_targets(figures, (
        ("target_median_within_5ms", f"ours within 5 ms of app_queue's median at "
         f"{min(opts.rates):g} cps"),
        ("target_p99_le_50ms_at_max_rate", f"p99 <= 50 ms at {max(opts.rates):g} cps"),
        ("target_no_failed_at_max_rate", f"no failed call at {max(opts.rates):g} cps")))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
