"""Work orders (工单): agents create them from a call and link repeat calls; the back office
(supervisor role for now) works a unit's queue, overdue first, through the order's lifecycle.

Who sees which order is one rule (docs/live-api.md, "Work orders: who sees what"): `viewer_of`
says who asks, the store's query filter decides; an order outside the asker's scope answers
404 like one that does not exist. Every write names the version it read (409 stale-version
when someone wrote meanwhile); a link touches only the order's calls.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.acd import acd_of
from hotline.api.deps import ServicesDep, SettingsDep, require_roles
from hotline.api.errors import ApiError, ErrorResponse, forbidden
from hotline.api.limits import DEFAULT_PAGE, Limit, Offset
from hotline.api.routes.history import store as history_store
from hotline.api.schemas import SOME_TEXT
from hotline.api.security import Claims, Role
from hotline.api.services import Services
from hotline.core import ids
from hotline.core.lifecycle import IllegalTransition
from hotline.core.values import ServiceType
from hotline.work_orders import limits as time_limits
from hotline.work_orders import local_units, templates
from hotline.work_orders import queries as store
from hotline.work_orders.model import (
    CALLER_MAX_LEN,
    DEFAULT_POLICIES,
    DESCRIPTION_MAX_LEN,
    OrderAction,
    OrderState,
    StaleVersion,
    Viewer,
    WorkOrder,
    act,
    create,
    overdue,
    policy_for,
    record_final_answer,
)

log = logging.getLogger("hotline.api.work_orders")
router = APIRouter(prefix="/api", tags=["work orders"])

#: who creates orders and rings customers back: the agents and their supervisors
Desk = Annotated[Claims, Depends(require_roles(Role.AGENT, Role.SUPERVISOR))]
#: who reads orders and works them through their lifecycle: the desk and the back office
#: (each within its scope: viewer_of)
Worker = Annotated[Claims, Depends(require_roles(Role.AGENT, Role.SUPERVISOR,
                                                 Role.BACK_OFFICE))]
#: Which actions each role takes (on orders in its scope): the agent who called the
#: customer back records its result; the back office moves its unit's orders to the reply;
#: supervisors do everything, closing included (an admin passes every check).
ACTIONS_BY_ROLE: dict[Role, frozenset[OrderAction]] = {
    Role.AGENT: frozenset({OrderAction.CALLBACK_DONE}),
    Role.BACK_OFFICE: frozenset({OrderAction.DISPATCH, OrderAction.ACCEPT,
                                 OrderAction.PROGRESS, OrderAction.REPLY}),
    Role.SUPERVISOR: frozenset(OrderAction),
}
#: who answers for a unit: supervisors (any unit) and the back office (its own)
BackOffice = Annotated[Claims, Depends(require_roles(Role.SUPERVISOR, Role.BACK_OFFICE))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
    404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
    422: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
}
# PostgreSQL text holds no NUL: refuse it at the edge, with the schema saying so
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=DESCRIPTION_MAX_LEN, pattern=NO_NUL)]
#: Text that must say something: a description, a final answer
Said = Annotated[str, Field(min_length=1, max_length=DESCRIPTION_MAX_LEN, pattern=SOME_TEXT)]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]


#: A caller's number: a phone number (core.ids, the rule for anything dialled), within what
#: the work_orders table keeps (model.CALLER_MAX_LEN, its CHECK)
Caller = Annotated[str, Field(max_length=CALLER_MAX_LEN, pattern=ids.PHONE_NUMBER_PATTERN)]


class OrderIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "service": "fault", "caller": "13900000001", "call_id": "ast1-1795432233.17",
        "description": "no power in building 3 since 9:00", "area": "0571"}]})
    service: ServiceType
    caller: Caller  # a callback dials it (PJSIP/{number}@caller)
    call_id: Id
    description: Said
    account: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    area: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    #: its scenario (GET /api/work-order-scenarios): the order must then fill its template
    scenario: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    #: the template's fields (name -> what the caller said)
    fields: Annotated[dict[Annotated[str, Field(max_length=64, pattern=r"^[a-z_]{1,64}$")],
                           Annotated[str, Field(max_length=2000, pattern=NO_NUL)]],
                      Field(max_length=32)] = {}


class ActionIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"action": "reply", "text": "fuse replaced, power restored at 11:20"}]})
    action: OrderAction
    text: Text = ""
    #: dispatch: another unit to send it to ("": the unit it has)
    unit: ids.UnitId | Literal[""] = ""
    substantiated: bool | None = None
    #: the version the client read (OrderOut.version): 409 stale-version if it changed since
    version: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = None


class LinkIn(BaseModel):
    call_id: Id


class FinalAnswerIn(BaseModel):
    text: Said


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
    escalation_level: int  # 0 none, 1 the unit's supervisor, 2 the centre (the deadline job)
    scenario: str
    details: dict[str, str]
    call_ids: list[str]
    overdue: Literal["resolve", "callback"] | None
    callback_placed_at: float | None
    version: int  # grows on every write; name it in an action to refuse a stale one


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
        escalation_level=order.escalation_level, scenario=order.scenario,
        details=dict(order.details),
        call_ids=list(order.call_ids), overdue=overdue(order, now),  # type: ignore[arg-type]
        callback_placed_at=order.callback_placed_at, version=order.version)


def _refused(exc: Exception) -> ApiError:
    return ApiError(409, "work-order-refused", str(exc))


async def current_caller(services: Services, agent_id: str) -> str:
    """The caller of the agent's current call, as the controller knows it ("" when it has
    none, or this API node cannot reach a controller now)."""
    if services.controller is None and services.remote is None:
        return ""
    try:
        call = (await acd_of(services).desk(agent_id)).call
    except ApiError:  # an unknown agent, or no controller active
        return ""
    return call.caller if call is not None else ""


async def viewer_of(user: Claims, services: Services) -> Viewer:
    """Who asks, for the scope rule: supervisors, QA and admins see every order; the back
    office its unit's (from the user's record); an agent its own, those of its calls, and its
    current caller's open ones."""
    if user.has_any({Role.SUPERVISOR, Role.QA}):
        return Viewer(user.username, sees_all=True)
    if Role.BACK_OFFICE in user.roles:
        record = await services.users.get(user.username)
        return Viewer(user.username, unit=record.unit if record is not None else "")
    return Viewer(user.username, talking_to=await current_caller(services, user.username))


