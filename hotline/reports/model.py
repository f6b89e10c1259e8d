"""The report figures over a period, from history (docs/metrics.md, "Report figures"): the
counts one group's figures are made of, the ratios made of them, and which grouping each
figure has.

PostgreSQL counts (hotline/reports/queries.py, the SQL in one place); this module says what
the counts mean and makes the ratios. The `count_*` functions are the counting rules written
over plain rows: the definition the SQL is tested against, with the same hand-worked data
(tests/unit/test_report_figures.py, tests/integration/test_report_figures_sql.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from hotline.core.lifecycle import AgentState
from hotline.work_orders.model import within_repeat_window


class By(enum.StrEnum):
    """What a report groups by. An agent rolls up agent -> team -> vendor -> centre
    (hotline/centre/model.py); the others group the calls and orders themselves."""

    AGENT = "agent"
    TEAM = "team"
    VENDOR = "vendor"
    CENTRE = "centre"
    QUEUE = "queue"
    SERVICE = "service"
    UNIT = "unit"


#: The one key of the centre's group.
CENTRE_KEY = "centre"
#: Outcomes of a call an agent answered (docs/metrics.md, "A call's row in the history"): a
#: caller called back and reached counts as answered.
ANSWERED_OUTCOMES = ("answered", "failsafe", "callback")
BUSY_STATES = frozenset({AgentState.ON_CALL, AgentState.AFTER_CALL_WORK})
#: Available, waiting for a call: ready, and chosen or ringing for one
AVAILABLE_STATES = frozenset({AgentState.READY, AgentState.RESERVED, AgentState.RINGING})

_PEOPLE = frozenset({By.AGENT, By.TEAM, By.VENDOR, By.CENTRE})
_CALLS = frozenset({By.CENTRE, By.QUEUE, By.SERVICE})
_ORDERS = frozenset(By)
#: Which groupings each figure has (None in the others): the offered calls and a repeat
#: call have no agent, agent time has no queue, a call has no responsible unit.
APPLIES: dict[str, frozenset[By]] = {
    "answer_rate": _CALLS,
    "first_call_resolution": _PEOPLE | _CALLS,
    "repeat_call_rate": _CALLS,
    "complaint_rate": _PEOPLE | {By.QUEUE},
    "substantiated_complaint_rate": _ORDERS,
    "complaint_timeliness": _ORDERS,
    "callback_timeliness": _ORDERS,
    "callbacks_done": _ORDERS,
    "report_orders": _ORDERS,
    "report_orders_last_year": _ORDERS,
    "report_orders_yoy": _ORDERS,
    "utilisation": _PEOPLE,
    "occupancy": _PEOPLE,
}


@dataclass(frozen=True, slots=True)
class Rules:
    """The centre's stated rules (Settings): the repeat window, 12 or 24 h, and the
    not-ready reasons that do not count against an agent's utilisation."""

    repeat_window_s: float
    excused_reasons: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Any) -> Rules:
        """The rules a Settings (hotline/core/settings.py) states."""
        return cls(settings.repeat_window_s, frozenset(settings.utilisation_excused_reasons))


@dataclass(frozen=True, slots=True)
class Counts:
    """The sums one group's figures are made of, over the period [since, until) (`cut` =
    min(until, now) where a count needs a moment to have passed)."""

    offered: int = 0  # calls entered that queued, those a node failure dropped left out
    answered: int = 0  # of those, answered by an agent (ANSWERED_OUTCOMES)
    handled: int = 0  # answered calls with a caller number: first-call resolution's base
    resolved_first: int = 0  # of those, no call from the number within the window after
    entered: int = 0  # calls entered with a caller number: the repeat-call rate's base
    repeats: int = 0  # of those, a call from the number within the window before
    complaints: int = 0  # complaint orders created
    verdicts: int = 0  # complaint orders closed with a verdict
    substantiated: int = 0  # of those, substantiated
    complaints_due: int = 0  # complaint orders whose handling was settled in [since, cut)
    complaints_on_time: int = 0  # of those, replied to by resolve_by
    callbacks_due: int = 0  # callbacks settled in [since, cut)
    callbacks_on_time: int = 0  # of those, done by callback_by
    callbacks_done: int = 0  # callbacks done in [since, until)
    reports: int = 0  # report (举报) orders created
    reports_last_year: int = 0  # created in the same period a year before
    busy_s: float = 0.0  # on_call + after_call_work
    available_s: float = 0.0  # ready, reserved, ringing
    logged_in_s: float = 0.0  # every state but logged_out
    excused_s: float = 0.0  # not_ready for an excused reason (Rules.excused_reasons)

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                         for f in fields(Counts)})


