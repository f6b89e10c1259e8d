"""The balanced scorecard (issue #17.5; formulas: docs/metrics.md, "Balanced scorecard"):
business indicators, each with the centre's target and weight and a score of 0-100, plus
conduct (rewards and deductions, points). Error counts by class are shown beside the
non-fatal error rate, not folded into it. An agent, a team or a vendor is scored by the same
rule over its own values (a team's first-call resolution is the team's, not a mean of its
agents'); conduct is per agent, a group's the mean over its agents.

Pure: hotline/reports/queries.py reads the values (`scorecard_values`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Better(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    better: Better
    target: float
    weight: float


#: The indicators in their order, with the default targets and weights (scorecard_targets
#: rows override target and weight). Ratios are fractions, the QA, exam scores 0-100,
#: typing characters a minute.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("first_call_resolution", Better.HIGHER, 0.85, 20.0),
    Indicator("complaint_rate", Better.LOWER, 0.01, 10.0),
    Indicator("callback_timeliness", Better.HIGHER, 0.95, 10.0),
    Indicator("utilisation", Better.HIGHER, 0.75, 10.0),
    Indicator("qa_score", Better.HIGHER, 90.0, 20.0),
    Indicator("non_fatal_error_rate", Better.LOWER, 0.05, 10.0),
    Indicator("exam", Better.HIGHER, 90.0, 10.0),
    Indicator("typing", Better.HIGHER, 80.0, 10.0),
)
BY_NAME = {i.name: i for i in INDICATORS}


def with_targets(rows: Mapping[str, tuple[float, float]]) -> tuple[Indicator, ...]:
    """The indicators with the centre's (target, weight) where it set one."""
    return tuple(Indicator(i.name, i.better, *rows.get(i.name, (i.target, i.weight)))
                 for i in INDICATORS)


def indicator_score(value: float | None, ind: Indicator) -> float | None:
    """0-100: the share of the target reached, at most 100. Higher is better: value /
    target; lower is better: target / value (0 reached: 100). None without a value."""
    if value is None:
        return None
    if ind.better is Better.HIGHER:
        share = 1.0 if ind.target == 0 else value / ind.target
    else:
        share = 1.0 if value <= ind.target else (ind.target / value)
    return 100.0 * max(0.0, min(1.0, share))


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    value: float | None
    target: float
    weight: float
    score: float | None


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    lines: tuple[Line, ...]
    business: float | None  # Σ weight × score / Σ weight over the lines with a value
    conduct: float  # reward and deduction points (a group: the mean per agent)
    total: float | None  # business + conduct
    errors: Mapping[str, int]  # evaluation items that lost marks, by class
    fatal_errors: int


def card(key: str, values: Mapping[str, float | None], indicators: tuple[Indicator, ...],
         conduct: float, errors: Mapping[str, int], fatal_errors: int) -> Card:
    lines = tuple(Line(i.name, values.get(i.name), i.target, i.weight,
                       indicator_score(values.get(i.name), i)) for i in indicators)
    scored = [(ln.weight, ln.score) for ln in lines if ln.score is not None]
    weight = sum(w for w, _ in scored)
    business = sum(w * s for w, s in scored) / weight if weight else None
    return Card(key, lines, business, conduct,
                None if business is None else business + conduct, dict(errors), fatal_errors)


__all__ = ["BY_NAME", "INDICATORS", "Better", "Card", "Indicator", "Line", "card",
           "indicator_score", "with_targets"]
