"""Work orders that chase their deadlines (issue #18.5): the time limits per service type and
unit (read by the desk's supervisors and the back office, set by supervisors, every change
audited), and the escalation inboxes the deadline job fills (hotline/work_orders/
escalation.py): level 1 the unit's supervisor, level 2 the centre. The orders page shows both.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.deps import ServicesDep, Steering, require_roles
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import DEFAULT_PAGE, Limit, Offset
from hotline.api.routes.history import store as history_store
from hotline.api.security import Claims, Role
from hotline.core import ids
from hotline.core.values import ServiceType
from hotline.work_orders import escalation, limits
from hotline.work_orders.model import (
    DEFAULT_POLICIES,
    ESCALATION_TARGETS,
    LIMIT_MAX_S,
    TimeLimit,
    policy_for,
)

router = APIRouter(prefix="/api", tags=["work orders"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
    404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
}
#: who reads the limits: those who set them and the back office that works to them
LimitReader = Annotated[Claims, Depends(require_roles(Role.SUPERVISOR, Role.BACK_OFFICE))]
Seconds = Annotated[float, Field(gt=0, le=LIMIT_MAX_S)]
UnitOrAll = ids.UnitId | Literal[""]


class LimitIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "service": "fault", "unit": "repair_crew", "resolve_s": 7200, "callback_s": 86400,
        "centre_after_s": 14400}]})
    service: ServiceType
    #: "" sets the limits of the service type for every unit without limits of its own
    unit: UnitOrAll = ""
    resolve_s: Seconds  # creation -> the unit's reply
    callback_s: Seconds  # reply -> the callback to the customer
    centre_after_s: Seconds  # a missed deadline -> escalated on from the unit's supervisor


class LimitOut(BaseModel):
    service: ServiceType
    unit: str
    resolve_s: float
    callback_s: float
    centre_after_s: float
    #: "unit": set for this unit; "service": set for the type, every unit; "default": built in
    source: Literal["unit", "service", "default"]


class EscalationOut(BaseModel):
    order_id: int
    deadline: Literal["resolve", "callback"]
    level: Literal[1, 2]
    to: str  # "supervisor" (the unit's) or "centre"
    unit: str
    due_at: float
    at: float


def _out(service: ServiceType, unit: str, table: limits.Limits) -> LimitOut:
    policy = policy_for(service, unit, table)
    source = ("unit" if (str(service), policy.unit) in table
              else "service" if (str(service), "") in table else "default")
    return LimitOut(service=service, unit=policy.unit, resolve_s=policy.resolve_s,
                    callback_s=policy.callback_s, centre_after_s=policy.centre_after_s,
                    source=source)


@router.get("/work-order-limits", responses=ERRORS)
async def list_limits(_: LimitReader, services: ServicesDep) -> list[LimitOut]:
    """The limits in force: each service type at its default unit, then every (type, unit)
    with limits of its own; `source` says where they come from (model.policy_for)."""
    async with history_store(services) as conn:
        table = await limits.all_limits(conn)
    keys = [(s, "") for s in DEFAULT_POLICIES]
    keys += [(ServiceType(s), u) for s, u in table if u and u != DEFAULT_POLICIES[
        ServiceType(s)].unit]
    return [_out(s, u, table) for s, u in keys]


@router.put("/work-order-limits", responses=ERRORS)
async def set_limit(user: Steering, services: ServicesDep, body: LimitIn) -> LimitOut:
    """Sets the limits of a service type for one unit (or, unit "", for every unit without
    its own); audited (`work_order.limit.set`, with the values before). Orders already made
    keep their deadlines; new ones and new replies take these."""
    limit = TimeLimit(body.resolve_s, body.callback_s, body.centre_after_s)
    async with history_store(services) as conn:
        await limits.set_limit(conn, str(body.service), body.unit, limit, user.username,
                               services.clock())
        return _out(body.service, body.unit, await limits.limits_for(conn, str(body.service)))


@router.delete("/work-order-limits/{service}", status_code=204, responses=ERRORS)
async def delete_limit(user: Steering, services: ServicesDep, service: ServiceType,
                       unit: Annotated[UnitOrAll, Query()] = "") -> None:
    """Removes the limits set for (service, unit): the next rule applies again (audited);
    404 `no-such-limit` when none were set."""
    async with history_store(services) as conn:
        if not await limits.delete_limit(conn, str(service), unit, user.username,
                                         services.clock()):
            raise ApiError(404, "no-such-limit", "no limits are set for this type and unit",
                           {"service": str(service), "unit": unit})


@router.get("/work-order-escalations", responses=ERRORS)
async def escalations(
    _: Steering, services: ServicesDep,
    level: Annotated[int | None, Query(ge=1, le=2)] = None,
    since: Annotated[float | None, Query(ge=0, le=2**33)] = None,
    limit: Limit = DEFAULT_PAGE, offset: Offset = 0,
) -> list[EscalationOut]:
    """The escalation inboxes, newest first: level 1 (the unit's supervisor), level 2 (the
    centre); `since`: escalated at or after it. Filled by the deadline job, never by a read."""
    async with history_store(services) as conn:
        rows = await escalation.inbox(conn, level=level, since=since, limit=limit,
                                      offset=offset)
    return [EscalationOut(order_id=r.order_id, deadline=r.deadline,  # type: ignore[arg-type]
                          level=r.level, to=ESCALATION_TARGETS[r.level],  # type: ignore[arg-type]
                          unit=r.unit, due_at=r.due_at, at=r.at) for r in rows]
