"""The plans' SQL (migration 022_plans.sql): contracts, the month plan's head count, draft and
published shifts, and the agents' states of a day for adherence. Every change writes its
audit_log row (plan.*) in the same transaction, as the event days do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg

from hotline.history.queries import AuditEntry, audit
from hotline.planning.adherence import Segment
from hotline.planning.queries import day_start
from hotline.planning.shifts import Break, Shift
from hotline.store.queries import ts


@dataclass(frozen=True, slots=True)
class Contract:
    agent_id: str
    hours_week: float
    days_off_wish: tuple[int, ...] = ()
    earliest_start_min: int | None = None
    latest_start_min: int | None = None


@dataclass(frozen=True, slots=True)
class PlannedShift:
    day: date
    agent_id: str
    queue: str
    shift: Shift


def breaks_json(s: Shift) -> list[dict[str, Any]]:
    return [{"start_min": b.start_min, "length_min": b.length_min, "kind": b.kind}
            for b in s.breaks]


def shift_json(p: PlannedShift) -> dict[str, Any]:
    return {"day": p.day.isoformat(), "agent_id": p.agent_id, "queue": p.queue,
            "start_min": p.shift.start_min, "end_min": p.shift.end_min,
            "breaks": breaks_json(p.shift)}


def _planned(r: asyncpg.Record) -> PlannedShift:
    return PlannedShift(r["day"], r["agent_id"], r["queue"], Shift(
        r["start_min"], r["end_min"], tuple(Break(b["start_min"], b["length_min"], b["kind"])
                                            for b in r["breaks"])))


# ---- who can plan: agents, the queues their skills qualify them for, contracts


async def agent_queues(conn: asyncpg.Connection) -> dict[str, tuple[str, ...]]:
    """Active agents -> the queues whose required skills (skill: minimum level) they hold."""
    rows = await conn.fetch(
        "SELECT a.id, q.name FROM agents a CROSS JOIN queues q WHERE a.active AND NOT EXISTS ("
        " SELECT 1 FROM jsonb_each_text(q.required_skills) r WHERE NOT EXISTS ("
        "  SELECT 1 FROM agent_skills s WHERE s.agent_id = a.id AND s.skill = r.key"
        "   AND s.level >= r.value::numeric)) ORDER BY a.id, q.name")
    out: dict[str, list[str]] = {r: [] for r in await conn.fetchval(
        "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM agents WHERE active")}
    for r in rows:
        out[r["id"]].append(r["name"])
    return {a: tuple(qs) for a, qs in out.items()}


async def contracts(conn: asyncpg.Connection) -> dict[str, Contract]:
    rows = await conn.fetch("SELECT * FROM plan_contracts ORDER BY agent_id")
    return {r["agent_id"]: Contract(r["agent_id"], r["hours_week"], tuple(r["days_off_wish"]),
                                    r["earliest_start_min"], r["latest_start_min"])
            for r in rows}


async def set_contract(conn: asyncpg.Connection, c: Contract, by: str, at: float) -> None:
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO plan_contracts VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (agent_id) DO UPDATE SET hours_week = EXCLUDED.hours_week,"
            " days_off_wish = EXCLUDED.days_off_wish,"
            " earliest_start_min = EXCLUDED.earliest_start_min,"
            " latest_start_min = EXCLUDED.latest_start_min,"
            " updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
            c.agent_id, c.hours_week, list(c.days_off_wish), c.earliest_start_min,
            c.latest_start_min, by, ts(at))
        await audit(conn, AuditEntry(by, at, "plan.contract.set", {
            "agent_id": c.agent_id, "hours_week": c.hours_week,
            "days_off_wish": list(c.days_off_wish),
            "earliest_start_min": c.earliest_start_min,
            "latest_start_min": c.latest_start_min}))


# ---- the month plan


async def headcount(conn: asyncpg.Connection, first: date, end: date,
                    queue: str | None = None) -> dict[tuple[date, str], int]:
    rows = await conn.fetch(
        "SELECT day, queue, agents FROM plan_headcount WHERE day >= $1 AND day < $2"
        " AND ($3::text IS NULL OR queue = $3) ORDER BY day, queue", first, end, queue)
    return {(r["day"], r["queue"]): r["agents"] for r in rows}


async def set_headcount(conn: asyncpg.Connection, queue: str, days: dict[date, int], by: str,
                        at: float) -> None:
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO plan_headcount VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, queue)"
            " DO UPDATE SET agents = EXCLUDED.agents, updated_by = EXCLUDED.updated_by,"
            " updated_at = EXCLUDED.updated_at",
            [(d, queue, n, by, ts(at)) for d, n in sorted(days.items())])
        await audit(conn, AuditEntry(by, at, "plan.headcount.set", {
            "queue": queue, "days": {d.isoformat(): n for d, n in sorted(days.items())}}))


# ---- shifts: the draft and the published


async def shifts(conn: asyncpg.Connection, first: date, end: date, *, published: bool = False,
                 agent_id: str | None = None) -> list[PlannedShift]:
    table = "plan_published" if published else "plan_shifts"
    rows = await conn.fetch(
        f"SELECT * FROM {table} WHERE day >= $1 AND day < $2"
        " AND ($3::text IS NULL OR agent_id = $3) ORDER BY day, start_min, agent_id",
        first, end, agent_id)
    return [_planned(r) for r in rows]


async def _insert(conn: asyncpg.Connection, rows: list[PlannedShift], by: str,
                  at: float) -> None:
    await conn.executemany(
        "INSERT INTO plan_shifts VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (day, agent_id) DO UPDATE SET queue = EXCLUDED.queue,"
        " start_min = EXCLUDED.start_min, end_min = EXCLUDED.end_min,"
        " breaks = EXCLUDED.breaks, updated_by = EXCLUDED.updated_by,"
        " updated_at = EXCLUDED.updated_at",
        [(p.day, p.agent_id, p.queue, p.shift.start_min, p.shift.end_min,
          breaks_json(p.shift), by, ts(at)) for p in rows])


async def replace_week(conn: asyncpg.Connection, first: date, days: int, agents: list[str],
                       rows: list[PlannedShift], summary: dict[str, Any], by: str,
                       at: float) -> None:
    """The week's model's answer replaces the draft shifts of `agents` in the week."""
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM plan_shifts WHERE day >= $1 AND day < $2 AND agent_id = any($3)",
            first, first + timedelta(days=days), agents)
        await _insert(conn, rows, by, at)
        await audit(conn, AuditEntry(by, at, "plan.week.build", {
            "first": first.isoformat(), "days": days, "agents": agents,
            "shifts": len(rows), **summary}))


async def set_shift(conn: asyncpg.Connection, p: PlannedShift, by: str, at: float) -> bool:
    """The day's fine-tuning: sets one agent's draft shift; True when it was new."""
    async with conn.transaction():
        old = await conn.fetchrow("SELECT * FROM plan_shifts WHERE day = $1 AND agent_id = $2",
                                  p.day, p.agent_id)
        await _insert(conn, [p], by, at)
        await audit(conn, AuditEntry(by, at, "plan.shift.set", {
            **shift_json(p), "before": None if old is None else shift_json(_planned(old))}))
    return old is None


async def delete_shift(conn: asyncpg.Connection, day: date, agent_id: str, by: str,
                       at: float) -> bool:
    async with conn.transaction():
        old = await conn.fetchrow(
            "DELETE FROM plan_shifts WHERE day = $1 AND agent_id = $2 RETURNING *",
            day, agent_id)
        if old is None:
            return False
        await audit(conn, AuditEntry(by, at, "plan.shift.delete", {
            "day": day.isoformat(), "agent_id": agent_id, "before": shift_json(_planned(old))}))
    return True


async def publish(conn: asyncpg.Connection, first: date, end: date, by: str,
                  at: float) -> int:
    """The draft of [first, end) becomes what agents see; returns the shifts published."""
    async with conn.transaction():
        await conn.execute("DELETE FROM plan_published WHERE day >= $1 AND day < $2",
                           first, end)
        n = await conn.fetchval(
            "WITH i AS (INSERT INTO plan_published SELECT * FROM plan_shifts"
            " WHERE day >= $1 AND day < $2 RETURNING 1) SELECT count(*) FROM i", first, end)
        await audit(conn, AuditEntry(by, at, "plan.publish", {
            "first": first.isoformat(), "end": end.isoformat(), "shifts": int(n)}))
    return int(n)


# ---- states for adherence


async def state_segments(conn: asyncpg.Connection, day: date, utc_offset_s: int,
                         now: float, agent_id: str | None = None) -> dict[str, list[Segment]]:
    """Each agent's states overlapping the local day; a state still open ends at `now`."""
    lo = day_start(day, utc_offset_s)
    hi = lo + 86_400.0
    rows = await conn.fetch(
        "SELECT agent_id, extract(epoch FROM started_at)::float8 AS s,"
        " extract(epoch FROM ended_at)::float8 AS e, state FROM agent_state_log"
        " WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1)"
        " AND ($3::text IS NULL OR agent_id = $3) ORDER BY agent_id, started_at",
        ts(lo), ts(hi), agent_id)
    out: dict[str, list[Segment]] = {}
    for r in rows:
        end = r["e"] if r["e"] is not None else max(r["s"], now)
        out.setdefault(r["agent_id"], []).append(Segment(r["s"], end, r["state"]))
    return out


__all__ = ["Contract", "PlannedShift", "agent_queues", "contracts", "delete_shift",
           "headcount", "publish", "replace_week", "set_contract", "set_headcount",
           "set_shift", "shift_json", "shifts", "state_segments"]
