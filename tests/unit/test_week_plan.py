"""Issue #19's "done when" for plans: a generated history is forecast, sized and planned for
a week, and the plan's gaps match a hand check.

The history: four weeks, every day 9 calls in each quarter hour from 09:00 to 17:00, handled
in 200 s, nobody hanging up. By hand: the forecast is that history (no trend, one profile);
the traffic A = 9 x 200 / 900 = 2 Erlangs; Erlang C for 80 % in 20 s (docs/planning.md):
with 3 agents P_w = 0.4444 and SL = 1 - 0.4444 e^(-1 x 20/200) = 0.598, with 4 P_w = 0.1739
and SL = 1 - 0.1739 e^(-2 x 20/200) = 0.858: 4 agents from 09:00 to 17:00, none else.
Six agents of 40 hours (five 9-hour shifts with an unpaid hour of lunch) are planned on it."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
from pytest import approx

from hotline.planning.forecast import SLOTS, DayHistory, fit, forecast
from hotline.planning.plan_queries import PlannedShift
from hotline.planning.plans import day_gaps, headcount_for, planned, week_problem
from hotline.planning.required import required_agents
from hotline.planning.rostering import AgentSpec, Rules, solve_week
from hotline.planning.shifts import Break, Shift, templates

FIRST = date(2026, 6, 1)  # a Monday
WEEK = FIRST + timedelta(weeks=4)
OPEN, CLOSE = 36, 68  # 09:00, 17:00


def history() -> list[DayHistory]:
    out = []
    for d in range(28):
        calls = np.zeros(SLOTS)
        calls[OPEN:CLOSE] = 9
        out.append(DayHistory(FIRST + timedelta(days=d), calls, calls.copy(), calls * 200.0))
    return out


def hand_need() -> list[int]:
    return [4 if OPEN <= i < CLOSE else 0 for i in range(SLOTS)]


def on_phone_by_hand(s: Shift, i: int) -> bool:
    t = i * 15
    return s.start_min <= t < s.end_min and not any(
        b.start_min <= t < b.start_min + b.length_min for b in s.breaks)


def test_forecast_size_plan_a_week_and_check_the_gaps_by_hand() -> None:
    model = fit(history())
    need = []
    for d in range(7):
        fc = forecast(model, WEEK + timedelta(days=d))
        assert np.allclose(fc.calls[OPEN:CLOSE], 9) and fc.calls.sum() == approx(9 * 32)
        needs = required_agents(fc, 0.8, 20.0, math.inf, 0.0)
        sized = [n.staffing for n in needs if n.staffing is not None]
        assert len(sized) == 32
        assert all(s.service_level == approx(0.8576, abs=1e-4) for s in sized)
        need.append([n.scheduled for n in needs])
    assert need == [hand_need()] * 7
    # the month plan's head count: 4 x 8 h on the phones a day over 8 paid hours a shift
    assert headcount_for(hand_need(), 8 * 60) == 4

    agents = tuple(AgentSpec(f"a{k}", ("general",), 40) for k in range(6))
    problem = week_problem(WEEK, 7, agents, templates([8 * 60, 9 * 60], 9 * 60),
                           {"general": need}, Rules(11, 5), {}, 10.0)
    roster = solve_week(problem)
    assert roster.status in ("optimal", "feasible")
    shifts = planned(WEEK, roster)
    for k in range(6):  # contracts: five shifts each
        assert sum(p.agent_id == f"a{k}" for p in shifts) == 5
    short = 0
    for d in range(7):
        day = [p for p in shifts if p.day == WEEK + timedelta(days=d)]
        scheduled, gap = day_gaps(day, "general", need[d])
        by_hand = [sum(on_phone_by_hand(p.shift, i) for p in day) - hand_need()[i]
                   for i in range(SLOTS)]
        assert gap == by_hand
        assert scheduled == [g + n for g, n in zip(gap, hand_need(), strict=True)]
        short -= sum(g for g in gap if g < 0)
    assert short == roster.short  # the model's own count of agent-intervals short


def test_a_fine_tuned_day_by_hand() -> None:
    """Five shifts of one day written out, and their gaps worked out on paper."""
    def shift(start: int, brk: int, lunch: int, brk2: int) -> Shift:
        return Shift(start, start + 540, (Break(brk, 15), Break(lunch, 60, "lunch"),
                                          Break(brk2, 15)))
    d = WEEK
    day = [PlannedShift(d, "a", "general", shift(480, 600, 720, 885)),   # 08:00-17:00
           PlannedShift(d, "b", "general", shift(480, 615, 750, 900)),   # 08:00-17:00
           PlannedShift(d, "c", "general", shift(540, 660, 780, 945)),   # 09:00-18:00
           PlannedShift(d, "d", "general", shift(540, 675, 810, 960)),   # 09:00-18:00
           PlannedShift(d, "e", "general", shift(540, 630, 690, 990))]  # 09:00-18:00
    _, gap = day_gaps(day, "general", hand_need())
    # who is off the phones in each quarter (slot = minutes / 15) between 09:00 and 17:00:
    # breaks a 40, b 41, e 42, c 44, d 45; lunches e 46-49, a 48-51, b 50-53, c 52-55,
    # d 54-57; second breaks a 59, b 60, c 63, d 64, e 66
    off = {40: 1, 41: 1, 42: 1, 44: 1, 45: 1, 46: 1, 47: 1, 48: 2, 49: 2, 50: 2, 51: 2,
           52: 2, 53: 2, 54: 2, 55: 2, 56: 1, 57: 1, 59: 1, 60: 1, 63: 1, 64: 1, 66: 1}
    expect = [0] * SLOTS
    expect[32:36] = [2] * 4  # 08:00-09:00: a and b on, nobody needed
    for q in range(36, 68):  # 09:00-17:00: five on, four needed, less who is off
        expect[q] = 5 - off.get(q, 0) - 4
    expect[68:72] = [3] * 4  # 17:00-18:00: c, d and e on
    assert gap == expect
    assert min(gap) == -1 and gap.count(-1) == 8  # 12:00-14:00, two at lunch at once
