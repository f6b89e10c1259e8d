"""Today's quality figures, live: satisfaction, dissatisfaction, NPS and first-call resolution
per queue and for all queues, counted one event at a time (docs/metrics.md, "Live quality").

The formulas are not restated here: a survey answer is classified by
`hotline.survey.model.survey_figures` and its counts summed (`SurveyFigures.__add__`, whose
ratios are the survey's); first-call resolution is `hotline.reports.model.figures` over the
counts kept here, the window rule `within_repeat_window`. Over the same calls and answers the
live figures equal the report's (tests/unit/test_live_quality.py checks it against
`count_calls` and `survey_figures`).

First-call resolution of today: an answered call with a caller number is resolved unless
another call from that number entered 0..W after it. Kept incrementally: per number, its
answered calls not yet spoiled (one is dropped once spoiled, or once W has passed since it
entered and nothing can spoil it any more) and its latest two entries (an entry already seen
when a call is answered spoils it too). A call counts in the queue it was in when answered.
Everything starts again at the centre's local midnight (`day_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hotline.reports.model import By, Counts, figures
from hotline.survey.model import Answer, SurveyFigures, survey_figures
from hotline.work_orders.model import within_repeat_window

ALL = None  # the key of all queues


#: An answered call not spoiled yet: (call id, entered at, queue)
_Answered = tuple[str, float, str]
#: A number's latest one or two entries, flat and in order: (at, call id[, at, call id])
_Latest = tuple[float, str] | tuple[float, str, float, str]


@dataclass(frozen=True, slots=True)
class TodayCall:
    """A call of today as history holds it (the restore)."""

    call_id: str
    caller: str
    entered_at: float
    queue: str | None
    answered: bool


@dataclass(frozen=True, slots=True)
class TodayAnswer:
    queue: str
    satisfaction: int | None
    nps: int | None


class TodayQuality:
    def __init__(self, repeat_window_s: float, day_of: Callable[[float], int]) -> None:
        self.window_s = repeat_window_s
        self.day_of = day_of
        self._day: int | None = None
        self._reset()

    def _reset(self) -> None:
        # Kept per distinct number of the day (most numbers call once): a flat tuple, not a
        # list of tuples, and one answered call as itself, not in a list (~170 B less a number)
        self._entered: dict[str, tuple[str, float]] = {}  # call -> (number, entered), unanswered
        self._latest: dict[str, _Latest] = {}  # number -> latest 2 entries
        #: number -> its answered calls not spoiled: one, or a list of several
        self._open: dict[str, _Answered | list[_Answered]] = {}
        self._handled: dict[str | None, int] = {}
        self._spoiled: dict[str | None, int] = {}
        self._survey: dict[str | None, SurveyFigures] = {}

    def _today(self, at: float) -> None:
        day = self.day_of(at)
        if day != self._day:
            if self._day is not None:
                self._reset()
            self._day = day

    # ---- input

    def entered(self, call_id: str, caller: str, at: float) -> None:
        """A call entered (CallEntered): it may spoil the first-call resolution of the
        number's answered calls."""
        self._today(at)
        if not caller:
            return
        self._entered[call_id] = (caller, at)
        latest = self._latest.get(caller)
        if latest is None:
            self._latest[caller] = (at, call_id)
        else:  # the two latest of the entries so far and this one
            two = sorted([*_pairs(latest), (at, call_id)])[-2:]
            self._latest[caller] = (*two[0], *two[1])
        answered = self._open.pop(caller, None)
        if answered is None:
            return
        kept = []
        for a in [answered] if isinstance(answered, tuple) else answered:
            a_call, a_entered, a_queue = a
            if a_call != call_id and within_repeat_window(a_entered, at, self.window_s):
                self._count(self._spoiled, a_queue)
            elif at - a_entered <= self.window_s:  # may still be spoiled later
                kept.append(a)
        if kept:
            self._open[caller] = kept[0] if len(kept) == 1 else kept

    def answered(self, call_id: str, queue: str, at: float) -> None:
        """A call's first answer (CallAnswered; later ones, a transfer's, change nothing)."""
        self._today(at)
        seen = self._entered.pop(call_id, None)
        if seen is None:
            return  # no caller number, another day's, or answered already
        caller, entered_at = seen
        self._count(self._handled, queue)
        latest = self._latest.get(caller)
        if latest is not None and any(
                c != call_id and within_repeat_window(entered_at, t, self.window_s)
                for t, c in _pairs(latest)):
            self._count(self._spoiled, queue)
            return
        one = (call_id, entered_at, queue)
        earlier = self._open.get(caller)
        if earlier is None:
            self._open[caller] = one
        elif isinstance(earlier, tuple):
            self._open[caller] = [earlier, one]
        else:
            earlier.append(one)

    def survey(self, queue: str, satisfaction: int | None, nps: int | None,
               satisfied_to: int, dissatisfied_from: int, at: float) -> None:
        """One caller's survey answers, classified by the centre's cut-offs of the moment."""
        self._today(at)
        one = survey_figures([Answer(satisfaction, nps)], satisfied_to, dissatisfied_from)
        for key in (ALL, queue):
            self._survey[key] = self._survey.get(key, SurveyFigures()) + one

    def restore(self, now: float, calls: Iterable[TodayCall], answers: Iterable[TodayAnswer],
                satisfied_to: int, dissatisfied_from: int) -> None:
        """Today's figures from history at start (before any live event): the calls in the
        order they entered, each answered one answered when it entered (an entry seen before
        or after the answer spoils it alike)."""
        self._today(now)
        for c in sorted(calls, key=lambda c: c.entered_at):
            if self.day_of(c.entered_at) != self._day:
                continue
            self.entered(c.call_id, c.caller, c.entered_at)
            if c.answered and c.queue:
                self.answered(c.call_id, c.queue, c.entered_at)
        for a in answers:
            self.survey(a.queue, a.satisfaction, a.nps, satisfied_to, dissatisfied_from, now)

    # ---- output

    def figures(self, queue: str | None, now: float) -> dict[str, float | int | None]:
        """The queue's (None: all queues') figures today, ratios rounded to 4 places."""
        self._today(now)
        handled = self._handled.get(queue, 0)
        counts = Counts(handled=handled, resolved_first=handled - self._spoiled.get(queue, 0))
        s = self._survey.get(queue, SurveyFigures())
        return {
            "fcr": _r(figures("", counts, By.QUEUE).first_call_resolution),
            "fcr_calls": handled,
            "satisfaction_rate": _r(s.satisfaction_rate),
            "dissatisfaction_rate": _r(s.dissatisfaction_rate),
            "satisfaction_answers": s.satisfaction_answers,
            "nps": None if s.nps is None else round(s.nps, 1),
            "nps_answers": s.nps_answers,
        }

    def _count(self, into: dict[str | None, int], queue: str) -> None:
        into[ALL] = into.get(ALL, 0) + 1
        into[queue] = into.get(queue, 0) + 1


def _pairs(latest: _Latest) -> list[tuple[float, str]]:
    """A number's latest entries as (at, call id) pairs, oldest first."""
    return [(latest[0], latest[1])] if len(latest) == 2 else [
        (latest[0], latest[1]), (latest[2], latest[3])]  # type: ignore[misc]


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


__all__ = ["TodayAnswer", "TodayCall", "TodayQuality"]
