"""Work-order queries (the work_orders and work_order_calls tables). Times are epoch floats
on the Python side, timestamptz in the database."""

from __future__ import annotations

from dataclasses import fields

import asyncpg

from hotline.core.values import ServiceType
from hotline.store.queries import epoch, ts
from hotline.work_orders.model import OrderState, WorkOrder

_TIMES = {"created_at", "resolve_by", "replied_at", "callback_by", "callback_done_at",
          "closed_at"}
_COLUMNS = [f.name for f in fields(WorkOrder) if f.name not in ("id", "call_ids")]


def _to_db(order: WorkOrder) -> list[object]:
    out: list[object] = []
    for name in _COLUMNS:
        value = getattr(order, name)
        out.append(ts(value) if name in _TIMES else
                   str(value) if name in ("service", "state") else value)
    return out


def _from_row(row: asyncpg.Record, call_ids: list[str]) -> WorkOrder:
    values: dict[str, object] = {}
    for name in _COLUMNS:
        value = row[name]
        values[name] = epoch(value) if name in _TIMES else value
    values["service"] = ServiceType(row["service"])
    values["state"] = OrderState(row["state"])
    return WorkOrder(id=row["id"], call_ids=tuple(call_ids), **values)  # type: ignore[arg-type]


async def save(conn: asyncpg.Connection, order: WorkOrder) -> WorkOrder:
    """Inserts a new order (id None) or updates one; its calls are kept in order."""
    async with conn.transaction():
        if order.id is None:
            cols = ", ".join(_COLUMNS)
            marks = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
            order_id = await conn.fetchval(
                f"INSERT INTO work_orders ({cols}) VALUES ({marks}) RETURNING id",
                *_to_db(order))
        else:
            sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_COLUMNS, start=2))
            status = await conn.execute(f"UPDATE work_orders SET {sets} WHERE id = $1",
                                        order.id, *_to_db(order))
            if status != "UPDATE 1":
                raise LookupError(f"no work order {order.id}")
            order_id = order.id
        await conn.executemany(
            "INSERT INTO work_order_calls (order_id, call_id, position) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            [(order_id, call_id, i) for i, call_id in enumerate(order.call_ids)])
    found = await get(conn, order_id)
    assert found is not None
    return found


async def _calls(conn: asyncpg.Connection, order_ids: list[int]) -> dict[int, list[str]]:
    rows = await conn.fetch("SELECT order_id, call_id FROM work_order_calls"
                            " WHERE order_id = ANY($1) ORDER BY order_id, position", order_ids)
    out: dict[int, list[str]] = {i: [] for i in order_ids}
    for r in rows:
        out[r["order_id"]].append(r["call_id"])
    return out


async def _orders(conn: asyncpg.Connection, sql: str, *args: object) -> list[WorkOrder]:
    rows = await conn.fetch(sql, *args)
    calls = await _calls(conn, [r["id"] for r in rows])
    return [_from_row(r, calls[r["id"]]) for r in rows]


async def get(conn: asyncpg.Connection, order_id: int) -> WorkOrder | None:
    found = await _orders(conn, "SELECT * FROM work_orders WHERE id = $1", order_id)
    return found[0] if found else None


async def open_for_caller(conn: asyncpg.Connection, caller: str) -> list[WorkOrder]:
    """The caller's open orders, newest first: a repeat call links to the first."""
    return await _orders(conn, "SELECT * FROM work_orders WHERE caller = $1"
                               " AND state <> 'closed' ORDER BY created_at DESC", caller)


async def for_call(conn: asyncpg.Connection, call_id: str) -> list[WorkOrder]:
    return await _orders(conn, "SELECT o.* FROM work_orders o JOIN work_order_calls c"
                               " ON c.order_id = o.id WHERE c.call_id = $1"
                               " ORDER BY o.created_at", call_id)


async def unit_queue(conn: asyncpg.Connection, unit: str, now: float) -> list[WorkOrder]:
    """A unit's open orders, overdue first, then by deadline (the back office's queue)."""
    return await _orders(
        conn, "SELECT * FROM work_orders WHERE unit = $1 AND state <> 'closed'"
              " ORDER BY (CASE WHEN state = 'callback_due' THEN callback_by ELSE resolve_by END)"
              " < $2 DESC, (CASE WHEN state = 'callback_due' THEN callback_by"
              " ELSE resolve_by END), id", unit, ts(now))
