"""Workforce planning for planners: a day's forecast per 15-minute interval with the agents it
needs, the forecast's accuracy per past day, and the event days (holidays, heat waves,
typhoons) that scale a day's forecast. Method: docs/planning.md, "Forecast"."""

from __future__ import annotations

import asyncio
import math
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from hotline.api.deps import Planner, ServicesDep, SettingsDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import FIRST_DAY, LAST_DAY, MAX_ACCURACY_DAYS
from hotline.api.routes.history import ID_PATTERN
from hotline.api.routes.history import store as history_store
from hotline.planning import queries
from hotline.planning.forecast import EVENT_KINDS, INTERVAL_S, EventDay
from hotline.planning.model import patience_estimate
from hotline.planning.required import required_agents
from hotline.planning.service import DEFAULT_WEEKS, NoHistory, accuracy_days, day_forecast
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


@router.get("/forecast", responses=ERRORS)
async def forecast(
    _: Planner, services: ServicesDep, settings: SettingsDep, queue: Queue, day: Day,
    weeks: Weeks = DEFAULT_WEEKS,
    shrinkage: Annotated[float, Query(ge=0, le=0.9)] = 0.0,
    sl_target: Annotated[float | None, Query(gt=0, lt=1, description="default: the "
                                             "queue's")] = None,
    sl_seconds: Annotated[float | None, Query(gt=0, le=3600)] = None,
    erlang: Annotated[Literal["a", "c"], Query(description="a: callers hang up after the "
                                               "patience measured in the history")] = "a",
) -> ForecastOut:
    """`day`'s calls and AHT per 15-minute interval and the agents each needs."""
    check_days(day=day)
    offset = settings.utc_offset_s
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
    midnight = queries.day_start(day, offset)
    intervals = []
    for n in needs:
        s = n.staffing
        start = midnight + n.slot * INTERVAL_S
        intervals.append(IntervalOut(
            start=start,
            time=f"{n.slot * INTERVAL_S // 3600:02d}:{n.slot * INTERVAL_S % 3600 // 60:02d}",
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
        sl_target=sl, sl_seconds=secs,
        patience_s=None if math.isinf(patience) else round(patience, 3),
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


__all__ = ["router"]
