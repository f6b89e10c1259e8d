"""Soak: the whole platform under a steady call load for an hour; is every call accounted for,
and does memory stay flat?

    .venv/bin/python -m bench.soak [--minutes 60] [--rate 5] [--agents 40]

Run as root from the repository root. It starts the wire benchmark's Asterisk node (bench/
wire_node.py: node "wire", ports 29000-29999, RTP 50000-59999; so not beside a running
bench.wire) and, against it, the controller as production runs it: a `hotline run --ready`
subprocess with its embedded PostgreSQL and Redis (the history recorder, the write-behind
writer, the metrics, the HTTP side), whose RSS is then the controller process's own.

Load: SIPp callers at `--rate` calls per second for `--minutes`; `--agents` agents answered by
a few SIPp processes (ring 200 ms, talk `--talk-ms`, then the agent hangs up; after-call work
ends by itself, Settings.wrap_up_s). Callers dial the bench-only entry number BENCH_HOLD_NUMBER
(bench/wire_node.py): the hotline number's entry steps without the IVR, then hotline-hold,
where the controller holds them in FastAGI until an agent is free: the production path from
the queue on (the IVR's menus are measured by bench.ivr). Each caller has its own number, so
each placed call is found in the history by it.

Measured:
- accounting: every call SIPp created looked up in PostgreSQL's `calls` (by caller number):
  each present exactly once, with an outcome; each answered call with its `recordings` row and
  the WAV file on disk. `lost` = no history row + more than one row + no outcome + answered
  without a recordings row + a row whose file is not on disk (each counted apart in `lost_by`);
- memory: VmRSS of the controller process and of Asterisk every ~10 s (more often in short
  runs); growth = least-squares slope from the end of a warm-up (10% of the calls period, and
  at least a quarter of it up to 1 minute) to the last new call, in MB per hour. A run of a
  few minutes mostly shows the channels and caches filling up: only the hour says much. The
  controller keeps some calls' context in memory on purpose: the router's explanations of
  its last 2,000 calls (explain_keep; 10,000 before), the desk's contexts of live calls and
  10 an agent (the last 10,000 calls' before), today's distinct callers (until midnight) and
  up to 100,000 ended ids (bench.footprint's retained_bytes_per_call: 3.1 KB a call before
  #15's compaction, 1.9 KB after it, before the two changes); a cache fills for its first
  calls and then stays flat, so the second half's slope
  (`rss_growth_second_half_mb_per_hour`) tells a leak from a filling.
  A fill of ~3 KB a call over 10,000 calls alone made a slope of ~27 MB/hour over 6-60
  minutes at 5/s (~1.9 KB: ~17 MB/hour): what grew, and why, is in docs/metrics.md ("The
  controller's RSS in the soak"). `--probe` (bench/soak_trace.py) prints, from the warm-up to
  the last call, the controller's RSS by mapping, malloc's in-use and free bytes, pymalloc's
  blocks, threads, and (unless `--probe-no-walk`) the objects by type and the largest
  containers with their holders.
Targets: lost 0; controller and Asterisk RSS growth under 20 MB/hour each.
The last line is one JSON object with the figures. Set-up (node boot, initdb of the embedded
PostgreSQL) takes about half a minute; the history check after the calls up to a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.wire_node import (
    AMI_PORT,
    BENCH_HOLD_NUMBER,
    CALLER_SIP_BASE,
    PHONE_MEDIA_BASE,
    SIP_PORT,
    AgentPlan,
    add_bench_entries,
    wire_centre,
    wire_settings,
)
from bench.wire_run import (
    boot_node,
    check_ports_free,
    stop_on_signals,
    tear_down,
)
from bench.wire_sipp import caller_counts, start_agent_phones, start_callers
from hotline.centre.centre_file import centre_toml
from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess
from hotline.telephony.ami.link import AmiLink

API_PORT = 29080  # the HTTP side of `hotline run`, inside the wire node's port block
UP = "live socket at"  # the last line `hotline run` prints once started
GROWTH_TARGET_MB_PER_HOUR = 20.0
SETTLE_S = 60.0  # after the last caller: how long the history may take to hold every call


# ---- memory


def rss_mb(pid: int) -> float | None:
    """VmRSS of `pid` in MB (/proc/<pid>/status), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def warm_up_s(duration_s: float) -> float:
    """What the growth fit leaves out at the start: 10% of the run, and at least a quarter of
    it up to a minute (a short run has little else)."""
    return max(0.1 * duration_s, min(60.0, 0.25 * duration_s))


