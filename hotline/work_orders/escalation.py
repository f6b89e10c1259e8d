"""The deadline job's escalation (issue #18.5): overdue orders go up one level at a time into
the next level's inbox (work_order_escalations): 1 the unit's supervisor, 2 the centre.

The rule is model.escalation_due; here it is one conditional UPDATE per level, so that an
order reaches each level once per deadline however many processes run the job at once: the
UPDATE takes the row lock and re-reads `escalation_level = level - 1` after a concurrent
winner, which then no longer holds. The inbox row is written by the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from hotline.store.queries import epoch, ts
from hotline.work_orders.model import ESCALATION_TARGETS

#: the deadline an order runs against (model.deadline), in SQL
_DUE = ("(CASE WHEN o.state = 'callback_due' THEN o.callback_by ELSE o.resolve_by END)")
_RUNNING = "('created', 'dispatched', 'accepted', 'in_progress', 'callback_due')"

_ESCALATE = f"""
WITH up AS (
    UPDATE work_orders o SET escalation_level = $2, escalated_to = $3, version = version + 1
    WHERE o.state IN {_RUNNING} AND o.escalation_level = $2 - 1
      AND {_DUE} + make_interval(secs => CASE WHEN $2 = 2 THEN o.centre_after_s ELSE 0 END)
          < $1
    RETURNING o.id, o.unit, o.state, {_DUE} AS due_at
)
INSERT INTO work_order_escalations (order_id, deadline, level, unit, due_at, at)
SELECT id, CASE WHEN state = 'callback_due' THEN 'callback' ELSE 'resolve' END, $2, unit,
       due_at, $1 FROM up
ON CONFLICT DO NOTHING
RETURNING order_id, deadline, level, unit, due_at, at
"""


@dataclass(frozen=True, slots=True)
class Escalation:
    """One row of a level's inbox."""

    order_id: int
    deadline: str  # "resolve" or "callback"
    level: int  # 1 the unit's supervisor, 2 the centre
    unit: str
    due_at: float
    at: float


def _row(r: asyncpg.Record) -> Escalation:
    return Escalation(r["order_id"], r["deadline"], r["level"], r["unit"], epoch(r["due_at"]),
                      epoch(r["at"]))


async def escalate_overdue(conn: asyncpg.Connection, now: float) -> list[Escalation]:
    """Escalates every order behind its deadline by the levels it is due (level 1 first, so
    an order late enough for the centre reaches both inboxes in one run); returns the new
    inbox rows (none for an order another process escalated)."""
    out: list[Escalation] = []
    for level, target in sorted(ESCALATION_TARGETS.items()):
        rows = await conn.fetch(_ESCALATE, ts(now), level, target)
        out.extend(_row(r) for r in rows)
    return out


async def inbox(conn: asyncpg.Connection, *, level: int | None = None, since: float | None = None,
                limit: int = 100, offset: int = 0) -> list[Escalation]:
    """A level's inbox (both levels with None), newest first."""
    rows = await conn.fetch(
        "SELECT * FROM work_order_escalations WHERE ($1::smallint IS NULL OR level = $1)"
        " AND ($2::timestamptz IS NULL OR at >= $2) ORDER BY at DESC, order_id DESC, level DESC"
        " LIMIT $3 OFFSET $4", level, ts(since), limit, offset)
    return [_row(r) for r in rows]
