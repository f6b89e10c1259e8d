"""Quality-assurance pure logic: scores, the sample draw, the calibration spread and the
scorecard, each checked against figures worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.core.values import ServiceType
from hotline.qa.model import (
    ErrorClass,
    Evaluated,
    Form,
    FormItem,
    FormSection,
    HandledCall,
    Mark,
    QaError,
    Reason,
    SampleCall,
    SamplePlan,
    StateSpan,
    add_months,
    calibrate,
    draw,
    quantile,
    score,
    scorecard,
    utilisation,
)
from hotline.work_orders.model import WorkOrder

FORM = Form("std", 1, "Standard", (
    FormSection("Opening", (
        FormItem("greeting", "Greeting", weight=1, max_score=10),
        FormItem("identity", "Verified identity", weight=2, max_score=5, fatal=True,
                 error_class=ErrorClass.MAJOR),
    )),
    FormSection("Handling", (
        FormItem("accuracy", "Accurate answer", weight=3, max_score=10,
                 error_class=ErrorClass.IMPORTANT),
        FormItem("closing", "Closing", weight=2, max_score=4),
    )),
))


def marks(g: float, i: float, a: float, c: float, fatal: bool = False) -> list[Mark]:
    return [Mark("greeting", g), Mark("identity", i, fatal_error=fatal),
            Mark("accuracy", a), Mark("closing", c)]


# weights 1,2,3,2 (total 8); score = sum(w * s / max) / 8 * 100
@pytest.mark.parametrize(("given_marks", "expected", "fatal", "errors"), [
    (marks(10, 5, 10, 4), 100.0, False, (0, 0, 0)),
    # 1*0.8 + 2*1 + 3*0.5 + 2*1 = 6.3 -> 78.75; greeting general, accuracy important
    (marks(8, 5, 5, 4), 78.75, False, (1, 1, 0)),
    # 1*1 + 2*0.6 + 3*1 + 2*0.25 = 5.7 -> 71.25; identity major, closing general
    (marks(10, 3, 10, 1), 71.25, False, (1, 0, 1)),
    (marks(0, 0, 0, 0), 0.0, False, (2, 1, 1)),
    # a fatal error: 0 whatever the other marks, and it is not counted as a non-fatal error
    (marks(10, 5, 10, 4, fatal=True), 0.0, True, (0, 0, 0)),
    (marks(8, 2, 10, 4, fatal=True), 0.0, True, (1, 0, 0)),
])
def test_scores_worked_by_hand(given_marks: list[Mark], expected: float, fatal: bool,
                               errors: tuple[int, int, int]) -> None:
    result = score(FORM, given_marks)
    assert result.score == pytest.approx(expected)
    assert result.fatal is fatal
    assert (result.errors[ErrorClass.GENERAL], result.errors[ErrorClass.IMPORTANT],
            result.errors[ErrorClass.MAJOR]) == errors


@pytest.mark.parametrize(("bad", "message"), [
    (marks(10, 5, 10, 4)[:3], "closing not marked"),
    (marks(11, 5, 10, 4), "within"),
    ([*marks(10, 5, 10, 4), Mark("extra", 1)], "not on the form"),
    ([*marks(10, 5, 10, 4), Mark("greeting", 1)], "twice"),
    ([Mark("greeting", 10, fatal_error=True), *marks(10, 5, 10, 4)[1:]], "cannot carry"),
])
def test_marks_that_cannot_be_scored(bad: list[Mark], message: str) -> None:
    with pytest.raises(QaError, match=message):
        score(FORM, bad)


@given(st.lists(st.floats(0, 1), min_size=4, max_size=4))
def test_a_score_stays_within_0_and_100(shares: list[float]) -> None:
    items = FORM.items()
    result = score(FORM, [Mark(i.key, s * i.max_score) for i, s in zip(items, shares,
                                                                       strict=True)])
    assert 0 <= result.score <= 100


# --- sampling ---------------------------------------------------------------------------

DAY = 86400.0
T0 = datetime(2026, 7, 1, tzinfo=UTC).timestamp()


def call(cid: str, agent: str, at: float, talk: float, caller: str = "",
         complaint: bool = False, queue: str = "billing") -> SampleCall:
    return SampleCall(cid, agent, queue, caller or f"139{cid}", at, talk, complaint)


def test_quantile_is_linear_between_order_statistics() -> None:
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]  # 11 values
    assert quantile(values, 0.9) == 100  # position 9
    assert quantile(values, 0.1) == 20  # position 1
    assert quantile([0, 10], 0.25) == 2.5


def test_targeted_picks_say_why() -> None:
    # ten calls of 100..1000 s in one queue: p10 = 190, p90 = 910 (by hand)
    calls = [call(f"c{i}", "a1", T0 + i * 60, 100.0 * i) for i in range(1, 11)]
    calls += [
        call("cx", "a2", T0 + 3600, 500, complaint=True, queue="fault"),
        # the same caller twice: the second is a repeat (23 h later), a third 25 h after
        call("r1", "a2", T0 + 7200, 500, caller="13800000000", queue="fault"),
        call("r2", "a2", T0 + 7200 + 23 * 3600, 500, caller="13800000000", queue="fault"),
        call("r3", "a2", T0 + 7200 + 48 * 3600 + 3600, 500, caller="13800000000", queue="fault"),
        call("n1", "new", T0 + 5 * DAY, 500, queue="fault"),
        call("early", "a2", T0 - 3600, 500, queue="fault"),  # before the period: context only
    ]
    plan = SamplePlan(T0, T0 + 10 * DAY, percentage=0, seed=1, new_agent_months=3)
    starts = {"new": T0 - 30 * DAY, "a2": T0 - 400 * DAY}
    picks = {p.call_id: p.reasons for p in draw(calls, plan, starts)}
    assert picks == {
        "c1": (Reason.SHORT_CALL,),  # 100 < 190
        "c10": (Reason.LONG_CALL,),  # 1000 > 910
        "cx": (Reason.COMPLAINT,),
        "r2": (Reason.REPEAT_CALLER,),
        "n1": (Reason.NEW_AGENT,),
    }


def test_a_repeat_caller_counts_calls_from_the_day_before_the_period() -> None:
    calls = [call("a", "x", T0 - 3600, 60, caller="1"), call("b", "x", T0 + 60, 60, caller="1")]
    picks = draw(calls, SamplePlan(T0, T0 + DAY, 0, seed=0), {})
    assert [(p.call_id, p.reasons) for p in picks] == [("b", (Reason.REPEAT_CALLER,))]


def test_random_share_per_agent_is_seeded_and_order_free() -> None:
    calls = [call(f"a{i}", "a1", T0 + i, 60) for i in range(20)]
    calls += [call(f"b{i}", "b1", T0 + i, 60) for i in range(7)]
    plan = SamplePlan(T0, T0 + DAY, percentage=10, seed=42, targeted=frozenset())
    first = draw(calls, plan, {})
    # 10 % of 20 = 2; 10 % of 7 = 0.7, rounded up to 1: every agent gets inspected
    assert sorted(p.agent_id for p in first) == ["a1", "a1", "b1"]
    assert all(p.reasons == (Reason.RANDOM,) for p in first)
    assert draw(list(reversed(calls)), plan, {}) == first
    others = {tuple(p.call_id for p in draw(calls, SamplePlan(T0, T0 + DAY, 10, seed=s,
                                                               targeted=frozenset()), {}))
              for s in range(10)}
    assert len(others) > 1  # the seed matters


def test_new_agent_window_uses_calendar_months() -> None:
    jan31 = datetime(2026, 1, 31, 9, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(add_months(jan31, 1), UTC) == datetime(2026, 2, 28, 9,
                                                                          tzinfo=UTC)
    assert datetime.fromtimestamp(add_months(jan31, 13), UTC) == datetime(2027, 2, 28, 9,
                                                                           tzinfo=UTC)


# --- calibration ------------------------------------------------------------------------

def test_calibration_spread_by_hand() -> None:
    sheets = [marks(10, 5, 10, 4), marks(8, 5, 5, 4), marks(6, 5, 10, 4, fatal=True)]
    report = calibrate(FORM, sheets)
    # totals 100, 78.75, 0: mean 59.5833; pstdev = sqrt((40.4167^2 + 19.1667^2
    # + 59.5833^2) / 3) = sqrt(5551.04 / 3) = 43.0157
    assert (report.total.min, report.total.max) == (0, 100)
    assert report.total.mean == pytest.approx(59.5833, abs=1e-4)
    assert report.total.stdev == pytest.approx(43.0157, abs=1e-4)
    # greeting as % of its max: 100, 80, 60 -> mean 80, pstdev sqrt(800/3) = 16.33
    g = report.items["greeting"]
    assert (g.n, g.min, g.max, g.mean) == (3, 60, 100, 80)
    assert g.stdev == pytest.approx(math.sqrt(800 / 3))
    assert report.items["identity"].stdev == 0


# --- scorecard --------------------------------------------------------------------------

def order(callback_by: float | None, done: float | None) -> WorkOrder:
    return WorkOrder(id=1, service=ServiceType.FAULT, caller="1", created_at=T0,
                     created_by="a1", description="x", callback_by=callback_by,
                     callback_done_at=done)


def test_utilisation_clips_spans_to_the_period() -> None:
    spans = [
        StateSpan("ready", T0 - 600, T0 + 600),  # 600 s inside
        StateSpan("on_call", T0 + 600, T0 + 1500),  # 900
        StateSpan("after_call_work", T0 + 1500, T0 + 1800),  # 300
        StateSpan("not_ready", T0 + 1800, T0 + 2400, "training"),  # 600
        StateSpan("logged_out", T0 + 2400, T0 + 3000),  # not logged in
        StateSpan("on_call", T0 + 3000, None),  # open: counts up to the end, 600
    ]
    # busy 900 + 300 + 600 = 1800 over logged in 600 + 900 + 300 + 600 + 600 = 3000
    assert utilisation(spans, T0, T0 + 3600) == pytest.approx(0.6)
    assert utilisation([], T0, T0 + 3600) is None
    # a centre that does not count training against the agent: 1800 / (3000 - 600)
    assert utilisation(spans, T0, T0 + 3600, frozenset({"training"})) == pytest.approx(0.75)
    assert utilisation(spans, T0, T0 + 3600, frozenset({"break"})) == pytest.approx(0.6)


def test_scorecard_by_hand() -> None:
    end = T0 + DAY
    card = scorecard(
        "a1", T0, end,
        spans=[StateSpan("ready", T0, T0 + 3000), StateSpan("on_call", T0 + 3000, T0 + 4000)],
        calls=[HandledCall(300, 30), HandledCall(500, 50), HandledCall(None, None)],
        orders=[order(T0 + 100, T0 + 50),  # due in the period, on time
                order(T0 + 200, T0 + 500),  # due, late (done in the period)
                order(T0 + 300, None),  # due, not done, limit passed
                order(T0 + 2 * DAY, None),  # due after the period: not counted
                order(T0 - DAY, T0 - DAY)],  # before the period: not counted
        evaluations=[Evaluated(80, False, 2), Evaluated(0, True, 0), Evaluated(100, False, 0),
                     Evaluated(70, False, 1)],
        now=end + DAY)
    assert card.qa_score == pytest.approx(62.5)  # (80 + 0 + 100 + 70) / 4
    assert card.fatal_errors == 1
    assert card.non_fatal_error_rate == pytest.approx(0.5)  # 2 of 4 with a non-fatal error
    assert card.callback_timeliness == pytest.approx(1 / 3)
    assert card.callbacks_done == 2  # T0 + 50 and T0 + 500
    assert card.utilisation == pytest.approx(0.25)  # 1000 of 4000
    assert card.avg_talk_s == 400 and card.avg_acw_s == 40 and card.calls == 3
    empty = scorecard("a1", T0, end, spans=[], calls=[], orders=[], evaluations=[], now=end)
    assert (empty.qa_score, empty.non_fatal_error_rate, empty.callback_timeliness,
            empty.utilisation, empty.avg_talk_s) == (None, None, None, None, None)
