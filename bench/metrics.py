"""Benchmark: realtime metrics, compiled kernel vs its pure-Python twin, same stream, same run.

    .venv/bin/python -m bench.metrics            # 1,000,000 events
    .venv/bin/python -m bench.metrics --quick    # 100,000 events

The stream is a hotline day's mix: calls arrive as a Poisson process over 20 queues and 9
service types, 8 % abandon (a third of them short), 3 % ring out once first, 2 % overflow,
20 % are put on hold, and 1,500 agents send their state changes (on_call, after-call work,
ready). Measured: Metrics.apply events/s with each kernel (the whole realtime path: dispatch,
call table, counters, window), the kernel calls alone (recorded once, replayed on each
kernel), and one wallboard snapshot. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOverflowed,
    CallQueued,
    CallUnheld,
    Event,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.core_ext import agent_time_py, metrics_py
from hotline.core_ext.select import load_compiled
from hotline.realtime import Metrics, MetricsConfig

S = AgentState
QUEUES = [f"prov{i:02d}" for i in range(20)]
SERVICES = [s for s in ServiceType if s is not ServiceType.GENERAL]
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def stream(n_events: int, seed: int = 1) -> list[Event]:
    """About n_events events of plausible calls, in time order."""
    rnd = random.Random(seed)
    out: list[tuple[float, int, Event]] = []
    t = T0
    n = 0
    while len(out) < n_events:
        t += rnd.expovariate(5.0)  # 5 calls/s
        c, q = f"call-{n}", rnd.choice(QUEUES)
        a = f"agent-{rnd.randrange(1500)}"
        evs: list[Event] = [CallQueued(at=t, call_id=c, queue=q, service=rnd.choice(SERVICES))]
        wait = rnd.expovariate(1 / 15)
        r = rnd.random()
        if r < 0.08:
            evs.append(CallEnded(at=t + (wait / 4 if r < 0.027 else wait), call_id=c))
        else:
            if r < 0.11:
                evs.append(RingNoAnswer(at=t + wait / 2, call_id=c, agent_id=a))
            elif r < 0.13:
                to = rnd.choice(QUEUES)
                evs.append(CallOverflowed(at=t + wait / 2, call_id=c, from_queue=q, to_queue=to))
            ta = t + wait
            talk = rnd.uniform(60, 420)
            evs += [
                CallAnswered(at=ta, call_id=c, agent_id=a),
                AgentStateChanged(at=ta, agent_id=a, old=S.RINGING, new=S.ON_CALL, call_id=c),
            ]
            if rnd.random() < 0.2:
                evs += [CallHeld(at=ta + talk / 3, call_id=c)]
                evs += [CallUnheld(at=ta + talk / 3 + 30, call_id=c)]
                talk += 30
            te, acw = ta + talk, rnd.uniform(10, 90)
            evs += [
                CallEnded(at=te, call_id=c),
                AgentStateChanged(at=te, agent_id=a, old=S.ON_CALL, new=S.AFTER_CALL_WORK),
                AgentStateChanged(at=te + acw, agent_id=a, old=S.AFTER_CALL_WORK, new=S.READY),
            ]
        out += [(e.at, len(out) + i, e) for i, e in enumerate(evs)]
        n += 1
    out.sort(key=lambda x: (x[0], x[1]))
    return [e for _, _, e in out[:n_events]]


def run_apply(kernels: tuple[ModuleType, ModuleType], events: list[Event],
              ) -> tuple[float, Metrics]:
    """kernels: (metrics, agent_time), both compiled or both twins."""
    m = Metrics(MetricsConfig(day_start_offset_s=8 * 3600), kernel=kernels[0],
                agent_kernel=kernels[1])
    apply = m.apply
    gc.collect()
    start = time.perf_counter()
    for e in events:
        apply(e)
    return time.perf_counter() - start, m


class Recorder:
    """Forwards to a Core and records every call, to replay the kernel's work alone."""

    def __init__(self, core: Any, log: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._core, self._log = core, log

    def __getattr__(self, name: str) -> Callable[..., Any]:
        target = getattr(self._core, name)

        def call(*args: Any) -> Any:
            self._log.append((name, args))
            return target(*args)

        return call


def record_kernel_calls(events: list[Event]) -> list[tuple[str, tuple[Any, ...]]]:
    log: list[tuple[str, tuple[Any, ...]]] = []
    m = Metrics(MetricsConfig(), kernel=metrics_py)
    m._core = Recorder(m._core, log)  # the one place the bench reaches inside
    for e in events:
        m.apply(e)
    return log


def replay_kernel(kernel: ModuleType, log: list[tuple[str, tuple[Any, ...]]]) -> float:
    core = kernel.Core(1800.0)
    names = sorted({name for name, _ in log})
    index = {name: i for i, name in enumerate(names)}
    ops = [(index[name], args) for name, args in log]
    methods = [getattr(core, name) for name in names]
    gc.collect()
    start = time.perf_counter()
    for i, args in ops:
        methods[i](*args)
    return time.perf_counter() - start


def time_snapshot(m: Metrics, now: float, repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        json.dumps(m.snapshot(now))
    return (time.perf_counter() - start) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 events")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.events

    t = time.perf_counter()
    events = stream(n)
    gc.freeze()  # a million live events would otherwise make every full collection slow
    print(f"stream: {len(events):,} events, {events[-1].at - events[0].at:,.0f} s of hotline "
          f"time, built in {time.perf_counter() - t:.1f} s")  # fmt: skip

    c_s, m_c = run_apply((load_compiled("metrics"), load_compiled("agent_time")), events)
    py_s, m_py = run_apply((metrics_py, agent_time_py), events)
    now = events[-1].at
    same = m_c.snapshot(now) == m_py.snapshot(now)
    print(f"Metrics.apply, compiled kernel: {n / c_s:>12,.0f} events/s ({c_s:.2f} s)")
    print(f"Metrics.apply, pure twin:       {n / py_s:>12,.0f} events/s ({py_s:.2f} s)")
    print(f"speedup {py_s / c_s:.2f}x; identical snapshots: {same}")

    log = record_kernel_calls(events[: min(n, 200_000)])
    kc = replay_kernel(load_compiled("metrics"), log)
    kp = replay_kernel(metrics_py, log)
    print(f"kernel calls alone ({len(log):,} calls): compiled {len(log) / kc:,.0f}/s, "
          f"twin {len(log) / kp:,.0f}/s, speedup {kp / kc:.2f}x")  # fmt: skip

    snap_c, snap_py = time_snapshot(m_c, now), time_snapshot(m_py, now)
    print(f"wallboard snapshot (20 queues x 3 scopes, 1,500 agents): compiled "
          f"{snap_c * 1e3:.1f} ms, twin {snap_py * 1e3:.1f} ms")  # fmt: skip
    print(
        json.dumps(
            {
                "events": n,
                "events_per_s": round(n / c_s),
                "twin_events_per_s": round(n / py_s),
                "speedup": round(py_s / c_s, 2),
                "identical_snapshots": same,
                "kernel_calls": len(log),
                "kernel_calls_per_s": round(len(log) / kc),
                "twin_kernel_calls_per_s": round(len(log) / kp),
                "kernel_speedup": round(kp / kc, 2),
                "snapshot_ms": round(snap_c * 1e3, 2),
                "twin_snapshot_ms": round(snap_py * 1e3, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
