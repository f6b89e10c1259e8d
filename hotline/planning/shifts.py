"""Shifts with their breaks and lunch, the agents they put on the phones per 15-minute interval,
and the gap against the agents needed (docs/planning.md, "Plans"). Pure.

Times are minutes from the local midnight of the shift's day; a shift lies within its day
(00:00-24:00) and every time is a multiple of 15 minutes, so a shift covers whole intervals."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hotline.planning.forecast import INTERVAL_S, SLOTS

SLOT_MIN = INTERVAL_S // 60  # 15
DAY_MIN = 24 * 60
BREAK_KINDS = ("break", "lunch")
LUNCH_FROM_MIN = 6 * 60  # a shift this long or longer has a lunch (unpaid)


@dataclass(frozen=True, slots=True)
class Break:
    start_min: int
    length_min: int
    kind: str = "break"  # break (paid) or lunch (unpaid)

    @property
    def end_min(self) -> int:
        return self.start_min + self.length_min


@dataclass(frozen=True, slots=True)
class Shift:
    start_min: int
    end_min: int
    breaks: tuple[Break, ...] = ()

    @property
    def paid_min(self) -> int:
        """Minutes paid: the shift less its lunch (breaks are paid)."""
        return self.end_min - self.start_min - sum(
            b.length_min for b in self.breaks if b.kind == "lunch")

    def on_phone(self) -> list[int]:
        """1 for each interval of the day the agent is on the phones: in the shift, on no
        break nor lunch."""
        out = [0] * SLOTS
        for i in range(self.start_min // SLOT_MIN, self.end_min // SLOT_MIN):
            out[i] = 1
        for b in self.breaks:
            for i in range(b.start_min // SLOT_MIN, b.end_min // SLOT_MIN):
                out[i] = 0
        return out

    def activity_at(self, minute: float) -> str:
        """'work', 'break', 'lunch' or 'off' at `minute` of the day."""
        if not self.start_min <= minute < self.end_min:
            return "off"
        for b in self.breaks:
            if b.start_min <= minute < b.end_min:
                return b.kind
        return "work"


class InvalidShift(ValueError):
    pass


def check(shift: Shift) -> Shift:
    """Raises InvalidShift unless the shift lies in its day on 15-minute boundaries with its
    breaks inside it, not overlapping."""
    times = [shift.start_min, shift.end_min]
    for b in shift.breaks:
        times += [b.start_min, b.end_min]
        if b.kind not in BREAK_KINDS:
            raise InvalidShift(f"unknown break kind {b.kind!r}")
        if b.length_min <= 0 or b.start_min < shift.start_min or b.end_min > shift.end_min:
            raise InvalidShift("a break must lie inside its shift")
    if any(t % SLOT_MIN for t in times):
        raise InvalidShift(f"times must be multiples of {SLOT_MIN} minutes")
    if not 0 <= shift.start_min < shift.end_min <= DAY_MIN:
        raise InvalidShift("a shift lies within its day: 00:00 <= start < end <= 24:00")
    ordered = sorted(shift.breaks, key=lambda b: b.start_min)
    if any(a.end_min > b.start_min for a, b in itertools.pairwise(ordered)):
        raise InvalidShift("breaks must not overlap")
    return shift


def _floor(m: int) -> int:
    return m // SLOT_MIN * SLOT_MIN


def standard_shift(start_min: int, length_min: int, offset_min: int = 0,
                   lunch_min: int = 60, break_min: int = 15) -> Shift:
    """A shift with the centre's rule for breaks: a break 2 h after the start, another 2 h
    before the end, and from 6 h on a lunch at the middle; all moved by `offset_min` (so
    that shifts starting together do not all break together). Shorter than 6 h: one break
    at the middle."""
    end = start_min + length_min
    if length_min < LUNCH_FROM_MIN:
        mid = _floor(start_min + length_min // 2 - break_min // 2 + offset_min)
        return check(Shift(start_min, end, (Break(mid, break_min),)))
    lunch = _floor(start_min + length_min // 2 - lunch_min // 2 + offset_min)
    return check(Shift(start_min, end, (
        Break(start_min + 120 + offset_min, break_min),
        Break(lunch, lunch_min, "lunch"),
        Break(end - 120 - break_min + offset_min, break_min))))


def length_of(hours: float) -> int:
    """A shift's length in minutes from hours as a planner types them: to the nearest
    15-minute step (the shifts' grid)."""
    return round(hours * 60 / SLOT_MIN) * SLOT_MIN


def templates(starts_min: Iterable[int], length_min: int,
              offsets_min: Sequence[int] = (-30, -15, 0, 15, 30)) -> list[Shift]:
    """The shifts the solver chooses from: each start, with its breaks at each offset."""
    return [standard_shift(s, length_min, o) for s in starts_min for o in offsets_min
            if s + length_min <= DAY_MIN]


def coverage(shifts: Iterable[Shift]) -> list[int]:
    """Agents on the phones per interval."""
    out = [0] * SLOTS
    for s in shifts:
        for i, v in enumerate(s.on_phone()):
            out[i] += v
    return out


def gaps(scheduled: Sequence[int], need: Sequence[int]) -> list[int]:
    """Per interval, scheduled on the phones minus needed: < 0 short, > 0 over."""
    return [s - n for s, n in zip(scheduled, need, strict=True)]


__all__ = ["BREAK_KINDS", "DAY_MIN", "SLOT_MIN", "Break", "InvalidShift", "Shift", "check",
           "coverage", "gaps", "length_of", "standard_shift", "templates"]
