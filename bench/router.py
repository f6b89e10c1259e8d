"""Agent selection at scale: compiled kernel vs pure twin vs a naive full scan, same inputs.

    .venv/bin/python -m bench.router [--agents 10000] [--decisions 20000] [--quick]

A floor of N agents, each with 4..16 of 64 skills (popular skills are held more often) at levels
1..5, about a third of them ready. Every decision picks an agent for a call needing 1-3 skills
under a random policy; the chosen agent leaves the ready sets and another agent returns, so the
index churns as it does on a live floor. Each decision is timed on its own. The last line is
one JSON object with the figures. A last part times the whole Router (kernel, explanation and
bookkeeping) from CallQueued to Offer on the same kind of floor, and apart from it the router's
tick every 0.2 s of its clock, as the controller runs it (it packs the explanations made since
the last tick for keeping).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from types import ModuleType

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentTrigger
from hotline.core.values import ServiceType
from hotline.core_ext import select as selector
from hotline.core_ext import select_agent_py
from hotline.router import AgentConfig, Offer, QueueConfig, Router, RouterConfig

N_SKILLS = 64
WEIGHTS = [1.0 / (k + 1) for k in range(N_SKILLS)]  # Zipf-like: skill 0 is the commonest


def build_floor(rng: random.Random, n: int) -> list[dict[int, int]]:
    floor = []
    for _ in range(n):
        held: dict[int, int] = {}
        count = rng.randint(4, 16)
        while len(held) < count:
            held[rng.choices(range(N_SKILLS), WEIGHTS)[0]] = rng.randint(1, 5)
        floor.append(held)
    return floor


def build_calls(rng: random.Random, n: int) -> list[tuple[list[int], list[int], int]]:
    calls = []
    for _ in range(n):
        skills: list[int] = []
        count = rng.randint(1, 3)
        while len(skills) < count:
            s = rng.choices(range(N_SKILLS), WEIGHTS)[0]
            if s not in skills:
                skills.append(s)
        calls.append((skills, [rng.randint(1, 3) for _ in skills], rng.randrange(4)))
    return calls


def load_index(kernel: ModuleType, floor: list[dict[int, int]], ready: dict[int, float]) -> object:
    ix = kernel.AgentIndex(len(floor))
    for a, held in enumerate(floor):
        for s, lv in held.items():
            ix.set_level(a, s, lv)
    for a, idle in ready.items():
        ix.set_ready(a, idle, a % 7)
    return ix


def naive_select(
    floor: list[dict[int, int]],
    ready: dict[int, float],
    skills: list[int],
    mins: list[int],
    policy: int,
    cursor: int,
) -> int:
    """What a straightforward ACD does: look at every agent on the floor."""
    best, best_key = -1, None
    for a, held in enumerate(floor):
        idle = ready.get(a)
        if idle is None or not all(held.get(s, 0) >= m for s, m in zip(skills, mins, strict=True)):
            continue
        if policy == 0:
            key: tuple[float, ...] = (-held.get(skills[0], 0), idle, a)
        elif policy == 1:
            key = (idle, a)
        elif policy == 2:
            key = (a % 7, idle, a)
        else:
            key = (0 if a > cursor else 1, a)
        if best_key is None or key < best_key:
            best, best_key = a, key
    return best


def run(kernel: ModuleType | None, args: argparse.Namespace, seed: int) -> dict:
    """Time `decisions` selections with churn; kernel None means the naive scan."""
    rng = random.Random(seed)
    floor = build_floor(rng, args.agents)
    ready = {a: float(a) for a in rng.sample(range(args.agents), args.agents // 3)}
    calls = build_calls(rng, args.decisions)
    ix = load_index(kernel, floor, ready) if kernel is not None else None
    clock, cursor, picks = float(args.agents), -1, []
    select_ns: list[int] = []
    for skills, mins, policy in calls:
        if ix is not None:
            t0 = time.perf_counter_ns()
            got = ix.select(skills, mins, policy, cursor)
            select_ns.append(time.perf_counter_ns() - t0)
        else:
            t0 = time.perf_counter_ns()
            got = naive_select(floor, ready, skills, mins, policy, cursor)
            select_ns.append(time.perf_counter_ns() - t0)
        picks.append(got)
        # churn: the chosen agent is busy and someone else comes back, so the ready count
        # stays at a third of the floor
        if got >= 0:
            cursor = got
            del ready[got]
            back = rng.randrange(args.agents)
            while back in ready or back == got:
                back = rng.randrange(args.agents)
            clock += 1.0
            ready[back] = clock
            if ix is not None:
                ix.set_unready(got)
                ix.set_ready(back, clock, back % 7)
    us = sorted(ns / 1000 for ns in select_ns)
    return {
        "median_us": statistics.median(us),
        "p99_us": us[int(len(us) * 0.99) - 1] if len(us) > 1 else us[0],
        "picks": picks,
        "memory_bytes": ix.memory_bytes() if ix is not None else 0,
        "found": sum(p >= 0 for p in picks) / len(picks),
    }


def run_router(args: argparse.Namespace, seed: int) -> dict:
    """The whole Router (kernel + explanation + bookkeeping) on the same kind of floor: each
    call is queued, offered, answered and ended, and the agent wraps up."""
    rng = random.Random(seed)
    floor = build_floor(rng, args.agents)
    crew = [
        AgentConfig(f"a{i}", {f"s{s}": lv for s, lv in held.items()})
        for i, held in enumerate(floor)
    ]
    queues = [QueueConfig(f"q{k}", ServiceType.BILLING, {f"s{k}": 1}) for k in range(8)]
    now = [0.0]
    router = Router(RouterConfig(queues, crew), lambda: now[0])
    for i in range(args.agents):
        router.agent_command(f"a{i}", AgentTrigger.LOGIN, "start")
        if i % 3 == 0:
            router.agent_command(f"a{i}", AgentTrigger.READY)
    offer_ns: list[int] = []
    tick_ns: list[int] = []
    for n in range(args.router_calls):
        now[0] += 0.1
        if n % 2 == 0:
            # the controller's ticker (every 0.2 s): timeouts, and the explanations made
            # since the last tick packed for keeping (router/explain.py), off the decision
            t0 = time.perf_counter_ns()
            router.tick()
            tick_ns.append(time.perf_counter_ns() - t0)
        event = CallQueued(now[0], f"c{n}", f"q{rng.randrange(8)}", ServiceType.BILLING)
        t0 = time.perf_counter_ns()
        out = router.handle(event)
        offer_ns.append(time.perf_counter_ns() - t0)
        for offer in (d for d in out if isinstance(d, Offer)):
            router.handle(CallAnswered(now[0], offer.call_id, offer.agent_id))
            router.handle(CallEnded(now[0], offer.call_id))
            router.agent_command(offer.agent_id, AgentTrigger.END_WRAP_UP)
    us = sorted(ns / 1000 for ns in offer_ns)
    ticks = sorted(ns / 1000 for ns in tick_ns)
    return {"median_us": statistics.median(us), "p99_us": us[int(len(us) * 0.99) - 1],
            "tick_median_us": statistics.median(ticks),
            "tick_p99_us": ticks[int(len(ticks) * 0.99) - 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--naive-decisions", type=int, default=300)
    parser.add_argument("--router-calls", type=int, default=3_000)
    parser.add_argument("--quick", action="store_true", help="fewer decisions (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.decisions, args.naive_decisions, args.router_calls = 2_000, 50, 300

    compiled = selector.load_compiled("select_agent")
    t0 = time.perf_counter()
    ours = run(compiled, args, seed=1)
    twin = run(select_agent_py, args, seed=1)
    naive_args = argparse.Namespace(**{**vars(args), "decisions": args.naive_decisions})
    naive = run(None, naive_args, seed=1)
    ours_short = run(compiled, naive_args, seed=1)
    whole = run_router(args, seed=1)
    elapsed = time.perf_counter() - t0
    # same seed, same inputs: every implementation must have chosen the same agents
    assert ours["picks"] == twin["picks"], "compiled and twin disagree"
    assert ours_short["picks"] == naive["picks"], "compiled and naive scan disagree"

    figures = {
        "agents": args.agents,
        "decisions": args.decisions,
        "median_us": round(ours["median_us"], 3),
        "p99_us": round(ours["p99_us"], 3),
        "twin_median_us": round(twin["median_us"], 3),
        "twin_p99_us": round(twin["p99_us"], 3),
        "naive_median_us": round(naive["median_us"], 1),
        "naive_decisions": args.naive_decisions,
        "same_median_us": round(ours_short["median_us"], 3),
        # like for like: the naive scan and the kernel on the same first decisions
        "ratio": round(naive["median_us"] / ours_short["median_us"], 1),
        "twin_ratio": round(twin["median_us"] / ours["median_us"], 1),
        "memory_bytes": ours["memory_bytes"],
        "router_calls": args.router_calls,
        "router_offer_median_us": round(whole["median_us"], 1),
        "router_offer_p99_us": round(whole["p99_us"], 1),
        "router_tick_median_us": round(whole["tick_median_us"], 1),
        "router_tick_p99_us": round(whole["tick_p99_us"], 1),
        "found_fraction": round(ours["found"], 3),
        "seconds": round(elapsed, 1),
    }
    print(f"{args.agents} agents, {args.decisions} decisions with churn ({elapsed:.1f} s)")
    print(f"  compiled kernel  median {figures['median_us']} us  p99 {figures['p99_us']} us")
    print(
        f"  pure twin        median {figures['twin_median_us']} us  p99 {figures['twin_p99_us']} us"
    )
    print(
        f"  naive full scan  median {figures['naive_median_us']} us over the first "
        f"{args.naive_decisions} decisions (compiled: {figures['same_median_us']} us on those)"
    )
    print(f"  naive / compiled {figures['ratio']}x, twin / compiled {figures['twin_ratio']}x")
    print(f"  index memory     {figures['memory_bytes'] / 1e6:.1f} MB")
    print(
        f"  whole Router: CallQueued -> Offer with explanation, median "
        f"{figures['router_offer_median_us']} us, p99 {figures['router_offer_p99_us']} us; "
        f"its tick every 0.2 s (packing the explanations since the last one), median "
        f"{figures['router_tick_median_us']} us, p99 {figures['router_tick_p99_us']} us"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
