"""The report roll-ups (migration 026, docs/metrics.md "Reports at scale"): each 15-minute
quarter's call and order counts per agent, queue, service, unit and the centre, and their sum
per local day, so that a month's report sums some thousands of rows instead of millions of calls.

A quarter's counts are the raw counts (hotline/reports/queries.py) of the calls that entered in
it and the order events that happened in it: counts are sums over disjoint buckets. The job
makes every quarter up to the last one ended (`rolled_until`) and again every quarter a change
marked (report_dirty, marked by triggers in the changing transaction); a report reads a bucket
from here only when it is below rolled_until and unmarked (queries.cover).

Set-based: a call's first-call resolution and repeat come from its number's next and previous
other call (window functions over the calls within the longest window of the range), for both
windows a centre may choose (12 h, 24 h), with the raw SQL's very comparisons.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from hotline.reports.model import ANSWERED_OUTCOMES, AVAILABLE_STATES, BUSY_STATES

QUARTER_S = 900
DAY_S = 86400
#: The repeat windows a centre may choose (hotline/core/settings.py REPEAT_WINDOW_CHOICES_H)
WINDOWS_S = (43200.0, 86400.0)
#: One transaction makes at most a day of the marked quarters
CHUNK_S = DAY_S
#: Local days a transaction of a backfill makes (roll_up run_days): a history loaded in bulk
#: (a restore, a migration from another system) made in a few large set-based statements
#: rather than a statement a day, whose windows read each day's neighbours again
BACKFILL_RUN_DAYS = 31
#: A backfill transaction's work_mem (SET LOCAL)
BACKFILL_WORK_MEM = "256MB"
#: Serialises the job across processes
_LOCK = 0x726F6C6C7570  # "rollup"

# $1 a, $2 b (quarters), $3 answered outcomes. The calls of [a, b) with their number's nearest
# other call at or after and at or before (peers included: the raw SQL's >= and <=).
_CALLS = """
INSERT INTO report_call_rollup
WITH w AS (
    SELECT call_id, caller, entered_at FROM calls
    WHERE caller <> '' AND entered_at >= $1::timestamptz - interval '24 hours'
        AND entered_at < $2::timestamptz + interval '24 hours'
), g AS (
    SELECT call_id,
        first_value(entered_at) OVER (PARTITION BY caller ORDER BY entered_at
            RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW) AS next_at,
        last_value(entered_at) OVER (PARTITION BY caller ORDER BY entered_at
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) AS prev_at
    FROM w
), m AS (
    SELECT c.agent_id, c.queue, c.service, c.caller, c.queued_at, c.outcome,
        report_quarter(c.entered_at) AS bucket,
        c.outcome = ANY($3::text[]) AS answered,
        g.next_at IS NOT NULL
            AND g.next_at <= c.entered_at + make_interval(secs => 43200.0) AS next_12,
        g.next_at IS NOT NULL
            AND g.next_at <= c.entered_at + make_interval(secs => 86400.0) AS next_24,
        g.prev_at IS NOT NULL
            AND g.prev_at >= c.entered_at - make_interval(secs => 43200.0) AS prev_12,
        g.prev_at IS NOT NULL
            AND g.prev_at >= c.entered_at - make_interval(secs => 86400.0) AS prev_24
    FROM calls c LEFT JOIN g ON g.call_id = c.call_id
    WHERE c.entered_at >= $1 AND c.entered_at < $2
)
SELECT * FROM (
    SELECT 900,
        CASE grouping(agent_id, queue, service) WHEN 3 THEN 'agent' WHEN 5 THEN 'queue'
            WHEN 6 THEN 'service' ELSE 'centre' END AS dim,
        bucket, CASE grouping(agent_id, queue, service) WHEN 3 THEN agent_id WHEN 5 THEN queue
            WHEN 6 THEN service ELSE 'centre' END AS key,
        count(*) FILTER (WHERE queued_at IS NOT NULL
                         AND outcome IS DISTINCT FROM 'node_failure'),
        count(*) FILTER (WHERE answered),
        count(*) FILTER (WHERE answered AND caller <> ''),
        count(*) FILTER (WHERE answered AND caller <> '' AND NOT next_12),
        count(*) FILTER (WHERE answered AND caller <> '' AND NOT next_24),
        count(*) FILTER (WHERE caller <> ''),
        count(*) FILTER (WHERE caller <> '' AND prev_12),
        count(*) FILTER (WHERE caller <> '' AND prev_24)
    FROM m GROUP BY GROUPING SETS ((bucket, agent_id), (bucket, queue), (bucket, service),
                                   (bucket))
) r WHERE r.key IS NOT NULL
"""

# $1 a, $2 b: the events of every order with one in [a, b), each in its quarter
_ORDERS = """
INSERT INTO report_order_rollup
WITH o AS (
    SELECT o.*, (SELECT q.queue FROM work_order_calls l JOIN calls q ON q.call_id = l.call_id
                 WHERE l.order_id = o.id ORDER BY l.position LIMIT 1) AS queue
    FROM work_orders o
    WHERE (o.created_at >= $1 AND o.created_at < $2)
        OR (o.closed_at >= $1 AND o.closed_at < $2)
        OR (o.service = 'complaint' AND report_settled(o.replied_at, o.resolve_by) >= $1
            AND report_settled(o.replied_at, o.resolve_by) < $2)
        OR (o.callback_by IS NOT NULL AND report_settled(o.callback_done_at, o.callback_by) >= $1
            AND report_settled(o.callback_done_at, o.callback_by) < $2)
        OR (o.callback_done_at >= $1 AND o.callback_done_at < $2)
), e AS (
    SELECT o.created_by, o.queue, o.service, nullif(o.unit, '') AS unit, e.kind,
        report_quarter(e.at) AS bucket, o.substantiated,
        o.replied_at <= o.resolve_by AS replied_in_time,
        o.callback_done_at <= o.callback_by AS called_in_time
    FROM o CROSS JOIN LATERAL (VALUES
        ('created', o.created_at), ('closed', o.closed_at),
        ('complaint_settled', CASE WHEN o.service = 'complaint'
                                   THEN report_settled(o.replied_at, o.resolve_by) END),
        ('callback_settled', CASE WHEN o.callback_by IS NOT NULL
                                  THEN report_settled(o.callback_done_at, o.callback_by) END),
        ('callback_done', o.callback_done_at)) e(kind, at)
    WHERE e.at >= $1 AND e.at < $2
)
SELECT * FROM (
    SELECT 900,
        CASE grouping(created_by, queue, service, unit) WHEN 7 THEN 'agent' WHEN 11 THEN 'queue'
            WHEN 13 THEN 'service' WHEN 14 THEN 'unit' ELSE 'centre' END AS dim,
        bucket, CASE grouping(created_by, queue, service, unit) WHEN 7 THEN created_by
            WHEN 11 THEN queue WHEN 13 THEN service WHEN 14 THEN unit ELSE 'centre' END AS key,
        count(*) FILTER (WHERE kind = 'created' AND service = 'complaint'),
        count(*) FILTER (WHERE kind = 'closed' AND service = 'complaint'
                         AND substantiated IS NOT NULL),
        count(*) FILTER (WHERE kind = 'closed' AND service = 'complaint' AND substantiated),
        count(*) FILTER (WHERE kind = 'complaint_settled'),
        count(*) FILTER (WHERE kind = 'complaint_settled' AND replied_in_time),
        count(*) FILTER (WHERE kind = 'callback_settled'),
        count(*) FILTER (WHERE kind = 'callback_settled' AND called_in_time),
        count(*) FILTER (WHERE kind = 'callback_done'),
        count(*) FILTER (WHERE kind = 'created' AND service = 'report')
    FROM e GROUP BY GROUPING SETS ((bucket, created_by), (bucket, queue), (bucket, service),
                                   (bucket, unit), (bucket))
) r WHERE r.key IS NOT NULL
"""

# $1 a, $2 b, $3 busy states, $4 available states: each closed span's piece in each quarter of
# [a, b) it overlaps (a zero-length span too: the raw SQL lists its agent)
_STATES = """
INSERT INTO report_state_rollup
SELECT 900, q, agent_id, reason,
    coalesce(sum(us) FILTER (WHERE state = ANY($3::text[])), 0),
    coalesce(sum(us) FILTER (WHERE state = ANY($4::text[])), 0),
    coalesce(sum(us) FILTER (WHERE state <> 'logged_out'), 0),
    coalesce(sum(us) FILTER (WHERE state = 'not_ready'), 0)
