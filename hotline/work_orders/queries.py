"""Work-order queries (the work_orders and work_order_calls tables). Times are epoch floats
on the Python side, timestamptz in the database."""

from __future__ import annotations

from dataclasses import fields

import asyncpg

from hotline.core.values import ServiceType
from hotline.store.queries import epoch, ts
from hotline.work_orders.model import OrderState, StaleVersion, Viewer, WorkOrder

_TIMES = {"created_at", "resolve_by", "replied_at", "callback_by", "callback_done_at",
          "closed_at", "callback_placed_at"}
_COLUMNS = [f.name for f in fields(WorkOrder) if f.name not in ("id", "call_ids", "version")]


def _db_value(name: str, value: object) -> object:
    return (ts(value) if name in _TIMES else  # type: ignore[arg-type]
            str(value) if name in ("service", "state") else
            dict(value) if name == "details" else value)  # type: ignore[call-overload]


def _to_db(order: WorkOrder) -> list[object]:
    return [_db_value(name, getattr(order, name)) for name in _COLUMNS]


def _from_row(row: asyncpg.Record, call_ids: list[str]) -> WorkOrder:
    values: dict[str, object] = {}
    for name in _COLUMNS:
        value = row[name]
        values[name] = epoch(value) if name in _TIMES else value
    values["details"] = tuple(sorted(row["details"].items()))
    values["service"] = ServiceType(row["service"])
    values["state"] = OrderState(row["state"])
    return WorkOrder(id=row["id"], call_ids=tuple(call_ids), version=row["version"],
                     **values)  # type: ignore[arg-type]


def _scope(viewer: Viewer | None, n: int) -> tuple[str, list[object]]:
    """THE rule of who sees which order, as a filter on `o` (work_orders) whose parameters
    start at $n (docs/live-api.md, "Work orders: who sees what"; Viewer says who asks).
    None: no viewer, the platform's own reads (repeat calls, QA, the scorecard). The caller on
    an agent's line opens its open orders and its closed ones with a final answer (最终答复:
    what a repeat call is most likely about)."""
    if viewer is None or viewer.sees_all:
        return "TRUE", []
    if viewer.unit is not None:  # the back office: its unit's orders
        return f"(${n} <> '' AND (o.unit = ${n} OR o.escalated_to = ${n}))", [viewer.unit]
    return (f"(o.created_by = ${n}"
            f" OR ((o.state <> 'closed' OR o.final_answer <> '') AND ${n + 1} <> ''"
            f" AND o.caller = ${n + 1})"
            " OR EXISTS (SELECT 1 FROM work_order_calls l JOIN calls c ON c.call_id = l.call_id"
            f" WHERE l.order_id = o.id AND c.agent_id = ${n}))",
            [viewer.username, viewer.talking_to])


