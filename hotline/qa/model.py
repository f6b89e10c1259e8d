"""Quality assurance (质检), pure logic: evaluation forms and their scores, the sample of calls
to inspect, the calibration spread, and an agent's balanced scorecard (formulas: docs/metrics.md,
"Quality assurance").

Times are epoch seconds. Nothing here touches the database: hotline/qa/queries.py loads the
inputs and saves the results.
"""

from __future__ import annotations

import enum
import hashlib
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hotline.core.errors import Conflict
from hotline.core.settings import DEFAULT_REPEAT_WINDOW_S
from hotline.reports.model import Rules, StateRow, count_states, ratio
from hotline.work_orders.model import WorkOrder, callback_timeliness, charged_to

#: A form id's length: the CHECK of qa_forms.form_id (migration 003) and the API's schema.
FORM_ID_MAX_LEN = 64
#: A dispute's reason: the CHECK of qa_disputes.reason and the API's schema.
DISPUTE_REASON_MAX_LEN = 4000


class QaError(Conflict, ValueError):
    """A form or a set of marks that cannot be scored."""

    error_id = "qa-refused"


class ErrorClass(enum.StrEnum):
    GENERAL = "general"  # 一般差错
    IMPORTANT = "important"  # 重要差错
    MAJOR = "major"  # 重大差错


# --- forms and scores -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FormItem:
    key: str
    label: str
    weight: float
    max_score: float = 10.0
    fatal: bool = False  # a fatal error on this item scores the whole evaluation 0
    error_class: ErrorClass = ErrorClass.GENERAL


@dataclass(frozen=True, slots=True)
class FormSection:
    title: str
    items: tuple[FormItem, ...]


@dataclass(frozen=True, slots=True)
class Form:
    form_id: str
    version: int
    name: str
    sections: tuple[FormSection, ...]

    def items(self) -> list[FormItem]:
        return [i for s in self.sections for i in s.items]


def check_form(form: Form) -> Form:
    """Raises QaError unless the form can score: unique keys, positive weights and maxima."""
    items = form.items()
    if not items:
        raise QaError("a form needs at least one item")
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        raise QaError("item keys must be unique within a form")
    for i in items:
        if not (i.weight > 0 and math.isfinite(i.weight)):
            raise QaError(f"item {i.key}: weight must be positive")
        if not (i.max_score > 0 and math.isfinite(i.max_score)):
            raise QaError(f"item {i.key}: max_score must be positive")
    return form


@dataclass(frozen=True, slots=True)
class Mark:
    key: str
    score: float
    fatal_error: bool = False  # only allowed on an item the form marks fatal
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    score: float  # 0..100
    fatal: bool
    errors: dict[ErrorClass, int]  # items that lost marks, by class (fatal ones excluded)

    @property
    def non_fatal_errors(self) -> int:
        return sum(self.errors.values())


def score(form: Form, marks: Iterable[Mark]) -> Result:
    """Score = sum(weight * score / max) / sum(weight) * 100, or 0 with any fatal error.
    Every item must be marked once, within 0..max_score."""
    by_key: dict[str, Mark] = {}
    for m in marks:
        if m.key in by_key:
            raise QaError(f"item {m.key} marked twice")
        by_key[m.key] = m
    items = form.items()
    unknown = set(by_key) - {i.key for i in items}
    if unknown:
        raise QaError(f"items not on the form: {sorted(unknown)}")
    weighted, total_weight, fatal = 0.0, 0.0, False
    errors = {c: 0 for c in ErrorClass}
    for item in items:
        mark = by_key.get(item.key)
        if mark is None:
            raise QaError(f"item {item.key} not marked")
        if not (0 <= mark.score <= item.max_score):
            raise QaError(f"item {item.key}: score must be within 0..{item.max_score}")
        if mark.fatal_error and not item.fatal:
            raise QaError(f"item {item.key} cannot carry a fatal error")
        if mark.fatal_error:
            fatal = True
        elif mark.score < item.max_score:
            errors[item.error_class] += 1
        weighted += item.weight * mark.score / item.max_score
        total_weight += item.weight
    value = 0.0 if fatal else round(weighted / total_weight * 100, 6)
    return Result(value, fatal, errors)


# --- sampling ---------------------------------------------------------------------------

class Reason(enum.StrEnum):
    RANDOM = "random"
    COMPLAINT = "complaint"
    LONG_CALL = "long_call"  # above the queue's upper percentile of talk time
    SHORT_CALL = "short_call"  # below the queue's lower percentile
    NEW_AGENT = "new_agent"  # the agent is in their first months
    REPEAT_CALLER = "repeat_caller"  # the same number called within 24 h before


@dataclass(frozen=True, slots=True)
class SampleCall:
    call_id: str
    agent_id: str
    queue: str
    caller: str
    entered_at: float
    talk_s: float
    complaint: bool = False  # a complaint call or linked to a complaint order