@dataclass(frozen=True, slots=True)
class Figures:
    key: str
    counts: Counts
    answer_rate: float | None
    first_call_resolution: float | None
    repeat_call_rate: float | None
    complaint_rate: float | None
    substantiated_complaint_rate: float | None
    complaint_timeliness: float | None
    callback_timeliness: float | None
    callbacks_done: int | None
    report_orders: int | None
    report_orders_last_year: int | None
    report_orders_yoy: float | None
    utilisation: float | None
    occupancy: float | None


def ratio(top: float, bottom: float) -> float | None:
    """Empty (None) when the denominator is 0, as every figure (docs/metrics.md)."""
    return top / bottom if bottom else None


def figures(key: str, c: Counts, by: By) -> Figures:
    """One group's figures (docs/metrics.md, "Report figures", for each formula); a figure
    the grouping does not have (APPLIES) is None."""
    made: dict[str, float | int | None] = {
        "answer_rate": ratio(c.answered, c.offered),
        "first_call_resolution": ratio(c.resolved_first, c.handled),
        "repeat_call_rate": ratio(c.repeats, c.entered),
        "complaint_rate": ratio(c.complaints, c.answered),
        "substantiated_complaint_rate": ratio(c.substantiated, c.verdicts),
        "complaint_timeliness": ratio(c.complaints_on_time, c.complaints_due),
        "callback_timeliness": ratio(c.callbacks_on_time, c.callbacks_due),
        "callbacks_done": c.callbacks_done,
        "report_orders": c.reports,
        "report_orders_last_year": c.reports_last_year,
        "report_orders_yoy": ratio(c.reports - c.reports_last_year, c.reports_last_year),
        "utilisation": ratio(c.busy_s, c.logged_in_s - c.excused_s),
        "occupancy": ratio(c.busy_s, c.busy_s + c.available_s),
    }
    return Figures(key=key, counts=c, **{name: value if by in APPLIES[name] else None
                                         for name, value in made.items()})  # type: ignore[arg-type]


# --- the counting rules over plain rows (the SQL's definition)

@dataclass(frozen=True, slots=True)
class CallRow:
    call_id: str
    caller: str
    entered_at: float
    outcome: str
    queued: bool = True


@dataclass(frozen=True, slots=True)
class OrderRow:
    service: str
    created_at: float
    resolve_by: float
    replied_at: float | None = None
    closed_at: float | None = None
    substantiated: bool | None = None
    callback_by: float | None = None
    callback_done_at: float | None = None


@dataclass(frozen=True, slots=True)
class StateRow:
    state: str
    start: float
    end: float | None  # None: still in it
    reason: str = ""


def count_calls(group: Iterable[CallRow], every_call: Sequence[CallRow], since: float,
                until: float, rules: Rules) -> Counts:
    """A group's call counts over the calls that entered in [since, until); `every_call`:
    the calls, of any period, that first-call resolution and repeats look at."""
    def others(c: CallRow) -> list[float]:  # when the number's other calls entered
        return [o.entered_at for o in every_call
                if o.caller == c.caller and o.call_id != c.call_id]

    w = rules.repeat_window_s
    offered = answered = handled = resolved = entered = repeats = 0
    for c in group:
        if not since <= c.entered_at < until:
            continue
        is_answered = c.outcome in ANSWERED_OUTCOMES
        offered += c.queued and c.outcome != "node_failure"
        answered += is_answered
        if c.caller:
            entered += 1
            # later within the window: not resolved at the first call; earlier: a repeat
            handled += is_answered
            resolved += is_answered and not any(
                within_repeat_window(c.entered_at, t, w) for t in others(c))
            repeats += any(within_repeat_window(t, c.entered_at, w) for t in others(c))
    return Counts(offered=offered, answered=answered, handled=handled,
                  resolved_first=resolved, entered=entered, repeats=repeats)


