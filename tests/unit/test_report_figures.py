"""The report figures' counting rules and formulas, on the day of tests/helpers/report_day.py
worked out by hand (docs/metrics.md, "Report figures").

Calls in the period: k1 k2 k3 k5 k6 k7 k8 k9 k10 k11 (k0 and k4 are outside it).
- offered = queued, node failures out: k1 k2 k3 k5 k6 k7 k10 k11 = 8 (k8 node failure, k9
  never queued); answered: k1 k2 k3 k6 k10 k11 = 6 (k11 a callback reached);
  answer rate = 6 / 8 = 0.75.
- first-call resolution: answered with a number: k1 k2 k3 k6 k11 = 5; not resolved: k1 (k2
  4 h later); k3's next call is 25 h later, outside 24 h: resolved. FCR = 4 / 5 = 0.8, in a
  12 h centre as well.
- repeat-call rate: calls with a number: all but k10 = 9; repeats within 24 h: k1 (k0 3 h
  before), k2 (k1 4 h before), k6 (k5 13 h before) = 3, rate 3 / 9; within 12 h: k1, k2 =
  2 / 9.
- by agent, FCR: a1 k1 -> 0 / 1; a2 k2 k11 -> 2 / 2; a3 k3 k6 -> 2 / 2; team day (a1 a2)
  2 / 3; vendor partner (a3) 2 / 2.
- by queue: billing offered k1 k2 k11 = 3, answered 3 -> 1.0; fault k3 k5 k6: 2 / 3;
  general k7 k10 (k8, k9 not offered): 1 / 2.

Orders:
- complaints created in the period: o1 o2 o3 = 3; complaint rate = 3 / 6 answered = 0.5;
  a1: o1 / (k1 k10) = 0.5.
- verdicts closed in the period: o1 (yes), o2 (no), o4 (yes, created long before) = 3,
  substantiated 2: 2 / 3.
- complaint handling timeliness: settled in the period o1 (replied 9 <= 10: on time), o2
  (settled at its limit 12, replied 20: late); o3 not yet due, o4 settled before: 1 / 2.
- callback timeliness, charged to the order's creator: due o5 (on time), o6 (late, settled
  at 8), o7 (done 23 before its limit 30: on time), o8 (missed at 20) -> 2 / 4 = 0.5;
  callbacks done in the period: o5 o6 o7 = 3. a2 (the creator of o6 and o7; a1 made o6's
  call-back, late): due 2, on time 1, done 2; a1: 1 / 1, done 1; a3: 0 / 1, done 0.
- report orders: r1 r2 = 2; last year r3..r6 = 4 (r7 at the period's end, excluded):
  year on year (2 - 4) / 4 = -0.5.

Agent time in [T0, T0 + 24 h), hours:
- a1: busy 2 + 1 = 3, available 1, logged in 7, training 2: utilisation 3 / 7, or 3 / 5 =
  0.6 when training is excused; occupancy 3 / 4 = 0.75.
- a2: ready from -2 counts 2; on call 4; ringing 1; ready 7-24 = 17: busy 4, available 20,
  logged in 24: utilisation = occupancy = 4 / 24.
- a3: busy 3, available 1, logged in 4: 0.75 and 0.75.
- centre: busy 10, available 22, logged in 35: utilisation 10 / 35 (10 / 33 with training
  excused), occupancy 10 / 32.
"""

from __future__ import annotations

import pytest

from hotline.reports.model import (
    By,
    Counts,
    Rules,
    count_calls,
    count_orders,
    count_states,
    figures,
    settled_at,
    year_before,
)
from tests.helpers.report_day import (
    CALLS,
    DAY,
    NOW,
    SINCE,
    T0,
    UNTIL,
    H,
    calls_of,
    orders_of,
    states_of,
)

DAY_RULES = Rules(repeat_window_s=DAY)
HALF_DAY = Rules(repeat_window_s=12 * H)
EVERY = [c.row for c in CALLS]


def counts(agents: set[str] | None = None, queue: str | None = None,
           rules: Rules = DAY_RULES) -> Counts:
    return (count_calls(calls_of(agents, queue), EVERY, SINCE, UNTIL, rules)
            + count_orders(orders_of(agents) if queue is None else [], SINCE, UNTIL, NOW)
            + count_states(states_of(agents) if queue is None else [], SINCE, UNTIL, NOW,
                           rules))


