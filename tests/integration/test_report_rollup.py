"""The report roll-ups (hotline/reports/rollup.py, migration 026) against the raw rows, on the
real PostgreSQL: for random calls and orders over some days (repeat callers, ties, calls on
quarter and day edges, orders with every kind of event, agent state spans open, closed,
zero-length and long), the counts a report reads from the
roll-ups equal the counts it reads from the raw rows (queries.counts rolled=False), by every
grouping, for both repeat windows, over a month, a day and ragged periods; and they still do
after late changes the triggers mark (a call written into a rolled-up quarter, an order
replied, closed or linked to a call, a call deleted, an open span closed, a span shortened
or deleted) and again once the job made them."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import asyncpg
import pytest

from hotline.reports import queries, rollup
from hotline.reports.model import By, Rules

T0 = 1_780_272_000.0  # 2026-06-01 00:00 UTC
DAYS = 4
NOW = T0 + DAYS * 86400 + 3600
AGENTS = [f"a{i}" for i in range(6)]  # a5 has no agents row: by agent only
QUEUES = ["billing", "fault", "general"]
SERVICES = ["billing", "fault", "complaint", "report", "general"]
OUTCOMES = ["answered", "abandoned", "failsafe", "callback", "node_failure", "short_abandon"]


def at(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def moment(rng: random.Random) -> float:
    """Within the days, often on a quarter's or a day's edge."""
    t = T0 + rng.uniform(-3600, DAYS * 86400)
    return round(t / 900) * 900 if rng.random() < 0.15 else round(t, 3)


async def centre(conn: asyncpg.Connection) -> None:
    await conn.execute("INSERT INTO vendors (id, name, kind) VALUES ('partner', 'P',"
                       " 'outsourced')")
    await conn.execute("INSERT INTO teams (id, name, vendor_id) VALUES ('t1', 't1', 'own'),"
                       " ('t2', 't2', 'partner')")
    await conn.executemany(
        "INSERT INTO agents (id, name, sip_endpoint, team_id) VALUES ($1, $1, $1, $2)",
        [(a, "t1" if i % 2 else "t2") for i, a in enumerate(AGENTS[:-1])])


async def add_calls(conn: asyncpg.Connection, rng: random.Random, n: int, prefix: str) -> None:
    rows = []
    for i in range(n):
        t = moment(rng)
        if rng.random() < 0.05 and rows:  # the same moment as another call of the number
            t, caller = rows[-1][4], rows[-1][1]
        else:
            caller = rng.choice(["", f"138{rng.randrange(40):04d}"])
        outcome = rng.choice(OUTCOMES)
        agent = rng.choice(AGENTS) if outcome in ("answered", "failsafe", "callback") else (
            rng.choice([None, *AGENTS]))
        rows.append((f"{prefix}{i}", caller, rng.choice([*QUEUES, None]),
                     rng.choice([*SERVICES, None]), t,
                     None if rng.random() < 0.1 else t + 5, agent, outcome))
    await conn.executemany(
        "INSERT INTO calls (call_id, caller, queue, service, entered_at, queued_at, agent_id,"
        " outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(c, who, q, s, at(t), at(qt), a, o) for c, who, q, s, t, qt, a, o in rows])


async def add_orders(conn: asyncpg.Connection, rng: random.Random, n: int) -> list[int]:
    calls = [r["call_id"] for r in await conn.fetch("SELECT call_id FROM calls")]
    ids = []
    for _ in range(n):
        created = moment(rng) - (365 * 86400 if rng.random() < 0.1 else 0)
        resolve_by = created + rng.choice([3600, 86400, 2 * 86400])
        replied = None if rng.random() < 0.3 else created + rng.uniform(0, 3 * 86400)
        callback_by = None if rng.random() < 0.5 else created + 86400
        done = None if callback_by is None or rng.random() < 0.3 else (
            created + rng.uniform(0, 2 * 86400))
        closed = None if rng.random() < 0.4 else created + rng.uniform(0, 3 * 86400)
        ids.append(await conn.fetchval(
            "INSERT INTO work_orders (service, caller, created_at, created_by, description,"
            " state, unit, resolve_by, replied_at, callback_by, callback_done_at, closed_at,"
            " substantiated) VALUES ($1, '1', $2, $3, 'x', 'created', $4, $5, $6, $7, $8,"
            " $9, $10) RETURNING id",
            rng.choice(SERVICES), at(created), rng.choice(AGENTS),
            rng.choice(["", "u1", "u2"]), at(resolve_by), at(replied), at(callback_by),
            at(done), at(closed), None if closed is None else rng.choice([None, True, False])))
        if rng.random() < 0.7:
            await conn.execute("INSERT INTO work_order_calls VALUES ($1, $2, 0)", ids[-1],
                               rng.choice(calls))
    return ids


STATES = ["logged_out", "ready", "reserved", "ringing", "on_call", "after_call_work",
          "not_ready"]


async def add_states(conn: asyncpg.Connection, rng: random.Random, agents: list[str]) -> None:
    """Each agent's spans end to end over the days (some zero-length, some on quarter edges,
    a long logged-out night), the last one still open for some."""
    rows = []
    for agent in agents:
        t = T0 - rng.uniform(0, 7200)
        while t < T0 + DAYS * 86400:
            state = rng.choice(STATES)
            length = rng.choice([0.0, rng.uniform(1, 1800), rng.uniform(1800, 40000)])
            end = t + length
            if rng.random() < 0.15:
                end = round(end / 900) * 900 if round(end / 900) * 900 >= t else end
            reason = rng.choice(["", "lunch", "training"]) if state == "not_ready" else ""
            rows.append((agent, at(t), state, reason, at(end)))
            t = end if end > t else t + 0.5
        if rng.random() < 0.5:
            rows.append((agent, at(t), rng.choice(STATES), "lunch", None))
    await conn.executemany(
        "INSERT INTO agent_state_log (agent_id, started_at, state, reason, ended_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", rows)


PERIODS = [(T0 - 3600, T0 + DAYS * 86400), (T0 + 86400, T0 + 2 * 86400),
           (T0 + 86400 + 123.4, T0 + 3 * 86400 - 1000.5), (T0 + 3 * 86400, NOW + 7200)]


async def assert_same(conn: asyncpg.Connection, now: float) -> int:
    """Rolled-up and raw counts agree everywhere; how many buckets came from the roll-ups."""
    used = 0
    for window_h in (12, 24):
        rules = Rules(repeat_window_s=window_h * 3600.0, excused_reasons=frozenset({"lunch"}))
        for since, until in PERIODS:
            part = await queries.cover(conn, since, min(until, now))
            used += len(part.days) + len(part.quarters)
            for by in By:
                rolled = await queries.counts(conn, by, since, until, now, rules)
                raw = await queries.counts(conn, by, since, until, now, rules, rolled=False)
                assert rolled == raw, (by, since, until, window_h)
    return used


@pytest.mark.parametrize(("seed", "offset"), [(1, 0), (2, 0), (3, 8 * 3600)])
async def test_rolled_up_counts_are_the_raw_counts(conn: asyncpg.Connection, seed: int,
                                                  offset: int) -> None:
    """offset: the centre's clock east of UTC, which the day rows follow."""
    rng = random.Random(seed)
    await centre(conn)
    await add_calls(conn, rng, 600, "c")
    orders = await add_orders(conn, rng, 150)
    await add_states(conn, rng, AGENTS)
    assert await queries.cover(conn, T0, T0 + 86400) == queries.Cover(
        [], [], [(T0, T0 + 86400)])  # nothing rolled up yet: all raw
    made = await rollup.roll_up(conn, NOW, offset)
    assert made > DAYS * 96
    assert await conn.fetchval("SELECT count(*) FROM report_dirty WHERE bucket < $1",
                               at(NOW - 900)) == 0
    assert await conn.fetchval("SELECT count(*) FROM report_state_rollup WHERE grain = 86400"
                               " AND not_ready_us > 0") > 0
    full = await queries.cover(conn, T0 + 86400 - offset, T0 + 2 * 86400 - offset)
    assert (len(full.days), full.quarters, full.raw) == (1, [], [])
    assert await assert_same(conn, NOW) > 0

    # late changes into rolled-up time: marked, read raw there, still the same counts
    await add_calls(conn, rng, 40, "late")
    for order_id in rng.sample(orders, 20):
        await conn.execute(
            "UPDATE work_orders SET replied_at = created_at + interval '10 minutes',"
            " closed_at = created_at + interval '2 hours', substantiated = true WHERE id = $1",
            order_id)
    await conn.execute("INSERT INTO work_order_calls SELECT $1, call_id, 1 FROM calls"
                       " ORDER BY call_id LIMIT 1", orders[0])
    await conn.execute("DELETE FROM calls WHERE call_id IN (SELECT call_id FROM calls"
                       " WHERE caller <> '' ORDER BY call_id LIMIT 5)")
    # agent time: an open span closed in rolled-up time, a span moved, one deleted
    await conn.execute("UPDATE agent_state_log SET ended_at = started_at + interval '1 hour'"
                       " WHERE ended_at IS NULL AND agent_id IN ('a0', 'a1', 'a2')")
    await conn.execute("UPDATE agent_state_log SET ended_at = ended_at - interval '7 minutes'"
                       " WHERE (agent_id, started_at) IN (SELECT agent_id, started_at FROM"
                       " agent_state_log WHERE ended_at - started_at > interval '20 minutes'"
                       " ORDER BY agent_id, started_at LIMIT 4)")
    await conn.execute("DELETE FROM agent_state_log WHERE (agent_id, started_at) IN (SELECT"
                       " agent_id, started_at FROM agent_state_log WHERE agent_id = 'a3'"
                       " ORDER BY started_at LIMIT 3 OFFSET 10)")
    assert await conn.fetchval("SELECT count(*) FROM report_dirty") > 0
    await assert_same(conn, NOW)
    # a queue changed under an order: its order's events are marked
    await conn.execute("UPDATE calls SET queue = 'moved' WHERE call_id IN"
                       " (SELECT call_id FROM work_order_calls LIMIT 3)")
    await assert_same(conn, NOW)
    # made again: the roll-ups hold everywhere and agree; later, more of the days rolled up
    await rollup.roll_up(conn, NOW, offset)
    assert await assert_same(conn, NOW) > 0
    assert await assert_same(conn, NOW + 86400) > 0
    # the centre's clock moved: every day made again on it
    await rollup.roll_up(conn, NOW, 3600 - offset)
    days = await conn.fetch("SELECT DISTINCT bucket FROM report_call_rollup WHERE grain = 86400")
    assert days and all((d["bucket"].timestamp() + 3600 - offset) % 86400 == 0 for d in days)
    assert await assert_same(conn, NOW) > 0


