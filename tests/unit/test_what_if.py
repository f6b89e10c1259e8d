"""The planner's what-if (hotline/planning/whatif.py): staffing changes, shifts from agents per
interval, and both runs on the same drawn calls through the simulator."""

from __future__ import annotations

import math

from hotline.planning.model import needed_agents, scheduled_agents
from hotline.planning.scenario import Shift
from hotline.planning.whatif import (
    StaffingChange,
    WhatIf,
    day_aht,
    on_floor,
    run_what_if,
    shifts,
    variant_scheduled,
)


def test_agents_per_interval_become_shifts() -> None:
    # 1, 3, 0, 2 agents: agent 0 works intervals 0-1 and 3, agent 1 the peak and 3, agent 2
    # the peak only
    assert shifts([1, 3, 0, 2], interval_s=900) == [
        (Shift(0.0, 1800.0), Shift(2700.0, 3600.0)),
        (Shift(900.0, 1800.0), Shift(2700.0, 3600.0)),
        (Shift(900.0, 1800.0),),
    ]
    assert shifts([0, 0]) == []


def test_shrinkage_leaves_the_required_agents_on_the_floor() -> None:
    for required in range(0, 60):
        for s in (0.0, 0.1, 0.25, 0.3, 0.35, 0.5):
            assert on_floor(scheduled_agents(required, s), s) >= required
    assert on_floor(20, 0.3) == 14 and on_floor(20, 0.4) == 12


def test_a_staffing_change_by_percent_then_agents() -> None:
    change = StaffingChange(delta=-2, percent=10)
    # 20 * 1.1 - 2 = 20; 10 * 1.1 - 2 = 9; 1 -> 0 (never below 0); an unstaffed interval stays
    assert variant_scheduled([20, 10, 1, 0], change) == [20, 9, 0, 0]
    assert variant_scheduled([5, 0], StaffingChange(delta=3)) == [8, 0]


def test_the_day_aht_weighs_intervals_by_their_calls() -> None:
    assert day_aht([50, 30, 0], [180.0, 300.0, 999.0]) == 225.0
    assert day_aht([0, 5], [100.0, None]) is None


def test_fewer_agents_answer_worse_on_the_same_calls() -> None:
    calls = [0.0] * 96
    calls[36], calls[37] = 50.0, 50.0
    need = needed_agents(50, 180, 900, 20, sl_target=0.8).agents  # 14: the classic example
    scheduled = [need if c else 0 for c in calls]
    w = WhatIf(calls, 180.0, math.inf, scheduled, 0.0, StaffingChange(delta=-4), seed=3)
    r = run_what_if(w)
    assert r.agents[0][36] == 14 and r.agents[1][36] == 10
    assert r.totals[0].offered == r.totals[1].offered == r.calls > 0
    assert r.totals[1].service_level < r.totals[0].service_level
    assert r.totals[1].asa > r.totals[0].asa
    assert r.occupancy[1] > r.occupancy[0]
    nine = r.rows[36]
    assert (nine["agents"], nine["variant_agents"], nine["calls"]) == (14, 10, 50.0)
    # the same seed draws the same day: the same figures again
    assert run_what_if(w).totals == r.totals
