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


def _number_key(caller: str) -> int | str:
    """A caller number as the key of today's numbers, in fewer bytes: an int for digits (a
    leading 1, or 2 for a "+", keeps leading zeros and the plus apart), else the string."""
    if caller.isascii() and len(caller) <= 30:
        if caller.isdigit():
            return int("1" + caller)
        if caller[0] == "+" and caller[1:].isdigit():
            return int("2" + caller[1:])
    return caller


class _Number:
    """One number's calls today: its latest one or two entries, and its answered calls not
    spoiled yet. Kept per distinct number until midnight, and most numbers call once, so the
    common case is small: `open` is the queue alone when the one open call is the latest entry
    (otherwise a list of answered calls, or None)."""

    __slots__ = ("at", "call", "open", "prev_at", "prev_call")

    def __init__(self, at: float, call: str) -> None:
        self.at = at
        self.call = call
        self.prev_at: float | None = None
        self.prev_call: str | None = None
        self.open: str | list[_Answered] | None = None

    def entries(self) -> list[tuple[float, str]]:
        """The latest entries as (at, call id), oldest first."""
        if self.prev_call is None:
            return [(self.at, self.call)]
        return [(self.prev_at, self.prev_call), (self.at, self.call)]  # type: ignore[list-item]

    def enter(self, at: float, call: str) -> None:
        """Keeps the two latest of the entries so far and this one (call `answered_calls`
        first: a queue alone in `open` names the latest entry)."""
        (self.prev_at, self.prev_call), (self.at, self.call) = sorted(
            [*self.entries(), (at, call)])[-2:]

    def answered_calls(self) -> list[_Answered]:
        if self.open is None:
            return []
        if isinstance(self.open, str):
            return [(self.call, self.at, self.open)]
        return self.open

    def keep_open(self, calls: list[_Answered]) -> None:
        if not calls:
            self.open = None
        elif len(calls) == 1 and calls[0][:2] == (self.call, self.at):
            self.open = calls[0][2]
        else:
            self.open = calls


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
        #: call -> (its number's key, entered at), while unanswered
        self._entered: dict[str, tuple[int | str, float]] = {}
        self._numbers: dict[int | str, _Number] = {}  # number's key -> its calls today
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
        key = _number_key(caller)
        self._entered[call_id] = (key, at)
        number = self._numbers.get(key)
        if number is None:
            self._numbers[key] = _Number(at, call_id)
            return
        answered = number.answered_calls()
        number.enter(at, call_id)
        kept = []
        for a in answered:
            a_call, a_entered, a_queue = a
            if a_call != call_id and within_repeat_window(a_entered, at, self.window_s):
                self._count(self._spoiled, a_queue)
            elif at - a_entered <= self.window_s:  # may still be spoiled later
                kept.append(a)
        number.keep_open(kept)

    def answered(self, call_id: str, queue: str, at: float) -> None:
        """A call's first answer (CallAnswered; later ones, a transfer's, change nothing)."""
        self._today(at)
        seen = self._entered.pop(call_id, None)
        if seen is None:
            return  # no caller number, another day's, or answered already
        key, entered_at = seen
        self._count(self._handled, queue)
        number = self._numbers.get(key)
        if number is None:  # not after entered(), which makes it; kept safe all the same
            number = self._numbers[key] = _Number(entered_at, call_id)
        if any(c != call_id and within_repeat_window(entered_at, t, self.window_s)
               for t, c in number.entries()):
            self._count(self._spoiled, queue)
            return
        number.keep_open([*number.answered_calls(), (call_id, entered_at, queue)])

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


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


__all__ = ["TodayAnswer", "TodayCall", "TodayQuality"]