@dataclass(frozen=True, slots=True)
class SamplePlan:
    since: float
    until: float
    percentage: float  # random share per agent, 0..100
    seed: int
    long_quantile: float = 0.9
    short_quantile: float = 0.1
    new_agent_months: int = 3
    min_queue_calls: int = 5  # fewer answered calls than this: no long/short picks
    targeted: frozenset[Reason] = field(default_factory=lambda: frozenset(Reason))
    #: the centre's repeat window (Settings.repeat_window_s): a repeat caller called within it
    repeat_window_s: float = DEFAULT_REPEAT_WINDOW_S


@dataclass(frozen=True, slots=True)
class Pick:
    call_id: str
    agent_id: str
    reasons: tuple[Reason, ...]


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default 'linear')."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def add_months(at: float, months: int) -> float:
    """The same day and time `months` later in UTC (clipped to the month's last day)."""
    d = datetime.fromtimestamp(at, UTC)
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    if year > 9999:  # past what datetime holds: never reached
        return math.inf
    for day in (d.day, 30, 29, 28):
        try:
            return d.replace(year=year, month=month, day=day).timestamp()
        except ValueError:
            continue
    raise AssertionError("unreachable")


def draw_key(seed: int, agent_id: str, call_id: str) -> str:
    """The random draw's order: an agent's calls by this key, the first k of them. A hash of
    the seed, the agent and the call, so the same seed over the same calls picks the same
    calls whatever order they come in, and PostgreSQL computes the same key
    (md5(seed || ':' || agent || ':' || call), hotline/qa/queries.py draws the sample there)."""
    return hashlib.md5(f"{seed}:{agent_id}:{call_id}".encode(), usedforsecurity=False).hexdigest()


def random_share(n: int, percentage: float) -> int:
    """How many of an agent's n calls the random draw takes: n × percentage / 100, rounded up
    (PostgreSQL computes it with the same float operations)."""
    return math.ceil(n * percentage / 100 - 1e-9)


def draw(calls: Sequence[SampleCall], plan: SamplePlan,
         agent_starts: dict[str, float]) -> list[Pick]:
    """The calls to inspect in [since, until), each with why. `calls` may include the 24 h
    before `since` (for repeat callers). The same inputs and seed give the same sample,
    whatever order the calls come in. This is the definition; the API draws the same sample
    in SQL (hotline/qa/queries.py, draw_sample), checked against this in the tests."""
    if not 0 <= plan.percentage <= 100:
        raise QaError("percentage must be within 0..100")
    in_period = sorted((c for c in calls if plan.since <= c.entered_at < plan.until
                        and c.agent_id), key=lambda c: c.call_id)
    reasons: dict[str, list[Reason]] = defaultdict(list)

    by_agent: dict[str, list[SampleCall]] = defaultdict(list)
    for c in in_period:
        by_agent[c.agent_id].append(c)
    for agent, own in sorted(by_agent.items()):
        ranked = sorted(own, key=lambda c: (draw_key(plan.seed, agent, c.call_id), c.call_id))
        for c in ranked[:random_share(len(own), plan.percentage)]:
            reasons[c.call_id].append(Reason.RANDOM)

    wanted = plan.targeted
    by_queue: dict[str, list[float]] = defaultdict(list)
    for c in in_period:
        by_queue[c.queue].append(c.talk_s)
    bounds = {q: (quantile(v, plan.short_quantile), quantile(v, plan.long_quantile))
              for q, v in by_queue.items() if len(v) >= plan.min_queue_calls}
    earlier: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        if c.caller:
            earlier[c.caller].append(c.entered_at)
    for c in in_period:
        why = reasons[c.call_id]
        if Reason.COMPLAINT in wanted and c.complaint:
            why.append(Reason.COMPLAINT)
        if c.queue in bounds:
            low, high = bounds[c.queue]
            if Reason.LONG_CALL in wanted and c.talk_s > high:
                why.append(Reason.LONG_CALL)
            if Reason.SHORT_CALL in wanted and c.talk_s < low:
                why.append(Reason.SHORT_CALL)
        start = agent_starts.get(c.agent_id)
        if (Reason.NEW_AGENT in wanted and start is not None
                and start <= c.entered_at < add_months(start, plan.new_agent_months)):
            why.append(Reason.NEW_AGENT)
        if Reason.REPEAT_CALLER in wanted and any(
                c.entered_at - plan.repeat_window_s <= t < c.entered_at
                for t in earlier.get(c.caller, ())):
            why.append(Reason.REPEAT_CALLER)
    return [Pick(c.call_id, c.agent_id, tuple(reasons[c.call_id]))
            for c in in_period if reasons[c.call_id]]


# --- calibration ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Spread:
    n: int
    min: float
    max: float
    mean: float
    stdev: float  # population standard deviation (the scorers present are the population)


def spread(values: Sequence[float]) -> Spread:
    if not values:
        raise QaError("no scores to compare")
    return Spread(len(values), min(values), max(values), statistics.fmean(values),
                  statistics.pstdev(values))


