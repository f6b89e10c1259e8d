"""The what-if simulator's event loop (core_ext/sim_loop.pyx) against its twin
(sim_loop_py.py): whole days through the real router and metrics give the same figures,
interval by interval, and the same count of events, on each of the loop's paths (answers at
once and after a ring, abandons, after-call work or none, shifts starting and ending mid-call,
ticks for overflow and bullseye steps)."""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType

import pytest

from hotline.core.values import ServiceType
from hotline.core_ext import sim_loop_py
from hotline.planning.scenario import Day, Demand, Scenario, Shift, SimAgent
from hotline.planning.simulation import SimResult, simulate
from hotline.router import AgentConfig, QueueConfig

KERNEL = "sim_loop"  # the `kernel` fixture (kernels/conftest.py): compiled and twin


def _floor() -> Scenario:
    fault = QueueConfig("fault", ServiceType.FAULT, {"fault": 1})
    billing = QueueConfig("billing", ServiceType.BILLING, {"billing": 2},
                          policy="longest_idle")
    agents = [SimAgent(AgentConfig(f"a{i}", {"fault": 1 + i % 3, "billing": i % 4}),
                       (Shift(900.0 * (i % 3), 900.0 * (i % 3) + 2400.0),
                        Shift(5000.0, 9000.0)))
              for i in range(9)]
    demand = [Demand("fault", [25.0] * 10, 150.0, talk_cv=0.7, acw_s=20.0, patience_s=90.0),
              Demand("billing", [12.0] * 10, 200.0, patience_s=60.0)]
    return Scenario([fault, billing], agents, demand, seed=3)


VARIANTS = {
    "at_once": lambda s: s,
    "ring": lambda s: dataclasses.replace(s, answer_delay_s=4.0),
    "overflow_bullseye": lambda s: dataclasses.replace(s, queues=[
        dataclasses.replace(s.queues[0], expand_after=[(15.0, {})]),
        dataclasses.replace(s.queues[1], overflow_to="fault", overflow_wait_s=20.0),
    ], tick_s=2.0),
}


def _same(a: SimResult, b: SimResult) -> None:
    assert a.rows() == b.rows()
    assert (a.calls, a.events, a.rank_mismatches) == (b.calls, b.events, b.rank_mismatches)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_day_runs_the_same_through_kernel_and_twin(kernel: ModuleType, variant: str) -> None:
    scenario = VARIANTS[variant](_floor())
    result = simulate(scenario, loop=kernel)
    _same(result, simulate(scenario, loop=sim_loop_py))
    day = result.totals[None]
    assert day.offered == result.calls > 300
    assert day.answered > 0 and day.abandoned > 0


def test_a_day_worked_by_hand(kernel: ModuleType) -> None:
    """One agent on shift 0..200 s, after-call work 30 s. Call 0 at 100 s talks 300 s (past
    the shift's end: logged out at 430 s, after its wrap-up); call 1 at 500 s waits for
    nobody and hangs up after 90 s. Events: the login and ready, two arrivals, the answer,
    the hang-up, the wrap-up's end (a logout) and the abandon."""
    scenario = Scenario(
        [QueueConfig("q", ServiceType.BILLING, {"s": 1})],
        [SimAgent(AgentConfig("a0", {"s": 1}), (Shift(0.0, 200.0),))],
        [Demand("q", [0.0], 180.0, acw_s=30.0)],
    )
    day = Day(arrival=[100.0, 500.0], queue=[0, 0], talk=[300.0, 60.0],
              patience=[math.inf, 90.0])
    result = simulate(scenario, day, loop=kernel)
    f = result.totals["q"]
    assert (f.offered, f.answered, f.abandoned, f.handled) == (2, 1, 1, 1)
    assert f.talk_s == pytest.approx(300.0) and f.acw_s == pytest.approx(30.0)
    assert result.events == 8