def growth_mb_per_hour(samples: list[tuple[float, float]], warm_up: float,
                       until: float = float("inf")) -> float | None:
    """Least-squares slope of the (seconds since start, MB) samples taken from `warm_up` to
    `until`, in MB per hour; None with fewer than 3 such samples."""
    pts = [(t, v) for t, v in samples if warm_up <= t <= until]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    var = sum((t - mt) ** 2 for t, _ in pts)
    if var == 0:
        return None
    return sum((t - mt) * (v - mv) for t, v in pts) / var * 3600


# ---- accounting


@dataclass(frozen=True, slots=True)
class HistoryRow:
    call_id: str
    caller: str
    outcome: str | None
    answered: bool
    recording: str | None  # the recordings row's host path


@dataclass
class Accounting:
    calls: int = 0  # placed (SIPp created them)
    answered: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    no_row: list[str] = field(default_factory=list)  # caller numbers
    duplicated: list[str] = field(default_factory=list)
    no_outcome: list[str] = field(default_factory=list)
    no_recording: list[str] = field(default_factory=list)  # answered, no recordings row
    file_missing: list[str] = field(default_factory=list)  # answered, row but no file
    strays: int = 0  # history rows of a bench number SIPp never placed

    @property
    def lost_by(self) -> dict[str, int]:
        return {"no_history_row": len(self.no_row), "duplicated": len(self.duplicated),
                "no_outcome": len(self.no_outcome), "no_recording": len(self.no_recording),
                "recording_file_missing": len(self.file_missing)}

    @property
    def lost(self) -> int:
        return sum(self.lost_by.values())


def account(placed: list[str], rows: list[HistoryRow],
            file_ok: Callable[[str], bool] | None = None) -> Accounting:
    """Each placed caller number against the history rows. `file_ok(path)` says whether a
    recording's file is there (default: more than a WAV header on disk)."""
    check = file_ok or _recording_present
    by_caller: dict[str, list[HistoryRow]] = {}
    for row in rows:
        by_caller.setdefault(row.caller, []).append(row)
    out = Accounting(calls=len(placed))
    wanted = set(placed)
    out.strays = sum(len(v) for k, v in by_caller.items() if k not in wanted)
    for number in placed:
        found = by_caller.get(number, [])
        if not found:
            out.no_row.append(number)
            continue
        if len(found) > 1:
            out.duplicated.append(number)
        row = found[0]
        if row.outcome is None:
            out.no_outcome.append(number)
            continue
        out.outcomes[row.outcome] += 1
        if row.answered:
            out.answered += 1
            if row.recording is None:
                out.no_recording.append(number)
            elif not check(row.recording):
                out.file_missing.append(number)
    return out


def _recording_present(path: str) -> bool:
    try:
        return os.path.getsize(path) > 44  # more than a WAV header
    except OSError:
        return False


async def history_rows(pool: asyncpg.Pool, numbers: list[str]) -> list[HistoryRow]:
    rows = await pool.fetch(
        "SELECT c.call_id, c.caller, c.outcome, c.answered_at IS NOT NULL AS answered, r.path "
        "FROM calls c LEFT JOIN recordings r ON r.call_id = c.call_id "
        "WHERE c.caller = ANY($1::text[])", numbers)
    return [HistoryRow(r["call_id"], r["caller"], r["outcome"], r["answered"], r["path"])
            for r in rows]


# ---- the controller as production runs it


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a `hotline` subprocess use exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        key = f"HOTLINE_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env