async def save(conn: asyncpg.Connection, order: WorkOrder) -> WorkOrder:
    """Inserts a new order (id None) or writes every column of one, if it still has the
    version it was read with (StaleVersion otherwise); its calls are kept in order. Changes
    of a loaded order go through `update` (only what changed) or `link`."""
    async with conn.transaction():
        if order.id is None:
            cols = ", ".join(_COLUMNS)
            marks = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
            order_id = await conn.fetchval(
                f"INSERT INTO work_orders ({cols}) VALUES ({marks}) RETURNING id",
                *_to_db(order))
        else:
            await _write(conn, order.id, order.version, dict(zip(_COLUMNS, _to_db(order),
                                                                 strict=True)))
            order_id = order.id
        await conn.executemany(
            "INSERT INTO work_order_calls (order_id, call_id, position) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            [(order_id, call_id, i) for i, call_id in enumerate(order.call_ids)])
    found = await get(conn, order_id)
    assert found is not None
    return found


async def _write(conn: asyncpg.Connection, order_id: int, version: int,
                 values: dict[str, object]) -> None:
    """UPDATE ... WHERE id = $1 AND version = $2: the write of a reader of `version`."""
    sets = "".join(f"{c} = ${i}, " for i, c in enumerate(values, start=3))
    status = await conn.execute(
        f"UPDATE work_orders SET {sets}version = version + 1 WHERE id = $1 AND version = $2",
        order_id, version, *values.values())
    if status != "UPDATE 1":
        if await conn.fetchval("SELECT 1 FROM work_orders WHERE id = $1", order_id) is None:
            raise LookupError(f"no work order {order_id}")
        raise StaleVersion(order_id, version)


async def update(conn: asyncpg.Connection, before: WorkOrder, after: WorkOrder) -> WorkOrder:
    """Writes only the columns `after` changed from `before`, if the order still has
    `before.version` (StaleVersion otherwise): a reply does not overwrite a link, and a
    write based on an old read is refused rather than lost."""
    assert before.id is not None and before.id == after.id
    changed = {c: _db_value(c, getattr(after, c)) for c in _COLUMNS
               if getattr(after, c) != getattr(before, c)}
    await _write(conn, before.id, before.version, changed)
    found = await get(conn, before.id)
    assert found is not None
    return found


async def link(conn: asyncpg.Connection, order_id: int, call_id: str) -> WorkOrder:
    """A call joins the order (once, last), touching nothing else of it; the version grows
    (the row lock taken first keeps two links apart)."""
    async with conn.transaction():
        status = await conn.execute(
            "UPDATE work_orders SET version = version + 1 WHERE id = $1", order_id)
        if status != "UPDATE 1":
            raise LookupError(f"no work order {order_id}")
        await conn.execute(
            "INSERT INTO work_order_calls (order_id, call_id, position)"
            " SELECT $1, $2, coalesce(max(position) + 1, 0) FROM work_order_calls"
            " WHERE order_id = $1 ON CONFLICT DO NOTHING", order_id, call_id)
    found = await get(conn, order_id)
    assert found is not None
    return found


async def claim_call_back(conn: asyncpg.Connection, order_id: int, now: float,
                          gap_s: float) -> bool:
    """Marks a call-back placed now if the order is due one and none was placed in the last
    `gap_s` seconds: one statement, so of two at once only one wins."""
    status = await conn.execute(
        "UPDATE work_orders SET callback_placed_at = $2, version = version + 1"
        " WHERE id = $1 AND state = 'callback_due'"
        " AND (callback_placed_at IS NULL OR callback_placed_at <= $3)",
        order_id, ts(now), ts(now - gap_s))
    return status == "UPDATE 1"


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


async def get(conn: asyncpg.Connection, order_id: int,
              viewer: Viewer | None = None) -> WorkOrder | None:
    """The order, or None when there is none or `viewer` may not see it (the same answer:
    the API says 404 to both)."""
    scope, args = _scope(viewer, 2)
    found = await _orders(conn, f"SELECT o.* FROM work_orders o WHERE o.id = $1 AND {scope}",
                          order_id, *args)
    return found[0] if found else None


def _page(first: int) -> str:
    """LIMIT and OFFSET as parameters $first and $first+1 (a NULL limit: every row)."""
    return f" LIMIT ${first} OFFSET ${first + 1}"


async def open_for_caller(conn: asyncpg.Connection, caller: str,
                          viewer: Viewer | None = None, *, limit: int | None = None,
                          offset: int = 0) -> list[WorkOrder]:
    """The caller's open orders that `viewer` may see, newest first: a repeat call links to
    the first."""
    scope, args = _scope(viewer, 2)
    return await _orders(conn, "SELECT o.* FROM work_orders o WHERE o.caller = $1"
                               f" AND o.state <> 'closed' AND {scope}"
                               " ORDER BY o.created_at DESC, o.id DESC" + _page(2 + len(args)),
                         caller, *args, limit, offset)


async def for_caller(conn: asyncpg.Connection, caller: str, viewer: Viewer | None = None, *,
                     limit: int | None = None, offset: int = 0) -> list[WorkOrder]:
    """Every order of the caller that `viewer` may see, open and closed, newest first (the
    caller's story: hotline/customer/story.py)."""
    scope, args = _scope(viewer, 2)
    return await _orders(conn, f"SELECT o.* FROM work_orders o WHERE o.caller = $1 AND {scope}"
                               " ORDER BY o.created_at DESC, o.id DESC" + _page(2 + len(args)),
                         caller, *args, limit, offset)


#: when an order last moved (model.last_touched; greatest() skips the NULLs)
_TOUCHED = "greatest(o.created_at, o.replied_at, o.callback_done_at, o.closed_at)"


async def answered_for_caller(conn: asyncpg.Connection, caller: str,
                              viewer: Viewer | None = None, *, since: float | None = None,
                              limit: int | None = None, offset: int = 0) -> list[WorkOrder]:
    """The caller's closed orders with a final answer that `viewer` may see, last touched
    first (`since`: only those touched at or after it)."""
    scope, args = _scope(viewer, 3)
    return await _orders(conn, "SELECT o.* FROM work_orders o WHERE o.caller = $1"
                               " AND o.state = 'closed' AND o.final_answer <> ''"
                               f" AND ($2::timestamptz IS NULL OR {_TOUCHED} >= $2) AND {scope}"
                               f" ORDER BY {_TOUCHED} DESC, o.id DESC" + _page(3 + len(args)),
                         caller, ts(since), *args, limit,
                         offset)


async def for_call(conn: asyncpg.Connection, call_id: str, *, limit: int | None = None,
                   offset: int = 0) -> list[WorkOrder]:
    return await _orders(conn, "SELECT o.* FROM work_orders o JOIN work_order_calls c"
                               " ON c.order_id = o.id WHERE c.call_id = $1"
                               " ORDER BY o.created_at, o.id" + _page(2), call_id, limit, offset)


async def unit_queue(conn: asyncpg.Connection, unit: str, now: float, *,
                     limit: int | None = None, offset: int = 0) -> list[WorkOrder]:
    """A unit's open orders, overdue first, then by deadline (the back office's queue)."""
    return await _orders(
        conn, "SELECT * FROM work_orders WHERE unit = $1 AND state <> 'closed'"
              " ORDER BY (CASE WHEN state = 'callback_due' THEN callback_by ELSE resolve_by END)"
              " < $2 DESC, (CASE WHEN state = 'callback_due' THEN callback_by"
              " ELSE resolve_by END), id" + _page(3), unit, ts(now), limit, offset)
