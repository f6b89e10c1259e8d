"""Workforce planning for planners: a day's forecast per 15-minute interval with the agents it
needs, the forecast's accuracy per past day, and the event days (holidays, heat waves,
typhoons) that scale a day's forecast. Method: docs/planning.md, "Forecast"."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from hotline.api.deps import Planner, ServicesDep, SettingsDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import (
    FIRST_DAY,
    LAST_DAY,
    MAX_ACCURACY_DAYS,
    MAX_WHAT_IF_AGENTS,
    MAX_WHAT_IF_CALLS,
)
from hotline.api.routes.history import ID_PATTERN
from hotline.api.routes.history import store as history_store
from hotline.api.services import Services
from hotline.api.workers import WORKER, WorkerBusy, WorkerFailed
from hotline.planning import queries
from hotline.planning.forecast import EVENT_KINDS, INTERVAL_S, EventDay
from hotline.planning.model import patience_estimate
from hotline.planning.required import IntervalNeed, required_agents
from hotline.planning.service import (
    DEFAULT_WEEKS,
    Forecasted,
    NoHistory,
    accuracy_days,
    day_forecast,
)
from hotline.planning.whatif import (
    StaffingChange,
    WhatIf,
    day_aht,
    on_floor,
    run_what_if,
    variant_scheduled,
)
from hotline.realtime.figures import QueueFigures
from hotline.realtime.targets import QueueTargets

router = APIRouter(prefix="/api/planning", tags=["planning"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
    404: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}
MAX_WEEKS = 52

Queue = Annotated[str, Query(min_length=1, max_length=128, pattern=ID_PATTERN,
                             description="a queue's name, or * for all queues together")]
Weeks = Annotated[int, Query(ge=1, le=MAX_WEEKS, description="weeks of history the forecast "
                                                             "learns from")]
Day = Annotated[date, Query(description="the centre's local date", examples=["2026-07-06"])]


class EventDayIn(BaseModel):
    queue: str = Field("", max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$",
                       description="'' for every queue")
    kind: Literal[EVENT_KINDS]  # type: ignore[valid-type]
    factor: float = Field(ge=0, le=100, description="the day's calls / a normal day's")
    note: str = Field("", max_length=500, pattern=r"^[^\x00]*$")  # PostgreSQL holds no NUL


class EventDayOut(BaseModel):
    day: date
    queue: str
    kind: str
    factor: float
    note: str


def event_out(e: EventDay) -> EventDayOut:
    return EventDayOut(day=e.day, queue=e.queue, kind=e.kind, factor=e.factor, note=e.note)


class IntervalOut(BaseModel):
    start: float  # epoch seconds
    time: str  # local HH:MM
    calls: float
    aht_s: float | None
    agents: int  # required on the phones
    scheduled: int  # with shrinkage
    service_level: float | None
    asa_s: float | None
    occupancy: float | None
    p_abandon: float | None


class ForecastOut(BaseModel):
    queue: str
    day: date
    weekday: int  # Monday 0
    weeks: int
    history_days: int  # normal days the forecast learnt from
    trend_per_day: float  # calls a day, per day
    total_calls: float
    event: EventDayOut | None
    sl_target: float
    sl_seconds: float
    patience_s: float | None  # None: nobody hung up in the history (Erlang C)
    shrinkage: float
    intervals: list[IntervalOut]


def check_days(**days: date) -> None:
    """422 for a day outside FIRST_DAY..LAST_DAY."""
    for name, d in days.items():
        if not FIRST_DAY <= d <= LAST_DAY:
            raise ApiError(422, "invalid-request", "the request is not valid", {"errors": [
                {"loc": ["query", name], "msg": f"must be within {FIRST_DAY}..{LAST_DAY}",
                 "type": "value_error"}]})


def no_history(exc: NoHistory) -> ApiError:
    return ApiError(404, "forecast-no-history", str(exc))


Shrinkage = Annotated[float, Query(ge=0, le=0.9)]
SlTarget = Annotated[float | None, Query(gt=0, lt=1, description="default: the queue's")]
SlSeconds = Annotated[float | None, Query(gt=0, le=3600)]
Erlang = Annotated[Literal["a", "c"], Query(description="a: callers hang up after the "
                                            "patience measured in the history")]


@dataclass(frozen=True, slots=True)
class Sized:
    """A day's forecast and the agents each interval needs."""

    forecasted: Forecasted
    needs: list[IntervalNeed]
    sl_target: float
    sl_seconds: float
    patience_s: float  # the measured one, inf when nobody hung up
    midnight: float  # the day's local midnight, epoch seconds


