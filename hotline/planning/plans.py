"""From the agents needed to plans (docs/planning.md, "Plans"): the month plan's head count
per day and queue, the week's model built from the needs, contracts and the shifts before the
week, and the gap per interval of a day's shifts. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

from hotline.planning.plan_queries import Contract, PlannedShift
from hotline.planning.rostering import AgentSpec, Roster, Rules, WeekProblem
from hotline.planning.shifts import DAY_MIN, SLOT_MIN, Shift, coverage, gaps


def headcount_for(need: Sequence[int], paid_min: int) -> int:
    """The month plan's head count for a day: the agent-hours on the phones the day needs
    over one shift's paid hours, rounded up (breaks inside the paid time: the shrinkage the
    planner gives covers them)."""
    return math.ceil(sum(need) * SLOT_MIN / paid_min) if paid_min > 0 else 0


def agent_specs(first: date, days: int, contracts: dict[str, Contract],
                queues_of: dict[str, tuple[str, ...]], queues: Sequence[str],
                before: Sequence[PlannedShift]) -> tuple[AgentSpec, ...]:
    """The agents with a contract who qualify for one of `queues`; `before`: their shifts of
    the days before the week (the rest and consecutive-day rules reach back)."""
    out = []
    for agent_id, c in sorted(contracts.items()):
        mine = tuple(q for q in queues_of.get(agent_id, ()) if q in queues)
        if not mine:
            continue
        worked = {p.day for p in before if p.agent_id == agent_id}
        last = max((p for p in before if p.agent_id == agent_id), default=None,
                   key=lambda p: (p.day, p.shift.end_min))
        last_end = None if last is None else (
            (last.day - first).days * DAY_MIN + last.shift.end_min)
        run = 0
        while first - timedelta(days=run + 1) in worked:
            run += 1
        wish = tuple(sorted({(w - first.weekday()) % 7 for w in c.days_off_wish
                             if (w - first.weekday()) % 7 < days}))
        out.append(AgentSpec(agent_id, mine, c.hours_week, wish, c.earliest_start_min,
                             c.latest_start_min, (), last_end, run))
    return tuple(out)


def week_problem(first: date, days: int, agents: tuple[AgentSpec, ...],
                 templates: Sequence[Shift], need: dict[str, list[list[int]]],
                 rules: Rules, headcount: dict[tuple[date, str], int],
                 time_limit_s: float) -> WeekProblem:
    caps = {((d - first).days, q): n for (d, q), n in headcount.items()
            if 0 <= (d - first).days < days and q in need}
    return WeekProblem(days, agents, tuple(templates), need, rules, caps, time_limit_s)


def planned(first: date, roster: Roster) -> list[PlannedShift]:
    return [PlannedShift(first + timedelta(days=a.day), a.agent_id, a.queue, a.shift)
            for a in roster.assignments]


def day_gaps(shifts: Sequence[PlannedShift], queue: str,
             need: Sequence[int]) -> tuple[list[int], list[int]]:
    """(scheduled on the phones, gap) per interval of one queue's day."""
    scheduled = coverage(p.shift for p in shifts if p.queue == queue)
    return scheduled, gaps(scheduled, need)


__all__ = ["agent_specs", "day_gaps", "headcount_for", "planned", "week_problem"]
