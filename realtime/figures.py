"""The figures handed out: plain frozen dataclasses built from a kernel counter row.

Every ratio is None when its denominator is 0 (no calls: service_level, asa, abandon_rate,
aht, the averages, occupancy and utilisation are all None); counts and totals are then 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hotline.core_ext import metrics_py as k


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Figures of one queue (or all queues, or one service type) in one scope.

    abandoned counts every abandon; short_abandoned is the subset with wait <= the threshold.
    lost_node_failure: waiting callers the node dropped (its Asterisk stopped or crashed):
    neither abandoned nor in the service level, and out of the abandon rate's offered.
    service_level = answered_within_t / (answered + abandoned - short_abandoned);
    abandon_rate = abandoned / (offered - lost_node_failure); asa = wait_answered_s / answered;
    aht = (talk_s + hold_s + acw_s) / handled.
    """

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    callbacks: int
    failsafe: int
    lost_node_failure: int
    missed_rings: int
    answered_within_t: int
    service_level: float | None
    sl_target: float | None
    sl_seconds: float | None
    asa: float | None
    abandon_rate: float | None
    waiting_now: int
    longest_wait_s: float
    handled: int
    aht: float | None
    avg_talk: float | None
    avg_hold: float | None
    avg_acw: float | None
    wait_answered_s: float
    wait_abandoned_s: float
    talk_s: float
    hold_s: float
    acw_s: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def service_level(answered_within_t: float, answered: float, abandoned: float,
                  short_abandoned: float) -> float | None:
    """The service level (docs/metrics.md, "Queue figures"): short abandons are left out."""
    return ratio(answered_within_t, answered + abandoned - short_abandoned)


def queue_figures(
    row: Sequence[float],
    waiting_now: int,
    longest_wait_s: float,
    sl_target: float | None,
    sl_seconds: float | None,
) -> QueueFigures:
    answered = row[k.ANSWERED]
    abandoned = row[k.ABANDONED]
    handled = row[k.HANDLED]
    talk, hold, acw = row[k.TALK], row[k.HOLD], row[k.ACW]
    return QueueFigures(
        offered=round(row[k.OFFERED]),
        answered=round(answered),
        abandoned=round(abandoned),
        short_abandoned=round(row[k.SHORT_ABANDONED]),
        overflowed=round(row[k.OVERFLOWED]),
        callbacks=round(row[k.CALLBACKS]),
        failsafe=round(row[k.FAILSAFE]),
        lost_node_failure=round(row[k.LOST_NODE_FAILURE]),
        missed_rings=round(row[k.MISSED_RINGS]),
        answered_within_t=round(row[k.ANSWERED_WITHIN_T]),
        service_level=service_level(
            row[k.ANSWERED_WITHIN_T], answered, abandoned, row[k.SHORT_ABANDONED]
        ),
        sl_target=sl_target,
        sl_seconds=sl_seconds,
        asa=ratio(row[k.WAIT_ANSWERED], answered),
        abandon_rate=ratio(abandoned, row[k.OFFERED] - row[k.LOST_NODE_FAILURE]),
        waiting_now=waiting_now,
        longest_wait_s=longest_wait_s,
        handled=round(handled),
        aht=ratio(talk + hold + acw, handled),
        avg_talk=ratio(talk, handled),
        avg_hold=ratio(hold, handled),
        avg_acw=ratio(acw, handled),
        wait_answered_s=row[k.WAIT_ANSWERED],
        wait_abandoned_s=row[k.WAIT_ABANDONED],
        talk_s=talk,
        hold_s=hold,
        acw_s=acw,
    )


#: QueueFigures' field for each field of a kernel counter row (metrics_py.FIELD_NAMES).
_ROW_FIELDS = tuple(
    {"wait_answered": "wait_answered_s", "wait_abandoned": "wait_abandoned_s", "talk": "talk_s",
     "hold": "hold_s", "acw": "acw_s"}.get(name, name)
    for name in k.FIELD_NAMES
)


def counter_row(figures: QueueFigures) -> list[float]:
    """The kernel counter row behind `figures` (the inverse of queue_figures' counts)."""
    return [float(getattr(figures, name)) for name in _ROW_FIELDS]


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """One agent in one scope. talk/hold/acw follow the call attribution rule (counted when
    the handling ended); the state times are clock time within the scope.
    occupancy = (talk + hold + acw) / (talk + hold + acw + ready_idle_s);
    utilisation = (talk + hold + acw) / logged_in_s."""

    agent_id: str
    state: str
    reason: str
    answered: int
    handled: int
    missed_rings: int
    talk_s: float
    hold_s: float
    acw_s: float
    time_in_state: dict[str, float]
    not_ready_by_reason: dict[str, float]
    ready_idle_s: float
    logged_in_s: float
    occupancy: float | None
    utilisation: float | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class ClosedInterval:
    """A finished interval of one queue (queue None: all queues), ready to be stored.
    waiting_now / longest_wait_s are as of `end`."""

    queue: str | None
    start: float
    end: float
    figures: QueueFigures

    def as_row(self) -> dict[str, Any]:
        return {"queue": self.queue, "start": self.start, "end": self.end, **self.figures.as_dict()}
