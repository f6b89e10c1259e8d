"""The week's CP-SAT model (hotline/planning/rostering.py): its hard rules hold in whatever it
answers (skills, contracted hours, rest between shifts, consecutive days, the month plan's
head count) and preferences give way only to coverage; the shifts' breaks and the gap per
interval (shifts.py). Small problems, solved to optimality."""

from __future__ import annotations

import pytest

from hotline.planning.rostering import AgentSpec, Roster, Rules, WeekProblem, solve_week
from hotline.planning.shifts import (
    Break,
    InvalidShift,
    Shift,
    check,
    coverage,
    gaps,
    standard_shift,
    templates,
)

EARLY = standard_shift(6 * 60, 9 * 60)  # 06:00-15:00
LATE = standard_shift(14 * 60, 9 * 60)  # 14:00-23:00


def need_between(a_min: int, b_min: int, n: int = 1) -> list[int]:
    return [n if a_min <= i * 15 < b_min else 0 for i in range(96)]


def solve(days: int, agents: list[AgentSpec], tpl: list[Shift],
          need: dict[str, list[list[int]]], **kw: object) -> Roster:
    r = solve_week(WeekProblem(days, tuple(agents), tuple(tpl), need, time_limit_s=30,
                               **kw))  # type: ignore[arg-type]
    assert r.status in ("optimal", "infeasible"), r.status
    return r


def test_standard_shift_breaks_and_lunch_by_hand() -> None:
    s = standard_shift(8 * 60, 9 * 60)  # 08:00-17:00
    assert s.breaks == (Break(600, 15), Break(720, 60, "lunch"), Break(885, 15))
    assert s.paid_min == 8 * 60  # lunch unpaid, breaks paid
    phone = s.on_phone()
    assert sum(phone) == 36 - 1 - 4 - 1  # 9 h = 36 quarters, less 10:00, 12:00-13:00, 14:45
    assert phone[32] == 1 and phone[40] == 0 and phone[48] == 0 and phone[52] == 1
    later = standard_shift(8 * 60, 9 * 60, 30)
    assert later.breaks[1] == Break(750, 60, "lunch")
    assert standard_shift(9 * 60, 4 * 60).breaks == (Break(10 * 60 + 45, 15),)
    assert len(templates([6 * 60, 16 * 60], 9 * 60)) == 5  # 16:00 + 9 h runs past midnight


def test_invalid_shifts() -> None:
    for bad in (Shift(600, 600), Shift(600, 610), Shift(1400, 1455),
                Shift(600, 900, (Break(500, 15),)), Shift(600, 900, (Break(700, 60),
                                                                      Break(720, 15))),
                Shift(600, 900, (Break(700, 15, "nap"),))):
        with pytest.raises(InvalidShift):
            check(bad)


def test_gaps_by_hand() -> None:
    a, b = standard_shift(8 * 60, 9 * 60), standard_shift(8 * 60, 9 * 60, 30)
    cov = coverage([a, b])
    need = need_between(9 * 60, 17 * 60, 2)
    g = gaps(cov, need)
    assert g[32] == 2  # 08:00: both on, nobody needed
    assert g[36] == 0  # 09:00
    assert g[40] == -1 and g[42] == -1  # 10:00 a's break, 10:30 b's
    assert g[48] == -1 and g[50] == -2 and g[52] == -1  # lunches 12:00-13:00, 12:30-13:30


def test_contracted_hours_are_worked_exactly() -> None:
    need = {"general": [need_between(6 * 60, 23 * 60, 2)] * 3}
    agents = [AgentSpec("a", ("general",), 16), AgentSpec("b", ("general",), 8),
              AgentSpec("c", ("general",), 0)]
    r = solve(3, agents, [EARLY, LATE], need)
    paid = {x: sum(s.shift.paid_min for s in r.assignments if s.agent_id == x) for x in "abc"}
    assert paid == {"a": 16 * 60, "b": 8 * 60, "c": 0}
    # hours no shift length adds up to: no plan
    assert solve(3, [AgentSpec("a", ("general",), 10)], [EARLY], need).status == "infeasible"


