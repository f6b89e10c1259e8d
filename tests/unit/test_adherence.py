"""Adherence and conformance (docs/planning.md, "Adherence"), the hand-worked case there:
a shift 09:00-11:00 with a break 10:00-10:15; the agent logs in at 09:05 (ready), goes not
ready at 10:05, ready again at 10:20 and stays on the phones until 11:30."""

from __future__ import annotations

from pytest import approx

from hotline.planning.adherence import Segment, day_adherence, fits
from hotline.planning.shifts import Break, Shift

M = 1_780_000_000.0  # a local midnight


def at(h: int, m: int) -> float:
    return M + h * 3600 + m * 60


SHIFT = Shift(9 * 60, 11 * 60, (Break(10 * 60, 15),))
STATES = [Segment(at(9, 5), at(10, 5), "ready"), Segment(at(10, 5), at(10, 20), "not_ready"),
          Segment(at(10, 20), at(10, 40), "on_call"),
          Segment(at(10, 40), at(11, 30), "ready")]


def test_the_day_by_hand() -> None:
    a = day_adherence(SHIFT, STATES, M, M + 86_400)
    # scheduled 120 min; in adherence: work 09:05-10:00 (55) + break 10:05-10:15 (10)
    # + work 10:20-11:00 (40) = 105
    assert (a.scheduled_s, a.in_adherence_s) == (120 * 60, 105 * 60)
    assert a.adherence == approx(105 / 120)  # 87.5 %
    # on the phones 09:05-10:05 (60) + 10:20-11:30 (70) = 130 of 105 scheduled work
    assert (a.scheduled_work_s, a.on_phone_s) == (105 * 60, 130 * 60)
    assert a.conformance == approx(130 / 105)  # 123.8 %


def test_live_up_to_now() -> None:
    """At 10:30: scheduled 90 min of which 75 in adherence (55 + 10 + 10); work 75 min
    scheduled, 70 on the phones (60 + 10)."""
    a = day_adherence(SHIFT, STATES, M, at(10, 30))
    assert a.adherence == approx(75 / 90) and a.conformance == approx(70 / 75)
    before = day_adherence(SHIFT, STATES, M, at(8, 0))
    assert before.adherence is None and before.conformance is None


def test_no_shift_and_no_states() -> None:
    a = day_adherence(None, STATES, M, M + 86_400)
    assert a.adherence is None and a.on_phone_s == 130 * 60
    absent = day_adherence(SHIFT, [], M, M + 86_400)
    assert absent.adherence == approx(15 / 120)  # logged out: only the break fits
    assert absent.conformance == 0.0


def test_what_fits() -> None:
    assert fits("work", "on_call") and fits("work", "after_call_work")
    assert not fits("work", "not_ready") and not fits("break", "ready")
    assert fits("lunch", "logged_out") and fits("off", "ready")
