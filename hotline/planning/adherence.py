"""Schedule adherence and conformance of an agent's day: its states (agent_state_log, the live
feed) against its published shift. Definitions: docs/planning.md, "Adherence". Pure."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from hotline.planning.shifts import Shift

#: The states in which an agent is on the phones (available or handling a call).
ON_PHONE = frozenset({"ready", "reserved", "ringing", "on_call", "after_call_work"})


@dataclass(frozen=True, slots=True)
class Segment:
    """An agent's state over [start, end), epoch seconds."""

    start: float
    end: float
    state: str


@dataclass(frozen=True, slots=True)
class Adherence:
    scheduled_s: float  # the shift's time up to `until` (work, breaks and lunch)
    in_adherence_s: float  # of which in the scheduled activity
    scheduled_work_s: float  # the shift's work (on the phones) up to `until`
    on_phone_s: float  # on the phones in the day up to `until`, when scheduled or not
    adherence: float | None  # in_adherence_s / scheduled_s; None before the shift starts
    conformance: float | None  # on_phone_s / scheduled_work_s


def fits(activity: str, state: str) -> bool:
    """Is an agent in `state` doing its scheduled `activity`? On the phones when at work, off
    them on a break or at lunch; outside a shift anything fits."""
    if activity == "work":
        return state in ON_PHONE
    if activity in ("break", "lunch"):
        return state not in ON_PHONE
    return True


def day_adherence(shift: Shift | None, segments: Sequence[Segment], midnight: float,
                  until: float) -> Adherence:
    """The figures of the day starting at `midnight` (epoch seconds of its local midnight),
    counted up to `until` (the day's end, or now). Time without a segment is logged out."""
    end_of_day = min(until, midnight + 86_400.0)
    cuts = {midnight, end_of_day}
    if shift is not None:
        cuts |= {midnight + 60.0 * m for m in (shift.start_min, shift.end_min)}
        for b in shift.breaks:
            cuts |= {midnight + 60.0 * b.start_min, midnight + 60.0 * b.end_min}
    for s in segments:
        cuts |= {s.start, s.end}
    points = sorted(c for c in cuts if midnight <= c <= end_of_day)
    ordered = sorted(segments, key=lambda s: s.start)
    scheduled = in_adh = work = on_phone = 0.0
    for a, b in itertools.pairwise(points):
        if b <= a:
            continue
        mid = (a + b) / 2
        state = "logged_out"
        for s in ordered:  # the last segment started before mid (a later one overrides)
            if s.start <= mid < s.end:
                state = s.state
        activity = "off" if shift is None else shift.activity_at((mid - midnight) / 60.0)
        span = b - a
        if state in ON_PHONE:
            on_phone += span
        if activity != "off":
            scheduled += span
            if fits(activity, state):
                in_adh += span
        if activity == "work":
            work += span
    return Adherence(scheduled, in_adh, work, on_phone,
                     in_adh / scheduled if scheduled > 0 else None,
                     on_phone / work if work > 0 else None)


__all__ = ["ON_PHONE", "Adherence", "Segment", "day_adherence", "fits"]