def test_rest_between_shifts() -> None:
    """Late on day 0 (ends 23:00) and early on day 1 (06:00) leave 7 h: with 11 h of rest
    the agent cannot cover both, though that is what the need asks."""
    need = {"general": [need_between(15 * 60, 23 * 60), need_between(6 * 60, 14 * 60)]}
    agent = AgentSpec("a", ("general",), 16)
    r = solve(2, [agent], [EARLY, LATE], need)
    got = sorted((s.day, s.shift.start_min) for s in r.assignments)
    assert got in ([(0, EARLY.start_min), (1, EARLY.start_min)],
                   [(0, LATE.start_min), (1, LATE.start_min)])
    assert r.short > 0
    free = solve(2, [agent], [EARLY, LATE], need, rules=Rules(min_rest_h=6))
    assert sorted((s.day, s.shift.start_min) for s in free.assignments) == [
        (0, LATE.start_min), (1, EARLY.start_min)]
    assert free.short == 2 * 6 < r.short  # each shift's breaks and lunch: 6 quarters
    # last week's shift ended at 23:00 the day before: day 0's early shift is too soon
    tired = AgentSpec("a", ("general",), 8, last_end_min=-60)
    r = solve(1, [tired], [EARLY, LATE], {"general": [need_between(6 * 60, 14 * 60)]})
    assert [s.shift for s in r.assignments] == [LATE]


def test_max_consecutive_days() -> None:
    need = {"general": [need_between(6 * 60, 15 * 60)] * 7}
    six = AgentSpec("a", ("general",), 48)  # six 8-hour shifts in 7 days
    r = solve(7, [six], [EARLY], need, rules=Rules(max_consecutive_days=3))
    days = sorted(s.day for s in r.assignments)
    assert len(days) == 6 and days not in ([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6])
    assert days == [0, 1, 2, 4, 5, 6]  # the one way to keep runs within 3
    assert solve(7, [six], [EARLY], need, rules=Rules(max_consecutive_days=2)).status == \
        "infeasible"
    # three days worked before the week count in the first run
    before = AgentSpec("a", ("general",), 16, worked_days_before=3)
    r = solve(2, [before], [EARLY], {"general": [need_between(6 * 60, 15 * 60)] * 2},
              rules=Rules(max_consecutive_days=4))
    assert r.status == "infeasible"


def test_skills_are_respected() -> None:
    need = {"billing": [need_between(6 * 60, 15 * 60)],
            "fault": [need_between(14 * 60, 23 * 60)]}
    agents = [AgentSpec("b", ("billing",), 8), AgentSpec("f", ("fault",), 8),
              AgentSpec("x", ("other",), 0)]
    r = solve(1, agents, [EARLY, LATE], need)
    got = {(s.agent_id, s.queue, s.shift.start_min) for s in r.assignments}
    assert got == {("b", "billing", EARLY.start_min), ("f", "fault", LATE.start_min)}
    # an agent qualified for neither queue cannot be given hours there
    assert solve(1, [AgentSpec("x", ("other",), 8)], [EARLY], need).status == "infeasible"


def test_preferences_give_way_to_coverage_only() -> None:
    need = {"general": [need_between(6 * 60, 15 * 60)] * 2}
    wish = AgentSpec("a", ("general",), 8, days_off_wish=(0,))
    r = solve(2, [wish], [EARLY], need)
    assert [s.day for s in r.assignments] == [1] and r.preference_misses == 0
    late_riser = AgentSpec("a", ("general",), 8, earliest_start_min=10 * 60)
    r = solve(1, [late_riser], [EARLY, LATE], {"general": [need_between(6 * 60, 15 * 60)]})
    assert [s.shift for s in r.assignments] == [EARLY]  # coverage first
    assert r.preference_misses == 1


def test_headcount_cap() -> None:
    need = {"general": [need_between(6 * 60, 15 * 60, 3)]}
    agents = [AgentSpec(x, ("general",), 8) for x in "abc"]
    assert solve(1, agents, [EARLY], need).status == "optimal"
    r = solve(1, agents, [EARLY], need, headcount={(0, "general"): 2})
    assert r.status == "infeasible"  # three contracts of one day each, two places
    r = solve(1, agents[:2], [EARLY], need, headcount={(0, "general"): 2})
    assert len(r.assignments) == 2