def settled_at(done_at: float | None, limit: float) -> float:
    """When a deadline's verdict is known: when it was met, if by the limit; else the limit
    (missed, whether or not done later). A period counts what it settles, so its figure never
    changes once the period is over (as the scorecard's callback timeliness)."""
    return done_at if done_at is not None and done_at <= limit else limit


def year_before(t: float) -> float:
    """The same moment a calendar year before (UTC), 29 February to 28 February, as
    PostgreSQL's `- interval '1 year'`."""
    d = datetime.fromtimestamp(t, UTC)
    try:
        return d.replace(year=d.year - 1).timestamp()
    except ValueError:
        return d.replace(year=d.year - 1, day=28).timestamp()


def count_orders(orders: Iterable[OrderRow], since: float, until: float,
                 now: float) -> Counts:
    """A group's work-order counts (orders charged to the group, docs/metrics.md)."""
    cut = min(until, now)
    last = (year_before(since), year_before(until))
    n: dict[str, int] = dict.fromkeys(
        ("complaints", "verdicts", "substantiated", "complaints_due", "complaints_on_time",
         "callbacks_due", "callbacks_on_time", "callbacks_done", "reports",
         "reports_last_year"), 0)
    for o in orders:
        complaint = o.service == "complaint"
        if complaint and since <= o.created_at < until:
            n["complaints"] += 1
        if (complaint and o.substantiated is not None and o.closed_at is not None
                and since <= o.closed_at < until):
            n["verdicts"] += 1
            n["substantiated"] += o.substantiated
        if complaint and since <= settled_at(o.replied_at, o.resolve_by) < cut:
            n["complaints_due"] += 1
            n["complaints_on_time"] += o.replied_at is not None and o.replied_at <= o.resolve_by
        if o.callback_by is not None and since <= settled_at(o.callback_done_at,
                                                             o.callback_by) < cut:
            n["callbacks_due"] += 1
            n["callbacks_on_time"] += (o.callback_done_at is not None
                                       and o.callback_done_at <= o.callback_by)
        if o.callback_done_at is not None and since <= o.callback_done_at < until:
            n["callbacks_done"] += 1
        if o.service == "report":
            n["reports"] += since <= o.created_at < until
            n["reports_last_year"] += last[0] <= o.created_at < last[1]
    return Counts(**n)


def count_states(spans: Iterable[StateRow], since: float, until: float, now: float,
                 rules: Rules) -> Counts:
    """A group's agent time from the state log, each span clipped to [since, cut) (an open
    span runs to cut)."""
    cut = min(until, now)
    busy = available = logged_in = excused = 0.0
    for s in spans:
        d = max(0.0, min(cut if s.end is None else s.end, cut) - max(s.start, since))
        if s.state in BUSY_STATES:
            busy += d
        if s.state in AVAILABLE_STATES:
            available += d
        if s.state != AgentState.LOGGED_OUT:
            logged_in += d
        if s.state == AgentState.NOT_READY and s.reason in rules.excused_reasons:
            excused += d
    return Counts(busy_s=busy, available_s=available, logged_in_s=logged_in,
                  excused_s=excused)


__all__ = ["ANSWERED_OUTCOMES", "APPLIES", "AVAILABLE_STATES", "BUSY_STATES", "CENTRE_KEY",
           "By", "CallRow", "Counts", "Figures", "OrderRow", "Rules", "StateRow",
           "count_calls", "count_orders", "count_states", "figures", "ratio", "settled_at",
           "year_before"]
