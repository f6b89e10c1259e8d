"""What-if: a discrete-event simulation of a day that runs the real router and the real metrics.

The router (hotline.router.Router, its compiled selection kernel, an injected clock) gets the
same typed events the controller feeds it (CallQueued, CallAnswered, CallEnded, agent commands,
ticks), and its decisions are carried out as the controller would: an Offer is answered by the
agent after `answer_delay_s`, the agent's after-call work ends `acw_s` later (END_WRAP_UP).
Every event, and every event the router returns, goes to realtime.Metrics first, as in the
controller (hotline/process/controller/controller.py): so the figures per interval are the
wallboard's, by the definitions of docs/metrics.md. The model and its limits:
docs/planning.md.

The loop is lean on purpose (a 260,000-call day in seconds, bench/simulate.py): the calls are
drawn up front into parallel lists, arrivals are merged from that sorted list rather than
pushed on the heap, the heap holds plain (time, seq, kind, ref) records, and a call that is
answered at once never schedules its abandon. The loop itself is a kernel, core_ext/sim_loop
(compiled; its twin sim_loop_py.py is the specification): it knows the router and the metrics
only by the entry points handed to it.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from hotline.core.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core_ext.select import load
from hotline.planning.scenario import Day, Scenario, generate_day
from hotline.realtime.figures import QueueFigures, counter_row, queue_figures
from hotline.realtime.metrics import Metrics
from hotline.realtime.targets import MetricsConfig, QueueTargets
from hotline.router import Offer, Router, RouterConfig

# the day's frame's kinds (core_ext/sim_loop_py.py: SHIFT_START, SHIFT_END, BOUNDARY)
_SHIFT_START, _SHIFT_END, _BOUNDARY = range(5, 8)
#: an interval's occupancy is read this long before its end (the events are continuous
#: random times: none falls in that gap in practice), then the interval is closed
_READ_BEFORE_S = 1e-6
_BUSY = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL,
                   AgentState.AFTER_CALL_WORK})


@dataclass(frozen=True, slots=True)
class IntervalResult:
    """One reporting interval: each queue's figures (key None: all queues) and the centre's
    occupancy (metrics.md: work / (work + ready idle) over every agent)."""

    start: float
    end: float
    queues: dict[str | None, QueueFigures]
    occupancy: float | None


@dataclass(frozen=True, slots=True)
class SimResult:
    label: str
    calls: int  # calls generated (offered)
    intervals: list[IntervalResult]
    totals: dict[str | None, QueueFigures]  # the whole day, per queue and None: all
    events: int  # events and commands the router took
    rank_mismatches: int  # the router's own consistency counter (must stay 0)

    def rows(self) -> list[dict[str, Any]]:
        """JSON-ready: one row per interval and queue (queue None: all queues), with the
        interval's figures (metrics.md) and the centre's occupancy."""
        return [{"start": iv.start, "end": iv.end, "queue": name, "occupancy": iv.occupancy,
                 **f.as_dict()}
                for iv in self.intervals for name, f in iv.queues.items()]


def simulate(scenario: Scenario, day: Day | None = None,
             loop: ModuleType | None = None) -> SimResult:
    """Runs the scenario's day (generated from its seed unless given) to the last call's end.
    `loop`: the event loop kernel (core_ext sim_loop, compiled unless HOTLINE_PURE_PYTHON=1,
    or its twin sim_loop_py)."""
    return _Run(scenario, day if day is not None else generate_day(scenario), loop).run()


def compare(baseline: SimResult, variant: SimResult,
            queue: str | None = None) -> list[dict[str, float | None]]:
    """Per interval, the variant's service level, ASA, abandons and occupancy beside the
    baseline's (for one queue; None: all queues)."""
    rows: list[dict[str, float | None]] = []
    for b, v in zip(baseline.intervals, variant.intervals, strict=False):
        fb, fv = b.queues.get(queue), v.queues.get(queue)
        rows.append({
            "start": b.start,
            "service_level": fb.service_level if fb else None,
            "variant_service_level": fv.service_level if fv else None,
            "asa": fb.asa if fb else None,
            "variant_asa": fv.asa if fv else None,
            "abandoned": fb.abandoned if fb else 0,
            "variant_abandoned": fv.abandoned if fv else 0,
            "occupancy": b.occupancy,
            "variant_occupancy": v.occupancy,
        })
    return rows


