"""Emergency staffing's SQL: today's offered calls per closed interval (interval_stats, as the
forecast reads it), and the agents with their team, skills and the queues' required skills.
Published shifts, contracts and states come from plan_queries."""

from __future__ import annotations

import json
from datetime import date

import asyncpg

from hotline.planning.forecast import INTERVAL_S, SLOTS
from hotline.planning.queries import day_start
from hotline.store.queries import ts


async def offered_today(conn: asyncpg.Connection, queue: str, day: date, utc_offset_s: int,
                        before: float) -> dict[int, float]:
    """The queue's offered calls per interval of the local `day` with a row, for the
    intervals starting before `before` (epoch seconds)."""
    lo = day_start(day, utc_offset_s)
    rows = await conn.fetch(
        "SELECT (floor((extract(epoch FROM interval_start) + $4) / $5)::bigint % $6)::int AS s,"
        " sum(offered)::float8 AS offered FROM interval_stats"
        " WHERE queue = $1 AND interval_start >= $2 AND interval_start < $3 GROUP BY 1",
        queue, ts(lo), ts(min(before, lo + 86_400.0)), utc_offset_s, INTERVAL_S, SLOTS)
    return {r["s"]: r["offered"] for r in rows}


async def required_skills(conn: asyncpg.Connection) -> dict[str, dict[str, float]]:
    """Each configured queue's required skills (skill: minimum level)."""
    rows = await conn.fetch("SELECT name, required_skills FROM queues")
    out = {}
    for r in rows:
        req = r["required_skills"]
        out[r["name"]] = {k: float(v) for k, v in (json.loads(req) if isinstance(req, str)
                                                   else req).items()}
    return out


async def active_agents(conn: asyncpg.Connection) -> list[tuple[str, str, str, dict[str, int]]]:
    """(id, name, team, {skill: level}) of every active agent, by id."""
    rows = await conn.fetch(
        "SELECT a.id, a.name, a.team_id, coalesce(jsonb_object_agg(s.skill, s.level)"
        " FILTER (WHERE s.skill IS NOT NULL), '{}') AS skills FROM agents a"
        " LEFT JOIN agent_skills s ON s.agent_id = a.id WHERE a.active"
        " GROUP BY a.id ORDER BY a.id")
    out = []
    for r in rows:
        sk = r["skills"]
        sk = json.loads(sk) if isinstance(sk, str) else sk
        out.append((r["id"], r["name"], r["team_id"], {k: int(v) for k, v in sk.items()}))
    return out


__all__ = ["active_agents", "offered_today", "required_skills"]
