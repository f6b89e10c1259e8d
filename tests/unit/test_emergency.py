"""Emergency staffing's rules worked by hand (docs/planning.md, "Emergency staffing"): the live
ratio over the last closed intervals, the re-forecast, the agents it needs against the plan,
and who could be called in (off shift, qualified, within the rest rules), in order."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from hotline.planning.emergency import (
    Person,
    call_ins,
    level_for,
    live_ratio,
    qualifies,
    reforecast,
    week_hours_left,
)
from hotline.planning.forecast import SLOTS, DayForecast
from hotline.planning.required import required_agents
from hotline.planning.rostering import Rules
from hotline.planning.shifts import Break, Shift


def test_the_ratio_is_the_window_s_actual_over_its_forecast() -> None:
    forecast = [0.0] * SLOTS
    forecast[36:40] = [10.0, 12.0, 14.0, 12.0]  # 09:00-10:00: 48 calls
    actual = {35: 3.0, 36: 15.0, 37: 18.0, 38: 20.0, 39: 19.0, 40: 7.0}  # 72 in the window
    r = live_ratio(actual, forecast, open_slot=40, window=4)
    assert r.slots == (36, 37, 38, 39)  # the open interval (40) is not in it
    assert (r.actual, r.forecast, r.ratio, r.factor) == (72.0, 48.0, 1.5, 1.5)
    # 09:45's row not written yet: the window moves back to the rows there are
    del actual[39]
    r = live_ratio(actual, forecast, open_slot=40, window=4)
    assert r.slots == (35, 36, 37, 38) and r.forecast == 36.0
    assert r.ratio == pytest.approx(56 / 36)
    # quieter than forecast scales down too
    assert live_ratio({36: 5.0}, forecast, 37, 4).ratio == 0.5


def test_no_ratio_without_forecast_calls_in_the_window() -> None:
    forecast = [0.0] * SLOTS
    forecast[10] = 0.5
    r = live_ratio({10: 4.0}, forecast, open_slot=11, window=4)
    assert r.ratio is None and r.factor == 1.0  # half a call forecast: no evidence
    r = live_ratio({}, forecast, open_slot=11, window=4)  # no row today yet
    assert (r.slots, r.ratio, r.factor) == ((), None, 1.0)


def test_the_coming_intervals_re_forecast_sized_and_against_the_plan() -> None:
    """40 calls forecast at 10:00 with an AHT of 180 s, the morning running 1.25 times the
    forecast: 50 calls a quarter hour = 10 Erlangs, the textbook case of 14 agents for 80 %
    within 20 s (Erlang C; 100 calls in 30 min of 180 s). The plan has 10 on the phones:
    4 short."""
    calls = np.zeros(SLOTS)
    calls[40], calls[41], calls[50] = 40.0, 40.0, 40.0
    fc = DayForecast(date(2026, 6, 29), 1.0, calls, np.full(SLOTS, 180.0))
    scaled = reforecast(fc.calls.tolist(), [40, 41], 1.25)
    assert scaled[40] == scaled[41] == 50.0 and scaled[50] == 0.0  # only the coming ones
    fc2 = DayForecast(fc.day, fc.factor, np.asarray(scaled), fc.aht_s)
    needs = required_agents(fc2, 0.8, 20.0)
    assert needs[40].staffing is not None and needs[40].staffing.agents == 14
    assert needs[40].staffing.service_level == pytest.approx(0.888, abs=0.001)
    assert needs[50].scheduled == 0
    scheduled = 10
    assert scheduled - needs[40].scheduled == -4
    # with 30 % shrinkage: 14 / 0.7 = 20 to schedule
    assert required_agents(fc2, 0.8, 20.0, shrinkage=0.3)[40].scheduled == 20


def test_qualified_and_the_level_for_a_queue() -> None:
    assert qualifies({"fault": 3, "vip": 1}, {"fault": 2})
    assert not qualifies({"fault": 1}, {"fault": 2})
    assert not qualifies({"billing": 5}, {"fault": 1})
    assert level_for({"fault": 4, "vip": 2}, {"fault": 1, "vip": 1}) == 2  # the weakest
    assert level_for({"fault": 4, "vip": 2}, {}) == 4
    assert week_hours_left(40, [480, 480, 420]) == 17.0  # 40 h - 23 h planned


def shift(start_h: float, end_h: float, *breaks: Break) -> Shift:
    return Shift(int(start_h * 60), int(end_h * 60), breaks)


def test_who_could_be_called_in_at_10_30() -> None:
    """10:30 (minute 630), the coming intervals to 12:30 (750), 10:30-11:30 short; rest 11 h,
    at most 5 days in a row."""
    people = [Person(a, a.upper(), "main", lvl) for a, lvl in
              [("a", 3), ("b", 3), ("c", 3), ("d", 5), ("f", 4), ("g", 3), ("h", 6),
               ("i", 3), ("j", 2)]]
    shifts = {
        "a": {0: shift(9, 17)},  # working now
        "b": {0: shift(8, 17, Break(600, 60, "lunch"))},  # at lunch 10:00-11:00
        "c": {-1: shift(15, 23.5)},  # 23:30 + 11 h = 10:30: from now
        "d": {-1: shift(16, 24)},  # 24:00 + 11 h = 11:00
        "f": {-k: shift(8, 17) for k in range(1, 6)},  # 5 days in a row before today
        "g": {0: shift(11.5, 20)},  # comes in early: until its shift starts
        "i": {0: shift(7, 10)},  # worked this morning, done at 10:00
        "j": {-1: shift(15, 23.5), 1: shift(9, 17)},  # one more day would be its 3rd
    }
    states = {"h": "on_call", "i": "logged_out"}  # h is on a call, off its plan
    left = {"c": 8.0, "g": 20.0, "i": 0.0, "f": 40.0, "j": 10.0}
    found, excluded = call_ins(people, shifts, states, left, 630.0, 750.0, [42, 43, 44, 45],
                               Rules(11.0, 5))
    assert {e.agent_id: e.reason for e in excluded} == {
        "a": "on_shift", "b": "on_break", "f": "consecutive_days", "h": "on_the_phones"}
    # order: who covers a short interval, then level, then contracted hours left
    assert [c.agent_id for c in found] == ["d", "g", "c", "i", "j"]
    by = {c.agent_id: c for c in found}
    assert (by["c"].from_min, by["c"].until_min, by["c"].covers_short) == (630.0, 750.0, 4)
    assert (by["d"].from_min, by["d"].covers_short, by["d"].hours_left) == (660.0, 2, None)
    assert (by["g"].until_min, by["g"].later_shift_min) == (690.0, 690)
    assert by["i"].worked_today and not by["c"].worked_today
    assert by["j"].state == "logged_out"


def test_rest_before_tomorrow_s_shift_in_the_evening() -> None:
    """20:00, coming to 22:00, all short: a shift tomorrow at 07:00 leaves no time (07:00 -
    11 h = 20:00), one at 07:30 half an hour; 6 days in a row counts the days after too."""
    people = [Person(a, a, "main", 1) for a in ("p", "q", "r")]
    shifts = {"p": {1: shift(7, 15)}, "q": {1: shift(7.5, 15)},
              "r": {-2: shift(8, 17), -1: shift(8, 17), 1: shift(9, 17), 2: shift(9, 17),
                    3: shift(9, 17)}}  # 2 + today + 3 = 6 > 5
    found, excluded = call_ins(people, shifts, {}, {}, 1200.0, 1320.0, list(range(80, 88)),
                               Rules(11.0, 5))
    assert [(e.agent_id, e.reason) for e in excluded] == [("p", "rest"),
                                                          ("r", "consecutive_days")]
    [q] = found
    assert (q.from_min, q.until_min, q.covers_short) == (1200.0, 1230.0, 2)
    found, _ = call_ins(people, shifts, {}, {}, 1200.0, 1320.0, [], Rules(11.0, 6))
    assert [c.agent_id for c in found] == ["q", "r"]  # none covers a short one: by level, id
