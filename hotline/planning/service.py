"""The forecast as the planner asks for it: a day's forecast from the `weeks` weeks of history
before it, and the accuracy of each past day against what happened (each day forecast as it
would have been on its eve: from the history before it only)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from hotline.planning import queries
from hotline.planning.forecast import (
    Accuracy,
    DayForecast,
    DayHistory,
    EventDay,
    Model,
    accuracy,
    event_factor,
    fit,
    forecast,
)

DEFAULT_WEEKS = 8


class NoHistory(Exception):
    """No normal day of the queue in the history window."""


@dataclass(frozen=True, slots=True)
class Forecasted:
    forecast: DayForecast
    model: Model
    event: EventDay | None
    history_days: int


def _forecast(days: list[DayHistory], events: dict[tuple[date, str], EventDay], queue: str,
              day: date) -> Forecasted:
    event_dates = {d for d, q in events if q in ("", queue)}  # left out of the fit
    try:
        model = fit(days, event_dates)
    except ValueError:
        raise NoHistory(f"no normal day of queue {queue!r} before {day}") from None
    event = event_factor(events, day, queue)
    fc = forecast(model, day, event.factor if event is not None else 1.0)
    return Forecasted(fc, model, event, model.days)


async def day_forecast(conn: asyncpg.Connection, queue: str, day: date, utc_offset_s: int,
                       weeks: int = DEFAULT_WEEKS) -> Forecasted:
    """`day`'s forecast from the `weeks` weeks before it. Raises NoHistory."""
    first = day - timedelta(weeks=weeks)
    days = await queries.history(conn, queue, first, day, utc_offset_s)
    events = await queries.event_days(conn, first, day + timedelta(days=1), queue)
    return await asyncio.to_thread(_forecast, days, events, queue, day)


@dataclass(frozen=True, slots=True)
class DayAccuracy:
    day: date
    accuracy: Accuracy | None  # None: no interval row that day, or no history before it
    event: EventDay | None
    #: actual / the normal day's forecast: what the day's event factor would have had to be
    observed_factor: float | None


async def accuracy_days(conn: asyncpg.Connection, queue: str, first: date, end: date,
                        utc_offset_s: int, weeks: int = DEFAULT_WEEKS) -> list[DayAccuracy]:
    """Each day in [first, end): its eve's forecast against its interval rows. The fits run
    in a worker thread: the API shares its event loop with the routing of calls."""
    start = first - timedelta(weeks=weeks)
    days = await queries.history(conn, queue, start, end, utc_offset_s)
    events = await queries.event_days(conn, start, end, queue)
    return await asyncio.to_thread(_accuracy_days, days, events, queue, first, end, weeks)


def _accuracy_days(days: list[DayHistory], events: dict[tuple[date, str], EventDay],
                   queue: str, first: date, end: date, weeks: int) -> list[DayAccuracy]:
    by_day = {h.day: h for h in days}
    out: list[DayAccuracy] = []
    day = first
    while day < end:
        actual = by_day.get(day)
        event = event_factor(events, day, queue)
        result = observed = None
        if actual is not None:
            window = [h for h in days if day - timedelta(weeks=weeks) <= h.day < day]
            try:
                f = _forecast(window, events, queue, day)
            except NoHistory:
                f = None
            if f is not None:
                result = accuracy(f.forecast.calls, actual.calls)
                normal = f.model.total(day)
                observed = result.actual / normal if normal > 0 else None
        out.append(DayAccuracy(day, result, event, observed))
        day += timedelta(days=1)
    return out


__all__ = ["DEFAULT_WEEKS", "DayAccuracy", "Forecasted", "NoHistory", "accuracy_days",
           "day_forecast"]
