"""What-if simulation (hotline/planning/simulation.py): the real router and metrics over a
generated day. Validated against Erlang C and Erlang A; then the planner's moves."""

from __future__ import annotations

import dataclasses
import math

import pytest

from hotline.core.values import ServiceType
from hotline.planning.model import erlang_a_staffing, erlang_c_staffing
from hotline.planning.scenario import Day, Demand, Scenario, Shift, SimAgent, generate_day
from hotline.planning.simulation import compare, simulate
from hotline.router import AgentConfig, QueueConfig

ALL_DAY = (Shift(0.0, 1e9),)


def one_queue(agents: int, calls: float, intervals: int, patience_s: float = math.inf,
              seed: int = 1) -> Scenario:
    queue = QueueConfig("q", ServiceType.BILLING, {"s": 1})
    floor = [SimAgent(AgentConfig(f"a{i}", {"s": 1}), ALL_DAY) for i in range(agents)]
    return Scenario([queue], floor, [Demand("q", [calls] * intervals, 180.0,
                                            patience_s=patience_s)],
                    seed=seed, short_abandon_s=0.0)


def test_service_level_matches_erlang_c() -> None:
    """One queue, Poisson arrivals, exponential talk time, nobody hangs up: M/M/n. 5 agents,
    15 calls a quarter hour of AHT 180 s (3 Erlangs), 4,000 quarter hours (about 60,000
    calls, seed 1): Erlang C gives 81.09 % within 20 s, an ASA of 21.25 s and an occupancy of
    60 %; the simulated day through the router and the metrics must be within one point
    (seeds 1-6 fall within 0.73 point: 81.62, 80.97, 80.46, 81.51, 81.53, 81.82 %)."""
    result = simulate(one_queue(agents=5, calls=15.0, intervals=4000))
    expected = erlang_c_staffing(5, 15.0, 180.0, 900.0, 20.0)
    day = result.totals["q"]
    assert day.offered == result.calls > 59_000
    assert day.answered == result.calls and day.abandoned == 0
    assert day.service_level == pytest.approx(expected.service_level, abs=0.01)
    assert day.asa == pytest.approx(expected.asa_s, rel=0.1)
    assert result.rank_mismatches == 0
    # the wallboard's occupancy (metrics.md), interval by interval, is Erlang C's A / n
    busy = [iv.occupancy for iv in result.intervals[1:-1] if iv.occupancy is not None]
    assert sum(busy) / len(busy) == pytest.approx(expected.occupancy, abs=0.01)


def test_abandons_match_erlang_a() -> None:
    """Callers with exponential patience of mean 120 s: M/M/n+M. 14 agents, 50 calls a
    quarter hour of AHT 180 s (10 Erlangs), 1,200 quarter hours (about 60,000 calls): Erlang
    A gives 93.27 % within 20 s and 2.28 % abandoned (short abandons counted, as Erlang A
    does: short_abandon_s 0); the simulation within one point and half a point."""
    result = simulate(one_queue(agents=14, calls=50.0, intervals=1200, patience_s=120.0))
    expected = erlang_a_staffing(14, 50.0, 180.0, 900.0, 20.0, 120.0)
    day = result.totals["q"]
    assert day.service_level == pytest.approx(expected.service_level, abs=0.01)
    assert day.abandon_rate == pytest.approx(expected.p_abandon, abs=0.005)


def test_same_seed_same_day_and_figures() -> None:
    scenario = one_queue(agents=3, calls=20.0, intervals=8, patience_s=60.0)
    first, again = simulate(scenario), simulate(scenario)
    assert first.intervals == again.intervals
    other = simulate(dataclasses.replace(scenario, seed=2))
    assert other.intervals != first.intervals


def test_figures_per_interval_follow_the_metrics_definitions() -> None:
    """A hand-made day (Day given, nothing drawn): two calls, one agent on shift 0..1800 s.
    Call 0 at 100 s talks 200 s; call 1 at 150 s waits 150 s (answered at 300 s, outside 20
    s) and talks 100 s. Interval 0 (0..900): offered 2, answered 2, 1 within T -> SL 0.5,
    ASA (0 + 150) / 2 = 75 s; the agent worked 300 s of 900 and was ready the rest:
    occupancy 300 / 900. Interval 1: no call, the agent ready: occupancy 0."""
    scenario = Scenario(
        [QueueConfig("q", ServiceType.BILLING, {"s": 1})],
        [SimAgent(AgentConfig("a0", {"s": 1}), (Shift(0.0, 1800.0),))],
        [Demand("q", [0.0, 0.0], 180.0)],
    )
    day = Day(arrival=[100.0, 150.0], queue=[0, 0], talk=[200.0, 100.0],
              patience=[math.inf, math.inf])
    result = simulate(scenario, day)
    first, second = result.intervals[0], result.intervals[1]
    f = first.queues["q"]
    assert (first.start, first.end) == (0.0, 900.0)
    assert (f.offered, f.answered, f.answered_within_t) == (2, 2, 1)
    assert f.service_level == 0.5
    assert f.asa == pytest.approx(75.0)
    assert f.handled == 2 and f.aht == pytest.approx(150.0)
    assert first.occupancy == pytest.approx(300.0 / 900.0)
    assert second.occupancy == 0.0
    assert first.queues[None].offered == 2  # all queues
    rows = result.rows()
    assert rows[0]["queue"] is None and rows[1]["queue"] == "q"
    assert rows[1]["service_level"] == 0.5 and rows[1]["occupancy"] == first.occupancy


