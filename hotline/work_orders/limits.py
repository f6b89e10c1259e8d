"""Time limits per service type and unit (table work_order_limits, migration 020): read for
every new order (model.policy_for is the rule of which applies), set and removed through the
API, each change audited ("work_order.limit.set" / ".delete", with the values before)."""

from __future__ import annotations

import asyncpg

from hotline.history.queries import AuditEntry, audit
from hotline.store.queries import ts
from hotline.work_orders.model import TimeLimit

Limits = dict[tuple[str, str], TimeLimit]


async def all_limits(conn: asyncpg.Connection) -> Limits:
    rows = await conn.fetch("SELECT * FROM work_order_limits ORDER BY service, unit")
    return {(r["service"], r["unit"]): TimeLimit(r["resolve_s"], r["callback_s"],
                                                 r["centre_after_s"]) for r in rows}


async def limits_for(conn: asyncpg.Connection, service: str) -> Limits:
    """The rows of one service type (all that policy_for needs for it)."""
    rows = await conn.fetch("SELECT * FROM work_order_limits WHERE service = $1", service)
    return {(r["service"], r["unit"]): TimeLimit(r["resolve_s"], r["callback_s"],
                                                 r["centre_after_s"]) for r in rows}


def _details(service: str, unit: str, limit: TimeLimit | None) -> dict[str, object]:
    out: dict[str, object] = {"service": service, "unit": unit}
    if limit is not None:
        out.update(resolve_s=limit.resolve_s, callback_s=limit.callback_s,
                   centre_after_s=limit.centre_after_s)
    return out


async def set_limit(conn: asyncpg.Connection, service: str, unit: str, limit: TimeLimit,
                    by: str, at: float) -> TimeLimit | None:
    """Creates or replaces the limits of (service, unit) and audits the change; returns the
    limits it replaced (None: new). Orders made before keep their deadlines."""
    async with conn.transaction():
        before = await conn.fetchrow(
            "SELECT * FROM work_order_limits WHERE service = $1 AND unit = $2 FOR UPDATE",
            service, unit)
        await conn.execute(
            "INSERT INTO work_order_limits (service, unit, resolve_s, callback_s,"
            " centre_after_s, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (service, unit) DO UPDATE SET resolve_s = $3, callback_s = $4,"
            " centre_after_s = $5, changed_at = $6, changed_by = $7",
            service, unit, limit.resolve_s, limit.callback_s, limit.centre_after_s, ts(at), by)
        old = None if before is None else TimeLimit(before["resolve_s"], before["callback_s"],
                                                    before["centre_after_s"])
        details = _details(service, unit, limit)
        details["before"] = None if old is None else _details(service, unit, old)
        await audit(conn, AuditEntry(by, at, "work_order.limit.set", details))
    return old


async def delete_limit(conn: asyncpg.Connection, service: str, unit: str, by: str,
                       at: float) -> bool:
    """Removes the limits of (service, unit) (the next rule applies again); audited. False
    when there were none."""
    async with conn.transaction():
        row = await conn.fetchrow("DELETE FROM work_order_limits WHERE service = $1 AND unit = $2"
                                  " RETURNING *", service, unit)
        if row is None:
            return False
        old = TimeLimit(row["resolve_s"], row["callback_s"], row["centre_after_s"])
        await audit(conn, AuditEntry(by, at, "work_order.limit.delete",
                                     {**_details(service, unit, None),
                                      "before": _details(service, unit, old)}))
    return True