FROM (
    SELECT s.agent_id, s.state, q,
        CASE WHEN s.state = 'not_ready' THEN s.reason ELSE '' END AS reason,
        (extract(epoch FROM least(s.ended_at, q + interval '15 minutes')
                            - greatest(s.started_at, q)) * 1000000)::bigint AS us
    FROM agent_state_log s,
        generate_series(report_quarter(greatest(s.started_at, $1)),
                        report_quarter(least(s.ended_at, $2)), interval '15 minutes') q
    WHERE s.ended_at IS NOT NULL AND s.ended_at >= s.started_at
        AND tstzrange(s.started_at, greatest(coalesce(s.ended_at, 'infinity'), s.started_at),
                      '[]') && tstzrange($1, $2, '[]')
        AND s.started_at < $2 AND s.ended_at > $1
        AND q >= $1 AND q < $2
        AND s.started_at < q + interval '15 minutes' AND s.ended_at > q
) x GROUP BY q, agent_id, reason
"""

_CALL_SUMS = ("offered, answered, handled, resolved_first_12h, resolved_first_24h, entered,"
              " repeats_12h, repeats_24h")
_ORDER_SUMS = ("complaints, verdicts, substantiated, complaints_due, complaints_on_time,"
               " callbacks_due, callbacks_on_time, callbacks_done, reports")
_STATE_SUMS = "busy_us, available_us, logged_in_us, not_ready_us"
#: Each roll-up table, the columns of its key but grain and bucket, and its sums
TABLES = (("report_call_rollup", "dim, key", _CALL_SUMS),
          ("report_order_rollup", "dim, key", _ORDER_SUMS),
          ("report_state_rollup", "agent_id, reason", _STATE_SUMS))


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _floor(t: float, step: int) -> float:
    return t // step * step


async def _make(conn: asyncpg.Connection, a: float, b: float, days: set[float] | None = None,
                rolled_until: float | None = None) -> None:
    """Makes the quarters of [a, b) again, their marks taken first, then the `days` they
    complete, then moves rolled_until: in one transaction, since a report reads a day's row
    as soon as the day is below rolled_until and unmarked (queries.cover), and must not see
    the day's quarters made, or rolled_until past it, before the day's row."""
    async with conn.transaction():
        await _make_quarters(conn, a, b)
        await _sum_days(conn, days or set())
        if rolled_until is not None:
            await conn.execute("UPDATE report_rollup_state SET rolled_until = $1",
                               _ts(rolled_until))


async def _make_quarters(conn: asyncpg.Connection, a: float, b: float) -> None:
    async with conn.transaction():
        args = (_ts(a), _ts(b))
        if b - a > CHUNK_S:  # a backfill's weeks: their windows' sorts and groups in memory
            await conn.execute(f"SET LOCAL work_mem = '{BACKFILL_WORK_MEM}'")
        await conn.execute("DELETE FROM report_dirty WHERE bucket >= $1 AND bucket < $2", *args)
        for table, _, _ in TABLES:
            await conn.execute(f"DELETE FROM {table} WHERE grain = 900 AND bucket >= $1"
                               " AND bucket < $2", *args)
        await conn.execute(_CALLS, *args, list(ANSWERED_OUTCOMES))
        await conn.execute(_ORDERS, *args)
        await conn.execute(_STATES, *args, sorted(map(str, BUSY_STATES)),
                           sorted(map(str, AVAILABLE_STATES)))


async def _sum_days(conn: asyncpg.Connection, days: set[float]) -> None:
    """Each day's rows: the sum of its quarters."""
    for d in sorted(days):
        args = (_ts(d), _ts(d + DAY_S))
        async with conn.transaction():
            for table, key, sums in TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE grain = 86400 AND bucket = $1",
                                   args[0])
                totals = ", ".join(f"sum({c.strip()})" for c in sums.split(","))
                await conn.execute(
                    f"INSERT INTO {table} (grain, bucket, {key}, {sums})"
                    f" SELECT 86400, $1, {key}, {totals} FROM {table}"
                    f" WHERE grain = 900 AND bucket >= $1 AND bucket < $2 GROUP BY {key}",
                    *args)