async def test_a_figure_from_the_roll_ups_is_the_hand_worked_one(
        conn: asyncpg.Connection) -> None:
    """By hand: number 1 calls at 10:00 (answered, a1) and at 21:00 (answered, a2), number 2
    at 10:00 (answered, a1); a 12 h window makes the 21:00 call a repeat and the 10:00 call
    not resolved first; a 24 h window the same; 12 h later than that, nothing."""
    await centre(conn)
    day = T0 + 86400
    for cid, caller, t, agent in (("x1", "1", day + 36000, "a1"), ("x2", "1", day + 75600, "a2"),
                                  ("x3", "2", day + 36000, "a1")):
        await conn.execute(
            "INSERT INTO calls (call_id, caller, queue, service, entered_at, queued_at,"
            " agent_id, outcome) VALUES ($1, $2, 'billing', 'billing', $3, $3, $4,"
            " 'answered')", cid, caller, at(t), agent)
    await rollup.roll_up(conn, day + 2 * 86400)
    part = await queries.cover(conn, day, day + 86400)
    assert len(part.days) == 1 and not part.raw
    rules = Rules(repeat_window_s=43200.0)
    [c] = await queries.report(conn, By.CENTRE, day, day + 86400, day + 2 * 86400, rules)
    assert (c.counts.offered, c.counts.answered, c.counts.handled, c.counts.resolved_first,
            c.counts.entered, c.counts.repeats) == (3, 3, 3, 2, 3, 1)
    assert c.first_call_resolution == pytest.approx(2 / 3)
    assert c.repeat_call_rate == pytest.approx(1 / 3)
    teams = {f.key: f for f in await queries.report(conn, By.TEAM, day, day + 86400,
                                                      day + 2 * 86400, rules)}
    # a1 is in t1 (an odd index), a2 in t2
    assert teams["t1"].counts.resolved_first == 1 and teams["t1"].counts.handled == 2
    assert teams["t2"].counts.resolved_first == 1 and teams["t2"].counts.handled == 1