async def _load(conn: Any, order_id: int, viewer: Viewer) -> WorkOrder:
    """The order if `viewer` may see it; 404 alike for none and for one out of scope (an
    agent does not learn which ids exist)."""
    order = await store.get(conn, order_id, viewer)
    if order is None:  # none, or out of scope: logged (the two alike, as for the client)
        log.info("work order %s refused to %s: none in its scope", order_id, viewer.username)
        raise ApiError(404, "no-such-work-order", "no such work order", {"id": order_id})
    return order


OrderId = Annotated[int, Path(ge=1, le=2**62, examples=[17])]


@router.post("/work-orders", status_code=201, responses=ERRORS)
async def create_order(user: Desk, services: ServicesDep, body: OrderIn) -> OrderOut:
    """A work order from a call, by the agent on it; the recording is linked through the
    call id. With a `scenario`, its template is enforced (422 `template-violated`, naming the
    missing and unknown fields). It goes to the scenario's unit, else the caller's local unit
    (属地: by the order's area, else its account's), else the type's default unit; with the
    time limits of its type and that unit."""
    now = services.clock()
    async with history_store(services) as conn:
        scenario = None
        if body.scenario:
            try:
                scenario = templates.check(body.scenario, body.service, body.fields)
            except templates.TemplateError as exc:
                raise ApiError(422, "template-violated", str(exc), exc.details) from None
        elif body.fields:
            raise ApiError(422, "template-violated", "fields belong to a scenario: name it",
                           {"fields": sorted(body.fields)})
        area = await local_units.area_of(conn, body.area, body.account)
        unit = templates.dispatch_unit(
            scenario, await local_units.local_unit(conn, area, body.service),
            DEFAULT_POLICIES[body.service].unit)
        # its time limits: those set for its type and unit (model.policy_for)
        policy = policy_for(body.service, unit,
                            await time_limits.limits_for(conn, body.service))
        # WorkOrderError: 409 work-order-refused (api/errors.py)
        order = create(body.service, body.caller, body.description, body.call_id,
                       user.username, now, policies={body.service: policy},
                       account=body.account, area=area, priority=body.priority,
                       scenario=body.scenario, details=body.fields)
        return out(await store.save(conn, order), now)


