"""Reports on schedule (docs/metrics.md, "Reports on schedule"): every schedule makes, once
its period (day, week or month, the centre's local calendar) has ended, the report of that
period as CSV or XLSX, kept in PostgreSQL for download.

Exactly once with any number of processes: a report is claimed by inserting its row, unique
per (schedule, period start), in the transaction that makes it. A second process's insert
waits on the uncommitted key and then does nothing; if the maker dies, its transaction rolls
back and the next look makes the report. Readers see only committed rows, never a half-made
file. Only the last ended period is made: a period that ended while no process ran is
skipped once the next one has ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from hotline.reports import queries, rollup
from hotline.reports.exports import Format, export
from hotline.reports.model import By, Rules
from hotline.reports.periods import Period, label, last_ended

log = logging.getLogger("hotline.reports.scheduler")


@dataclass(frozen=True, slots=True)
class Schedule:
    id: int
    period: Period
    by: By
    format: Format
    created_by: str
    created_at: float


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _schedule(r: asyncpg.Record) -> Schedule:
    return Schedule(r["id"], Period(r["period"]), By(r["by"]), Format(r["format"]),
                    r["created_by"], r["created_at"].timestamp())


async def add(conn: asyncpg.Connection, period: Period, by: By, fmt: Format, user: str,
              now: float) -> Schedule:
    return _schedule(await conn.fetchrow(
        "INSERT INTO report_schedules (period, by, format, created_by, created_at)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING *", period, by, fmt, user, _ts(now)))


async def schedules(conn: asyncpg.Connection, *, limit: int | None = None,
                    offset: int = 0) -> list[Schedule]:
    return [_schedule(r) for r in await conn.fetch(
        "SELECT * FROM report_schedules ORDER BY id LIMIT $1 OFFSET $2", limit, offset)]


async def delete(conn: asyncpg.Connection, schedule_id: int) -> bool:
    """The schedule and the reports it made."""
    return await conn.fetchval("DELETE FROM report_schedules WHERE id = $1 RETURNING id",
                               schedule_id) is not None


@dataclass(frozen=True, slots=True)
class Made:
    id: int
    schedule_id: int
    period_start: float
    period_end: float
    made_at: float
    name: str
    size: int


async def files(conn: asyncpg.Connection, *, limit: int, offset: int) -> tuple[int, list[Made]]:
    """The reports made, newest period first (and how many there are)."""
    total = await conn.fetchval("SELECT count(*) FROM report_files")
    rows = await conn.fetch(
        "SELECT id, schedule_id, period_start, period_end, made_at, name,"
        " octet_length(content) AS size FROM report_files"
        " ORDER BY period_start DESC, id DESC LIMIT $1 OFFSET $2", limit, offset)
    return total, [Made(r["id"], r["schedule_id"], r["period_start"].timestamp(),
                        r["period_end"].timestamp(), r["made_at"].timestamp(), r["name"],
                        r["size"]) for r in rows]


async def file(conn: asyncpg.Connection, file_id: int) -> tuple[str, bytes] | None:
    r = await conn.fetchrow("SELECT name, content FROM report_files WHERE id = $1", file_id)
    return None if r is None else (r["name"], bytes(r["content"]))


async def run_due(pool: asyncpg.Pool, now: float, offset_s: int, rules: Rules) -> list[int]:
    """Makes every schedule's report of its last ended period that no process made yet;
    the ids of those made here."""
    made: list[int] = []
    async with pool.acquire() as conn:
        for s in await schedules(conn):
            start, end = last_ended(s.period, now, offset_s)
            async with conn.transaction():
                file_id = await conn.fetchval(
                    "INSERT INTO report_files (schedule_id, period_start, period_end,"
                    " made_at, name, content) VALUES ($1, $2, $3, $4, $5, ''::bytea)"
                    " ON CONFLICT (schedule_id, period_start) DO NOTHING RETURNING id",
                    s.id, _ts(start), _ts(end), _ts(now),
                    f"{s.by}-{label(s.period, start, offset_s)}.{s.format}")
                if file_id is None:  # made (or being made) by another process
                    continue
                found = await queries.report(conn, s.by, start, end, now, rules)
                await conn.execute("UPDATE report_files SET content = $2 WHERE id = $1",
                                   file_id, export(found, s.format))
            made.append(file_id)
    return made


async def run(pool: asyncpg.Pool, clock: Callable[[], float], offset_s: int, rules: Rules,
              poll_s: float) -> None:
    """Every poll_s: the report roll-ups up to now (hotline/reports/rollup.py), then the
    reports due. A failed look (the database away) is logged and tried again at the next."""
    while True:
        try:
            async with pool.acquire() as conn:
                await rollup.roll_up(conn, clock(), offset_s)
            for file_id in await run_due(pool, clock(), offset_s, rules):
                log.info("scheduled report %d made", file_id)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("scheduled reports: %r", exc)
        await asyncio.sleep(poll_s)


__all__ = ["Made", "Schedule", "add", "delete", "file", "files", "run", "run_due",
           "schedules"]
