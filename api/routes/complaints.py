"""Complaints reviewed by the responsible specialty ("1+1+1", issue #18.5): the specialty's
review (substantiated or not, why), and for a substantiated complaint the rectification
sheet (整改单) that the responsible unit, the specialty and the centre sign off
(hotline/work_orders/complaints.py holds the rules). A back-office user acts for its unit:
the specialty's staff review; the order's unit and the specialty sign their parts; the centre's
part is a supervisor's. Anyone else: 404, as for no such complaint."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hotline.api.deps import ServicesDep
from hotline.api.errors import ApiError
from hotline.api.routes.history import store as history_store
from hotline.api.routes.work_orders import ERRORS, BackOffice, OrderId, Said, viewer_of
from hotline.api.schemas import SOME_TEXT
from hotline.core.values import ServiceType
from hotline.work_orders import complaints
from hotline.work_orders import queries as store
from hotline.work_orders.model import DESCRIPTION_MAX_LEN, Viewer, WorkOrder

router = APIRouter(prefix="/api", tags=["work orders"])


class ReviewIn(BaseModel):
    substantiated: bool
    reason: Said
    #: a substantiated complaint: the rectification measures and their due date (epoch s)
    measures: Annotated[str, Field(max_length=DESCRIPTION_MAX_LEN, pattern=SOME_TEXT)] | None = None
    due_at: Annotated[float, Field(ge=0, le=2**33)] | None = None


class SignOffIn(BaseModel):
    part: Literal["unit", "specialty", "centre"]


class SheetOut(BaseModel):
    measures: str
    due_at: float
    created_at: float
    created_by: str
    signed: dict[str, Any]  # part -> {who, at}
    done: bool


class ComplaintOut(BaseModel):
    order_id: int
    specialty: str
    reviewed: bool
    substantiated: bool | None
    reason: str
    reviewer: str
    rectification: SheetOut | None


async def _complaint(conn: Any, order_id: int, viewer: Viewer) -> WorkOrder:
    order = await store.get(conn, order_id)
    unit = viewer.unit
    involved = order is not None and (
        viewer.sees_all or unit in (order.unit, complaints.specialty_for(order)))
    if order is None or not involved:
        raise ApiError(404, "no-such-work-order", "no such work order", {"id": order_id})
    if order.service is not ServiceType.COMPLAINT:
        raise ApiError(409, "complaint-refused", "not a complaint", {"id": order_id})
    return order


async def _out(conn: Any, order: WorkOrder) -> ComplaintOut:
    assert order.id is not None
    review = await complaints.get_review(conn, order.id)
    sheet = await complaints.get_rectification(conn, order.id)
    return ComplaintOut(
        order_id=order.id, specialty=complaints.specialty_for(order),
        reviewed=review is not None,
        substantiated=review.substantiated if review else None,
        reason=review.reason if review else "", reviewer=review.reviewer if review else "",
        rectification=None if sheet is None else SheetOut(
            measures=sheet.measures, due_at=sheet.due_at, created_at=sheet.created_at,
            created_by=sheet.created_by, done=sheet.done,
            signed={p: {"who": w, "at": t} for p, (w, t) in sheet.signed.items()}))


@router.get("/work-orders/{order_id}/complaint", responses=ERRORS)
async def complaint(user: BackOffice, services: ServicesDep, order_id: OrderId) -> ComplaintOut:
    """The complaint's specialty, its review and its rectification sheet."""
    async with history_store(services) as conn:
        order = await _complaint(conn, order_id, await viewer_of(user, services))
        return await _out(conn, order)


@router.post("/work-orders/{order_id}/review", responses=ERRORS)
async def review(user: BackOffice, services: ServicesDep, order_id: OrderId,
                 body: ReviewIn) -> ComplaintOut:
    """The specialty's verdict (once; 409 `complaint-refused` for a second). Substantiated:
    `measures` and `due_at` make its rectification sheet."""
    viewer = await viewer_of(user, services)
    now = services.clock()
    async with history_store(services) as conn:
        order = await _complaint(conn, order_id, viewer)
        if not complaints.may_review(order, viewer.unit, viewer.sees_all):
            raise ApiError(403, "not-your-specialty", "this complaint is reviewed by "
                           f"{complaints.specialty_for(order)}",
                           {"specialty": complaints.specialty_for(order)})
        await complaints.review(conn, order, user.username, body.substantiated, body.reason,
                                now, body.measures or "", body.due_at or now + 7 * 86400)
        return await _out(conn, order)


@router.post("/work-orders/{order_id}/rectification/sign-off", responses=ERRORS)
async def sign_off(user: BackOffice, services: ServicesDep, order_id: OrderId,
                   body: SignOffIn) -> ComplaintOut:
    """Signs one part of the rectification sheet: `unit` (the order's unit), `specialty`,
    `centre` (supervisors). Each part once; the sheet is done when all three signed."""
    viewer = await viewer_of(user, services)
    async with history_store(services) as conn:
        order = await _complaint(conn, order_id, viewer)
        if not complaints.may_sign(order, body.part, viewer.unit, viewer.sees_all):
            raise ApiError(403, "not-your-part", f"the {body.part} part is not yours to sign",
                           {"part": body.part})
        await complaints.sign_off(conn, order_id, body.part, user.username, services.clock())
        return await _out(conn, order)