class ScenarioOut(BaseModel):
    id: str
    service: ServiceType
    title: str
    required: list[str]
    optional: list[str]
    questions: list[str]
    dispatch: str  # "local" (the caller's area's unit) or a unit id


@router.get("/work-order-scenarios", responses=ERRORS)
async def scenarios(_: Worker, service: ServiceType | None = None) -> list[ScenarioOut]:
    """The scenarios (一场景一模板) an order may name, with the fields each requires, the
    questions to ask for them and where it is dispatched."""
    return [ScenarioOut(id=s.id, service=s.service, title=s.title, required=list(s.required),
                        optional=list(s.optional), questions=list(s.questions),
                        dispatch=s.dispatch)
            for s in templates.SCENARIOS.values() if service in (None, s.service)]


@router.get("/work-orders", responses=ERRORS)
async def open_orders(
    user: Worker, services: ServicesDep,
    caller: Annotated[str, Query(max_length=CALLER_MAX_LEN, pattern=ids.PHONE_NUMBER_PATTERN)],
    limit: Limit = DEFAULT_PAGE, offset: Offset = 0,
) -> list[OrderOut]:
    """The caller's open orders that you may see, newest first (the agent panel shows them;
    a repeat call links to one). An agent gets those of the caller it is talking to now, and
    its own or its calls' ones; any other number: an empty list."""
    async with history_store(services) as conn:
        orders = await store.open_for_caller(conn, caller, await viewer_of(user, services),
                                             limit=limit, offset=offset)
    now = services.clock()
    return [out(o, now) for o in orders]


@router.get("/work-orders/{order_id}", responses=ERRORS)
async def one_order(user: Worker, services: ServicesDep, order_id: OrderId) -> OrderOut:
    """One order, if it is in your scope (404 otherwise, as for no such order)."""
    async with history_store(services) as conn:
        return out(await _load(conn, order_id, await viewer_of(user, services)), services.clock())


@router.post("/work-orders/{order_id}/calls", responses=ERRORS)
async def link(user: Desk, services: ServicesDep, order_id: OrderId, body: LinkIn) -> OrderOut:
    """A repeat call on the same matter joins the order (only its list of calls changes)."""
    async with history_store(services) as conn:
        await _load(conn, order_id, await viewer_of(user, services))
        return out(await store.link(conn, order_id, body.call_id), services.clock())


@router.post("/work-orders/{order_id}/final-answer", responses=ERRORS)
async def final_answer(user: BackOffice, services: ServicesDep, order_id: OrderId,
                       body: FinalAnswerIn) -> OrderOut:
    """最终答复: recorded so that later calls on the same matter are recognised."""
    async with history_store(services) as conn:
        order = await _load(conn, order_id, await viewer_of(user, services))
        changed = record_final_answer(order, body.text)  # WorkOrderError: 409, as above
        # StaleVersion: 409 stale-version (api/errors.py)
        return out(await store.update(conn, order, changed), services.clock())