def _runs(quarters: list[float]) -> list[tuple[float, float]]:
    """Contiguous runs of quarters as [a, b), each at most CHUNK_S long."""
    runs: list[tuple[float, float]] = []
    for q in sorted(quarters):
        if runs and runs[-1][1] == q and q - runs[-1][0] < CHUNK_S:
            runs[-1] = (runs[-1][0], q + QUARTER_S)
        else:
            runs.append((q, q + QUARTER_S))
    return runs


def _days(first: float, b: float) -> list[float]:
    """The starts of the local days from `first` that hold a quarter before b."""
    return [first + i * DAY_S for i in range(int((b - QUARTER_S - first) // DAY_S) + 1)]


def day_of(t: float, offset_s: int) -> float:
    """The start of the centre's local day (UTC offset offset_s) that holds t."""
    return (t + offset_s) // DAY_S * DAY_S - offset_s


async def roll_up(conn: asyncpg.Connection, now: float, day_offset_s: int = 0, *,
                  run_days: int = 1) -> int:
    """Makes every marked quarter below rolled_until and every quarter ended since, up to
    the last ended by `now`, and the local days (UTC offset day_offset_s: the centre's,
    Settings.utc_offset_s) they are in; the number of quarters made (0 while another process
    is at it). Another offset than the
    days were made with makes every day again, in one transaction (a report reads either).
    The quarters not rolled up yet are made `run_days` local days a transaction (the live
    job: 1; a backfill of a bulk-loaded history: BACKFILL_RUN_DAYS, the same rows)."""
    target = _floor(now, QUARTER_S)
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK):
        return 0  # another process is making them
    try:
        state = await conn.fetchrow("SELECT rolled_until, day_offset_s FROM report_rollup_state")
        until = state["rolled_until"]
        if until is None:
            first = await conn.fetchval(
                "SELECT least((SELECT min(entered_at) FROM calls),"
                " (SELECT min(created_at) FROM work_orders),"
                " (SELECT min(started_at) FROM agent_state_log))")
            start = target if first is None else min(_floor(first.timestamp(), QUARTER_S),
                                                     target)
        else:
            start = until.timestamp()
        marked = [r["bucket"].timestamp() for r in await conn.fetch(
            "SELECT bucket FROM report_dirty WHERE bucket < $1", _ts(start))]
        runs = _runs(marked)
        t = start
        while t < target:
            runs.append((t, min(day_of(t, day_offset_s) + run_days * DAY_S, target)))
            t = runs[-1][1]
        if state["day_offset_s"] != day_offset_s:
            # the days on the new clock first, in one transaction (a report reads either all
            # the old day rows or all the new), then each run sums the days it completes: so
            # no run moves rolled_until past days whose rows are on another clock (a
            # backfill's runs take minutes; a marked day is summed again by its run)
            async with conn.transaction():
                for table, _, _ in TABLES:
                    await conn.execute(f"DELETE FROM {table} WHERE grain = 86400")
                await conn.execute("UPDATE report_rollup_state SET day_offset_s = $1",
                                   day_offset_s)
                first_q = await conn.fetchval(
                    "SELECT least((SELECT min(bucket) FROM report_call_rollup WHERE grain = 900"
                    " AND dim = 'centre'), (SELECT min(bucket) FROM report_order_rollup"
                    " WHERE grain = 900 AND dim = 'centre'), (SELECT min(bucket) FROM"
                    " report_state_rollup WHERE grain = 900))")
                below: set[float] = set()
                d = day_of(first_q.timestamp(), day_offset_s) if first_q else start
                while d + DAY_S <= start:
                    below.add(d)
                    d += DAY_S
                await _sum_days(conn, below)
        made = 0
        reached = start
        for a, b in runs:
            reached = max(reached, b)
            touched = _days(day_of(a, day_offset_s), b)
            # each day the run completes is summed with it
            ended = {d for d in touched if d + DAY_S <= reached}
            await _make(conn, a, b, ended, b if b > start else None)
            made += int((b - a) // QUARTER_S)
        return made
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)


async def mark(conn: asyncpg.Connection, since: float, until: float) -> None:
    """Marks every quarter of [since, until) to be made again (after a bulk load or a restore
    that did not go through the triggers)."""
    await conn.execute(
        "INSERT INTO report_dirty (bucket) SELECT generate_series($1::timestamptz,"
        " $2::timestamptz - interval '15 minutes', interval '15 minutes')"
        " ON CONFLICT (bucket) DO NOTHING", _ts(_floor(since, QUARTER_S)),
        _ts(_floor(until - 1e-6, QUARTER_S) + QUARTER_S))


__all__ = ["BACKFILL_RUN_DAYS", "DAY_S", "QUARTER_S", "TABLES", "WINDOWS_S", "day_of", "mark",
           "roll_up"]

