"""Today's live quality figures (realtime/quality.py) against the reports' definitions: fed one
event at a time they equal `count_calls` (first-call resolution) and `survey_figures` over the
same calls and answers; a hand-worked day; midnight starts them again."""

from __future__ import annotations

import gc
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.realtime.quality import TodayAnswer, TodayCall, TodayQuality
from hotline.realtime.targets import MetricsConfig
from hotline.reports.model import By, CallRow, Rules, count_calls, figures
from hotline.survey.model import Answer, survey_figures


def r4(x: float | None) -> float | None:
    return None if x is None else round(x, 4)

W = 3600.0
DAY0 = MetricsConfig().day_start(1_765_000_000.0)  # a local midnight


def quality() -> TodayQuality:
    return TodayQuality(W, MetricsConfig().day_index)


def test_a_hand_worked_morning() -> None:
    q = quality()
    t = DAY0 + 8 * 3600
    # 135...1 answered at 08:00, calls again at 08:30: not resolved (within W)
    q.entered("c1", "1351", t)
    q.answered("c1", "billing", t + 10)
    q.entered("c2", "1351", t + 1800)
    q.answered("c2", "billing", t + 1810)  # resolved so far: nothing after it
    # 135...2 answered at 08:00, again at 10:00: past W, still resolved
    q.entered("c3", "1352", t)
    q.answered("c3", "fault", t + 5)
    q.entered("c4", "1352", t + 7200)  # abandoned, but its entry counts
    # no caller number: not in the base
    q.entered("c5", "", t)
    q.answered("c5", "fault", t + 3)
    q.answered("c2", "billing", t + 1900)  # a second answer (a transfer): nothing more
    q.survey("billing", 1, 10, 2, 4, t)  # satisfied, promoter
    q.survey("billing", 3, 7, 2, 4, t)  # neutral, passive
    q.survey("fault", 5, 0, 2, 4, t)  # dissatisfied, detractor
    q.survey("fault", None, 9, 2, 4, t)  # NPS only
    now = t + 8000
    assert q.figures(None, now) == {
        "fcr": round(2 / 3, 4), "fcr_calls": 3, "satisfaction_rate": round(1 / 3, 4),
        "dissatisfaction_rate": round(1 / 3, 4), "satisfaction_answers": 3,
        "nps": 25.0, "nps_answers": 4}  # 100 * (2 - 1) / 4
    assert q.figures("billing", now)["fcr"] == 0.5
    assert q.figures("fault", now)["fcr"] == 1.0
    assert q.figures("fault", now)["nps"] == 0.0  # (1 - 1) / 2
    # the next day starts from nothing
    assert q.figures(None, DAY0 + 86400 + 1) == {
        "fcr": None, "fcr_calls": 0, "satisfaction_rate": None, "dissatisfaction_rate": None,
        "satisfaction_answers": 0, "nps": None, "nps_answers": 0}


calls = st.lists(
    st.tuples(st.sampled_from(["", "a", "b", "c"]), st.integers(0, 5 * 3600),
              st.booleans(), st.integers(0, 600)),
    max_size=40)


@settings(max_examples=300, deadline=None)
@given(calls)
def test_fcr_equals_the_report_rule(rows: list[tuple[str, int, bool, int]]) -> None:
    """Entries and answers as events in time order (an answer `wait` after its entry), or
    restored from history: first-call resolution equals count_calls over the rows."""
    entries = [(DAY0 + 1000 + at, f"c{i}", caller, answered, wait)
               for i, (caller, at, answered, wait) in enumerate(rows)]
    events: list[tuple[float, int, str, str, str]] = []
    for at, cid, caller, answered, wait in entries:
        events.append((at, 0, "entered", cid, caller))
        if answered:
            events.append((at + wait, 1, "answered", cid, caller))
    live = quality()
    for at, _, kind, cid, caller in sorted(events):
        if kind == "entered":
            live.entered(cid, caller, at)
        else:
            live.answered(cid, "q", at)
    restored = quality()
    restored.restore(DAY0 + 86000, [TodayCall(cid, caller, at, "q", ans)
                                    for at, cid, caller, ans, _ in entries if caller], [], 2, 4)
    rows_ = [CallRow(cid, caller, at, "answered" if ans else "abandoned")
             for at, cid, caller, ans, _ in entries]
    want = figures("", count_calls(rows_, rows_, DAY0, DAY0 + 86400, Rules(W)),
                   By.QUEUE).first_call_resolution
    for q in (live, restored):
        got = q.figures(None, DAY0 + 86000)
        assert got["fcr"] == (None if want is None else round(want, 4))
        assert got["fcr"] == q.figures("q", DAY0 + 86000)["fcr"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 5)),
                          st.one_of(st.none(), st.integers(0, 10))), max_size=30))
def test_survey_equals_survey_figures(answers: list[tuple[int | None, int | None]]) -> None:
    live = quality()
    for sat, nps in answers:
        live.survey("q", sat, nps, 2, 4, DAY0 + 60)
    restored = quality()
    restored.restore(DAY0 + 60, [], [TodayAnswer("q", s, n) for s, n in answers], 2, 4)
    want = survey_figures([Answer(s, n) for s, n in answers], 2, 4)
    for q in (live, restored):
        got = q.figures(None, DAY0 + 60)
        assert got["satisfaction_rate"] == r4(want.satisfaction_rate)
        assert got["dissatisfaction_rate"] == r4(want.dissatisfaction_rate)
        assert got["nps"] == (None if want.nps is None else round(want.nps, 1))
        assert got["nps_answers"] == want.nps_answers


def test_a_distinct_caller_keeps_few_bytes() -> None:
    """What each distinct caller of the day leaves until midnight (bench.soak: every caller
    a new number), its strings included as an event brings them: one small record per number
    keyed by the number as an int (385 B before, in two dicts keyed by the string;
    229 B now)."""
    q = quality()
    t = DAY0 + 8 * 3600
    n = 4000
    q.entered("c0", "1350", t)
    q.answered("c0", "billing", t)  # the dicts and counters exist before the measure
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(n):  # each event's strings made for it, and dropped after, as live
            q.entered(f"1796660000.{i}", f"0137{i:08d}", t + i)
            q.answered(f"1796660000.{i}", "billing", t + i + 5)
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before,
                                                                                "filename"))
    finally:
        tracemalloc.stop()
    assert q.figures(None, t + n + 10)["fcr_calls"] == n + 1
    assert grown / n < 250, f"{grown / n:.0f} B per distinct caller"


def test_numbers_as_keys_keep_apart() -> None:
    """A leading zero, a plus and a non-digit number are different callers."""
    q = quality()
    t = DAY0 + 8 * 3600
    for i, caller in enumerate(["0135", "135", "+135", "x135", "00135"]):
        q.entered(f"a{i}", caller, t + i)
        q.answered(f"a{i}", "billing", t + i)
    assert q.figures(None, t + 10)["fcr"] == 1.0  # no number spoiled another
    q.entered("b", "+135", t + 20)
    assert q.figures(None, t + 30)["fcr"] == 0.8
