"""The what-if simulator's event loop: the pure-Python twin of sim_loop.pyx.

This file is the specification; sim_loop.pyx is the same loop compiled (a C heap of plain
structs, typed locals) and must give identical runs: the same calls into the router and the
metrics, in the same order, with the same arguments (tests run whole days through both).

The loop knows nothing of the router or the metrics: hotline/planning/simulation.py hands it
their entry points, the event and decision types, and the day. It merges three sources in time
order: the calls' arrivals (sorted, a math.inf sentinel at the end), the day's frame (shift
starts and ends, interval boundaries: (time, kind, ref) sorted, an (inf, BOUNDARY, 0) sentinel
at the end) and a heap of what the calls schedule, (time, seq, kind, ref), ties in the order
of scheduling; on equal times the frame comes first, then arrivals, then the heap. The model of
a call is docs/planning.md's "The model of a call".
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

# event kinds: on the heap (what calls schedule, and ticks) and in the day's frame
ANSWER, TALK_END, WRAP_END, ABANDON, TICK = range(5)
SHIFT_START, SHIFT_END, BOUNDARY = range(5, 8)
# call phases
WAITING, ANSWERED, GONE = 0, 1, 2


def run(
    arrival: list[float],
    queue: Sequence[int],
    talk: Sequence[float],
    patience: Sequence[float],
    frame: list[tuple[float, int, int]],
    *,
    now: list[float],
    queue_name: Sequence[str],
    queue_service: Sequence[Any],
    acw: Sequence[float],
    delay: float,
    prefix: str,
    agent_ids: Sequence[str],
    leaving: list[bool],
    types: tuple[type, type, type, type, type],
    counted: frozenset[type],
    metrics_apply: Callable[[Any], None],
    router_handle: Callable[[Any], list],
    agent_command: Callable[[str, Any], list],
    end_wrap_up: Any,
    logout: Any,
    tick: Callable[[], list] | None,
    tick_s: float,
    interval_s: float,
    close: Callable[[float], None],
    shift_start: Callable[[int], list],
    shift_end: Callable[[int], list],
) -> tuple[int, float]:
    """Runs the day until the last call is over; returns (events and commands the router
    took, the time of the last one). `types`: (CallQueued, CallAnswered, CallEnded,
    AgentStateChanged, Offer); `counted`: the types the metrics take. Each router output
    goes to the metrics (AgentStateChanged and `counted` types) or is carried out (Offer:
    answered `delay` later, at once when 0). `now[0]` is the router's clock. `tick` (None:
    no ticks) runs every tick_s from tick_s. `shift_start(a)` / `shift_end(a)` give the
    agent commands (triggers) agent `a` issues then (they keep `leaving`); an agent whose
    after-call work ends while `leaving` logs out instead of ending its wrap-up. `close(end)`
    closes the interval ending at `end` (a frame BOUNDARY k: end = k * interval_s)."""
    call_queued, call_answered, call_ended, agent_state_changed, offer_type = types
    heap: list[tuple[float, int, int, int]] = []
    seq = itertools.count()  # ties in time keep the order of scheduling
    pop, push = heapq.heappop, heapq.heappush
    n = len(arrival) - 1  # the sentinel
    n_agents = len(agent_ids)
    cut = len(prefix)
    phase = bytearray(n)
    call_agent = [0] * n
    call_ids = [""] * n
    frame_t = [f[0] for f in frame]
    events = 0

    def answer(i: int, a: int, t: float) -> None:
        nonlocal events
        phase[i] = ANSWERED
        call_agent[i] = a
        ev = call_answered(t, call_ids[i], agent_ids[a])
        metrics_apply(ev)
        apply(router_handle(ev))
        events += 1
        push(heap, (t + talk[i], next(seq), TALK_END, i))

    def apply(out: list) -> None:
        for item in out:
            tp = type(item)
            if tp is agent_state_changed:  # the most common: four a call
                metrics_apply(item)
            elif tp is offer_type:
                i = int(item.call_id[cut:])
                a = agent_index[item.agent_id]
                if delay:
                    push(heap, (now[0] + delay, next(seq), ANSWER, i * n_agents + a))
                else:
                    answer(i, a, now[0])
            elif tp in counted:  # overflows
                metrics_apply(item)

    def command(a: int, trigger: Any) -> None:
        nonlocal events
        apply(agent_command(agent_ids[a], trigger))
        events += 1

    agent_index = {aid: i for i, aid in enumerate(agent_ids)}
    if tick is not None:
        push(heap, (tick_s, next(seq), TICK, 0))

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
            if kind == BOUNDARY:
                close(ref * interval_s)
            else:
                for trigger in (shift_start if kind == SHIFT_START else shift_end)(ref):
                    command(ref, trigger)
            continue
        if ta < th:
            i = ai
            ai += 1
            t = now[0] = ta
            q = queue[i]
            call_ids[i] = call_id = prefix + str(i)
            ev = call_queued(t, call_id, queue_name[q], queue_service[q])
            metrics_apply(ev)
            apply(router_handle(ev))
            events += 1
            active += 1
            if phase[i] == WAITING and patience[i] != inf:
                push(heap, (t + patience[i], next(seq), ABANDON, i))
            continue
        t, _, kind, ref = pop(heap)
        now[0] = t
        if kind == TALK_END:
            ev = call_ended(t, call_ids[ref])
            metrics_apply(ev)
            apply(router_handle(ev))
            events += 1
            active -= 1
            a = call_agent[ref]
            wait = acw[queue[ref]]
            if wait > 0:
                push(heap, (t + wait, next(seq), WRAP_END, a))
            elif leaving[a]:
                leaving[a] = False
                command(a, logout)
            else:
                command(a, end_wrap_up)
        elif kind == WRAP_END:
            if leaving[ref]:
                leaving[ref] = False
                command(ref, logout)
            else:
                command(ref, end_wrap_up)
        elif kind == ABANDON:
            if phase[ref] == WAITING:
                phase[ref] = GONE
                ev = call_ended(t, call_ids[ref])
                metrics_apply(ev)
                apply(router_handle(ev))
                events += 1
                active -= 1
        elif kind == ANSWER:
            i, a = divmod(ref, n_agents)
            if phase[i] == WAITING:  # the caller may have hung up while it rang
                answer(i, a, t)
        else:  # TICK
            assert tick is not None
            apply(tick())
            push(heap, (t + tick_s, next(seq), TICK, 0))
    return events, t


__all__ = ["run"]