class HotlineRun:
    """A `hotline run --ready` subprocess on the embedded PostgreSQL and Redis; its output is
    drained all along (the call log) and its tail kept."""

    def __init__(self, settings: Settings, trace_out: Path | None = None,
                 probe_out: Path | None = None, probe_every_s: float = 60.0,
                 probe_walk: bool = True) -> None:
        self.env = settings_env(settings)
        self.env["HOTLINE_DATABASE_URL"] = self.env["HOTLINE_REDIS_URL"] = ""
        # --tracemalloc, --probe: the same command under bench/soak_trace.py
        traced = trace_out is not None or probe_out is not None
        self.module = "bench.soak_trace" if traced else "hotline.process.cli"
        if trace_out is not None:
            self.env["HOTLINE_SOAK_TRACE_OUT"] = str(trace_out)
        if probe_out is not None:
            self.env["HOTLINE_SOAK_PROBE_OUT"] = str(probe_out)
            self.env["HOTLINE_SOAK_PROBE_EVERY_S"] = str(probe_every_s)
            self.env["HOTLINE_SOAK_PROBE_WALK"] = "1" if probe_walk else "0"
        self.proc: asyncio.subprocess.Process | None = None
        self.tail: deque[str] = deque(maxlen=200)
        self.lines = 0
        self.errors = 0  # ERROR / Traceback lines
        self.database_url = ""
        self._up = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, deadline_s: float = 120) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, "run", "--ready", env=self.env,
            start_new_session=True, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.create_task(self._read(), name="hotline-run-output")
        try:
            async with asyncio.timeout(deadline_s):  # initdb on the first start
                up = asyncio.create_task(self._up.wait())
                await asyncio.wait([up, self._reader], return_when=asyncio.FIRST_COMPLETED)
                up.cancel()
        except TimeoutError:
            raise RuntimeError("hotline run did not start:\n" + self.out) from None
        if not self._up.is_set():
            raise RuntimeError("hotline run ended at start:\n" + self.out)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            self.lines += 1
            self.tail.append(text)
            if " ERROR " in text or text.startswith("Traceback"):
                self.errors += 1
            if text.startswith("embedded PostgreSQL at "):
                self.database_url = text.removeprefix("embedded PostgreSQL at ").strip()
            if UP in text:
                self._up.set()

    async def stop(self, deadline_s: float = 60) -> int | None:
        """SIGTERM, as systemd stops it: calls handed over, history written, PostgreSQL
        stopped. Killed (its process group) if it does not end in time."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(deadline_s):
                return await self.proc.wait()
        except TimeoutError:
            self.kill()
            return await self.proc.wait()
        finally:
            if self._reader is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(self._reader, 5)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    @property
    def out(self) -> str:
        return "\n".join(self.tail)


# ---- the run


@dataclass(frozen=True, slots=True)
class Load:
    minutes: float
    rate: float
    talk_ms: int = 3000  # the agent hangs up after this
    ring_ms: int = 200
    caller_stay_ms: int = 15_000  # after the hotline answered, unless hung up on first
    sample_s: float = 10.0
    trace: bool = False  # the controller under tracemalloc (bench/soak_trace.py)
    probe: bool = False  # the controller's heap probed every probe_s (bench/soak_trace.py)
    probe_s: float = 60.0
    probe_walk: bool = True  # the objects walked too (its own memory then counts in the RSS)

    @property
    def calls(self) -> int:
        return max(1, round(self.rate * self.minutes * 60))


@dataclass(frozen=True, slots=True)
class Ports:
    """Where the SIPp processes listen: the callers' SIP port and media ports to draw from."""

    caller: int
    media: list[int]


def phone_ports(centre: Centre) -> list[int]:
    """The distinct SIPp ports the centre's agent contacts point at."""
    ports: list[int] = []
    for agent in centre.agents:
        port = int(agent.contact.rsplit(":", 1)[1].split(";")[0])
        if port not in ports:
            ports.append(port)
    return ports


@dataclass
class Samples:
    controller: list[tuple[float, float]] = field(default_factory=list)
    asterisk: list[tuple[float, float]] = field(default_factory=list)