async def sized(services: Services, offset: int, queue: str, day: date, weeks: int,
                shrinkage: float, sl_target: float | None, sl_seconds: float | None,
                erlang: str) -> Sized:
    """Raises ApiError 404 forecast-no-history."""
    check_days(day=day)
    async with history_store(services) as conn:
        try:
            f = await day_forecast(conn, queue, day, offset, weeks)
        except NoHistory as exc:
            raise no_history(exc) from None
        target = await queries.queue_target(conn, queue)
        w = await queries.waits(conn, queue, day - timedelta(weeks=weeks), day, offset)
    default = QueueTargets()
    sl = sl_target if sl_target is not None else (target[0] if target else default.sl_target)
    secs = sl_seconds if sl_seconds is not None else (target[1] if target
                                                      else default.sl_seconds)
    patience = patience_estimate(w.wait_answered_s, w.wait_abandoned_s, w.abandoned)
    # Erlang A per interval is CPU work: off the event loop, which also routes calls
    needs = await asyncio.to_thread(required_agents, f.forecast, sl, secs,
                                    patience if erlang == "a" else math.inf, shrinkage)
    return Sized(f, needs, sl, secs, patience, queries.day_start(day, offset))


def hhmm(slot: int) -> str:
    """An interval's local start; the simulator's intervals past midnight read 24:00, ..."""
    return f"{slot * INTERVAL_S // 3600:02d}:{slot * INTERVAL_S % 3600 // 60:02d}"


@router.get("/forecast", responses=ERRORS)
async def forecast(
    _: Planner, services: ServicesDep, settings: SettingsDep, queue: Queue, day: Day,
    weeks: Weeks = DEFAULT_WEEKS, shrinkage: Shrinkage = 0.0, sl_target: SlTarget = None,
    sl_seconds: SlSeconds = None, erlang: Erlang = "a",
) -> ForecastOut:
    """`day`'s calls and AHT per 15-minute interval and the agents each needs."""
    z = await sized(services, settings.utc_offset_s, queue, day, weeks, shrinkage, sl_target,
                    sl_seconds, erlang)
    f = z.forecasted
    intervals = []
    for n in z.needs:
        s = n.staffing
        intervals.append(IntervalOut(
            start=z.midnight + n.slot * INTERVAL_S, time=hhmm(n.slot),
            calls=round(n.calls, 3), aht_s=None if n.aht_s is None else round(n.aht_s, 3),
            agents=s.agents if s else 0, scheduled=n.scheduled,
            service_level=None if s is None else round(s.service_level, 4),
            asa_s=None if s is None else round(s.asa_s, 3),
            occupancy=None if s is None else round(s.occupancy, 4),
            p_abandon=None if s is None else round(s.p_abandon, 4)))
    return ForecastOut(
        queue=queue, day=day, weekday=day.weekday(), weeks=weeks,
        history_days=f.history_days, trend_per_day=round(f.model.slope, 4),
        total_calls=round(f.forecast.total, 3),
        event=None if f.event is None else event_out(f.event),
        sl_target=z.sl_target, sl_seconds=z.sl_seconds,
        patience_s=None if math.isinf(z.patience_s) else round(z.patience_s, 3),
        shrinkage=shrinkage, intervals=intervals)


class DayAccuracyOut(BaseModel):
    day: date
    forecast: float | None  # None: no interval row that day, or no history before it
    actual: float | None
    wape: float | None
    mape: float | None
    observed_factor: float | None  # actual / the normal day's forecast
    event: EventDayOut | None


class AccuracyOut(BaseModel):
    queue: str
    weeks: int
    wape: float | None  # over every day with a forecast and calls
    days: list[DayAccuracyOut]


@router.get("/accuracy", responses=ERRORS)
async def accuracy(
    _: Planner, services: ServicesDep, settings: SettingsDep, queue: Queue,
    since: Annotated[date, Query(description="first day")],
    until: Annotated[date, Query(description="the day after the last")],
    weeks: Weeks = DEFAULT_WEEKS,
) -> AccuracyOut:
    """Each day of [since, until) forecast as on its eve, against its interval rows."""
    check_days(since=since, until=until)
    if (until - since).days > MAX_ACCURACY_DAYS:
        raise ApiError(422, "span-too-long", f"at most {MAX_ACCURACY_DAYS} days",
                       {"max_days": MAX_ACCURACY_DAYS})
    async with history_store(services) as conn:
        days = await accuracy_days(conn, queue, since, until, settings.utc_offset_s, weeks)
    out, err, actual = [], 0.0, 0.0
    for d in days:
        a = d.accuracy
        if a is not None and a.wape is not None:
            err += a.wape * a.actual
            actual += a.actual
        out.append(DayAccuracyOut(
            day=d.day, forecast=None if a is None else round(a.forecast, 3),
            actual=None if a is None else a.actual,
            wape=None if a is None or a.wape is None else round(a.wape, 4),
            mape=None if a is None or a.mape is None else round(a.mape, 4),
            observed_factor=None if d.observed_factor is None else round(d.observed_factor, 4),
            event=None if d.event is None else event_out(d.event)))
    return AccuracyOut(queue=queue, weeks=weeks,
                       wape=round(err / actual, 4) if actual > 0 else None, days=out)


