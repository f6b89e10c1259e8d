"""The recordings table: one row per call's recording (path, duration, checksum), marked
deleted by the retention job after its file is gone."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from hotline.store.queries import ts


async def save(conn: asyncpg.Connection, call_id: str, path: str, duration_s: float,
               sha256: str) -> None:
    await conn.execute(
        "INSERT INTO recordings (call_id, path, duration_s, sha256) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (call_id) DO UPDATE SET path = EXCLUDED.path,"
        " duration_s = EXCLUDED.duration_s, sha256 = EXCLUDED.sha256",
        call_id, path, duration_s, sha256)


async def due_for_deletion(conn: asyncpg.Connection, by_service: Mapping[str, int],
                           default_days: int, now: float, after: str = "",
                           limit: int = 1000) -> list[tuple[str, str]]:
    """(call id, path) of live recordings older than their service type's retention (days
    `by_service`, else `default_days`), call ids after `after` in order, at most `limit`: the
    job walks the table a page at a time, PostgreSQL doing the filtering."""
    rows = await conn.fetch(
        "SELECT r.call_id, r.path FROM recordings r JOIN calls c ON c.call_id = r.call_id"
        " LEFT JOIN unnest($1::text[], $2::int[]) AS p(service, days) ON p.service = c.service"
        " WHERE r.deleted_at IS NULL AND r.call_id > $3"
        " AND COALESCE(c.ended_at, c.entered_at)"
        " < $4::timestamptz - make_interval(days => COALESCE(p.days, $5::int))"
        " ORDER BY r.call_id LIMIT $6",
        list(by_service), list(by_service.values()), after, ts(now), default_days, limit)
    return [(r["call_id"], r["path"]) for r in rows]


async def mark_deleted(conn: asyncpg.Connection, call_id: str, at: float) -> None:
    await conn.execute("UPDATE recordings SET deleted_at = $2 WHERE call_id = $1"
                       " AND deleted_at IS NULL", call_id, ts(at))


async def live_paths(conn: asyncpg.Connection, after: str = "",
                     limit: int = 1000) -> list[tuple[str, str]]:
    """(call id, path) of recordings not deleted, call ids after `after` in order, at most
    `limit` (a page of the missing-file check)."""
    rows = await conn.fetch("SELECT call_id, path FROM recordings WHERE deleted_at IS NULL"
                            " AND call_id > $1 ORDER BY call_id LIMIT $2", after, limit)
    return [(r["call_id"], r["path"]) for r in rows]


async def unrecorded(conn: asyncpg.Connection, since: float,
                     limit: int = 1000) -> list[tuple[str, str]]:
    """(call id, path) of calls entered since `since` that ended with a recording path and
    have no recordings row (its store was lost: a crash, a stall, an outage), oldest first."""
    rows = await conn.fetch(
        "SELECT c.call_id, c.recording_path FROM calls c"
        " WHERE c.entered_at >= $1 AND c.ended_at IS NOT NULL AND c.recording_path IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.call_id)"
        " ORDER BY c.entered_at LIMIT $2", ts(since), limit)
    return [(r["call_id"], r["recording_path"]) for r in rows]