async def _sample(samples: Samples, controller_pid: int, asterisk_pid: int, start: float,
                  every_s: float) -> None:
    while True:
        t = time.monotonic() - start
        for pid, out in ((controller_pid, samples.controller),
                         (asterisk_pid, samples.asterisk)):
            mb = rss_mb(pid)
            if mb is not None:
                out.append((t, mb))
        await asyncio.sleep(every_s)


async def _settled(pool: asyncpg.Pool, placed: list[str], deadline_s: float) -> Accounting:
    """Polls the history until every placed call is accounted for, or the deadline: the
    writer is write-behind and recordings are stored once their files close."""
    end = time.monotonic() + deadline_s
    while True:
        acc = account(placed, await history_rows(pool, placed))
        if acc.lost == 0 or time.monotonic() > end:
            return acc
        await asyncio.sleep(1.0)


def _mb(samples: list[tuple[float, float]]) -> dict[str, float | None]:
    values = [v for _, v in samples]
    if not values:
        return {"first": None, "last": None, "max": None}
    return {"first": round(values[0], 1), "last": round(values[-1], 1),
            "max": round(max(values), 1)}


async def run_soak(settings: Settings, centre: Centre, load: Load, ports: Ports,
                   asterisk_pid: int, number_prefix: str = "137") -> dict[str, object]:
    """The core, on a running node whose centre file holds `centre`: starts the agents'
    phones and `hotline run`, places the calls, samples memory, accounts for every call."""
    media = iter(ports.media)
    phones = [start_agent_phones(port, next(media), load.ring_ms, load.talk_ms)
              for port in phone_ports(centre)]
    trace_out = Path(tempfile.mkdtemp(prefix="soak-trace-")) / "growth.txt"
    probe_out = trace_out.parent / "probe.jsonl"
    run = HotlineRun(settings, trace_out if load.trace else None,
                     probe_out if load.probe else None, load.probe_s, load.probe_walk)
    caller: SippProcess | None = None
    sampler: asyncio.Task[None] | None = None
    figures: dict[str, object] = {}
    t0 = time.monotonic()
    try:
        await run.start()
        setup_s = time.monotonic() - t0
        link = AmiLink(settings)
        await link.connect()
        try:
            await add_bench_entries(link)
        finally:
            await link.close()
        pool = await asyncpg.create_pool(run.database_url, min_size=1, max_size=2)
        try:
            numbers = [f"{number_prefix}{i:08d}" for i in range(load.calls)]
            samples = Samples()
            every = min(load.sample_s, max(1.0, load.minutes * 60 / 30))
            start = time.monotonic()
            sampler = asyncio.create_task(
                _sample(samples, run.pid, asterisk_pid, start, every), name="soak-rss")
            baseline: asyncio.TimerHandle | None = None
            if load.trace:  # tracemalloc's baseline once warm
                baseline = asyncio.get_running_loop().call_later(
                    warm_up_s(load.calls / load.rate), run.signal, signal.SIGUSR1)
            caller = start_callers(numbers, f"127.0.0.1:{settings.sip_port}",
                                   BENCH_HOLD_NUMBER, load.rate, load.caller_stay_ms,
                                   ports.caller, next(media))
            limit = load.calls / load.rate + load.caller_stay_ms / 1000 + 60
            done = asyncio.ensure_future(asyncio.to_thread(caller.proc.wait))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(done), limit)
            calls_s = time.monotonic() - start
            sampler.cancel()
            if baseline is not None:
                baseline.cancel()
                run.signal(signal.SIGUSR1)  # the growth since the baseline, to trace_out
            if caller.running():
                caller.proc.terminate()  # ends the waiting thread too
            await done
            counts = caller_counts(caller)
            created = counts.created if counts else load.calls
            placed = numbers[:created]
            acc = await _settled(pool, placed, SETTLE_S)
            settle_s = time.monotonic() - start - calls_s
            errors = caller.errors()[-1500:] if counts is None or counts.failed else ""
        finally:
            await pool.close()
        # the fit: the steady load, from the warm-up to the last new call (not the drain)
        placing_s = min(calls_s, load.calls / load.rate)
        warm = warm_up_s(placing_s)
        figures = {
            "calls": acc.calls,
            "lost": acc.lost,
            "answered": acc.answered,
            "rss_growth_mb_per_hour": _round(growth_mb_per_hour(samples.controller, warm,
                                                                placing_s)),
            "asterisk_rss_growth_mb_per_hour": _round(growth_mb_per_hour(samples.asterisk,
                                                                         warm, placing_s)),
            # a leak keeps growing; the bounded per-call caches stop once full
            "rss_growth_second_half_mb_per_hour": _round(growth_mb_per_hour(
                samples.controller, placing_s / 2, placing_s)),
            "asterisk_rss_growth_second_half_mb_per_hour": _round(growth_mb_per_hour(
                samples.asterisk, placing_s / 2, placing_s)),
            "minutes": load.minutes,
            "rate": load.rate,
            "lost_by": acc.lost_by,
            "outcomes": dict(acc.outcomes),
            "stray_rows": acc.strays,
            "sipp_failed": counts.failed if counts else None,
            "sipp_successful": counts.successful if counts else None,
            "controller_rss_mb": _mb(samples.controller),
            "asterisk_rss_mb": _mb(samples.asterisk),
            "rss_samples": len(samples.controller),
            "warm_up_s": round(warm, 1),
            "fit_until_s": round(placing_s, 1),
            "calls_s": round(calls_s, 1),
            "setup_s": round(setup_s, 1),
            "settle_s": round(settle_s, 1),
            "controller_error_lines": run.errors,
            "agents": len(centre.agents),
        }
        for key in ("rss_growth_mb_per_hour", "rss_growth_second_half_mb_per_hour"):
            g = figures[key]  # the same per 1,000 calls placed at the run's rate
            figures[key.replace("_per_hour", "_per_1000_calls")] = (
                None if not isinstance(g, float) else round(g / (load.rate * 3.6), 3))
        figures["target_lost_0"] = acc.lost == 0
        figures["target_growth_under_20mb_h"] = all(
            isinstance(g, float) and g < GROWTH_TARGET_MB_PER_HOUR
            for g in (figures["rss_growth_mb_per_hour"],
                      figures["asterisk_rss_growth_mb_per_hour"]))
        _report(figures, acc, samples, errors, run)
        if load.trace:
            end = time.monotonic() + 60  # the child writes it from its signal handler
            while not trace_out.exists() and time.monotonic() < end:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.5)  # written whole: a few KB
            text = trace_out.read_text() if trace_out.exists() else "(not written)\n"
            print("controller: allocation sites that grew most after the warm-up "
                  "(tracemalloc):\n" + text, end="")
        if load.probe:
            figures["probe"] = probe_report(probe_out, start, warm, placing_s)
    finally:
        if sampler is not None:
            sampler.cancel()
        if caller is not None:
            caller.stop()
        status = await run.stop()
        figures["controller_exit"] = status
        for phone in phones:
            phone.stop()
        shutil.rmtree(trace_out.parent, ignore_errors=True)
    return figures


