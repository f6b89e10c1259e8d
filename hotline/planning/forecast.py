"""The forecast: calls and AHT per 15-minute interval of a day, from the interval history.
Pure (numpy only): the history comes in as `DayHistory` rows (hotline/planning/queries.py
reads them from `interval_stats`). Method and formulas: docs/planning.md, "Forecast".

- the day's total: least squares over the history's normal days of
  total_d = level[weekday(d)] + slope * t_d (a level per weekday, one linear trend);
- its spread over the day: the weekday's intraday profile, pooled over the history
  (share of interval i = calls in i / calls of the day, summed over that weekday's days);
- AHT per interval: handling seconds over handled calls at that weekday and interval, with
  fallbacks to the weekday's and the whole history's AHT where no call was handled;
- event days (holidays, heat waves, typhoons): left out of the fit, and forecast as the
  normal day times their factor.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

INTERVAL_S = 900
SLOTS = 86_400 // INTERVAL_S  # 96 intervals a day
#: kinds of event day a planner may set (docs/planning.md)
EVENT_KINDS = ("holiday", "heat_wave", "typhoon", "outage", "other")


@dataclass(frozen=True, slots=True)
class DayHistory:
    """One local day of one queue: per interval (SLOTS each) the offered calls, the handled
    calls and their handling seconds (talk + hold + after-call work)."""

    day: date
    calls: np.ndarray
    handled: np.ndarray
    handle_s: np.ndarray

    def __post_init__(self) -> None:
        for name in ("calls", "handled", "handle_s"):
            if np.shape(getattr(self, name)) != (SLOTS,):
                raise ValueError(f"{name} must hold {SLOTS} intervals")


@dataclass(frozen=True, slots=True)
class EventDay:
    """A special day: its forecast is the normal day's times `factor`. queue '' applies to
    every queue that has no row of its own for that day."""

    day: date
    queue: str
    kind: str
    factor: float
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"kind must be one of {EVENT_KINDS}")
        if not (math.isfinite(self.factor) and 0.0 <= self.factor <= 100.0):
            raise ValueError("factor must be within 0..100")


@dataclass(frozen=True, slots=True)
class Model:
    """What `fit` learnt. total(d) = level[weekday(d)] + slope * (d - origin).days."""

    origin: date
    level: np.ndarray  # (7,) calls a day per weekday (Monday 0) at the origin
    slope: float  # calls a day, per day
    profile: np.ndarray  # (7, SLOTS): shares of the day's calls, each row sums to 1
    aht_s: np.ndarray  # (7, SLOTS): NaN where the history handled no call at all
    days: int  # normal days the fit used

    def total(self, day: date) -> float:
        return max(0.0, float(self.level[day.weekday()] + self.slope * (day - self.origin).days))


@dataclass(frozen=True, slots=True)
class DayForecast:
    day: date
    factor: float  # the event day's factor, 1.0 on a normal day
    calls: np.ndarray  # (SLOTS,)
    aht_s: np.ndarray  # (SLOTS,), NaN when unknown

    @property
    def total(self) -> float:
        return float(self.calls.sum())


@dataclass(frozen=True, slots=True)
class Accuracy:
    """A day's forecast against what happened. wape = sum |a - f| / sum a (None when no call
    came); mape = mean over the intervals with calls of |a - f| / a (None when none had)."""

    forecast: float
    actual: float
    wape: float | None
    mape: float | None


def fit(history: Sequence[DayHistory], events: Collection[date] = (),
        trend: bool = True) -> Model:
    """Fits the model to `history`, leaving out the `events` days. Raises ValueError when no
    normal day is left."""
    days = sorted((h for h in history if h.day not in events), key=lambda h: h.day)
    if not days:
        raise ValueError("no normal day in the history")
    origin = days[-1].day
    calls = np.stack([h.calls for h in days]).astype(float)
    handled = np.stack([h.handled for h in days]).astype(float)
    handle_s = np.stack([h.handle_s for h in days]).astype(float)
    weekday = np.array([h.day.weekday() for h in days])
    t = np.array([(h.day - origin).days for h in days], dtype=float)
    totals = calls.sum(axis=1)
    level, slope = _levels(totals, weekday, t, trend)
    profile = np.empty((7, SLOTS))
    aht = np.empty((7, SLOTS))
    pooled = _shares(calls.sum(axis=0))
    all_aht = _ratio(handle_s.sum(), handled.sum())
    for w in range(7):
        mine = weekday == w
        by_slot = calls[mine].sum(axis=0)
        profile[w] = _shares(by_slot) if by_slot.sum() > 0 else pooled
        h, s = handled[mine].sum(axis=0), handle_s[mine].sum(axis=0)
        fallback = _ratio(s.sum(), h.sum())
        fallback = all_aht if math.isnan(fallback) else fallback
        with np.errstate(invalid="ignore", divide="ignore"):
            aht[w] = np.where(h > 0, s / np.where(h > 0, h, 1.0), fallback)
    return Model(origin, level, slope, profile, aht, len(days))


def _levels(totals: np.ndarray, weekday: np.ndarray, t: np.ndarray,
            trend: bool) -> tuple[np.ndarray, float]:
    """Least squares of total = level[weekday] + slope * t. Without the data to tell a trend
    from the weekdays (each weekday seen once) the slope is 0; a weekday never seen gets the
    mean level of the others."""
    seen = sorted(set(weekday.tolist()))
    columns = [(weekday == w).astype(float) for w in seen]
    use_trend = trend and len(totals) > len(seen)
    if use_trend:
        columns.append(t)
    x = np.column_stack(columns)
    coef, *_ = np.linalg.lstsq(x, totals, rcond=None)
    slope = float(coef[-1]) if use_trend else 0.0
    level = np.full(7, float(np.mean(coef[:len(seen)])))
    level[seen] = coef[:len(seen)]
    return level, slope


def _shares(counts: np.ndarray) -> np.ndarray:
    total = float(counts.sum())
    return counts / total if total > 0 else np.full(SLOTS, 1.0 / SLOTS)


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b > 0 else math.nan


def forecast(model: Model, day: date, factor: float = 1.0) -> DayForecast:
    """Calls and AHT per interval of `day` (an event day's `factor` scales the calls)."""
    w = day.weekday()
    calls = model.total(day) * factor * model.profile[w]
    return DayForecast(day, factor, calls, model.aht_s[w].copy())


def accuracy(predicted: np.ndarray, actual: np.ndarray) -> Accuracy:
    """WAPE and MAPE of one day (arrays per interval)."""
    f, a = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    err = np.abs(a - f)
    total = float(a.sum())
    positive = a > 0
    return Accuracy(
        forecast=float(f.sum()),
        actual=total,
        wape=float(err.sum()) / total if total > 0 else None,
        mape=float(np.mean(err[positive] / a[positive])) if positive.any() else None,
    )


def event_factor(events: dict[tuple[date, str], EventDay], day: date,
                 queue: str) -> EventDay | None:
    """The event row that applies to `queue` on `day`: its own, else the all-queues one."""
    return events.get((day, queue)) or events.get((day, ""))


__all__ = [
    "EVENT_KINDS",
    "INTERVAL_S",
    "SLOTS",
    "Accuracy",
    "DayForecast",
    "DayHistory",
    "EventDay",
    "Model",
    "accuracy",
    "event_factor",
    "fit",
    "forecast",
]
