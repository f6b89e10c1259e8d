"""What-if simulation speed: a 260,000-call day through the real router and metrics.

    .venv/bin/python -m bench.simulate [--calls 260000] [--seed 1] [--quick]

The day: four queues (fault, outage info, billing, business) at 40/30/20/10 % of the calls, over
a weekday profile of 96 quarter hours peaking mid-morning and mid-afternoon; talk lognormal
(mean 200 s, cv 0.8), 30 s after-call work, patience exponential (mean 180 s). The floor is
sized per interval by Erlang C (80 % in 20 s on the pooled traffic, shrinkage aside) and covered
by 8-hour shifts started greedily; each agent holds its main queue's skill and, one in three,
a second one. Generating the day is timed apart from the run; `seconds` is the wall clock,
`cpu_seconds` the process's own CPU time (on a loaded machine the two differ). The last line is
one JSON object with the figures (target: `seconds` <= 10 for 260,000 calls).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time

from hotline.core.values import ServiceType
from hotline.planning.model import needed_agents
from hotline.planning.scenario import Demand, Scenario, Shift, SimAgent, generate_day
from hotline.planning.simulation import simulate
from hotline.router import AgentConfig, QueueConfig

INTERVAL_S = 900
QUEUES = [("fault", ServiceType.FAULT, 0.4), ("outage", ServiceType.OUTAGE_INFO, 0.3),
          ("billing", ServiceType.BILLING, 0.2), ("business", ServiceType.BUSINESS, 0.1)]
TALK_S, ACW_S, PATIENCE_S = 200.0, 30.0, 180.0
SHIFT_S = 8 * 3600


def profile() -> list[float]:
    """Share of the day's calls per quarter hour: quiet at night, peaks at 10:00 and 15:00."""
    w = []
    for i in range(96):
        h = (i + 0.5) / 4
        w.append(0.05 + math.exp(-((h - 10) / 1.8) ** 2) + 0.8 * math.exp(-((h - 15) / 2) ** 2))
    total = sum(w)
    return [x / total for x in w]


def build(calls: int, seed: int) -> Scenario:
    shares = profile()
    demand = [Demand(name, [calls * share * s for s in shares], TALK_S, talk_cv=0.8,
                     acw_s=ACW_S, patience_s=PATIENCE_S) for name, _, share in QUEUES]
    queues = [QueueConfig(name, service, {name: 1}) for name, service, _ in QUEUES]
    need = [needed_agents(calls * s, TALK_S + ACW_S, INTERVAL_S, 20.0, 0.8).agents
            if calls * s > 0 else 0 for s in shares]
    rng = random.Random(seed)
    names = [name for name, _, _ in QUEUES]
    weights = [share for _, _, share in QUEUES]
    agents: list[SimAgent] = []
    ends: list[float] = []
    for i, n in enumerate(need):
        start = i * INTERVAL_S
        on = sum(1 for e in ends if e > start)
        for _ in range(max(0, n - on)):
            main = rng.choices(names, weights)[0]
            skills = {main: rng.randint(1, 5)}
            if rng.random() < 1 / 3:
                skills[rng.choice(names)] = rng.randint(1, 5)
            end = min(start + SHIFT_S, 96 * INTERVAL_S + 3600)
            ends.append(end)
            agents.append(SimAgent(AgentConfig(f"a{len(agents)}", skills),
                                   (Shift(start, end),)))
    return Scenario(queues, agents, demand, interval_s=INTERVAL_S, seed=seed, label="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=260_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="26,000 calls (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.calls = 26_000
    scenario = build(args.calls, args.seed)
    t0 = time.perf_counter()
    day = generate_day(scenario)
    generate_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    result = simulate(scenario, day)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    total = result.totals[None]
    peak = max(len([a for a in scenario.agents
                    if a.shifts[0].start_s <= t * INTERVAL_S < a.shifts[0].end_s])
               for t in range(96))
    figures = {
        "calls": result.calls,
        "seconds": round(seconds, 2),
        "calls_per_s": round(result.calls / seconds),
        # the process's own CPU time: on a shared machine the wall clock also counts the
        # other processes' turns (the load average is printed beside it)
        "cpu_seconds": round(cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "us_per_call": round(seconds / result.calls * 1e6, 1),
        "generate_s": round(generate_s, 2),
        "events": result.events,
        "agents": len(scenario.agents),
        "peak_agents": peak,
        "service_level": round(total.service_level or 0.0, 4),
        "asa": round(total.asa or 0.0, 2),
        "abandoned": total.abandoned,
        "answered": total.answered,
        "intervals": len(result.intervals),
        "rank_mismatches": result.rank_mismatches,
    }
    print(f"{result.calls} calls, {len(scenario.agents)} agents ({peak} at the peak): "
          f"simulated in {seconds:.2f} s ({figures['calls_per_s']} calls/s, "
          f"{figures['us_per_call']} us a call; CPU {cpu:.2f} s at load "
          f"{figures['load_average']}; drawing the day {generate_s:.2f} s)")
    print(f"  day: service level {figures['service_level']}, ASA {figures['asa']} s, "
          f"{total.answered} answered, {total.abandoned} abandoned, {result.events} events")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
