"""Benchmark: the report figures at scale (issue #17.6): a year of a 260,000-call-a-day centre.

    nice -n 19 .venv/bin/python -m bench.reports                   # 95,000,000 calls
    nice -n 19 .venv/bin/python -m bench.reports --calls 1000000   # a scaled-down year

Starts its own PostgreSQL (data under /tmp, removed at the end, on an error, Ctrl-C or
SIGTERM too; or HOTLINE_DATABASE_URL, an empty database), migrates it, and loads a year:
1,200 agents in 40 teams of 3 vendors, 12 queues, 8 services, a day-shaped arrival curve,
repeat callers (12 % of calls from a number among the last 1,000-2,000 calls'), outcomes
(answered, abandoned, callback, ...), work orders for 4 % of the calls an agent took
(complaints with verdicts and reply deadlines, callbacks, report orders) linked to their call,
and each agent's shift a day in the state log (Year.states; 40 agents' for a small run).

The load is a bulk load, as a restore would make it: numpy draws a day's rows at once (Year:
the distributions the former row-at-a-time generator drew, 3 s a million calls instead of
68 s), bench/pgbinary.py encodes them in COPY's binary format, and COPY ... FREEZE writes
them into the tables emptied in the same transaction (frozen and all-visible: no VACUUM; the
embedded server at wal_level minimal: no WAL for them), with the secondary indexes and the
primary keys no row refers to dropped first and built after by sorting (SERVER: the
server's settings). The roll-up is empty, so the report triggers are dropped during the load
and made again. Then the roll-ups are made by the product's job, hotline/reports/rollup.py
roll_up, as a backfill: --run-days (31) local days a transaction (1: the live job's day a
transaction, the same rows; tests/integration/test_report_rollup.py), and the real report
(hotline/reports/queries.py report, what GET /api/reports/figures serves) is timed: the last
month by queue and by team, and a day by queue, --runs times each (median and p99). The
last line is one JSON object: calls, month_report_ms (the slower month median),
day_report_ms, the seconds of each phase (make_s: drawing and encoding, copy_s: COPY beyond
that, index_s, analyze_s, rollup_s), table and database sizes.

Measured on 7 Dec 2026 on this shared 2-core machine (others' tests running, load 5-500):
  --calls 1000000: make 1.9 s, copy 0.7 s, indexes 6.5 s, roll-up 29 s (the day-a-
    transaction bench before: load 417 s, roll-up 188 s); month by queue 4.0 ms, by team
    50.7 ms (p99 107 ms), day 2.2 ms; database 1.2 GB; 45 s in all.
  --calls 10000000: make 22.6 s, copy 14.3 s, indexes 67 s, roll-up 183 s; month by queue
    1.9 ms, by team 60.1 ms (p99 96.7 ms), day 1.1 ms; database 7.4 GB (calls 3.5 GB, state
    log 0.4 GB, roll-ups 3.3 GB); 5 min in all.
  95,000,000 (the default; nice 19 and ionice idle, so its disk waited for everyone's):
    make 316 s, copy 94 s beyond that (7 min loaded), indexes 1,794 s (calls' primary key
    113 s, its five other indexes 92-356 s each, the state log's primary key 351 s), then
    the roll-up at ~2 min 15 s a month: every quarter of the year made by 18:07
    (~26 min), stopped (SIGTERM: cleaned up) at 18:08 while summing the days, unreported.
  95,000,000 again on 7 Dec 2026, session 13 (nice 19, its PostgreSQL's autogroup reniced
    to 19: beside bench.hold, bench.soak and tests): make 225 s, copy 86 s, indexes 1,361 s,
    roll-up 2,492 s (35,072 quarters, a month a transaction), 71 min in all; month by queue
    5.0 ms (p99 28.9 ms), by team 155.2 ms (p99 223.2 ms), day by queue 3.3 ms; database
    56.1 GB (calls 33.6 GB, roll-ups 7.3 + 2.2 + 7.8 GB).
  The full year here: ~65-71 min (load 5-7, indexes 23-30, roll-up 27-42). Disk: the
  loaded, indexed year 39 GB (calls 33.6 GB, 14.0 of it the heap; state log 3.6 GB, orders
  and their links 1.5 GB), the roll-ups ~1.5 GB a month (~17 GB), so ~57 GB in all, plus WAL
  (max_wal_size 4 GB) and sort files while the indexes build; 75 GB were free.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from bench import pgbinary
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


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _p(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, float)
    return w / w.sum()


_ANSWERING = np.isin(np.arange(len(OUTCOMES)), [OUTCOMES.index(o) for o in
                                                ("answered", "callback", "failsafe")])
_SHIFT_STATES = ["ready", "on_call", "after_call_work", "not_ready", "logged_out"]
_BLOCKS = 50  # 50 blocks of at least 5 minutes fill a 4-hour half-shift


def _recent_len(g: np.ndarray) -> np.ndarray:
    """How many calls the repeat callers are drawn from before call g: the last 1,000 to
    2,000 (a list kept to 2,000, cut back to its last 1,000 when it overflows)."""
    return np.where(g <= 2000, g, 1000 + (g - 2001) % 1001)


class Year:
    """The year's rows, a local day at a time, as binary COPY chunks (bench/pgbinary.py):
    numpy draws each day's calls at once from the same distributions a call at a time would
    (hours by HOUR_W, sorted; 12 % of calls from a number among the last 1,000-2,000 calls',
    2 % without a number, the rest one of n/4 numbers; outcome, queue, service, wait), an
    order for 4 % of the calls an agent took, and each agent's shift."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.numbers = max(1000, n // 4)  # a number calls 4 times a year on average
        # every agent on shift at the full year; fewer for a scaled-down run (at least 40)
        self.shifts = max(40, min(len(AGENTS), round(len(AGENTS) * n / 95_000_000)))
        self.made = 0
        self.order_id = 0
        self.tail = np.zeros(0, np.int64)  # the callers of the last 2,000 calls (-1: none)
        self.orders: list[bytes] = []
        self.links: list[bytes] = []

    def calls(self, day: int) -> bytes:
        """The day's calls; its orders and their links go to self.orders and self.links."""
        rng = self.rng
        k = round(self.n / DAYS * (day + 1)) - self.made
        start = YEAR_START + day * 86400 - OFFSET_S
        t = start + np.sort(rng.choice(24, k, p=_p(HOUR_W))) * 3600.0 + rng.random(k) * 3600
        g = self.made + np.arange(k)
        # callers: a repeat copies the caller of a recent call (resolved in order)
        repeat = (rng.random(k) < 0.12) & (g > 0)
        size = _recent_len(g)
        source = g - (size - np.floor(rng.random(k) * size).astype(np.int64))
        fresh = np.where(rng.random(k) < 0.02, -1, rng.integers(0, self.numbers, k))
        first = self.made - len(self.tail)
        caller = np.concatenate([self.tail, np.where(repeat, -2, fresh)])
        src = np.where(repeat, source - first, 0)
        todo = np.flatnonzero(repeat)
        while len(todo):
            got = caller[src[todo]]
            done = got != -2
            caller[todo[done] + len(self.tail)] = got[done]
            todo = todo[~done]
        self.tail = caller[-2000:]
        caller = caller[len(caller) - k:]
        outcome = rng.choice(len(OUTCOMES), k, p=_p(OUTCOME_W))
        answering = _ANSWERING[outcome]
        agent = np.where(answering, rng.integers(0, len(AGENTS), k), -1)
        queue = np.minimum(11, np.floor(rng.exponential(1 / 0.3, k))).astype(np.int64)
        service = rng.choice(len(SERVICES), k, p=_p(SERVICE_W))
        wait = rng.exponential(20.0, k)
        chunk = pgbinary.rows([
            pgbinary.numbered("c", g, 9), pgbinary.numbered("1", caller, 10, ""),
            pgbinary.text(queue, QUEUES), pgbinary.text(service, SERVICES),
            pgbinary.timestamptz(t), pgbinary.timestamptz(t + 3),
            pgbinary.timestamptz(np.where(answering, t + 3 + wait, np.nan)),
            pgbinary.timestamptz(t + 200 + wait), pgbinary.numbered("agent", agent, 4),
            pgbinary.text(outcome, OUTCOMES)])
        self._orders(rng, np.flatnonzero(answering & (rng.random(k) < ORDER_SHARE)), t, g,
                     caller, agent)
        self.made += k
        return chunk

    def _orders(self, rng: np.random.Generator, which: np.ndarray, t0: np.ndarray,
                g: np.ndarray, caller: np.ndarray, agent: np.ndarray) -> None:
        m = len(which)
        if not m:
            return
        t = t0[which]
        ids = self.order_id + 1 + np.arange(m)
        self.order_id += m
        kind = rng.choice(len(SERVICES), m, p=_p([20, 20, 10, 10, 30, 5, 2, 3]))
        resolve_by = t + rng.choice([86400, 3 * 86400, 5 * 86400], m)
        replied = np.where(rng.random(m) < 0.9, t + rng.uniform(600, 6 * 86400, m), np.nan)
        callback_by = np.where(rng.random(m) < 0.5, t + 2 * 86400, np.nan)
        done = np.where(~np.isnan(callback_by) & (rng.random(m) < 0.85),
                        t + rng.uniform(3600, 3 * 86400, m), np.nan)
        closed = np.where(~np.isnan(replied) & (rng.random(m) < 0.8),
                          np.fmax(np.fmax(replied, done), t) + 3600, np.nan)
        verdict = ~np.isnan(closed) & (kind == SERVICES.index("complaint"))
        self.orders.append(pgbinary.rows([
            pgbinary.int8(ids), pgbinary.text(kind, SERVICES),
            pgbinary.numbered("1", caller[which], 10, "0"), pgbinary.timestamptz(t + 120),
            pgbinary.numbered("agent", agent[which], 4), pgbinary.text(np.zeros(m, int), ["x"]),
            pgbinary.text(np.where(np.isnan(closed), 0, 1), ["created", "closed"]),
            pgbinary.numbered("unit", rng.integers(0, 30, m), 2),
            pgbinary.timestamptz(resolve_by), pgbinary.timestamptz(replied),
            pgbinary.timestamptz(callback_by), pgbinary.timestamptz(done),
            pgbinary.timestamptz(closed), pgbinary.boolean(rng.random(m) < 0.3, ~verdict)]))
        self.links.append(pgbinary.rows([pgbinary.int8(ids), pgbinary.numbered("c", g[which], 9),
                                         pgbinary.int4(np.zeros(m, int))]))

    def states(self, day: int) -> bytes:
        """The day of the first `shifts` agents in the state log: logged out, then an 8-hour
        shift starting between 07:00 and 11:10 (local) in 5-to-20-minute blocks of ready, on
        call and after-call work, a 30-minute lunch (not ready, reason lunch) in the middle.
        Coarser than a real log (a span a call): the roll-ups' rows are per agent and quarter
        whatever the spans, and a year of per-call spans would not fit this machine's disk
        beside the calls."""
        rng = self.rng
        a = self.shifts
        day_start = YEAR_START + day * 86400 - OFFSET_S
        agent = np.arange(a)
        start = day_start + (7 + agent % 5) * 3600.0 + rng.uniform(0, 600, a)
        lunch = start + 4 * 3600
        # the half-shifts [start, lunch) and [lunch + 30 min, start + 8 h) in blocks
        seg_a = np.concatenate([start, lunch + 1800])
        seg_b = np.concatenate([lunch, start + 8 * 3600])
        lengths = rng.uniform(300, 1200, (2 * a, _BLOCKS))
        begin = seg_a[:, None] + np.concatenate(
            [np.zeros((2 * a, 1)), np.cumsum(lengths, axis=1)[:, :-1]], axis=1)
        end = np.minimum(begin + lengths, seg_b[:, None])
        inside = begin < seg_b[:, None]
        block_state = rng.choice(3, (2 * a, _BLOCKS), p=_p([3, 6, 1]))
        who = np.repeat(np.concatenate([agent, agent]), _BLOCKS).reshape(2 * a, _BLOCKS)
        agents = np.concatenate([agent, who[inside], agent, agent])
        state = np.concatenate([np.full(a, 4), block_state[inside], np.full(a, 3),
                                np.full(a, 4)])
        since = np.concatenate([np.full(a, day_start), begin[inside], lunch, start + 8 * 3600])
        until = np.concatenate([start, end[inside], lunch + 1800,
                                np.full(a, day_start + 86400)])
        reason = np.concatenate([np.zeros(a + int(inside.sum()), int), np.ones(a, int),
                                 np.zeros(a, int)])
        return pgbinary.rows([pgbinary.numbered("agent", agents, 4),
                              pgbinary.timestamptz(since),
                              pgbinary.text(state, _SHIFT_STATES),
                              pgbinary.text(reason, ["", "lunch"]),
                              pgbinary.timestamptz(until)])


