"""Complaints reviewed by the responsible specialty (the "1+1+1" model, issue #18.5).

A complaint is reviewed by the specialty that answers for its matter (`specialty_for`: by
its scenario, else the type's), whose verdict is substantiated or not, with the reason. A
substantiated complaint gets a rectification sheet (整改单: measures and a due date), done once
three parts have signed it off: the responsible unit (the order's unit), the specialty and
the centre (`SIGN_OFF_PARTS`). Who may sign which part: `may_sign`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from hotline.core.errors import Conflict
from hotline.core.values import ServiceType
from hotline.store.queries import epoch, ts
from hotline.work_orders.model import WorkOrder

#: the specialty (a unit id: its back-office users review) answering for each scenario
SPECIALTY_BY_SCENARIO = {
    "complaint.outage": "operations_dept",  # 运检: outages, repairs
    "complaint.service": "marketing_dept",  # 营销: offices, staff, bills
}
DEFAULT_SPECIALTY = "service_quality_dept"  # 客服质量: anything else
SIGN_OFF_PARTS = ("unit", "specialty", "centre")


class ComplaintRefused(Conflict):
    """A review or sign-off the complaint's rules do not allow (409, with the reason)."""

    error_id = "complaint-refused"


def specialty_for(order: WorkOrder) -> str:
    return SPECIALTY_BY_SCENARIO.get(order.scenario, DEFAULT_SPECIALTY)


def may_review(order: WorkOrder, unit: str | None, sees_all: bool) -> bool:
    """A complaint is reviewed by its specialty's staff (a back-office user of that unit), or
    a supervisor."""
    return order.service is ServiceType.COMPLAINT and (sees_all or unit == specialty_for(order))


def may_sign(order: WorkOrder, part: str, unit: str | None, sees_all: bool) -> bool:
    """`unit`: the order's unit's staff; `specialty`: the specialty's staff; `centre`: a
    supervisor (the centre) only. Supervisors may sign the first two in their stead."""
    if part == "centre":
        return sees_all
    if part == "unit":
        return sees_all or (unit is not None and unit == order.unit)
    if part == "specialty":
        return sees_all or unit == specialty_for(order)
    return False


def complete(signed: Iterable[str]) -> bool:
    return set(SIGN_OFF_PARTS) <= set(signed)


@dataclass(frozen=True, slots=True)
class Review:
    order_id: int
    specialty: str
    reviewer: str
    substantiated: bool
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Rectification:
    order_id: int
    measures: str
    due_at: float
    created_at: float
    created_by: str
    signed: dict[str, tuple[str, float]]  # part -> (who, when)

    @property
    def done(self) -> bool:
        return complete(self.signed)


async def review(conn: asyncpg.Connection, order: WorkOrder, reviewer: str,
                 substantiated: bool, reason: str, at: float, measures: str,
                 due_at: float) -> tuple[Review, Rectification | None]:
    """Records the specialty's review (once: ComplaintRefused for a second one); a
    substantiated complaint gets its rectification sheet in the same transaction."""
    assert order.id is not None
    if substantiated and not measures.strip():
        raise ComplaintRefused("a substantiated complaint needs its rectification measures")
    async with conn.transaction():
        done = await conn.fetchval(
            "INSERT INTO complaint_reviews (order_id, specialty, reviewer, substantiated,"
            " reason, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
            order.id, specialty_for(order), reviewer, substantiated, reason.strip(), ts(at))
        if done is None:
            raise ComplaintRefused(f"complaint {order.id} was reviewed already")
        if substantiated:
            await conn.execute(
                "INSERT INTO rectifications (order_id, measures, due_at, created_at,"
                " created_by) VALUES ($1, $2, $3, $4, $5)",
                order.id, measures.strip(), ts(due_at), ts(at), reviewer)
    found = await get_review(conn, order.id)
    assert found is not None
    return found, await get_rectification(conn, order.id)


async def sign_off(conn: asyncpg.Connection, order_id: int, part: str, who: str,
                   at: float) -> Rectification:
    """Signs one part of the sheet (once: ComplaintRefused for a part signed already)."""
    if await get_rectification(conn, order_id) is None:
        raise ComplaintRefused(f"complaint {order_id} has no rectification sheet")
    done = await conn.fetchval(
        "INSERT INTO rectification_signoffs (order_id, part, who, at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING 1", order_id, part, who, ts(at))
    if done is None:
        raise ComplaintRefused(f"the {part} part of complaint {order_id}'s sheet is signed")
    sheet = await get_rectification(conn, order_id)
    assert sheet is not None
    return sheet


async def get_review(conn: asyncpg.Connection, order_id: int) -> Review | None:
    r = await conn.fetchrow("SELECT * FROM complaint_reviews WHERE order_id = $1", order_id)
    return None if r is None else Review(r["order_id"], r["specialty"], r["reviewer"],
                                         r["substantiated"], r["reason"], epoch(r["at"]) or 0.0)


async def get_rectification(conn: asyncpg.Connection, order_id: int) -> Rectification | None:
    r = await conn.fetchrow("SELECT * FROM rectifications WHERE order_id = $1", order_id)
    if r is None:
        return None
    signs = await conn.fetch("SELECT * FROM rectification_signoffs WHERE order_id = $1",
                             order_id)
    return Rectification(r["order_id"], r["measures"], epoch(r["due_at"]) or 0.0,
                         epoch(r["created_at"]) or 0.0, r["created_by"],
                         {s["part"]: (s["who"], epoch(s["at"]) or 0.0) for s in signs})
