"""Benchmark: the report figures at scale (issue #17.6): a year of a 260,000-call-a-day centre.

    nice -n 19 .venv/bin/python -m bench.reports                   # 95,000,000 calls
    nice -n 19 .venv/bin/python -m bench.reports --calls 1000000   # a scaled-down year

Starts its own PostgreSQL (data under /tmp; or HOTLINE_DATABASE_URL, an empty database),
migrates it, and loads a year of calls with COPY: 1,200 agents in 40 teams of 3 vendors, 12
queues, 8 services, a day-shaped arrival curve, repeat callers (a number calls again within
hours), outcomes (answered, abandoned, callback, ...), and work orders for 4% of the calls
(complaints with verdicts and reply deadlines, callbacks, report orders) linked to their call,
and each agent's shift a day in the state log (shift_states; 40 agents' for a small run).
The load is a bulk load into an empty roll-up, so the report triggers are off during it; then
the roll-ups are made as production makes them (hotline/reports/rollup.py roll_up, the job the
report scheduler runs), and the real report (hotline/reports/queries.py report, what GET
/api/reports/figures serves) is timed: the last month by queue and by team, and a day by
queue, --runs times each (median and p99). The last line is one JSON object: calls,
month_report_ms (the slower month median), day_report_ms, generation and roll-up seconds,
table sizes.

The full year, estimated from --calls 1,000,000 (calls 428 MB a million with their indexes;
the roll-ups' rows saturate at ~one per agent and quarter): ~60 GB of disk (calls ~41 GB,
state log ~4 GB, orders ~2 GB, roll-ups ~12 GB, WAL), and on a quiet 2-core machine some
hours (the load at 4-7 min a million calls here under a soak, the roll-up a day a
transaction). The data directory is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from hotline.devtools.embedded import EmbeddedPostgres
from hotline.reports import queries, rollup
from hotline.reports.model import By, Rules
from hotline.reports.periods import Period, period_of
from hotline.store import db

YEAR_START = 1_735_689_600.0  # 2025-01-01 00:00 UTC
DAYS = 365
OFFSET_S = 8 * 3600  # the centre's clock: UTC+8
VENDORS = [("own", "own"), ("vendor_a", "outsourced"), ("vendor_b", "outsourced")]
TEAMS = [(f"team{i:02d}", VENDORS[i % 3][0]) for i in range(40)]
AGENTS = [(f"agent{i:04d}", TEAMS[i % 40][0]) for i in range(1200)]
QUEUES = [f"q{i:02d}" for i in range(12)]
SERVICES = ["billing", "fault", "outage", "consult", "complaint", "report", "praise", "other"]
SERVICE_W = [30, 25, 15, 18, 6, 1, 2, 3]
OUTCOMES = ["answered", "abandoned", "short_abandon", "callback", "failsafe", "node_failure"]
OUTCOME_W = [86, 8, 3, 2, 0.7, 0.3]
#: Calls per hour of the local day (a morning and an afternoon peak)
HOUR_W = [1, 0.5, 0.3, 0.3, 0.4, 1, 3, 6, 9, 10, 10, 9, 7, 7, 9, 10, 9, 8, 6, 5, 4, 3, 2, 1.5]
ORDER_SHARE = 0.04
CHUNK = 200_000


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


Rows = list[tuple[Any, ...]]


def shift_states(rng: random.Random, day_start: float, agents: int) -> Rows:
    """The first `agents` agents' day in the state log: logged out, then an 8-hour shift
    starting between 07:00 and 11:10 (local) in 5-to-20-minute blocks of ready, on call and
    after-call work, a 30-minute lunch (not ready, reason lunch) in the middle. Coarser than
    a real log (a span a call): the roll-ups' rows are per agent and quarter whatever the
    spans, and a year of per-call spans would not fit this machine's disk beside the calls."""
    rows: Rows = []
    for i, (agent, _) in enumerate(AGENTS[:agents]):
        start = day_start + (7 + i % 5) * 3600 + rng.uniform(0, 600)
        rows.append((agent, _ts(day_start), "logged_out", "", _ts(start)))
        t = start
        end = start + 8 * 3600
        lunch = start + 4 * 3600
        while t < end:
            if lunch <= t < lunch + 1800:
                state, reason, length = "not_ready", "lunch", 1800.0
            else:
                state = rng.choices(("ready", "on_call", "after_call_work"), (3, 6, 1))[0]
                reason, length = "", rng.uniform(300, 1200)
            nxt = min(t + length, end)
            if t < lunch < nxt:
                nxt = lunch
            rows.append((agent, _ts(t), state, reason, _ts(nxt)))
            t = nxt
        rows.append((agent, _ts(end), "logged_out", "", _ts(day_start + 86400)))
    return rows