def test_the_centre_by_hand() -> None:
    f = figures("centre", counts(), By.CENTRE)
    c = f.counts
    assert (c.offered, c.answered, c.handled, c.resolved_first, c.entered, c.repeats) == (
        8, 6, 5, 4, 9, 3)
    assert f.answer_rate == 0.75
    assert f.first_call_resolution == 0.8
    assert f.repeat_call_rate == pytest.approx(3 / 9)
    assert f.complaint_rate == 0.5
    assert f.substantiated_complaint_rate == pytest.approx(2 / 3)
    assert f.complaint_timeliness == 0.5
    assert f.callback_timeliness == 0.5
    assert f.callbacks_done == 3
    assert (f.report_orders, f.report_orders_last_year, f.report_orders_yoy) == (2, 4, -0.5)
    assert f.utilisation == pytest.approx(10 / 35)
    assert f.occupancy == pytest.approx(10 / 32)


def test_the_repeat_window_is_the_centres() -> None:
    f = figures("centre", counts(rules=HALF_DAY), By.CENTRE)
    assert f.repeat_call_rate == pytest.approx(2 / 9)
    assert f.first_call_resolution == 0.8


def test_utilisation_by_the_centres_rule() -> None:
    excused = Rules(DAY, frozenset({"training"}))
    a1 = figures("a1", count_calls([], EVERY, SINCE, UNTIL, excused)
                 + count_states(states_of({"a1"}), SINCE, UNTIL, NOW, excused), By.AGENT)
    assert a1.utilisation == pytest.approx(0.6)
    assert a1.occupancy == 0.75
    centre = count_states(states_of(), SINCE, UNTIL, NOW, excused)
    assert figures("centre", centre, By.CENTRE).utilisation == pytest.approx(10 / 33)


@pytest.mark.parametrize(("agents", "fcr", "complaint_rate", "cb", "done", "util"), [
    ({"a1"}, 0.0, 0.5, 1.0, 1, 3 / 7),
    ({"a2"}, 1.0, 0.5, 0.5, 2, 4 / 24),
    ({"a3"}, 1.0, 0.5, 0.0, 0, 0.75),
    ({"a1", "a2"}, 2 / 3, 0.5, 2 / 3, 3, 7 / 31),  # team day, vendor own
])
def test_agents_and_their_roll_up(agents: set[str], fcr: float, complaint_rate: float,
                                  cb: float, done: int, util: float) -> None:
    f = figures("x", counts(agents), By.AGENT)
    assert f.first_call_resolution == pytest.approx(fcr)
    assert f.complaint_rate == complaint_rate
    assert f.callback_timeliness == pytest.approx(cb)
    assert f.callbacks_done == done
    assert f.utilisation == pytest.approx(util)
    # an agent has no offered calls of its own, nor repeats: those figures are the queues'
    assert f.answer_rate is None and f.repeat_call_rate is None


@pytest.mark.parametrize(("queue", "answer_rate"), [
    ("billing", 1.0), ("fault", 2 / 3), ("general", 0.5)])
def test_queues(queue: str, answer_rate: float) -> None:
    f = figures(queue, counts(queue=queue), By.QUEUE)
    assert f.answer_rate == pytest.approx(answer_rate)
    assert f.utilisation is None  # agent time has no queue


def test_an_empty_group_has_empty_ratios() -> None:
    f = figures("centre", Counts(), By.CENTRE)
    assert (f.answer_rate, f.first_call_resolution, f.utilisation, f.report_orders_yoy) == (
        None, None, None, None)
    assert f.callbacks_done == 0


def test_settling_and_the_year_before() -> None:
    assert settled_at(5.0, 6.0) == 5.0  # met: when it was met
    assert settled_at(7.0, 6.0) == 6.0  # late: at the limit
    assert settled_at(None, 6.0) == 6.0  # never: at the limit
    assert year_before(T0) == T0 - 365 * DAY  # 2025-07-01
    leap = 1709164800.0  # 2024-02-29 00:00 UTC
    assert year_before(leap) == leap - 366 * DAY  # 2023-02-28, as PostgreSQL says


def test_the_repeat_window_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from hotline.core.settings import Settings

    monkeypatch.setenv("HOTLINE_REPEAT_WINDOW_H", "12")  # as a process's environment says
    assert Settings().repeat_window_s == 12 * H
    with pytest.raises(ValidationError, match="repeat window"):
        Settings(repeat_window_h=6)