@router.get("/event-days", responses=ERRORS)
async def event_days(
    _: Planner, services: ServicesDep,
    since: Annotated[date, Query()], until: Annotated[date, Query()],
    queue: Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$",
                                       description="this queue's and all queues' only")] = None,
) -> list[EventDayOut]:
    """Event days in [since, until), by day."""
    check_days(since=since, until=until)
    if (until - since).days > 366:
        raise ApiError(422, "span-too-long", "at most 366 days", {"max_days": 366})
    async with history_store(services) as conn:
        rows = await queries.event_days(conn, since, until, queue)
    return [event_out(e) for e in rows.values()]


@router.put("/event-days/{day}", status_code=200,
            responses={**ERRORS, 201: {"model": EventDayOut, "description": "a new event day"}})
async def set_event_day(user: Planner, services: ServicesDep, response: Response,
                        day: Annotated[date, Path()], body: EventDayIn) -> EventDayOut:
    """Sets the day's factor for one queue ('' for all); 201 when new, 200 when replaced.
    Audited ("forecast.event_day.set")."""
    check_days(day=day)
    event = EventDay(day, body.queue, body.kind, body.factor, body.note)
    async with history_store(services) as conn:
        new = await queries.set_event_day(conn, event, user.username, services.clock())
    response.status_code = 201 if new else 200
    return event_out(event)