class _Run:
    def __init__(self, scenario: Scenario, day: Day, loop: ModuleType | None = None) -> None:
        self.sc = scenario
        self.day = day
        self.now = [0.0]
        clock = self.now
        # The offers' explanations (who else could have taken the call) are not built:
        # nobody reads them here, and they cost a seventh of the run. The decisions are the
        # kernel's select as live.
        self.router = Router(
            RouterConfig(list(scenario.queues), [a.config for a in scenario.agents],
                         explain=False),
            functools.partial(operator.getitem, clock, 0),  # clock[0], without a Python frame
        )
        targets = {q.name: QueueTargets(q.sl_seconds, q.sl_target) for q in scenario.queues}
        self.metrics = Metrics(MetricsConfig(
            interval_s=scenario.interval_s, short_abandon_s=scenario.short_abandon_s,
            targets=targets, day_start_offset_s=0,
        ))
        self.metrics.declare_queues(q.name for q in scenario.queues)
        self.loop = loop if loop is not None else load("sim_loop")
        self.intervals: list[IntervalResult] = []

    def run(self) -> SimResult:
        sc, day, router = self.sc, self.day, self.router
        services = {q.name: q.service for q in sc.queues}
        queue_name = [d.queue for d in sc.demand]
        agent_ids = [a.config.agent_id for a in sc.agents]
        leaving = [False] * len(agent_ids)
        # The day's frame, known up front: shifts and interval boundaries, in a sorted list
        # of their own (like the arrivals) rather than on the heap, which then holds only
        # what calls schedule (a heap of thousands of shift ends makes every push dearer).
        horizon = max((len(d.calls) for d in sc.demand), default=0) * sc.interval_s
        frame: list[tuple[float, int, int]] = []
        for a, agent in enumerate(sc.agents):
            for shift in agent.shifts:
                frame.append((shift.start_s, _SHIFT_START, a))
                frame.append((shift.end_s, _SHIFT_END, a))
        for k in range(1, horizon // sc.interval_s + 1):
            frame.append((k * sc.interval_s - _READ_BEFORE_S, _BOUNDARY, k))
        frame.sort()
        frame.append((math.inf, _BOUNDARY, 0))  # sentinel
        timed = any(q.overflow_to or q.expand_after for q in sc.queues)
        events, t = self.loop.run(
            [*day.arrival, math.inf],  # sentinel
            day.queue, day.talk, day.patience, frame,
            now=self.now,
            queue_name=queue_name,
            queue_service=[services[name] for name in queue_name],
            acw=[d.acw_s for d in sc.demand],
            delay=sc.answer_delay_s,
            prefix=sc.name_prefix,
            agent_ids=agent_ids,
            leaving=leaving,
            types=(CallQueued, CallAnswered, CallEnded, AgentStateChanged, Offer),
            counted=self.metrics.handled_types(),  # CallOffered, say, moves no figure
            metrics_apply=self.metrics.apply,
            router_handle=router.handle,
            agent_command=router.agent_command,
            end_wrap_up=AgentTrigger.END_WRAP_UP,
            logout=AgentTrigger.LOGOUT,
            tick=router.tick if timed else None,
            tick_s=sc.tick_s,
            interval_s=sc.interval_s,
            close=self._close,
            shift_start=functools.partial(self._shift_start, leaving=leaving),
            shift_end=functools.partial(self._shift_end, leaving=leaving),
        )

        # the intervals left, and those the last calls ran into
        end = max(horizon, math.ceil(t / sc.interval_s) * sc.interval_s)
        last = self.intervals[-1].end if self.intervals else 0.0
        while last < end:
            last += sc.interval_s
            self._close(last)
        return SimResult(
            label=sc.label,
            calls=len(day),
            intervals=self.intervals,
            totals=self._totals(),
            events=events,
            rank_mismatches=router.rank_mismatches,
        )

    def _shift_start(self, a: int, leaving: list[bool]) -> list[AgentTrigger]:
        """The commands agent `a` issues at its shift's start."""
        state = self.router.agent(self.sc.agents[a].config.agent_id).state
        if state is AgentState.LOGGED_OUT:
            return [AgentTrigger.LOGIN, AgentTrigger.READY]
        leaving[a] = False  # still on the last shift's call: it stays on
        if state is AgentState.NOT_READY:
            return [AgentTrigger.READY]
        return []

    def _shift_end(self, a: int, leaving: list[bool]) -> list[AgentTrigger]:
        """The commands agent `a` issues at its shift's end."""
        state = self.router.agent(self.sc.agents[a].config.agent_id).state
        if state in _BUSY:
            leaving[a] = True  # logs out when its after-call work ends
            return []
        if state is not AgentState.LOGGED_OUT:
            return [AgentTrigger.LOGOUT]
        return []

    def _close(self, end: float) -> None:
        occupancy = self.metrics.occupancy(end - _READ_BEFORE_S, "interval")
        closed = self.metrics.close_due(end)
        queues = {c.queue: c.figures for c in closed if c.end == end}
        self.intervals.append(IntervalResult(end - self.sc.interval_s, end, queues, occupancy))

    def _totals(self) -> dict[str | None, QueueFigures]:
        """The day per queue: the intervals' counters added up, ratios from the sums."""
        sums: dict[str | None, list[float]] = {}
        for iv in self.intervals:
            for name, f in iv.queues.items():
                row = counter_row(f)
                acc = sums.setdefault(name, [0.0] * len(row))
                for j, x in enumerate(row):
                    acc[j] += x
        out: dict[str | None, QueueFigures] = {}
        config = self.metrics.config
        for name, row in sums.items():
            t = config.targets_for(name)
            out[name] = queue_figures(row, 0, 0.0, t.sl_target,
                                      t.sl_seconds if name is not None else None)
        return out


__all__ = ["IntervalResult", "SimResult", "compare", "simulate"]
