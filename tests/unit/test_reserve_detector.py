"""The emergency reserve's detector (realtime/reserve.py) over an injected clock: a breach only
after `after_s` under target without a break, one report per run, recovery only after
`recover_s` at or over target + margin (the hysteresis: a level between the two thresholds
does neither), and no level counts as no demand."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.realtime.reserve import ReserveDetector, ReserveRule

RULE = ReserveRule("billing", "reserve", after_s=600, recover_s=300, margin=0.05)
TARGET = 0.8


def run(d: ReserveDetector, levels: list[tuple[float, float | None]],
        engaged: bool) -> list[tuple[float, str]]:
    out = []
    for t, level in levels:
        change = d.step(RULE, t, level, TARGET, engaged)
        if change:
            out.append((t, change))
    return out


def test_a_breach_needs_the_whole_run_under_target() -> None:
    d = ReserveDetector()
    # under from 0; at 590 the level touches the target: the run breaks and starts at 600
    levels = [(float(t), 0.5) for t in range(0, 590, 10)] + [(590.0, 0.8)]
    levels += [(float(t), 0.7) for t in range(600, 1300, 10)]
    assert run(d, levels, engaged=False) == [(1200.0, "breach")]  # 600 + 600, once


def test_no_level_is_no_demand() -> None:
    d = ReserveDetector()
    levels = [(0.0, 0.5), (400.0, None), (500.0, 0.5), (1000.0, 0.5), (1100.0, 0.5)]
    assert run(d, levels, engaged=False) == [(1100.0, "breach")]  # the run restarted at 500
    d = ReserveDetector()
    assert run(d, [(0.0, None), (300.0, None)], engaged=True) == [(300.0, "recovered")]


def test_hysteresis_between_target_and_margin() -> None:
    d = ReserveDetector()
    # engaged: at the target but under target + margin for an hour: not recovered
    hover = [(float(t), 0.82) for t in range(0, 3600, 10)]
    assert run(d, hover, engaged=True) == []
    # not engaged: the same level is no breach either
    assert run(d, [(float(t), 0.82) for t in range(3600, 7200, 10)], engaged=False) == []
    # at or over 0.85 for recover_s: recovered, once
    ok = [(float(t), 0.85) for t in range(7200, 8000, 10)]
    assert run(d, ok, engaged=True) == [(7500.0, "recovered")]


def test_engaging_starts_a_new_run() -> None:
    d = ReserveDetector()
    assert run(d, [(0.0, 0.5), (600.0, 0.5)], engaged=False) == [(600.0, "breach")]
    # proposed now: the recovery run starts from its first good level
    assert run(d, [(610.0, 0.9), (900.0, 0.9), (910.0, 0.9)], engaged=True) == [
        (910.0, "recovered")]
    # released: a new breach needs a whole new run
    assert run(d, [(920.0, 0.5), (1500.0, 0.5), (1520.0, 0.5)], engaged=False) == [
        (1520.0, "breach")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=120),
       st.booleans())
def test_a_report_only_after_a_whole_run(levels: list[float | None], engaged: bool) -> None:
    """Whatever the levels (one every 10 s), a report comes only when the last `need` seconds
    were all on the reporting side, and never twice in one run."""
    d = ReserveDetector()
    need = RULE.recover_s if engaged else RULE.after_s
    side = ((lambda x: x is None or x >= TARGET + RULE.margin - 1e-9) if engaged
            else (lambda x: x is not None and x < TARGET))
    reported_in_run = False
    for i, level in enumerate(levels):
        change = d.step(RULE, i * 10.0, level, TARGET, engaged)
        if not side(level):
            reported_in_run = False
        if change:
            back = int(need // 10)
            assert i >= back and all(side(x) for x in levels[i - back:i + 1])
            assert not reported_in_run
            reported_in_run = True
