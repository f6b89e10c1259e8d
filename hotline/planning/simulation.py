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
pushed on the heap, the heap holds plain (time, seq, kind, ref) tuples, and a call that is
answered at once never schedules its abandon.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotline.core.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.planning.scenario import Day, Scenario, generate_day
from hotline.realtime.figures import QueueFigures, counter_row, queue_figures
from hotline.realtime.metrics import Metrics
from hotline.realtime.targets import MetricsConfig, QueueTargets
from hotline.router import Offer, Router, RouterConfig

# event kinds: on the heap (what calls schedule, and ticks) and in the day's frame
_ANSWER, _TALK_END, _WRAP_END, _ABANDON, _TICK = range(5)
_SHIFT_START, _SHIFT_END, _BOUNDARY = range(5, 8)
# call phases
_WAITING, _ANSWERED, _GONE = 0, 1, 2
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


def simulate(scenario: Scenario, day: Day | None = None) -> SimResult:
    """Runs the scenario's day (generated from its seed unless given) to the last call's end."""
    return _Run(scenario, day if day is not None else generate_day(scenario)).run()


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
    def __init__(self, scenario: Scenario, day: Day) -> None:
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
        self.heap: list[tuple[float, int, int, int]] = []
        self.seq = itertools.count()
        self.intervals: list[IntervalResult] = []

    def push(self, t: float, kind: int, ref: int) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, ref))

    def run(self) -> SimResult:
        sc, day, router, metrics = self.sc, self.day, self.router, self.metrics
        heap, pop, heappush, now = self.heap, heapq.heappop, heapq.heappush, self.now
        seq = self.seq  # ties in time keep the order of scheduling
        push = self.push
        m_apply, r_handle, command = metrics.apply, router.handle, router.agent_command
        counted = metrics.handled_types()  # CallOffered, say, moves no figure
        n = len(day)
        arrival, talk, patience = day.arrival, day.talk, day.patience
        qidx = day.queue
        queue_name = [d.queue for d in sc.demand]
        services = {q.name: q.service for q in sc.queues}
        queue_service = [services[name] for name in queue_name]
        acw = [d.acw_s for d in sc.demand]
        delay = sc.answer_delay_s
        prefix = sc.name_prefix
        cut = len(prefix)
        phase = bytearray(n)
        call_agent: list[int] = [0] * n
        call_ids = [""] * n
        agent_ids = [a.config.agent_id for a in sc.agents]
        agent_index = {aid: i for i, aid in enumerate(agent_ids)}
        leaving = [False] * len(agent_ids)
        end_wrap_up, logout = AgentTrigger.END_WRAP_UP, AgentTrigger.LOGOUT
        events = 0

        def answer(i: int, a: int, t: float) -> None:
            nonlocal events
            phase[i] = _ANSWERED
            call_agent[i] = a
            ev = CallAnswered(t, call_ids[i], agent_ids[a])
            m_apply(ev)
            apply(r_handle(ev))
            events += 1
            heappush(heap, (t + talk[i], next(seq), _TALK_END, i))

        def apply(out: list) -> None:
            for item in out:
                tp = type(item)
                if tp is AgentStateChanged:  # the most common: four a call
                    m_apply(item)
                elif tp is Offer:
                    i = int(item.call_id[cut:])
                    a = agent_index[item.agent_id]
                    if delay:
                        push(now[0] + delay, _ANSWER, i * len(agent_ids) + a)
                    else:
                        answer(i, a, now[0])
                elif tp in counted:  # agent states, overflows
                    m_apply(item)

        def wrap_up_over(a: int) -> None:
            nonlocal events
            if leaving[a]:
                leaving[a] = False
                apply(command(agent_ids[a], logout))
            else:
                apply(command(agent_ids[a], end_wrap_up))
            events += 1

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
        frame_t = [f[0] for f in frame]
        arrival = [*arrival, math.inf]  # sentinel
        if any(q.overflow_to or q.expand_after for q in sc.queues):
            push(sc.tick_s, _TICK, 0)

        ai = fi = 0
        t = 0.0
        active = 0  # calls arrived and not over (answered and ended, or abandoned)
        inf = math.inf
        while True:
            if ai == n and not active:
                break  # what is left are shift ends and boundaries after the last call
            ta, tf = arrival[ai], frame_t[fi]
            th = heap[0][0] if heap else inf
            if tf <= ta and tf <= th:
                if tf == inf:
                    break
                t = now[0] = tf
                _, kind, ref = frame[fi]
                fi += 1
                if kind == _BOUNDARY:
                    self._close(ref * sc.interval_s)
                elif kind == _SHIFT_START:
                    events += self._shift_start(ref, apply, leaving)
                else:
                    events += self._shift_end(ref, apply, leaving)
                continue
            if ta < th:
                i = ai
                ai += 1
                t = now[0] = arrival[i]
                q = qidx[i]
                call_ids[i] = call_id = prefix + str(i)
                ev = CallQueued(t, call_id, queue_name[q], queue_service[q])
                m_apply(ev)
                apply(r_handle(ev))
                events += 1
                active += 1
                if phase[i] == _WAITING and patience[i] != math.inf:
                    heappush(heap, (t + patience[i], next(seq), _ABANDON, i))
                continue
            t, _, kind, ref = pop(heap)
            now[0] = t
            if kind == _TALK_END:
                ev = CallEnded(t, call_ids[ref])
                m_apply(ev)
                apply(r_handle(ev))
                events += 1
                active -= 1
                a = call_agent[ref]
                wait = acw[qidx[ref]]
                if wait > 0:
                    heappush(heap, (t + wait, next(seq), _WRAP_END, a))
                else:
                    wrap_up_over(a)
            elif kind == _WRAP_END:
                wrap_up_over(ref)
            elif kind == _ABANDON:
                if phase[ref] == _WAITING:
                    phase[ref] = _GONE
                    ev = CallEnded(t, call_ids[ref])
                    m_apply(ev)
                    apply(r_handle(ev))
                    events += 1
                    active -= 1
            elif kind == _ANSWER:
                i, a = divmod(ref, len(agent_ids))
                if phase[i] == _WAITING:  # the caller may have hung up while it rang
                    answer(i, a, t)
            else:  # _TICK
                apply(router.tick())
                push(t + sc.tick_s, _TICK, 0)

        # the intervals left, and those the last calls ran into
        end = max(horizon, math.ceil(t / sc.interval_s) * sc.interval_s)
        last = self.intervals[-1].end if self.intervals else 0.0
        while last < end:
            last += sc.interval_s
            self._close(last)
        return SimResult(
            label=sc.label,
            calls=n,
            intervals=self.intervals,
            totals=self._totals(),
            events=events,
            rank_mismatches=router.rank_mismatches,
        )

    def _shift_start(self, a: int, apply: Callable[[list], None], leaving: list[bool]) -> int:
        aid = self.sc.agents[a].config.agent_id
        state = self.router.agent(aid).state
        if state is AgentState.LOGGED_OUT:
            apply(self.router.agent_command(aid, AgentTrigger.LOGIN))
            apply(self.router.agent_command(aid, AgentTrigger.READY))
            return 2
        leaving[a] = False  # still on the last shift's call: it stays on
        if state is AgentState.NOT_READY:
            apply(self.router.agent_command(aid, AgentTrigger.READY))
            return 1
        return 0

    def _shift_end(self, a: int, apply: Callable[[list], None], leaving: list[bool]) -> int:
        aid = self.sc.agents[a].config.agent_id
        state = self.router.agent(aid).state
        if state in _BUSY:
            leaving[a] = True  # logs out when its after-call work ends
            return 0
        if state is not AgentState.LOGGED_OUT:
            apply(self.router.agent_command(aid, AgentTrigger.LOGOUT))
            return 1
        return 0

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