def test_shift_end_lets_the_call_finish() -> None:
    """An agent whose shift ends mid-call finishes it (and its after-call work) before it
    logs out; a call arriving after every shift ended waits until its caller hangs up."""
    scenario = Scenario(
        [QueueConfig("q", ServiceType.BILLING, {"s": 1})],
        [SimAgent(AgentConfig("a0", {"s": 1}), (Shift(0.0, 200.0),))],
        [Demand("q", [0.0], 180.0, acw_s=30.0)],
    )
    day = Day(arrival=[100.0, 500.0], queue=[0, 0], talk=[300.0, 60.0],
              patience=[math.inf, 90.0])
    result = simulate(scenario, day)
    f = result.totals["q"]
    assert (f.answered, f.abandoned, f.handled) == (1, 1, 1)
    assert f.acw_s == pytest.approx(30.0) and f.talk_s == pytest.approx(300.0)
    assert f.wait_abandoned_s == pytest.approx(90.0)


def test_skills_and_overflow_change_the_outcome() -> None:
    """What a planner tries: billing has no agent of its own; its callers abandon. With an
    overflow to the fault queue after 10 s, the fault agents take them."""
    fault = QueueConfig("fault", ServiceType.FAULT, {"fault": 1})
    billing = QueueConfig("billing", ServiceType.BILLING, {"billing": 1})
    floor = [SimAgent(AgentConfig(f"a{i}", {"fault": 2}), ALL_DAY) for i in range(6)]
    demand = [Demand("fault", [20.0] * 8, 120.0, patience_s=300.0),
              Demand("billing", [10.0] * 8, 120.0, patience_s=300.0)]
    base = simulate(Scenario([fault, billing], floor, demand, label="base"))
    assert base.totals["billing"].answered == 0
    assert base.totals["billing"].abandoned == base.totals["billing"].offered > 0
    overflow = dataclasses.replace(billing, overflow_to="fault", overflow_wait_s=10.0)
    variant = simulate(Scenario([fault, overflow], floor, demand, label="overflow"))
    moved = variant.totals["billing"]
    assert moved.overflowed + moved.abandoned == moved.offered  # a few hung up within 10 s
    assert moved.overflowed > 0.9 * moved.offered
    assert variant.totals[None].answered > base.totals[None].answered
    rows = compare(base, variant)
    assert len(rows) == len(base.intervals)
    assert rows[0]["variant_occupancy"] > rows[0]["occupancy"]
    # ... and a cross-trained agent instead of the overflow
    trained = [*floor[:5], SimAgent(AgentConfig("a5", {"fault": 2, "billing": 1}), ALL_DAY)]
    skilled = simulate(Scenario([fault, billing], trained, demand))
    assert skilled.totals["billing"].answered > 0


def test_generated_day_follows_the_demand() -> None:
    scenario = Scenario([QueueConfig("q", ServiceType.BILLING, {"s": 1})], [],
                        [Demand("q", [100.0, 0.0, 300.0], 200.0, talk_cv=0.5)], seed=7)
    day = generate_day(scenario)
    counts = [sum(1 for t in day.arrival if k * 900 <= t < (k + 1) * 900) for k in range(3)]
    assert counts[1] == 0 and 60 < counts[0] < 140 and 240 < counts[2] < 360
    assert day.arrival == sorted(day.arrival)
    mean_talk = sum(day.talk) / len(day)
    assert 170 < mean_talk < 230  # lognormal of mean 200 s


def test_ring_time_and_a_caller_who_leaves_while_it_rings() -> None:
    """answer_delay_s 5: an offer is answered 5 s later, so call 0 (at 10 s) waits 5 s; call
    1 (at 20 s, agent a0 busy) rings a1 and its caller hangs up after 3 s, before the answer:
    an abandon, and a1 is free again for call 2 (at 30 s, answered at 35 s)."""
    scenario = Scenario(
        [QueueConfig("q", ServiceType.BILLING, {"s": 1})],
        [SimAgent(AgentConfig(f"a{i}", {"s": 1}), ALL_DAY) for i in range(2)],
        [Demand("q", [0.0], 180.0)],
        answer_delay_s=5.0,
    )
    day = Day(arrival=[10.0, 20.0, 30.0], queue=[0, 0, 0], talk=[100.0, 100.0, 50.0],
              patience=[math.inf, 3.0, math.inf])
    f = simulate(scenario, day).totals["q"]
    assert (f.offered, f.answered, f.abandoned, f.short_abandoned) == (3, 2, 1, 1)
    assert f.wait_answered_s == pytest.approx(10.0)  # 5 s ring each
    assert f.handled == 2 and f.talk_s == pytest.approx(150.0)