def generate(n: int, seed: int) -> Iterator[tuple[Rows, Rows, Rows, Rows]]:
    """Chunks of (calls, orders, order links, agent states), in time order over the year."""
    rng = random.Random(seed)
    per_day = n / DAYS
    numbers = max(1000, n // 4)  # a number calls 4 times a year on average
    recent: list[tuple[str, float]] = []  # (number, when): repeat callers call again soon
    calls: list[tuple[Any, ...]] = []
    orders: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    states: Rows = []
    order_id = 0
    made = 0
    # every agent on shift at the full year; fewer for a scaled-down run (at least 40)
    shifts = max(40, min(len(AGENTS), round(len(AGENTS) * n / 95_000_000)))
    for day in range(DAYS):
        k = round(per_day * (day + 1)) - made
        start = YEAR_START + day * 86400 - OFFSET_S
        states += shift_states(rng, start, shifts)
        hours = sorted(rng.choices(range(24), HOUR_W, k=k))
        for h in hours:
            t = start + h * 3600 + rng.random() * 3600
            if recent and rng.random() < 0.12:
                caller, _ = recent[rng.randrange(len(recent))]
            else:
                caller = "" if rng.random() < 0.02 else f"1{rng.randrange(numbers):010d}"
            recent.append((caller, t))
            if len(recent) > 2000:
                recent = recent[-1000:]
            outcome = rng.choices(OUTCOMES, OUTCOME_W)[0]
            agent = rng.choice(AGENTS)[0] if outcome in ("answered", "callback",
                                                         "failsafe") else None
            queue = QUEUES[min(11, int(rng.expovariate(0.3)))]
            service = rng.choices(SERVICES, SERVICE_W)[0]
            wait = rng.expovariate(1 / 20)
            call_id = f"c{made:09d}"
            calls.append((call_id, caller, queue, service, _ts(t), _ts(t + 3),
                          _ts(t + 3 + wait) if agent else None, _ts(t + 200 + wait), agent,
                          outcome))
            made += 1
            if agent and rng.random() < ORDER_SHARE:
                order_id += 1
                kind = rng.choices(SERVICES, [20, 20, 10, 10, 30, 5, 2, 3])[0]
                resolve_by = t + rng.choice([86400, 3 * 86400, 5 * 86400])
                replied = t + rng.uniform(600, 6 * 86400) if rng.random() < 0.9 else None
                callback_by = t + 2 * 86400 if rng.random() < 0.5 else None
                done = (t + rng.uniform(3600, 3 * 86400)
                        if callback_by and rng.random() < 0.85 else None)
                closed = (max(x for x in (replied, done, t) if x is not None) + 3600
                          if replied and rng.random() < 0.8 else None)
                orders.append((order_id, kind, caller or "0", _ts(t + 120), agent, "x",
                               "closed" if closed else "created",
                               f"unit{rng.randrange(30):02d}", _ts(resolve_by),
                               replied and _ts(replied), callback_by and _ts(callback_by),
                               done and _ts(done), closed and _ts(closed),
                               rng.random() < 0.3 if closed and kind == "complaint" else None))
                links.append((order_id, call_id, 0))
            if len(calls) >= CHUNK:
                yield calls, orders, links, states
                calls, orders, links, states = [], [], [], []
    if calls or states:
        yield calls, orders, links, states


async def load(conn: asyncpg.Connection, n: int, seed: int) -> float:
    started = time.perf_counter()
    await conn.executemany("INSERT INTO vendors (id, name, kind) VALUES ($1, $1, $2)"
                           " ON CONFLICT DO NOTHING", VENDORS)
    await conn.executemany("INSERT INTO teams (id, name, vendor_id) VALUES ($1, $1, $2)", TEAMS)
    await conn.executemany("INSERT INTO agents (id, name, sip_endpoint, team_id)"
                           " VALUES ($1, $1, $1, $2)", AGENTS)
    # a bulk load into an empty roll-up: the first roll_up makes every quarter (no marks)
    tables = ("calls", "work_orders", "work_order_calls", "agent_state_log")
    for table in tables:
        await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    done = 0
    for calls, orders, links, states in generate(n, seed):
        await conn.copy_records_to_table("calls", records=calls, columns=[
            "call_id", "caller", "queue", "service", "entered_at", "queued_at", "answered_at",
            "ended_at", "agent_id", "outcome"])
        await conn.copy_records_to_table("work_orders", records=orders, columns=[
            "id", "service", "caller", "created_at", "created_by", "description", "state",
            "unit", "resolve_by", "replied_at", "callback_by", "callback_done_at",
            "closed_at", "substantiated"])
        await conn.copy_records_to_table("work_order_calls", records=links)
        await conn.copy_records_to_table("agent_state_log", records=states, columns=[
            "agent_id", "started_at", "state", "reason", "ended_at"])
        done += len(calls)
        if done % 5_000_000 < CHUNK:
            print(f"  {done:,} calls loaded ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    for table in tables:
        await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    await conn.execute("SELECT setval('work_orders_id_seq', (SELECT max(id) FROM work_orders))")
    await conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


async def timed(conn: asyncpg.Connection, by: By, since: float, until: float, now: float,
                runs: int) -> dict[str, float]:
    rules = Rules(repeat_window_s=86400.0, excused_reasons=frozenset({"lunch"}))
    ms = []
    for _ in range(runs):
        started = time.perf_counter()
        found = await queries.report(conn, by, since, until, now, rules)
        ms.append((time.perf_counter() - started) * 1000)
    ms.sort()
    assert found, f"no {by} groups"
    return {"median_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1),
            "groups": len(found)}


async def sizes(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)
            for t in ("calls", "work_orders", "work_order_calls", "agent_state_log",
                      "report_call_rollup", "report_order_rollup", "report_state_rollup")}


async def run(n: int, runs: int, seed: int, url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        await db.migrate(conn)
        gen_s = await load(conn, n, seed)
        print(f"loaded {n:,} calls in {gen_s:.0f} s", flush=True)
        now = YEAR_START + DAYS * 86400
        started = time.perf_counter()
        quarters = await rollup.roll_up(conn, now, OFFSET_S)
        rollup_s = time.perf_counter() - started
        await conn.execute("ANALYZE report_call_rollup; ANALYZE report_order_rollup")
        print(f"rolled up {quarters:,} quarters in {rollup_s:.0f} s", flush=True)
        month = period_of(Period.MONTH, now - 20 * 86400, OFFSET_S)  # December, local
        day = period_of(Period.DAY, now - 2 * 86400, OFFSET_S)
        figures: dict[str, Any] = {}
        for name, by, (since, until) in (("month_by_queue", By.QUEUE, month),
                                         ("month_by_team", By.TEAM, month),
                                         ("day_by_queue", By.QUEUE, day)):
            figures[name] = await timed(conn, by, since, until, now, runs)
            part = await queries.cover(conn, since, until)
            figures[name]["read"] = {"days": len(part.days), "quarters": len(part.quarters),
                                     "raw_ranges": len(part.raw)}
            print(f"{name}: {figures[name]}", flush=True)
        return {"calls": await conn.fetchval("SELECT count(*) FROM calls"),
                "month_report_ms": max(figures["month_by_queue"]["median_ms"],
                                       figures["month_by_team"]["median_ms"]),
                "day_report_ms": figures["day_by_queue"]["median_ms"],
                **figures, "generate_s": round(gen_s, 1), "rollup_s": round(rollup_s, 1),
                "orders": await conn.fetchval("SELECT count(*) FROM work_orders"),
                "state_spans": await conn.fetchval("SELECT count(*) FROM agent_state_log"),
                "bytes": await sizes(conn)}
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=95_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    url = os.environ.get("HOTLINE_DATABASE_URL")
    base = None
    server = None
    if not url:
        base = Path(tempfile.mkdtemp(prefix="hotline-bench-reports-", dir="/tmp"))
        base.chmod(0o711)  # the embedded PostgreSQL runs as the 'hotline' user
        server = EmbeddedPostgres(base / "pg" / "cluster")
        url = server.start()
    try:
        result = await run(args.calls, args.runs, args.seed, url)
    finally:
        if server is not None:
            server.stop()
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