@dataclass(frozen=True, slots=True)
class Calibration:
    items: dict[str, Spread]  # item scores as a share of the item's maximum x 100
    total: Spread


def calibrate(form: Form, sheets: Sequence[Sequence[Mark]]) -> Calibration:
    """The spread of several inspectors' marks on the same call, per item and in total."""
    totals = [score(form, marks).score for marks in sheets]
    items = {}
    for item in form.items():
        values = [next(m.score for m in marks if m.key == item.key) / item.max_score * 100
                  for marks in sheets]
        items[item.key] = spread(values)
    return Calibration(items, spread(totals))


# --- the agent scorecard ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StateSpan:
    state: str
    started_at: float
    ended_at: float | None  # None: still in it
    reason: str = ""  # a not-ready reason


@dataclass(frozen=True, slots=True)
class HandledCall:
    talk_s: float | None  # talk and hold, as the call record keeps them
    acw_s: float | None


@dataclass(frozen=True, slots=True)
class Evaluated:
    score: float
    fatal: bool
    non_fatal_errors: int


@dataclass(frozen=True, slots=True)
class Scorecard:
    agent_id: str
    since: float
    until: float
    evaluations: int
    qa_score: float | None  # mean of the evaluations' scores
    fatal_errors: int
    # evaluations with at least one non-fatal error / evaluations (docs/metrics.md, "Quality
    # assurance"): an evaluation counts once however many items lost marks; a fatal
    # one counts in the denominator, and above it only if another item lost marks
    non_fatal_error_rate: float | None
    callback_timeliness: float | None
    callbacks_done: int
    utilisation: float | None  # (talk + hold + ACW) / logged-in time, by the centre's rule
    avg_talk_s: float | None
    avg_acw_s: float | None
    calls: int


def utilisation(spans: Iterable[StateSpan], since: float, until: float,
                excused: frozenset[str] = frozenset()) -> float | None:
    """Time on call (talking or held) and in after-call work over logged-in time, less the
    not-ready time of the `excused` reasons (the centre's rule, Settings
    .utilisation_excused_reasons), each span clipped to [since, until); a span still open
    counts up to `until`. The reports' rule (hotline.reports.model), over one agent."""
    rows = [StateRow(s.state, s.started_at, s.ended_at, s.reason) for s in spans]
    rules = Rules(repeat_window_s=0.0, excused_reasons=excused)
    c = count_states(rows, since, until, until, rules)
    return ratio(c.busy_s, c.logged_in_s - c.excused_s)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def settled_at(order: WorkOrder) -> float:
    """When a replied order's callback was settled: done in time, or its limit passed."""
    assert order.callback_by is not None
    if order.callback_done_at is not None and order.callback_done_at <= order.callback_by:
        return order.callback_done_at
    return order.callback_by


def scorecard(agent_id: str, since: float, until: float, *, spans: Iterable[StateSpan],
              calls: Sequence[HandledCall], orders: Sequence[WorkOrder],
              evaluations: Sequence[Evaluated], now: float,
              excused: frozenset[str] = frozenset()) -> Scorecard:
    """The balanced scorecard of one agent over [since, until). `orders` are those the agent
    answers for (work_orders.model.charged_to: its own, created by it), whose callbacks count
    for it, done and due, whoever dialled them. Callback
    timeliness (docs/metrics.md, "Work orders": callbacks done within their time limit /
    callbacks due) counts each callback in the period in which it was settled: when it was
    done if done in time, else when its limit passed (missed, whether or not done later).
    So a callback done today against tomorrow's limit counts today, and a period's figure
    never changes once the period is over."""
    cut = min(now, until)
    due = [o for o in orders if charged_to(o) == agent_id and o.callback_by is not None
           and since <= settled_at(o) < cut]
    done = [o for o in orders if o.callback_done_at is not None
            and charged_to(o) == agent_id and since <= o.callback_done_at < until]
    n = len(evaluations)
    return Scorecard(
        agent_id=agent_id, since=since, until=until, evaluations=n,
        qa_score=_mean([e.score for e in evaluations]),
        fatal_errors=sum(1 for e in evaluations if e.fatal),
        non_fatal_error_rate=(sum(1 for e in evaluations if e.non_fatal_errors) / n
                              if n else None),
        callback_timeliness=callback_timeliness(due, cut),
        callbacks_done=len(done),
        utilisation=utilisation(spans, since, cut, excused),
        avg_talk_s=_mean([c.talk_s for c in calls if c.talk_s is not None]),
        avg_acw_s=_mean([c.acw_s for c in calls if c.acw_s is not None]),
        calls=len(calls),
    )


__all__ = ["Calibration", "ErrorClass", "Evaluated", "Form", "FormItem", "FormSection",
           "HandledCall", "Mark", "Pick", "QaError", "Reason", "Result", "SampleCall",
           "SamplePlan", "Scorecard", "Spread", "StateSpan", "add_months", "calibrate",
           "check_form", "draw", "draw_key", "quantile", "random_share", "score",
           "scorecard", "settled_at", "spread", "utilisation"]
