"""Emergency staffing (#19.5): when today's calls run above the forecast (a storm), the gap of
the coming intervals and the agents who could be called in. Pure; the rules are in
docs/planning.md, "Emergency staffing".

- the live ratio: today's offered calls over the forecast's, summed over the last `window`
  closed intervals that have a row (the history recorder writes each one as it closes);
- the re-forecast of the coming intervals: the forecast's calls times that ratio;
- who could be called in: qualified (the queue's required skills at their levels), off shift
  now (not on a break or at lunch either), not on the phones already, within the plan's rest
  rules (`Rules`: rest before and after, consecutive days), ordered by skill level, then the
  contracted hours left this week."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hotline.planning.adherence import ON_PHONE
from hotline.planning.rostering import Rules
from hotline.planning.shifts import DAY_MIN, SLOT_MIN, Shift

#: below this many forecast calls in the window the ratio is not estimable (no evidence)
MIN_FORECAST_CALLS = 1.0


@dataclass(frozen=True, slots=True)
class LiveRatio:
    slots: tuple[int, ...]  # the window's intervals (of today), oldest first
    actual: float  # offered in them
    forecast: float  # the forecast's calls in them
    ratio: float | None  # actual / forecast; None when forecast < MIN_FORECAST_CALLS
    factor: float  # what the coming intervals are scaled by: the ratio, or 1 without one


def live_ratio(actual: Mapping[int, float], forecast: Sequence[float], open_slot: int,
               window: int, min_forecast: float = MIN_FORECAST_CALLS) -> LiveRatio:
    """`actual`: today's offered calls of the closed intervals that have a row, by interval;
    the window is the last `window` of them before `open_slot` (an interval whose row is not
    written yet, or when the platform was down, is not counted as no call)."""
    slots = tuple(sorted(s for s in actual if s < open_slot)[-window:]) if window > 0 else ()
    a = float(sum(actual[s] for s in slots))
    f = float(sum(forecast[s] for s in slots))
    ratio = a / f if f >= min_forecast else None
    return LiveRatio(slots, a, f, ratio, 1.0 if ratio is None else ratio)


def reforecast(calls: Sequence[float], slots: Sequence[int], factor: float) -> list[float]:
    """The coming intervals' calls: the forecast's times the factor; 0 elsewhere (so that only
    they are sized)."""
    out = [0.0] * len(calls)
    for s in slots:
        out[s] = calls[s] * factor
    return out


def qualifies(skills: Mapping[str, int], required: Mapping[str, float]) -> bool:
    """Every required skill at its level or above (as the router and the week's model)."""
    return all(skills.get(k, 0) >= v for k, v in required.items())


def level_for(skills: Mapping[str, int], required: Mapping[str, float]) -> int:
    """The agent's level for a queue: its lowest level among the queue's required skills
    (the weakest one limits it); a queue requiring none: its highest level (0 without any)."""
    if required:
        return min(skills.get(k, 0) for k in required)
    return max(skills.values(), default=0)


@dataclass(frozen=True, slots=True)
class Person:
    agent_id: str
    name: str
    team: str
    level: int


@dataclass(frozen=True, slots=True)
class CallIn:
    agent_id: str
    name: str
    team: str
    level: int
    state: str  # the last state logged today (logged_out without one)
    from_min: float  # minute of today from which it may work (now, or when its rest ends)
    until_min: float  # and until which (the horizon's end, its shift's start, rest before
    # tomorrow's)
    hours_left: float | None  # contracted hours this week less its published shifts' paid
    # hours; None: no contract
    covers_short: int  # coming intervals short of agents it could work in
    later_shift_min: int | None  # today's shift starting later (come in early)
    worked_today: bool  # its shift of today is over


@dataclass(frozen=True, slots=True)
class Excluded:
    agent_id: str
    reason: str  # on_shift, on_break, on_the_phones, rest, consecutive_days


def _run(shifts: Mapping[int, Shift], step: int) -> int:
    """Days in a row with a shift from today + step onwards (step -1: backwards)."""
    n, d = 0, step
    while d in shifts:
        n, d = n + 1, d + step
    return n


def call_ins(people: Sequence[Person], shifts: Mapping[str, Mapping[int, Shift]],
             states: Mapping[str, str], hours_left: Mapping[str, float], now_min: float,
             horizon_end_min: float, short_slots: Sequence[int],
             rules: Rules) -> tuple[list[CallIn], list[Excluded]]:
    """Who could be called in now, and who not and why. `shifts`: each agent's published
    shifts by day relative to today (-1 yesterday, 0 today, 1 tomorrow, ...); `states`: the
    last state logged today; `hours_left`: of the agents under contract; `short_slots`: the
    coming intervals short of agents."""
    rest = rules.min_rest_h * 60.0
    out: list[CallIn] = []
    excluded: list[Excluded] = []
    for p in people:
        mine = shifts.get(p.agent_id, {})
        today = mine.get(0)
        state = states.get(p.agent_id, "logged_out")
        activity = today.activity_at(now_min) if today is not None else "off"
        if activity == "work":
            excluded.append(Excluded(p.agent_id, "on_shift"))
            continue
        if activity != "off":  # a break or lunch: it is back on the phones at its end
            excluded.append(Excluded(p.agent_id, "on_break"))
            continue
        if state in ON_PHONE:  # already on the floor, off its plan
            excluded.append(Excluded(p.agent_id, "on_the_phones"))
            continue
        start, until = now_min, horizon_end_min
        for day, s in mine.items():  # rest after the days before, before the days after
            if day < 0:
                start = max(start, day * DAY_MIN + s.end_min + rest)
            elif day > 0:
                until = min(until, day * DAY_MIN + s.start_min - rest)
        later = today.start_min if today is not None and today.start_min > now_min else None
        if later is not None:  # from then on it works its own shift
            until = min(until, later)
        if until - start < SLOT_MIN:
            excluded.append(Excluded(p.agent_id, "rest"))
            continue
        if today is None and (_run(mine, -1) + 1 + _run(mine, 1)
                              > rules.max_consecutive_days):
            excluded.append(Excluded(p.agent_id, "consecutive_days"))
            continue
        covers = sum(1 for i in short_slots
                     if i * SLOT_MIN + SLOT_MIN > start and i * SLOT_MIN < until)
        out.append(CallIn(p.agent_id, p.name, p.team, p.level, state, start, until,
                          hours_left.get(p.agent_id), covers, later,
                          today is not None and today.end_min <= now_min))
    out.sort(key=lambda c: (c.covers_short == 0, -c.level, c.hours_left is None,
                            -(c.hours_left or 0.0), c.from_min, c.agent_id))
    return out, excluded


def week_hours_left(contract_hours: float, paid_min: Sequence[int]) -> float:
    """Contracted hours of the week less the paid time of its published shifts."""
    return contract_hours - sum(paid_min) / 60.0


__all__ = ["MIN_FORECAST_CALLS", "CallIn", "Excluded", "LiveRatio", "Person", "call_ins",
           "level_for", "live_ratio", "qualifies", "reforecast", "week_hours_left"]
