"""The planner's what-if on a forecast day: the agents the forecast asks for (the baseline) and
a staffing change of them (the variant), each run through the simulator (simulation.py: the
real router and metrics) on the same drawn calls, side by side per interval. Pure: the API
runs `run_what_if` in a worker process. The model: docs/planning.md, "What-if on the page".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hotline.core.values import ServiceType
from hotline.planning.forecast import INTERVAL_S
from hotline.planning.scenario import Demand, Scenario, Shift, SimAgent, generate_day
from hotline.planning.simulation import SimResult, compare, simulate
from hotline.realtime.figures import QueueFigures
from hotline.router import AgentConfig, QueueConfig

#: the one queue (and skill) of the simulated floor: the forecast's queue, or all queues
#: together (`*`, one pool), renamed so that any queue name is a valid router name
SIM_QUEUE = "planned"


@dataclass(frozen=True, slots=True)
class StaffingChange:
    """The variant's scheduled agents per interval: the baseline's times (1 + percent / 100),
    rounded, plus `delta` (never below 0), in the intervals the baseline staffs; on the floor
    after `shrinkage` (None: the baseline's)."""

    delta: int = 0
    percent: float = 0.0
    shrinkage: float | None = None


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A forecast day's demand and the baseline's scheduled agents per interval."""

    calls: Sequence[float]  # forecast calls per interval
    aht_s: float  # the day's handle time (talk + hold + ACW), exponential
    patience_s: float  # math.inf: nobody hangs up (Erlang C)
    scheduled: Sequence[int]  # the baseline's scheduled agents per interval
    shrinkage: float  # the baseline's
    change: StaffingChange
    sl_target: float = 0.8
    sl_seconds: float = 20.0
    seed: int = 1


def day_aht(calls: Sequence[float], aht_s: Sequence[float | None]) -> float | None:
    """The calls-weighted mean of the intervals' AHT (None when no interval with calls has
    one): the simulator draws one handle time distribution per queue."""
    work = weight = 0.0
    for c, a in zip(calls, aht_s, strict=True):
        if c > 0 and a is not None and a > 0:
            work += c * a
            weight += c
    return work / weight if weight > 0 else None


def on_floor(scheduled: int, shrinkage: float) -> int:
    """Agents taking calls out of `scheduled` (the rest on breaks, training, absent); the
    epsilon keeps ceil(n / (1 - s)) * (1 - s) from rounding below n."""
    return max(0, math.floor(scheduled * (1.0 - shrinkage) + 1e-9))


def variant_scheduled(scheduled: Sequence[int], change: StaffingChange) -> list[int]:
    return [max(0, round(s * (1.0 + change.percent / 100.0)) + change.delta) if s > 0 else 0
            for s in scheduled]


def shifts(floor: Sequence[int], interval_s: int = INTERVAL_S) -> list[tuple[Shift, ...]]:
    """Agent k works every interval whose floor holds more than k agents; its consecutive
    intervals are one shift (agent 0 the longest day, the last only the peak)."""
    out: list[tuple[Shift, ...]] = []
    for k in range(max(floor, default=0)):
        runs: list[Shift] = []
        start: int | None = None
        for i, n in enumerate([*floor, 0]):
            if n > k and start is None:
                start = i
            elif n <= k and start is not None:
                runs.append(Shift(start * float(interval_s), i * float(interval_s)))
                start = None
        out.append(tuple(runs))
    return out


def scenario(w: WhatIf, floor: Sequence[int], label: str) -> Scenario:
    queue = QueueConfig(SIM_QUEUE, ServiceType.GENERAL, {SIM_QUEUE: 1},
                        sl_target=w.sl_target, sl_seconds=w.sl_seconds)
    agents = [SimAgent(AgentConfig(f"a{k}", {SIM_QUEUE: 3}), s)
              for k, s in enumerate(shifts(floor))]
    demand = Demand(SIM_QUEUE, list(w.calls), talk_s=w.aht_s, patience_s=w.patience_s)
    return Scenario([queue], agents, [demand], interval_s=INTERVAL_S, seed=w.seed, label=label)


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    calls: int  # calls drawn (the same day for both)
    agents: tuple[list[int], list[int]]  # on the floor per interval: baseline, variant
    scheduled: tuple[list[int], list[int]]
    totals: tuple[QueueFigures | None, QueueFigures | None]
    occupancy: tuple[float | None, float | None]  # the day's, over the intervals' work
    rows: list[dict[str, Any]]  # compare()'s rows, with the agents and calls of each


def _day_occupancy(result: SimResult, agents: Sequence[int]) -> float | None:
    """Occupancy of the day: each interval's weighted by its agents (a proxy for its staffed
    time; the simulator reports occupancy per interval)."""
    num = den = 0.0
    for i, iv in enumerate(result.intervals):
        n = agents[i] if i < len(agents) else 0
        if iv.occupancy is not None and n > 0:
            num += iv.occupancy * n
            den += n
    return num / den if den > 0 else None


def run_what_if(w: WhatIf) -> WhatIfResult:
    """Both runs on the same drawn calls (the seed's)."""
    base_sched = list(w.scheduled)
    var_sched = variant_scheduled(base_sched, w.change)
    var_shrink = w.shrinkage if w.change.shrinkage is None else w.change.shrinkage
    base_floor = [on_floor(s, w.shrinkage) for s in base_sched]
    var_floor = [on_floor(s, var_shrink) for s in var_sched]
    base_sc = scenario(w, base_floor, "baseline")
    day = generate_day(base_sc)
    base = simulate(base_sc, day)
    var = simulate(scenario(w, var_floor, "variant"), day)
    rows = compare(base, var, SIM_QUEUE)
    for i, r in enumerate(rows):
        inside = i < len(base_floor)
        r["slot"] = i
        r["calls"] = w.calls[i] if inside else 0.0
        fig = base.intervals[i].queues.get(SIM_QUEUE)
        r["offered"] = fig.offered if fig is not None else 0
        r["agents"] = base_floor[i] if inside else 0
        r["variant_agents"] = var_floor[i] if inside else 0
    return WhatIfResult(
        calls=len(day), agents=(base_floor, var_floor), scheduled=(base_sched, var_sched),
        totals=(base.totals.get(SIM_QUEUE), var.totals.get(SIM_QUEUE)),
        occupancy=(_day_occupancy(base, base_floor), _day_occupancy(var, var_floor)),
        rows=rows)


__all__ = ["SIM_QUEUE", "StaffingChange", "WhatIf", "WhatIfResult", "day_aht", "on_floor",
           "run_what_if", "scenario", "shifts", "variant_scheduled"]
