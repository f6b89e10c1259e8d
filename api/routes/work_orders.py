"""Work orders (工单): agents create them from a call and link repeat calls; the back office
(supervisor role for now) works a unit's queue, overdue first, through the order's lifecycle.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.deps import ServicesDep, require_roles
from hotline.api.errors import ApiError, ErrorResponse, forbidden
from hotline.api.routes.history import store as history_store
from hotline.api.schemas import SOME_TEXT
from hotline.api.security import Claims, Role
from hotline.core import ids
from hotline.core.lifecycle import IllegalTransition
from hotline.core.values import ServiceType
from hotline.work_orders import queries as store
from hotline.work_orders.model import (
    OrderAction,
    OrderState,
    WorkOrder,
    act,
    create,
    escalate,
    link_call,
    overdue,
    record_final_answer,
)

router = APIRouter(prefix="/api", tags=["work orders"])

Desk = Annotated[Claims, Depends(require_roles(Role.AGENT, Role.SUPERVISOR))]
BackOffice = Annotated[Claims, Depends(require_roles(Role.SUPERVISOR))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
    404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
    422: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
}
# PostgreSQL text holds no NUL: refuse it at the edge, with the schema saying so
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]


class OrderIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "service": "fault", "caller": "13900000001", "call_id": "ast1-1795432233.17",
        "description": "no power in building 3 since 9:00", "area": "0571"}]})
    service: ServiceType
    caller: ids.PhoneNumber  # a callback dials it (PJSIP/{number}@caller)
    call_id: Id
    description: Annotated[str, Field(min_length=1, max_length=10_000, pattern=SOME_TEXT)]
    account: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    area: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    priority: Annotated[int, Field(ge=0, le=100)] = 0


class ActionIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"action": "reply", "text": "fuse replaced, power restored at 11:20"}]})
    action: OrderAction
    text: Text = ""
    #: dispatch: another unit to send it to ("": the unit it has)
    unit: ids.UnitId | Literal[""] = ""
    substantiated: bool | None = None


class LinkIn(BaseModel):
    call_id: Id


class FinalAnswerIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=10_000, pattern=SOME_TEXT)]


class OrderOut(BaseModel):
    id: int
    service: ServiceType
    caller: str
    state: str
    unit: str
    description: str
    account: str
    area: str
    priority: int
    created_at: float
    created_by: str
    resolve_by: float
    replied_at: float | None
    reply: str
    callback_by: float | None
    callback_done_at: float | None
    callback_result: str
    callback_done_by: str
    closed_at: float | None
    substantiated: bool | None
    final_answer: str
    escalated_to: str
    call_ids: list[str]
    overdue: Literal["resolve", "callback"] | None


def out(order: WorkOrder, now: float) -> OrderOut:
    assert order.id is not None
    return OrderOut(
        id=order.id, service=order.service, caller=order.caller, state=str(order.state),
        unit=order.unit, description=order.description, account=order.account,
        area=order.area, priority=order.priority, created_at=order.created_at,
        created_by=order.created_by, resolve_by=order.resolve_by, replied_at=order.replied_at,
        reply=order.reply, callback_by=order.callback_by,
        callback_done_at=order.callback_done_at, callback_result=order.callback_result,
        callback_done_by=order.callback_done_by, closed_at=order.closed_at,
        substantiated=order.substantiated,
        final_answer=order.final_answer, escalated_to=order.escalated_to,
        call_ids=list(order.call_ids), overdue=overdue(order, now))  # type: ignore[arg-type]


def _refused(exc: Exception) -> ApiError:
    return ApiError(409, "work-order-refused", str(exc))


async def _load(conn: Any, order_id: int) -> WorkOrder:
    order = await store.get(conn, order_id)
    if order is None:
        raise ApiError(404, "no-such-work-order", "no such work order", {"id": order_id})
    return order


OrderId = Annotated[int, Path(ge=1, le=2**62, examples=[17])]


@router.post("/work-orders", status_code=201, responses=ERRORS)
async def create_order(user: Desk, services: ServicesDep, body: OrderIn) -> OrderOut:
    """A work order from a call, by the agent on it; the recording is linked through the
    call id."""
    now = services.clock()
    # WorkOrderError: 409 work-order-refused (api/errors.py)
    order = create(body.service, body.caller, body.description, body.call_id,
                   user.username, now, account=body.account, area=body.area,
                   priority=body.priority)
    async with history_store(services) as conn:
        return out(await store.save(conn, order), now)


@router.get("/work-orders", responses=ERRORS)
async def open_orders(
    _: Desk, services: ServicesDep,
    caller: Annotated[str, Query(pattern=ids.PHONE_NUMBER_PATTERN)],
) -> list[OrderOut]:
    """The caller's open orders, newest first (the agent panel shows them; a repeat call
    links to one)."""
    async with history_store(services) as conn:
        orders = await store.open_for_caller(conn, caller)
    now = services.clock()
    return [out(o, now) for o in orders]


@router.get("/work-orders/{order_id}", responses=ERRORS)
async def one_order(_: Desk, services: ServicesDep, order_id: OrderId) -> OrderOut:
    async with history_store(services) as conn:
        return out(await _load(conn, order_id), services.clock())


@router.post("/work-orders/{order_id}/calls", responses=ERRORS)
async def link(_: Desk, services: ServicesDep, order_id: OrderId, body: LinkIn) -> OrderOut:
    """A repeat call on the same matter joins the order."""
    async with history_store(services) as conn:
        order = await _load(conn, order_id)
        return out(await store.save(conn, link_call(order, body.call_id)), services.clock())


@router.post("/work-orders/{order_id}/final-answer", responses=ERRORS)
async def final_answer(_: BackOffice, services: ServicesDep, order_id: OrderId,
                       body: FinalAnswerIn) -> OrderOut:
    """最终答复: recorded so that later calls on the same matter are recognised."""
    async with history_store(services) as conn:
        order = await _load(conn, order_id)
        changed = record_final_answer(order, body.text)  # WorkOrderError: 409, as above
        return out(await store.save(conn, changed), services.clock())


@router.post("/work-orders/{order_id}/actions", responses=ERRORS)
async def order_action(user: Desk, services: ServicesDep, order_id: OrderId,
                       body: ActionIn) -> OrderOut:
    """dispatch (optionally to another unit), accept, progress, reply (text: read back to the
    caller; a callback becomes due), callback_done (text: the result), close (a complaint
    needs `substantiated`). Illegal moves answer 409 naming state and action. The back office
    does all of them; an agent only callback_done (the agent who made the callback records
    its result)."""
    if body.action is not OrderAction.CALLBACK_DONE and not user.has_any({Role.SUPERVISOR}):
        raise forbidden([Role.ADMIN, Role.SUPERVISOR])
    now = services.clock()
    async with history_store(services) as conn:
        order = await _load(conn, order_id)
        try:
            changed = act(order, body.action, now, text=body.text, unit=body.unit,
                          substantiated=body.substantiated, by=user.username)
        except IllegalTransition as exc:  # (a WorkOrderError: 409 work-order-refused too)
            raise _refused(exc) from None
        return out(await store.save(conn, changed), now)


@router.post("/work-orders/{order_id}/call-back", responses=ERRORS)
async def call_back(_: Desk, services: ServicesDep, order_id: OrderId) -> OrderOut:
    """回访: places the callback of a replied order as a real call. It is queued like a call
    of the order's service; when a qualified agent is free, the customer's phone rings and is
    connected to that agent. The new call joins the order (its recording with it); the agent
    then records the result with the callback_done action."""
    controller = services.controller
    if controller is None:
        raise ApiError(503, "controller-unavailable", "no controller on this API node")
    async with history_store(services) as conn:
        order = await _load(conn, order_id)
        if order.state is not OrderState.CALLBACK_DUE:
            raise ApiError(409, "work-order-refused",
                           f"no callback is due for an order in state {str(order.state)!r}")
        call_id = controller.queue_callback(order.service, order.caller)
        return out(await store.save(conn, link_call(order, call_id)), services.clock())


@router.get("/units/{unit}/work-orders", responses=ERRORS)
async def unit_queue(
    _: BackOffice, services: ServicesDep,
    unit: Annotated[ids.UnitId, Path(examples=["repair_crew"])],
) -> list[OrderOut]:
    """A unit's open orders, overdue first; an overdue order not yet escalated is escalated
    as it is read (to its type's escalation target)."""
    now = services.clock()
    async with history_store(services) as conn:
        orders = await store.unit_queue(conn, unit, now)
        for i, order in enumerate(orders):
            up = escalate(order, now)
            if up is not None:
                orders[i] = await store.save(conn, up)
    return [out(o, now) for o in orders]
