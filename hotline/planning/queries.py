"""The forecast's SQL: the interval history (`interval_stats`, written by the history
recorder for each closed metrics interval) summed per local day and 15-minute interval, the
measured waits for the patience, the queue's service-level target, and the event days
(migration 017_forecast_event_days.sql), each change of which is audited.

Days are the centre's local dates: `utc_offset_s` east of UTC (Settings.utc_offset_s)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
import numpy as np

from hotline.history.queries import AuditEntry, audit
from hotline.planning.forecast import INTERVAL_S, SLOTS, DayHistory, EventDay
from hotline.store.queries import ts

_EPOCH = date(1970, 1, 1)


def day_start(day: date, utc_offset_s: int) -> float:
    """Epoch seconds of `day`'s local midnight."""
    return (day - _EPOCH).days * 86_400.0 - utc_offset_s


async def history(conn: asyncpg.Connection, queue: str, first: date, end: date,
                  utc_offset_s: int) -> list[DayHistory]:
    """The queue's days in [first, end) that have any interval row, oldest first. An
    interval without a row (the platform was down) counts as no call."""
    rows = await conn.fetch(
        "SELECT d, s, sum(offered)::bigint AS offered, sum(handled)::bigint AS handled,"
        " sum(talk_s + hold_s + acw_s) AS handle_s FROM ("
        "  SELECT floor((extract(epoch FROM interval_start) + $4) / 86400)::int AS d,"
        "   (floor((extract(epoch FROM interval_start) + $4) / $5)::bigint % $6)::int AS s,"
        "   offered, handled, talk_s, hold_s, acw_s"
        "  FROM interval_stats"
        "  WHERE queue = $1 AND interval_start >= $2 AND interval_start < $3) x"
        " GROUP BY d, s ORDER BY d, s",
        queue, ts(day_start(first, utc_offset_s)), ts(day_start(end, utc_offset_s)),
        utc_offset_s, INTERVAL_S, SLOTS)
    days: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for r in rows:
        calls, handled, handle_s = days.setdefault(
            r["d"], (np.zeros(SLOTS), np.zeros(SLOTS), np.zeros(SLOTS)))
        calls[r["s"]] = r["offered"]
        handled[r["s"]] = r["handled"]
        handle_s[r["s"]] = r["handle_s"]
    return [DayHistory(_EPOCH + timedelta(days=d), *arrays) for d, arrays in days.items()]


@dataclass(frozen=True, slots=True)
class Waits:
    """Summed over intervals: the inputs of model.patience_estimate."""

    wait_answered_s: float
    wait_abandoned_s: float
    abandoned: int


async def waits(conn: asyncpg.Connection, queue: str, first: date, end: date,
                utc_offset_s: int) -> Waits:
    r = await conn.fetchrow(
        "SELECT coalesce(sum(wait_answered_s), 0) AS answered,"
        " coalesce(sum((figures->>'wait_abandoned_s')::float8), 0) AS abandoned_s,"
        " coalesce(sum(abandoned), 0)::bigint AS abandoned"
        " FROM interval_stats WHERE queue = $1 AND interval_start >= $2"
        " AND interval_start < $3",
        queue, ts(day_start(first, utc_offset_s)), ts(day_start(end, utc_offset_s)))
    return Waits(float(r["answered"]), float(r["abandoned_s"]), int(r["abandoned"]))


async def queue_target(conn: asyncpg.Connection, queue: str) -> tuple[float, float] | None:
    """(sl_target, sl_seconds) of a configured queue, None for another name."""
    r = await conn.fetchrow("SELECT sl_target, sl_seconds FROM queues WHERE name = $1", queue)
    return None if r is None else (float(r["sl_target"]), float(r["sl_seconds"]))


async def event_days(conn: asyncpg.Connection, first: date, end: date,
                     queue: str | None = None) -> dict[tuple[date, str], EventDay]:
    """Event days in [first, end) keyed (day, queue): of `queue` and of all queues (''), or
    every queue's when `queue` is None."""
    rows = await conn.fetch(
        "SELECT * FROM forecast_event_days WHERE day >= $1 AND day < $2"
        " AND ($3::text IS NULL OR queue = $3 OR queue = '') ORDER BY day, queue",
        first, end, queue)
    return {(r["day"], r["queue"]): EventDay(r["day"], r["queue"], r["kind"], r["factor"],
                                             r["note"]) for r in rows}


async def set_event_day(conn: asyncpg.Connection, event: EventDay, by: str,
                        at: float) -> bool:
    """Creates or replaces the event day (and audits it); True when it was new."""
    async with conn.transaction():
        new = await conn.fetchval(
            "INSERT INTO forecast_event_days AS e"
            " (day, queue, kind, factor, note, updated_by, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (day, queue) DO UPDATE"
            " SET kind = EXCLUDED.kind, factor = EXCLUDED.factor, note = EXCLUDED.note,"
            " updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at"
            " RETURNING (xmax = 0)",
            event.day, event.queue, event.kind, event.factor, event.note, by, ts(at))
        await audit(conn, AuditEntry(by, at, "forecast.event_day.set", {
            "day": event.day.isoformat(), "queue": event.queue, "kind": event.kind,
            "factor": event.factor, "note": event.note}))
    return bool(new)


async def delete_event_day(conn: asyncpg.Connection, day: date, queue: str, by: str,
                           at: float) -> bool:
    """Removes the event day (and audits it); False when there was none."""
    async with conn.transaction():
        gone = await conn.fetchval(
            "DELETE FROM forecast_event_days WHERE day = $1 AND queue = $2 RETURNING kind",
            day, queue)
        if gone is None:
            return False
        await audit(conn, AuditEntry(by, at, "forecast.event_day.delete", {
            "day": day.isoformat(), "queue": queue}))
    return True


__all__ = ["Waits", "day_start", "delete_event_day", "event_days", "history", "queue_target",
           "set_event_day", "waits"]