async def rolled_rows(conn: asyncpg.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every roll-up row, and how far the job got, in one comparable value."""
    out = {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4")]
           for t, _, _ in rollup.TABLES}
    out["state"] = [tuple(await conn.fetchrow("SELECT * FROM report_rollup_state"))]
    return out


@pytest.mark.parametrize(("seed", "offset"), [(4, 0), (5, 8 * 3600)])
async def test_a_backfill_makes_the_rows_the_live_job_makes(conn: asyncpg.Connection, seed: int,
                                                           offset: int) -> None:
    """A backfill (roll_up with run_days: weeks of quarters a statement, the path for a
    history loaded in bulk, bench.reports') makes exactly the rows, day rows too, and the
    rolled_until of the live job's day a transaction: from a history over a year (orders a
    year back) whose days a run covers whole, cuts (3 days) or overruns (31)."""
    rng = random.Random(seed)
    await centre(conn)
    await add_calls(conn, rng, 600, "c")
    await add_orders(conn, rng, 150)
    await add_states(conn, rng, AGENTS)
    await rollup.roll_up(conn, NOW, offset)
    daily = await rolled_rows(conn)
    assert len(daily["report_call_rollup"]) > DAYS * 96
    assert sum(1 for r in daily["report_state_rollup"] if r[0] == 86400) > 0
    for run_days in (3, 31):
        for table, _, _ in rollup.TABLES:
            await conn.execute(f"DELETE FROM {table}")
        await conn.execute("UPDATE report_rollup_state SET rolled_until = NULL")
        assert await conn.fetchval("SELECT count(*) FROM report_dirty WHERE bucket < $1",
                                   at(NOW - 900)) == 0  # (later ones: events to come)
        await rollup.roll_up(conn, NOW, offset, run_days=run_days)
        assert await rolled_rows(conn) == daily, run_days
    assert await assert_same(conn, NOW) > 0