@router.delete("/event-days/{day}", status_code=204, responses=ERRORS)
async def delete_event_day(
    user: Planner, services: ServicesDep, day: Annotated[date, Path()],
    queue: Annotated[str, Query(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")] = "",
) -> Response:
    """Removes the day's event for `queue` ('' for all). Audited."""
    async with history_store(services) as conn:
        gone = await queries.delete_event_day(conn, day, queue, user.username,
                                              services.clock())
    if not gone:
        raise ApiError(404, "event-day-not-found", f"no event day {day} for queue {queue!r}")
    return Response(status_code=204)


class StaffingChangeIn(BaseModel):
    agents_delta: int = Field(0, ge=-MAX_WHAT_IF_AGENTS, le=MAX_WHAT_IF_AGENTS,
                              description="agents added (or removed) in every staffed interval")
    agents_percent: float = Field(0.0, ge=-100, le=500,
                                  description="% of the baseline's scheduled agents, first")
    shrinkage: float | None = Field(None, ge=0, le=0.9, description="the variant's; "
                                    "default: the baseline's")


class WhatIfIn(BaseModel):
    queue: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN,
                       description="a queue's name, or * for all queues as one pool")
    day: date
    weeks: int = Field(DEFAULT_WEEKS, ge=1, le=MAX_WEEKS)
    shrinkage: float = Field(0.0, ge=0, le=0.9, description="the baseline's")
    sl_target: float | None = Field(None, gt=0, lt=1)
    sl_seconds: float | None = Field(None, gt=0, le=3600)
    erlang: Literal["a", "c"] = "a"
    change: StaffingChangeIn = StaffingChangeIn()
    seed: int = Field(1, ge=0, le=2**31 - 1, description="the same seed draws the same calls")


class SideOut(BaseModel):
    """One run's figures over the day (docs/metrics.md)."""

    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None
    occupancy: float | None


class IntervalSideOut(BaseModel):
    """One run's figures in one interval; occupancy is the floor's (all its agents)."""

    agents: int  # on the floor
    abandoned: int
    service_level: float | None
    asa_s: float | None
    occupancy: float | None


class WhatIfIntervalOut(BaseModel):
    start: float
    time: str
    calls: float  # the forecast's
    offered: int  # drawn (the same for both runs)
    baseline: IntervalSideOut
    variant: IntervalSideOut


class WhatIfOut(BaseModel):
    queue: str
    day: date
    seed: int
    calls: int  # drawn from the forecast (the same calls for both runs)
    aht_s: float
    patience_s: float | None
    sl_target: float
    sl_seconds: float
    baseline: SideOut
    variant: SideOut
    intervals: list[WhatIfIntervalOut]  # those with calls or agents in either run


def r4(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def side(fig: QueueFigures | None, occupancy: float | None) -> SideOut:
    if fig is None:
        return SideOut(offered=0, answered=0, abandoned=0, service_level=None, asa_s=None,
                       abandon_rate=None, occupancy=r4(occupancy))
    return SideOut(offered=fig.offered, answered=fig.answered,
                   abandoned=fig.abandoned, service_level=r4(fig.service_level),
                   asa_s=r4(fig.asa), abandon_rate=r4(fig.abandon_rate),
                   occupancy=r4(occupancy))


@router.post("/what-if", responses={**ERRORS, 429: {"model": ErrorResponse}})
async def what_if(_: Planner, services: ServicesDep, settings: SettingsDep,
                  body: WhatIfIn) -> WhatIfOut:
    """The forecast day run through the simulator (the real router and metrics) twice on the
    same drawn calls: with the agents the forecast needs (after the baseline's shrinkage) and
    with the staffing change; service level, ASA, abandons and occupancy per interval side by
    side. Bounded (api/limits.py): 422 `what-if-too-large`; one at a time per API process, in
    a worker process: 429 `what-if-busy`. docs/planning.md, "What-if on the page"."""
    z = await sized(services, settings.utc_offset_s, body.queue, body.day, body.weeks,
                    body.shrinkage, body.sl_target, body.sl_seconds, body.erlang)
    calls = [n.calls for n in z.needs]
    aht = day_aht(calls, [n.aht_s for n in z.needs])
    if aht is None:
        raise ApiError(404, "forecast-no-history", "no handled call in the history to take "
                       "the handle time from")
    c = body.change
    w = WhatIf(calls=calls, aht_s=aht,
               patience_s=z.patience_s if body.erlang == "a" else math.inf,
               scheduled=[n.scheduled for n in z.needs], shrinkage=body.shrinkage,
               change=StaffingChange(c.agents_delta, c.agents_percent, c.shrinkage),
               sl_target=z.sl_target, sl_seconds=z.sl_seconds, seed=body.seed)
    var_shrink = body.shrinkage if c.shrinkage is None else c.shrinkage
    peak = max(max((on_floor(s, body.shrinkage) for s in w.scheduled), default=0),
               max((on_floor(s, var_shrink) for s in variant_scheduled(w.scheduled, w.change)),
                   default=0))
    if sum(calls) > MAX_WHAT_IF_CALLS or peak > MAX_WHAT_IF_AGENTS:
        raise ApiError(422, "what-if-too-large",
                       f"at most {MAX_WHAT_IF_CALLS} calls and {MAX_WHAT_IF_AGENTS} agents",
                       {"calls": round(sum(calls), 1), "agents": peak,
                        "max_calls": MAX_WHAT_IF_CALLS, "max_agents": MAX_WHAT_IF_AGENTS})
    try:
        res = await WORKER.run(run_what_if, w)
    except WorkerBusy:
        raise ApiError(429, "what-if-busy", "another what-if is running; try again shortly",
                       headers={"Retry-After": "5"}) from None
    except WorkerFailed:
        raise ApiError(503, "what-if-failed", "the simulation's worker process died") from None
    intervals = []
    for r in res.rows:
        i = r["slot"]
        a, va = r["agents"], r["variant_agents"]
        if not (r["calls"] or r["offered"] or a or va):
            continue
        b = IntervalSideOut(agents=a, abandoned=r["abandoned"],
                            service_level=r4(r["service_level"]), asa_s=r4(r["asa"]),
                            occupancy=r4(r["occupancy"]))
        v = IntervalSideOut(agents=va, abandoned=r["variant_abandoned"],
                            service_level=r4(r["variant_service_level"]),
                            asa_s=r4(r["variant_asa"]), occupancy=r4(r["variant_occupancy"]))
        intervals.append(WhatIfIntervalOut(
            start=z.midnight + i * INTERVAL_S, time=hhmm(i), calls=round(r["calls"], 3),
            offered=r["offered"], baseline=b, variant=v))
    return WhatIfOut(
        queue=body.queue, day=body.day, seed=body.seed, calls=res.calls, aht_s=round(aht, 3),
        patience_s=None if math.isinf(w.patience_s) else round(w.patience_s, 3),
        sl_target=z.sl_target, sl_seconds=z.sl_seconds,
        baseline=side(res.totals[0], res.occupancy[0]),
        variant=side(res.totals[1], res.occupancy[1]), intervals=intervals)


__all__ = ["router"]
