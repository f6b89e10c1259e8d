"""Required agents per interval of a forecast day: the forecast's calls and AHT through the
staffing formulas of model.py (Erlang A with the measured patience, Erlang C without), then
shrinkage. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hotline.planning.forecast import INTERVAL_S, DayForecast
from hotline.planning.model import Staffing, needed_agents, scheduled_agents


@dataclass(frozen=True, slots=True)
class IntervalNeed:
    slot: int  # interval of the day, 0 = local midnight
    calls: float
    aht_s: float | None  # None: no handled call in the history to size it with
    staffing: Staffing | None  # None when calls is 0 or the AHT is unknown
    scheduled: int  # agents to schedule (required / (1 - shrinkage), rounded up)


def required_agents(fc: DayForecast, sl_target: float, sl_seconds: float,
                    patience_s: float = math.inf, shrinkage: float = 0.0,
                    max_occupancy: float = 1.0) -> list[IntervalNeed]:
    """Per interval: the fewest agents for `sl_target` of the calls answered within
    `sl_seconds` (and occupancy at most `max_occupancy`), and how many to schedule."""
    out: list[IntervalNeed] = []
    for slot, (calls, aht) in enumerate(zip(fc.calls.tolist(), fc.aht_s.tolist(),
                                            strict=True)):
        known = not math.isnan(aht) and aht > 0
        staffing = None
        if known and calls > 0:
            staffing = needed_agents(calls, aht, INTERVAL_S, sl_seconds, sl_target=sl_target,
                                     patience_s=patience_s, max_occupancy=max_occupancy)
        required = staffing.agents if staffing is not None else 0
        out.append(IntervalNeed(slot, calls, aht if known else None, staffing,
                                scheduled_agents(required, shrinkage)))
    return out


__all__ = ["IntervalNeed", "required_agents"]
