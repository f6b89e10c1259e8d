"""The emergency reserve's rules and what an applied reserve added (migration 024), in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hotline.realtime.reserve import ReserveRule
from hotline.store.queries import epoch

#: agent -> skill -> its level before the reserve (0: it had none)
Added = dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Applied:
    at: float
    by: str
    added: Added


def _rule(r: asyncpg.Record) -> ReserveRule:
    return ReserveRule(r["queue"], r["team"], r["after_s"], r["recover_s"], r["margin"],
                       r["auto"])


async def rules(conn: asyncpg.Connection) -> list[ReserveRule]:
    return [_rule(r) for r in await conn.fetch("SELECT * FROM reserve_rules ORDER BY queue")]


async def applied(conn: asyncpg.Connection) -> dict[str, Applied]:
    """The reserves applied now, by queue."""
    out: dict[str, Applied] = {}
    for r in await conn.fetch(
            "SELECT queue, applied_at, applied_by, added FROM reserve_rules"
            " WHERE applied_at IS NOT NULL"):
        added = r["added"]
        if isinstance(added, str):  # a connection without the project's jsonb codec
            added = json.loads(added)
        out[r["queue"]] = Applied(epoch(r["applied_at"]) or 0.0, r["applied_by"] or "",
                                  added or {})
    return out


async def put_rule(conn: asyncpg.Connection, rule: ReserveRule) -> dict[str, Any] | None:
    """Stores the rule (what it applied, if anything, stays); the rule before (None: new)."""
    row = await conn.fetchrow("SELECT * FROM reserve_rules WHERE queue = $1 FOR UPDATE",
                              rule.queue)
    await conn.execute(
        "INSERT INTO reserve_rules (queue, team, after_s, recover_s, margin, auto)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (queue) DO UPDATE SET team = $2,"
        " after_s = $3, recover_s = $4, margin = $5, auto = $6",
        rule.queue, rule.team, rule.after_s, rule.recover_s, rule.margin, rule.auto)
    return None if row is None else _rule(row).as_dict()


async def delete_rule(conn: asyncpg.Connection, queue: str) -> bool:
    return await conn.fetchval(
        "DELETE FROM reserve_rules WHERE queue = $1 RETURNING queue", queue) is not None


async def set_applied(conn: asyncpg.Connection, queue: str, at: datetime | None, by: str,
                      added: Added | None) -> None:
    """Records the reserve applied (`added`) or taken back (None)."""
    await conn.execute(
        "UPDATE reserve_rules SET applied_at = $2, applied_by = $3, added = $4::jsonb"
        " WHERE queue = $1", queue, at if added is not None else None,
        by if added is not None else None, added)
