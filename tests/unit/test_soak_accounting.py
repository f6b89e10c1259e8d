"""bench.soak's arithmetic: every placed call looked up in the history, and the RSS growth fit."""

from __future__ import annotations

import pytest

from bench.soak import HistoryRow, account, growth_mb_per_hour, warm_up_s


def row(caller: str, outcome: str | None = "answered", answered: bool = True,
        recording: str | None = "/rec/x.wav", call_id: str = "") -> HistoryRow:
    return HistoryRow(call_id or f"id-{caller}", caller, outcome, answered, recording)


def test_each_placed_call_once_with_an_outcome_and_a_recording_when_answered() -> None:
    placed = ["1", "2", "3", "4", "5", "6"]
    rows = [row("1"), row("2", outcome="abandoned", answered=False, recording=None),
            row("3", call_id="a"), row("3", call_id="b"),  # twice
            row("4", outcome=None, answered=False, recording=None),  # never ended
            row("5", recording=None),  # answered, no recording row
            row("9")]  # a number this run never placed
    acc = account(placed, rows, file_ok=lambda path: True)
    assert acc.calls == 6
    assert acc.lost_by == {"no_history_row": 1, "duplicated": 1, "no_outcome": 1,
                           "no_recording": 1, "recording_file_missing": 0}
    assert acc.no_row == ["6"] and acc.duplicated == ["3"] and acc.no_outcome == ["4"]
    assert acc.no_recording == ["5"]
    assert acc.lost == 4
    assert acc.answered == 3  # 1, 3 and 5
    assert acc.outcomes == {"answered": 3, "abandoned": 1}
    assert acc.strays == 1


def test_an_answered_call_whose_file_is_gone_is_lost() -> None:
    acc = account(["1"], [row("1", recording="/nowhere/1.wav")])
    assert acc.file_missing == ["1"] and acc.no_recording == [] and acc.lost == 1


def test_growth_is_the_least_squares_slope_after_the_warm_up_in_mb_per_hour() -> None:
    # 100 MB flat during the warm-up, then +1 MB a minute with noise around the line
    samples = [(float(t), 100.0) for t in range(0, 60, 10)]
    samples += [(float(t), 100.0 + (t - 60) / 60 + (0.3 if t % 20 else -0.3))
                for t in range(60, 660, 10)]
    assert growth_mb_per_hour(samples, 60.0) == pytest.approx(60.0, rel=0.05)
    assert growth_mb_per_hour(samples, 60.0, until=600.0) == pytest.approx(60.0, rel=0.05)
    assert growth_mb_per_hour(samples[:2], 0.0) is None  # too few points to fit


def test_warm_up_is_a_tenth_of_a_long_run_and_a_quarter_of_a_short_one() -> None:
    assert warm_up_s(3600) == 360
    assert warm_up_s(120) == 30
    assert warm_up_s(600) == 60