CALL_COLUMNS = ["call_id", "caller", "queue", "service", "entered_at", "queued_at",
                "answered_at", "ended_at", "agent_id", "outcome"]
ORDER_COLUMNS = ["id", "service", "caller", "created_at", "created_by", "description", "state",
                 "unit", "resolve_by", "replied_at", "callback_by", "callback_done_at",
                 "closed_at", "substantiated"]
STATE_COLUMNS = ["agent_id", "started_at", "state", "reason", "ended_at"]
TABLES = ("calls", "work_orders", "work_order_calls", "agent_state_log")


async def _copy(conn: asyncpg.Connection, table: str, columns: list[str] | None,
                chunks: Iterator[bytes] | list[bytes], clock: dict[str, float]) -> None:
    """COPY ... FREEZE in binary from the chunks; the time spent making them in clock."""

    async def source() -> AsyncIterator[bytes]:
        yield pgbinary.HEADER
        it = iter(chunks)
        while True:
            started = time.perf_counter()
            chunk = next(it, None)
            clock["make_s"] += time.perf_counter() - started
            if chunk is None:
                break
            yield chunk
        yield pgbinary.TRAILER

    await conn.copy_to_table(table, source=source(), columns=columns, format="binary",
                             freeze=True)


async def load(conn: asyncpg.Connection, n: int, seed: int) -> dict[str, float]:
    """The bulk load, as a restore would make it: the tables emptied in the loading
    transaction (so COPY FREEZE writes them frozen and all-visible, and with wal_level
    minimal without WAL), their secondary indexes and the primary keys nothing refers to
    dropped first and built after, by sorting, the report triggers off. Seconds per phase."""
    clock = {"make_s": 0.0}
    started = time.perf_counter()
    await conn.executemany("INSERT INTO vendors (id, name, kind) VALUES ($1, $1, $2)"
                           " ON CONFLICT DO NOTHING", VENDORS)
    await conn.executemany("INSERT INTO teams (id, name, vendor_id) VALUES ($1, $1, $2)", TEAMS)
    await conn.executemany("INSERT INTO agents (id, name, sip_endpoint, team_id)"
                           " VALUES ($1, $1, $1, $2)", AGENTS)
    # the indexes to build after: every one but the keys other tables' rows refer to
    rebuild = [(r["name"], r["sql"]) for r in await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS sql"
        " FROM pg_index i"
        " WHERE i.indrelid = ANY($1::regclass[]) AND NOT EXISTS (SELECT 1 FROM"
        " pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY i.indexrelid",
        list(TABLES))]
    keys = [(r["t"], r["conname"], r["def"]) for r in await conn.fetch(
        "SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def"
        " FROM pg_constraint WHERE contype = 'p' AND conrelid = ANY($1::regclass[])"
        " AND conrelid IN ('calls'::regclass, 'agent_state_log'::regclass)", list(TABLES))]
    # a bulk load into an empty roll-up: the first roll-up makes every quarter (no marks).
    # The report triggers dropped, not disabled: a disabled trigger's transition table is
    # still filled (a copy of every row loaded, in temporary files, thrown away unread)
    triggers = [(r["tgname"], r["t"], r["sql"]) for r in await conn.fetch(
        "SELECT tgname, tgrelid::regclass::text AS t, pg_get_triggerdef(oid) AS sql"
        " FROM pg_trigger WHERE tgrelid = ANY($1::regclass[]) AND NOT tgisinternal"
        " ORDER BY oid", list(TABLES))]
    year = Year(n, seed)
    async with conn.transaction():
        for name, table, _ in triggers:
            await conn.execute(f"DROP TRIGGER {name} ON {table}")
        await conn.execute("TRUNCATE calls, agent_state_log, work_orders CASCADE")
        for name, _ in rebuild:
            await conn.execute(f"DROP INDEX {name}")
        for table, name, _ in keys:
            await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        await _copy(conn, "calls", CALL_COLUMNS, (year.calls(d) for d in range(DAYS)), clock)
        print(f"  {year.made:,} calls copied ({time.perf_counter() - started:.0f} s)",
              flush=True)
        await _copy(conn, "work_orders", ORDER_COLUMNS, year.orders, clock)
        await _copy(conn, "work_order_calls", None, year.links, clock)
        year.orders, year.links = [], []
        await _copy(conn, "agent_state_log", STATE_COLUMNS,
                    (year.states(d) for d in range(DAYS)), clock)
        for _, _, sql in triggers:
            await conn.execute(sql)
    assert await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND"
                               " tgrelid = ANY($1::regclass[])", list(TABLES)) == len(triggers)
    copied = time.perf_counter()
    print(f"  loaded in {copied - started:.0f} s (of it making rows {clock['make_s']:.0f} s)",
          flush=True)
    for sql in [f"ALTER TABLE {t} ADD CONSTRAINT {name} {d}" for t, name, d in keys] + [
            sql for _, sql in rebuild]:
        began = time.perf_counter()
        await conn.execute(sql)
        print(f"  {time.perf_counter() - began:6.1f} s  {sql}", flush=True)
    indexed = time.perf_counter()
    print(f"  indexes built in {indexed - copied:.0f} s", flush=True)
    await conn.execute("SELECT setval('work_orders_id_seq', (SELECT max(id) FROM work_orders))")
    await conn.execute("ANALYZE")
    return {"make_s": clock["make_s"], "copy_s": copied - started - clock["make_s"],
            "index_s": indexed - copied, "analyze_s": time.perf_counter() - indexed}


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