@router.post("/work-orders/{order_id}/actions", responses=ERRORS)
async def order_action(user: Worker, services: ServicesDep, order_id: OrderId,
                       body: ActionIn) -> OrderOut:
    """dispatch (optionally to another unit), accept, progress, reply (text: read back to the
    caller; a callback becomes due), callback_done (text: the result), close (a complaint
    needs `substantiated`). Illegal moves answer 409 naming state and action. Who may take
    which action: ACTIONS_BY_ROLE, on an order in its scope. With `version`, the action is
    refused (409 stale-version) if the order changed since that version; without, if it
    changes while this request runs."""
    allowed = [r for r, actions in ACTIONS_BY_ROLE.items() if body.action in actions]
    if not user.has_any(set(allowed)):
        raise forbidden([Role.ADMIN, *allowed])
    now = services.clock()
    async with history_store(services) as conn:
        order = await _load(conn, order_id, await viewer_of(user, services))
        if body.version is not None and body.version != order.version:
            raise StaleVersion(order_id, body.version)
        # a reply's callback deadline: the limits of the order's type and unit now
        policy = policy_for(order.service, order.unit,
                            await time_limits.limits_for(conn, order.service))
        try:
            changed = act(order, body.action, now, text=body.text, unit=body.unit,
                          substantiated=body.substantiated, by=user.username,
                          policies={order.service: policy})
        except IllegalTransition as exc:  # (a WorkOrderError: 409 work-order-refused too)
            raise _refused(exc) from None
        return out(await store.update(conn, order, changed), now)


@router.post("/work-orders/{order_id}/call-back", responses=ERRORS)
async def call_back(user: Desk, services: ServicesDep, settings: SettingsDep,
                    order_id: OrderId) -> OrderOut:
    """回访: places the callback of a replied order as a real call. It is queued like a call
    of the order's service; when a qualified agent is free, the customer's phone rings and is
    connected to that agent. The new call joins the order (its recording with it); the agent
    then records the result with the callback_done action. One call-back at a time: the next
    waits `work_order_callback_gap_s` after the last was placed (409 call-back-too-soon, with
    `retry_after_s`)."""
    controller = acd_of(services)  # 503 controller-unavailable without one
    now, gap = services.clock(), settings.work_order_callback_gap_s
    async with history_store(services) as conn:
        order = await _load(conn, order_id, await viewer_of(user, services))
        if order.state is not OrderState.CALLBACK_DUE:
            raise ApiError(409, "work-order-refused",
                           f"no callback is due for an order in state {str(order.state)!r}")
        # one statement decides between call-backs at once: only one is placed
        if not await store.claim_call_back(conn, order_id, now, gap):
            order = await _load(conn, order_id, await viewer_of(user, services))
            if order.state is not OrderState.CALLBACK_DUE:  # changed meanwhile
                raise ApiError(409, "work-order-refused", "no callback is due any more")
            placed = order.callback_placed_at
            wait = round(max(0.0, (placed or now) + gap - now), 3)
            raise ApiError(409, "call-back-too-soon",
                           f"a call-back of this order was placed less than {gap:g} s ago",
                           {"id": order_id, "retry_after_s": wait})
        call_id = await controller.queue_callback(order.service, order.caller)
        return out(await store.link(conn, order_id, call_id), services.clock())


@router.get("/units/{unit}/work-orders", responses=ERRORS)
async def unit_queue(
    user: BackOffice, services: ServicesDep,
    unit: Annotated[ids.UnitId, Path(examples=["repair_crew"])],
    limit: Limit = DEFAULT_PAGE, offset: Offset = 0,
) -> list[OrderOut]:
    """A unit's open orders, overdue first, then by deadline. Reading escalates nothing: the
    deadline job does (hotline/work_orders/escalation.py). The back office reads its own
    unit's queue only (403 `not-your-unit`)."""
    viewer = await viewer_of(user, services)
    if not viewer.sees_all and viewer.unit != unit:
        raise ApiError(403, "not-your-unit", f"{user.username} works for "
                       f"{viewer.unit or 'no unit'}, not {unit}", {"unit": unit})
    now = services.clock()
    async with history_store(services) as conn:
        orders = await store.unit_queue(conn, unit, now, limit=limit, offset=offset)
    return [out(o, now) for o in orders]
