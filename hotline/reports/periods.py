"""The calendar of reports: a day, a week (Monday to Monday) or a month in the centre's local
time (Settings.utc_offset_s), as epoch seconds [start, end); the period a schedule makes a
report of at a moment (the last one ended: docs/metrics.md, "Reports on schedule")."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _local(t: float, offset_s: int) -> datetime:
    return datetime.fromtimestamp(t + offset_s, UTC)


def _epoch(d: datetime, offset_s: int) -> float:
    return d.timestamp() - offset_s


def period_of(kind: Period, t: float, offset_s: int) -> tuple[float, float]:
    """The period of `kind` that holds the moment t."""
    d = _local(t, offset_s).replace(hour=0, minute=0, second=0, microsecond=0)
    if kind is Period.DAY:
        start, end = d, d + timedelta(days=1)
    elif kind is Period.WEEK:
        start = d - timedelta(days=d.weekday())
        end = start + timedelta(days=7)
    else:
        start = d.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return _epoch(start, offset_s), _epoch(end, offset_s)


def last_ended(kind: Period, now: float, offset_s: int) -> tuple[float, float]:
    """The latest period of `kind` over by `now` (a report of it is due at its end)."""
    start, _ = period_of(kind, now, offset_s)
    return period_of(kind, start - 1, offset_s)


def buckets(since: float, until: float, step_s: int, offset_s: int
            ) -> list[tuple[float, float]]:
    """[since, until) cut at every local day, hour or quarter (step_s 86400, 3600, 900 on
    the centre's clock): the buckets a report drills down to, the ends clipped to the
    period, so that they tile it."""
    out: list[tuple[float, float]] = []
    start = since
    while start < until:
        end = min(until, ((start + offset_s) // step_s + 1) * step_s - offset_s)
        out.append((start, end))
        start = end
    return out


def label(kind: Period, start: float, offset_s: int) -> str:
    """How a period is named in file names: 2026-07-01, 2026-W27, 2026-07."""
    d = _local(start, offset_s)
    if kind is Period.DAY:
        return d.strftime("%Y-%m-%d")
    if kind is Period.WEEK:
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return d.strftime("%Y-%m")


__all__ = ["Period", "buckets", "label", "last_ended", "period_of"]
