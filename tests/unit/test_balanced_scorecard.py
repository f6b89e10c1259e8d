"""The balanced scorecard's rules (hotline/reports/scorecard.py; docs/metrics.md, "Balanced
scorecard"), worked by hand; the report calendar (hotline/reports/periods.py) and the
export's columns (hotline/reports/exports.py)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from hotline.reports import scorecard as sc
from hotline.reports.exports import COLUMNS
from hotline.reports.model import Counts, Figures
from hotline.reports.periods import Period, label, last_ended, period_of


def test_an_indicators_score_is_the_share_of_its_target_reached() -> None:
    higher = sc.Indicator("x", sc.Better.HIGHER, 0.8, 1)
    lower = sc.Indicator("y", sc.Better.LOWER, 0.02, 1)
    assert sc.indicator_score(0.6, higher) == pytest.approx(75.0)
    assert sc.indicator_score(0.9, higher) == 100.0  # above the target: no more than 100
    assert sc.indicator_score(0.0, higher) == 0.0
    assert sc.indicator_score(None, higher) is None
    assert sc.indicator_score(0.01, lower) == 100.0
    assert sc.indicator_score(0.0, lower) == 100.0
    assert sc.indicator_score(0.08, lower) == pytest.approx(25.0)  # 0.02 / 0.08
    assert sc.indicator_score(0.5, sc.Indicator("z", sc.Better.LOWER, 0.0, 1)) == 0.0


def test_a_card_by_hand() -> None:
    # agent a1 of tests/integration/test_report_scorecard.py with the default targets but
    # typing's (60 a minute, weight 10):
    # FCR 0/0.85 -> 0 (w 20); complaints 0.01/0.5 -> 2 (w 10); callbacks 1/0.95 -> 100;
    # utilisation (3/7)/0.75 -> 57.142857; QA 90/90 -> 100 (w 20); non-fatal 0.05/0.5 -> 10;
    # exam 72/90 -> 80; typing 60/60 -> 100. Business = (0 + 20 + 1000 + 571.428571 + 2000
    # + 100 + 800 + 1000) / 100 = 54.914286; conduct +5 - 2 = 3; total 57.914286
    indicators = sc.with_targets({"typing": (60.0, 10.0)})
    values = {"first_call_resolution": 0.0, "complaint_rate": 0.5, "callback_timeliness": 1.0,
              "utilisation": 3 / 7, "qa_score": 90.0, "non_fatal_error_rate": 0.5,
              "exam": 72.0, "typing": 60.0}
    card = sc.card("a1", values, indicators, 3.0, {"general": 1}, 0)
    assert [ln.score for ln in card.lines] == pytest.approx(
        [0.0, 2.0, 100.0, 400 / 7, 100.0, 10.0, 80.0, 100.0])
    assert card.business == pytest.approx(54.914286, abs=1e-6)
    assert card.total == pytest.approx(57.914286, abs=1e-6)
    assert (card.errors, card.fatal_errors) == ({"general": 1}, 0)


def test_indicators_without_a_value_leave_the_weights() -> None:
    card = sc.card("t", {"qa_score": 45.0, "exam": None}, sc.INDICATORS, -1.5, {}, 0)
    # only QA has a value: 45/90 -> 50, the business score is its score
    assert (card.business, card.total) == (50.0, 48.5)
    empty = sc.card("t", {}, sc.INDICATORS, 2.0, {}, 0)
    assert (empty.business, empty.total, empty.conduct) == (None, None, 2.0)
    zero = sc.card("t", {"exam": 90.0}, sc.with_targets({"exam": (90.0, 0.0)}), 0.0, {}, 0)
    assert zero.business is None  # nothing weighs


def local(y: int, m: int, d: int, h: int = 0) -> float:
    return datetime(y, m, d, h, tzinfo=UTC).timestamp() - 8 * 3600


def test_the_report_calendar_is_the_centres_local_one() -> None:
    off = 8 * 3600
    t = local(2026, 7, 1, 0) + 1  # 00:00:01 Beijing time, a Wednesday: 30 June 16:00 UTC
    assert period_of(Period.DAY, t, off) == (local(2026, 7, 1), local(2026, 7, 2))
    assert period_of(Period.WEEK, t, off) == (local(2026, 6, 29), local(2026, 7, 6))
    assert period_of(Period.MONTH, t, off) == (local(2026, 7, 1), local(2026, 8, 1))
    assert last_ended(Period.DAY, t, off) == (local(2026, 6, 30), local(2026, 7, 1))
    assert last_ended(Period.WEEK, t, off) == (local(2026, 6, 22), local(2026, 6, 29))
    assert last_ended(Period.MONTH, t, off) == (local(2026, 6, 1), local(2026, 7, 1))
    assert last_ended(Period.MONTH, local(2026, 1, 5), off) == (local(2025, 12, 1),
                                                                local(2026, 1, 1))
    assert [label(p, local(2026, 6, 29), off) for p in Period] == [
        "2026-06-29", "2026-W27", "2026-06"]


def test_the_exports_columns_are_the_models_figures_then_counts() -> None:
    figures = [f.name for f in fields(Figures) if f.name not in ("key", "counts")]
    assert COLUMNS == ("key", *figures, *(f.name for f in fields(Counts)))