#: The embedded server's settings for a bulk load and a server of this size: no WAL for
#: the tables loaded and indexed in their own transaction (wal_level minimal), memory for
#: the index sorts, the roll-up's windows and the data's hot part.
SERVER = {"wal_level": "minimal", "max_wal_senders": "0", "shared_buffers": "2GB",
          "maintenance_work_mem": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "30min",
          "synchronous_commit": "off"}


async def configure(server: EmbeddedPostgres, url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for name, value in SERVER.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    finally:
        await conn.close()
    server.stop()
    server.start()


async def run(n: int, runs: int, seed: int, url: str, run_days: int) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        await db.migrate(conn)
        phases = await load(conn, n, seed)
        print(f"loaded {n:,} calls: {phases}", flush=True)
        now = YEAR_START + DAYS * 86400
        started = time.perf_counter()
        quarters = await rollup.roll_up(conn, now, OFFSET_S, run_days=run_days)
        rollup_s = time.perf_counter() - started
        await conn.execute("ANALYZE report_call_rollup; ANALYZE report_order_rollup;"
                           " ANALYZE report_state_rollup")
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
                **figures, **{k: round(v, 1) for k, v in phases.items()},
                "rollup_s": round(rollup_s, 1), "rollup_run_days": run_days,
                "orders": await conn.fetchval("SELECT count(*) FROM work_orders"),
                "state_spans": await conn.fetchval("SELECT count(*) FROM agent_state_log"),
                "bytes": await sizes(conn),
                "database_bytes": await conn.fetchval(
                    "SELECT pg_database_size(current_database())")}
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=95_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--run-days", type=int, default=rollup.BACKFILL_RUN_DAYS,
                        help="local days a roll-up transaction makes (1: the live job's)")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the task cancelled, the server stopped and its data removed
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    url = os.environ.get("HOTLINE_DATABASE_URL")
    base = None
    server = None
    try:
        if not url:
            base = Path(tempfile.mkdtemp(prefix="hotline-bench-reports-", dir="/tmp"))
            base.chmod(0o711)  # the embedded PostgreSQL runs as the 'hotline' user
            server = EmbeddedPostgres(base / "pg" / "cluster")
            url = server.start()
            await configure(server, url)
        result = await run(args.calls, args.runs, args.seed, url, args.run_days)
    finally:
        if server is not None:
            server.stop("immediate")
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
