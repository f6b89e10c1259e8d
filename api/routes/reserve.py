"""The emergency reserve (应急梯队): its rules per queue, and a supervisor's apply / dismiss /
take back (docs/metrics.md, "Emergency reserve"; hotline/centre/reserve.py).

Rules live in the database: any API process reads and writes them (audited), the controller's
next look uses them. The steps act on the controller's ReserveService: in its process
directly, from an API process without it (`hotline api`) as a `reserve` command over the
command bus (docs/command-bus.md), audited alike as the supervisor who asked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.acd import RemoteAcd, ReserveStep
from hotline.api.deps import ServicesDep, Steering
from hotline.api.errors import ApiError
from hotline.api.routes.centre import ERRORS
from hotline.api.services import Services
from hotline.centre import reserve as service
from hotline.centre import reserve_queries
from hotline.core import ids
from hotline.realtime.live import RESERVE
from hotline.realtime.reserve import ReserveRule

router = APIRouter(prefix="/api/reserve", tags=["emergency reserve"])
Queue = Annotated[ids.QueueName, Path(examples=["billing"])]


class RuleIn(BaseModel):
    """A queue's reserve: `team`'s agents get the queue's skills once its service level has
    stayed under target `after_min` minutes; taken back once it has stayed at or over target +
    `margin` `recover_min` minutes (the same as after_min when left out). `auto`: the
    platform applies and takes back itself; else the supervisor page proposes it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"team": "reserve", "after_min": 10, "recover_min": 15, "margin": 0.05,
         "auto": False}]})
    team: ids.GroupId
    after_min: Annotated[float, Field(ge=1, le=240)]
    recover_min: Annotated[float, Field(ge=1, le=240)] | None = None
    margin: Annotated[float, Field(ge=0, le=0.5)] = 0.05
    auto: bool = False


class RuleOut(BaseModel):
    queue: str
    team: str
    after_min: float
    recover_min: float
    margin: float
    auto: bool


class ReserveOut(BaseModel):
    rules: list[RuleOut]
    #: per queue with a reserve proposed, dismissed or applied: its state (the live view's
    #: `reserve`: state, since, team, auto, by, agents, level, target, recovered)
    state: dict[str, dict[str, Any]]


def _rule_out(r: ReserveRule) -> RuleOut:
    return RuleOut(queue=r.queue, team=r.team, after_min=r.after_s / 60,
                   recover_min=r.recover_s / 60, margin=r.margin, auto=r.auto)


def _pool(services: Services) -> Any:
    if services.db_pool is None:
        raise ApiError(503, "no-database", "the emergency reserve needs the database")
    return services.db_pool


async def _step(services: Services, step: ReserveStep, queue: str, who: str) -> Any:
    """The step on this process's ReserveService, else over the bus (503
    `controller-unavailable` when there is neither, or no controller answers)."""
    reserve: service.ReserveService | None = services.reserve
    if reserve is not None:
        if step == "apply":
            return await reserve.apply(queue, who)
        if step == "dismiss":
            return await reserve.dismiss(queue, who)
        return await reserve.take_back(queue, who)
    if services.remote is not None:
        remote: RemoteAcd = services.remote
        return await remote.reserve(step, queue, who)
    raise ApiError(503, "controller-unavailable",
                   "the emergency reserve's steps run in the controller's process")


def _state(services: Services) -> dict[str, dict[str, Any]]:
    if services.reserve is not None:
        return services.reserve.view()  # type: ignore[no-any-return]
    view = services.mirror.view() if services.mirror is not None else services.live.view()
    return {q: e for q, e in (view.get(RESERVE) or {}).items() if e}


@router.get("", responses=ERRORS)
async def reserve_list(_: Steering, services: ServicesDep) -> ReserveOut:
    """Every queue's reserve rule, and the reserves proposed, dismissed or applied now."""
    async with _pool(services).acquire() as conn:
        rules = await reserve_queries.rules(conn)
    return ReserveOut(rules=[_rule_out(r) for r in rules], state=_state(services))


@router.put("/rules/{queue}", responses=ERRORS)
async def reserve_rule_put(queue: Queue, body: RuleIn, user: Steering,
                           services: ServicesDep) -> RuleOut:
    """Sets the queue's rule (audited `reserve.rule_set`); 404 for an unknown queue or team."""
    rule = ReserveRule(queue, body.team, body.after_min * 60,
                       (body.recover_min or body.after_min) * 60, body.margin, body.auto)
    await service.put_rule(_pool(services), user.username, rule)
    return _rule_out(rule)


@router.post("/{queue}/apply", responses=ERRORS)
async def reserve_apply(queue: Queue, user: Steering, services: ServicesDep) -> dict[str, Any]:
    """The reserve team's agents get the queue's skills now (proposed or not); each skill edit
    and the step are audited as this supervisor. 409 when applied already."""
    return dict(await _step(services, "apply", queue, user.username))


@router.post("/{queue}/dismiss", responses=ERRORS)
async def reserve_dismiss(queue: Queue, user: Steering,
                          services: ServicesDep) -> dict[str, Any]:
    """Declines the proposal: not proposed again until the level has recovered."""
    return dict(await _step(services, "dismiss", queue, user.username))


@router.post("/{queue}/take-back", status_code=204, responses=ERRORS)
async def reserve_take_back(queue: Queue, user: Steering, services: ServicesDep) -> None:
    """The reserve agents' skills back to what they were before it."""
    await _step(services, "take_back", queue, user.username)


@router.delete("/rules/{queue}", status_code=204, responses=ERRORS)
async def reserve_rule_delete(queue: Queue, user: Steering, services: ServicesDep) -> None:
    """Deletes the queue's rule (audited); 409 `reserve-applied` while its reserve is applied."""
    await service.delete_rule(_pool(services), user.username, queue)
