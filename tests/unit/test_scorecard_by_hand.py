"""The scorecard's callback timeliness and non-fatal error rate against small tables worked on
paper (docs/metrics.md: callback timeliness = callbacks done within their time limit / callbacks
due; the non-fatal error rate counts evaluations that lost marks on a non-fatal item)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hotline.core.values import ServiceType
from hotline.qa.model import (
    Evaluated,
    Form,
    FormItem,
    FormSection,
    Mark,
    Scorecard,
    scorecard,
    settled_at,
)
from hotline.qa.model import (
    score as score_marks,
)
from hotline.work_orders.model import WorkOrder

T0 = 1_790_000_000.0
H = 3600.0
DAY = 24 * H


def order(callback_by: float, done: float | None) -> WorkOrder:
    return WorkOrder(id=1, service=ServiceType.BILLING, caller="1", created_at=T0 - DAY,
                     created_by="a1", description="x", callback_by=callback_by,
                     callback_done_at=done)


def card(orders: list[WorkOrder], now: float,
         evaluations: list[Evaluated] | None = None) -> Scorecard:
    return scorecard("a1", T0, T0 + DAY, spans=[], calls=[], orders=orders,
                     evaluations=evaluations or [], now=now)


# The day [T0, T0 + 24 h); each callback with its limit and when it was done.
#   | order | limit        | done          | settled    | in the day? | within limit? |
#   | A     | T0 + 48 h    | T0 + 3 h      | T0 + 3 h   | yes         | yes           |
#   | B     | T0 + 2 h     | T0 - 2 h      | T0 - 2 h   | no (before) |               |
#   | C     | T0 + 4 h     | T0 + 6 h      | T0 + 4 h   | yes         | no (late)     |
#   | D     | T0 + 8 h     | never         | T0 + 8 h   | yes         | no (missed)   |
#   | E     | T0 + 10 h    | T0 + 26 h     | T0 + 10 h  | yes         | no (late)     |
#   | F     | T0 + 23 h    | never         | T0 + 23 h  | yes         | no (missed)   |
#   | G     | T0 + 30 h    | never         | T0 + 30 h  | no (after)  |               |
# due in the day: A C D E F = 5, within the limit: A = 1 -> 1/5; done in the day: A, C = 2
A = order(T0 + 48 * H, T0 + 3 * H)
B = order(T0 + 2 * H, T0 - 2 * H)
C = order(T0 + 4 * H, T0 + 6 * H)
D = order(T0 + 8 * H, None)
E_LATER = order(T0 + 10 * H, T0 + 26 * H)
F = order(T0 + 23 * H, None)
G = order(T0 + 30 * H, None)


def test_settled_when_done_in_time_else_when_the_limit_passed() -> None:
    assert [settled_at(o) for o in (A, B, C, D, E_LATER, F, G)] == [
        T0 + 3 * H, T0 - 2 * H, T0 + 4 * H, T0 + 8 * H, T0 + 10 * H, T0 + 23 * H, T0 + 30 * H]


def test_callback_timeliness_of_a_day_worked_by_hand() -> None:
    after = card([A, B, C, D, E_LATER, F, G], now=T0 + 3 * DAY)
    assert after.callback_timeliness == pytest.approx(1 / 5)
    assert after.callbacks_done == 2


def test_a_callback_done_today_against_tomorrows_limit_counts_today() -> None:
    # A alone: done at T0 + 3 h, limit T0 + 48 h (the reply was a moment before): 1 / 1
    assert card([A], now=T0 + 4 * H).callback_timeliness == 1.0
    assert card([A], now=T0 + 4 * H).callbacks_done == 1
    # B was settled the day before: not this day's
    assert card([B], now=T0 + 4 * H).callback_timeliness is None


def test_a_callback_made_by_another_agent_is_the_creators() -> None:
    # a1 created A; a2 called back at T0 + 3 h. One rule charges both the count and the
    # timeliness (docs/metrics.md, "Callbacks: who answers for them"): the order's owner,
    # a1, who answers for its callback whoever dials it; a2 has neither
    by_a2 = replace(A, callback_done_by="a2")
    a1 = card([by_a2], now=T0 + 4 * H)
    a2 = scorecard("a2", T0, T0 + DAY, spans=[], calls=[], orders=[by_a2], evaluations=[],
                   now=T0 + 4 * H)
    assert (a1.callbacks_done, a1.callback_timeliness) == (1, 1.0)
    assert (a2.callbacks_done, a2.callback_timeliness) == (0, None)


def test_mid_day_only_what_is_settled_by_now_counts() -> None:
    # At T0 + 9 h, as the orders were then (E and F not done, their limits still ahead):
    # settled A (in time), C (late at 4 h), D (missed at 8 h) -> 1/3
    e_open = order(T0 + 10 * H, None)
    assert card([A, B, C, D, e_open, F, G], now=T0 + 9 * H).callback_timeliness == (
        pytest.approx(1 / 3))


def test_a_past_day_keeps_its_figure() -> None:
    # At the day's end E was still not done; done two hours later it stays a late callback
    e_open = order(T0 + 10 * H, None)
    at_end = card([A, B, C, D, e_open, F, G], now=T0 + DAY)
    later = card([A, B, C, D, E_LATER, F, G], now=T0 + 30 * DAY)
    assert at_end.callback_timeliness == later.callback_timeliness == pytest.approx(1 / 5)


# greeting ×1 /10, identity ×2 /5 (fatal, major), accuracy ×3 /10 (important), closing ×2 /4
FORM = Form("std", 1, "Standard", (
    FormSection("Opening", (
        FormItem("greeting", "Greeting", weight=1, max_score=10),
        FormItem("identity", "Verified identity", weight=2, max_score=5, fatal=True),)),
    FormSection("Handling", (
        FormItem("accuracy", "Accurate answer", weight=3, max_score=10),
        FormItem("closing", "Closing", weight=2, max_score=4))),
))


def sheet(g: float, i: float, a: float, c: float, fatal: bool = False) -> Evaluated:
    r = score_marks(FORM, [Mark("greeting", g), Mark("identity", i, fatal_error=fatal),
                           Mark("accuracy", a), Mark("closing", c)])
    return Evaluated(r.score, r.fatal, r.non_fatal_errors)


def test_non_fatal_error_rate_and_qa_score_worked_by_hand() -> None:
    #   | marks          | score                           | fatal | lost marks on      |
    #   | 10, 5, 10, 4   | 100                             | no    | nothing            |
    #   | 8, 5, 5, 4     | (0.8 + 2 + 1.5 + 2) / 8 = 78.75 | no    | greeting, accuracy |
    #   | 10, 0!, 10, 4  | 0 (fatal)                       | yes   | nothing else       |
    #   | 10, 0!, 8, 4   | 0 (fatal)                       | yes   | accuracy           |
    sheets = [sheet(10, 5, 10, 4), sheet(8, 5, 5, 4), sheet(10, 0, 10, 4, fatal=True),
              sheet(10, 0, 8, 4, fatal=True)]
    assert [(s.score, s.fatal, s.non_fatal_errors) for s in sheets] == [
        (100.0, False, 0), (78.75, False, 2), (0.0, True, 0), (0.0, True, 1)]
    c = card([], now=T0 + DAY, evaluations=sheets)
    assert c.qa_score == pytest.approx((100 + 78.75 + 0 + 0) / 4)  # 44.6875
    assert c.fatal_errors == 2
    # evaluations with a non-fatal error: the 2nd (two errors, counted once) and the 4th: 2/4
    assert c.non_fatal_error_rate == pytest.approx(0.5)