def probe_report(path: Path, start: float, warm_s: float, until_s: float) -> dict[str, Any]:
    """The controller's probes (bench/soak_trace.py) from the end of the warm-up to the last
    new call: each probe's RSS and where it lies, then what grew between the first and the
    last of them (objects by type, the largest containers)."""
    wall0 = time.time() - (time.monotonic() - start)  # the calls' start on the wall clock
    probes = []
    for line in path.read_text().splitlines() if path.exists() else []:
        p = json.loads(line)
        if "error" in p:
            print(f"probe error at {p['t'] - wall0:.0f} s: {p['error']}")
        elif warm_s <= p["t"] - wall0 <= until_s + 5:
            probes.append(p)
    print(f"controller probes after the warm-up ({len(probes)}): s: RSS = heap + anon + files "
          "MB | malloc in use / free MB | pymalloc blocks | gc objects | threads")
    for p in probes:
        sm, m = p["smaps"], p["malloc"] or {}
        print(f"  {p['t'] - wall0:6.0f}: {p['rss']:.1f} = {sm['heap']:.1f} + {sm['anon']:.1f} + "
              f"{sm['files']:.1f} ({sm['anon_mappings']:.0f} anon maps) | "
              f"{m.get('used')} / {m.get('free')} | {p['py_blocks']} | {p['gc_objects']} | "
              f"{p['threads']} (probe {p['probe_s']} s)")
    if len(probes) < 2:
        return {"probes": len(probes)}
    first, last = probes[0], probes[-1]
    hours = (last["t"] - first["t"]) / 3600

    def per_h(key: str, sub: str | None = None) -> float | None:
        a = first[key] if sub is None else (first[key] or {}).get(sub)
        b = last[key] if sub is None else (last[key] or {}).get(sub)
        return None if a is None or b is None or hours <= 0 else round((b - a) / hours, 2)

    grew = {k: last["types"].get(k, 0) - first["types"].get(k, 0)
            for k in set(first["types"]) | set(last["types"])}
    print("  objects by type, growth first -> last probe: " + ", ".join(
        f"{k} {v:+d}" for k, v in sorted(grew.items(), key=lambda kv: -abs(kv[1]))[:12]))
    before = {c["id"]: c["len"] for c in first["containers"]}
    print("  largest containers at the last probe (len, growth since the first probe, owner):")
    for c in last["containers"]:
        was = before.get(c["id"])
        delta = "new" if was is None else f"{c['len'] - was:+d}"
        print(f"    {c['len']:8d} {delta:>8} {c['type']} {c['owner']}")
    return {"probes": len(probes), "seconds": round(last["t"] - first["t"]),
            "rss_mb_per_hour": per_h("rss"),
            "heap_mb_per_hour": round((last["smaps"]["heap"] - first["smaps"]["heap"])
                                      / hours, 2),
            "anon_mb_per_hour": round((last["smaps"]["anon"] - first["smaps"]["anon"])
                                      / hours, 2),
            "malloc_used_mb_per_hour": per_h("malloc", "used"),
            "malloc_free_mb_per_hour": per_h("malloc", "free"),
            "py_blocks_per_hour": per_h("py_blocks"),
            "gc_objects_per_hour": per_h("gc_objects")}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _report(f: dict[str, object], acc: Accounting, samples: Samples, sipp_errors: str,
            run: HotlineRun) -> None:
    print(f"calls placed {f['calls']} in {f['calls_s']} s at {f['rate']}/s "
          f"(set-up {f['setup_s']} s, history settled {f['settle_s']} s after the callers); "
          f"SIPp failed {f['sipp_failed']}")
    print(f"history: {acc.answered} answered; outcomes {dict(acc.outcomes)}; lost {acc.lost} "
          f"({', '.join(f'{k} {v}' for k, v in acc.lost_by.items())}); "
          f"rows of numbers never placed {acc.strays}")
    for name, numbers in (("no history row", acc.no_row), ("duplicated", acc.duplicated),
                          ("no outcome", acc.no_outcome), ("no recording", acc.no_recording),
                          ("recording file missing", acc.file_missing)):
        if numbers:
            print(f"  {name}: {', '.join(numbers[:10])}{' ...' if len(numbers) > 10 else ''}")
    for name, key, series in (("controller", "rss_growth_mb_per_hour", samples.controller),
                              ("Asterisk", "asterisk_rss_growth_mb_per_hour",
                               samples.asterisk)):
        mb = _mb(series)
        step = max(1, len(series) // 12)  # the curve's shape: filling up, or still climbing
        print(f"{name} RSS (s: MB): " + ", ".join(f"{t:.0f}: {v:.1f}"
                                                 for t, v in series[::step]))
        half = key.replace("rss_growth", "rss_growth_second_half")
        print(f"{name} RSS: {mb['first']} -> {mb['last']} MB (max {mb['max']}), "
              f"{len(series)} samples; growth from {f['warm_up_s']} s to {f['fit_until_s']} s: "
              f"{f[key]} MB/hour (target < {GROWTH_TARGET_MB_PER_HOUR:g}); over the second "
              f"half: {f[half]} MB/hour")
    if run.errors:
        print(f"controller output: {run.errors} error lines; tail:\n  " +
              "\n  ".join(list(run.tail)[-20:]))
    if sipp_errors:
        print("SIPp callers' errors (tail):\n" + sipp_errors)


# ---- the command


def _media_ports(first: int) -> Iterator[int]:
    return iter(range(first, 60000, 4))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="minutes of calls")
    ap.add_argument("--rate", type=float, default=5.0, help="new calls per second")
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--agent-processes", type=int, default=4,
                    help="SIPp processes serving the agents' phones")
    ap.add_argument("--talk-ms", type=int, default=3000, help="agent ends the call after")
    ap.add_argument("--wrap-up", type=float, default=1.0, help="after-call work, seconds")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="run the controller under tracemalloc and print where its memory "
                         "grew after the warm-up (slower: for finding a leak)")
    ap.add_argument("--probe", action="store_true",
                    help="probe the controller's heap every --probe-s (RSS by mapping, "
                         "malloc's figures, objects by type, largest containers) and print "
                         "what grew after the warm-up (bench/soak_trace.py)")
    ap.add_argument("--probe-s", type=float, default=60.0)
    ap.add_argument("--probe-no-walk", action="store_true",
                    help="--probe without the objects' walk: the RSS, mappings and malloc's "
                         "figures only (the walk's own allocations grow a malloc arena)")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.soak starts its own Asterisk node (mount, chroot): run it as root",
              file=sys.stderr)
        return 2
    plan = AgentPlan(a.agents, a.agent_processes)
    check_ports_free([SIP_PORT, *plan.ports(), CALLER_SIP_BASE],
                     [AMI_PORT, API_PORT, API_PORT + 1], "bench.wire or another soak")
    base = Path(tempfile.mkdtemp(prefix="hotline-soak-"))
    base.chmod(0o711)  # the embedded PostgreSQL runs as the unprivileged 'hotline' user
    # One API user: development's default adds a login per agent, an argon2 hash each
    # (~0.3 s) in the event loop before the HTTP side counts as started, and with 40 agents
    # that outlasts Platform.start's 10 s wait for it on a busy machine.
    settings = wire_settings(base, wrap_up_s=a.wrap_up).model_copy(
        update={"api_port": API_PORT, "api_users": "supervisor:supervisor:supervisor"})
    centre = wire_centre(plan)
    settings.centre_file.write_text(centre_toml(centre))
    settings.data_dir.mkdir(parents=True)
    settings.data_dir.chmod(0o755)
    load = Load(minutes=a.minutes, rate=a.rate, talk_ms=a.talk_ms, trace=a.tracemalloc,
                probe=a.probe or a.probe_no_walk, probe_s=a.probe_s,
                probe_walk=not a.probe_no_walk)
    stop_on_signals(signal.SIGTERM)
    try:
        node = boot_node(settings, centre)
        print(f"Asterisk node {node.node} (pid {node.pid}); {a.agents} agents on "
              f"{a.agent_processes} SIPp processes; {load.calls} calls at {a.rate:g}/s over "
              f"{a.minutes:g} min; talk {a.talk_ms} ms, wrap-up {a.wrap_up:g} s", flush=True)
        media = list(_media_ports(PHONE_MEDIA_BASE))
        figures = asyncio.run(run_soak(settings, centre, load,
                                       Ports(CALLER_SIP_BASE, media), node.pid))
    except KeyboardInterrupt:
        print("interrupted: stopping SIPp, hotline run and Asterisk", file=sys.stderr)
        return 130
    finally:
        tear_down(settings, base, name_mounts=False)
    print()
    print(f"target: lost 0: {'met' if figures['target_lost_0'] else 'NOT met'}")
    print(f"target: RSS growth < {GROWTH_TARGET_MB_PER_HOUR:g} MB/hour (controller and "
          f"Asterisk): {'met' if figures['target_growth_under_20mb_h'] else 'NOT met'}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
