"""The forecast (hotline/planning/forecast.py) on histories built by hand, where the forecast is
known exactly; WAPE and MAPE by hand; the required agents of a forecast day against the
classic Erlang C example; properties (scale, identical weeks, sums)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.planning.forecast import (
    SLOTS,
    DayForecast,
    DayHistory,
    EventDay,
    accuracy,
    event_factor,
    fit,
    forecast,
)
from hotline.planning.model import needed_agents
from hotline.planning.required import required_agents

MONDAY = date(2026, 6, 1)
NINE, TWO = 36, 56  # 09:00 and 14:00


def day_of(day: date, by_slot: dict[int, float], aht: dict[int, float]) -> DayHistory:
    calls = np.zeros(SLOTS)
    for slot, n in by_slot.items():
        calls[slot] = n
    handle = np.array([calls[s] * aht.get(s, 0.0) for s in range(SLOTS)])
    return DayHistory(day, calls, calls.copy(), handle)


def trended(days: int = 14) -> list[DayHistory]:
    """Day t (weekday w) has 100 + 10 w + 5 t calls, 60 % at 09:00 (AHT 180 s) and 40 % at
    14:00 (AHT 300 s)."""
    out = []
    for t in range(days):
        d = MONDAY + timedelta(days=t)
        total = 100 + 10 * d.weekday() + 5 * t
        out.append(day_of(d, {NINE: 0.6 * total, TWO: 0.4 * total}, {NINE: 180.0, TWO: 300.0}))
    return out


def test_a_weekday_level_and_a_linear_trend_are_found_exactly() -> None:
    model = fit(trended())
    assert model.slope == pytest.approx(5.0)
    assert model.days == 14
    monday = forecast(model, MONDAY + timedelta(days=14))  # t = 14: 100 + 0 + 70 = 170
    assert monday.total == pytest.approx(170.0)
    assert monday.calls[NINE] == pytest.approx(102.0)
    assert monday.calls[TWO] == pytest.approx(68.0)
    assert monday.aht_s[NINE] == pytest.approx(180.0)
    assert monday.aht_s[TWO] == pytest.approx(300.0)
    saturday = forecast(model, MONDAY + timedelta(days=19))  # 100 + 50 + 95 = 245
    assert (saturday.calls[NINE], saturday.calls[TWO]) == pytest.approx((147.0, 98.0))
    # an interval that never had a call: no calls, and the weekday's AHT (180*.6 + 300*.4)
    assert monday.calls[0] == 0.0
    assert monday.aht_s[0] == pytest.approx(228.0)


def test_an_event_day_is_left_out_of_the_fit_and_scales_its_own_forecast() -> None:
    history = trended()
    wednesday = MONDAY + timedelta(days=9)
    storm = [h if h.day != wednesday else day_of(h.day, {NINE: 900.0}, {NINE: 600.0})
             for h in history]
    assert fit(storm).slope != pytest.approx(5.0)  # the storm bends an unaware fit
    model = fit(storm, events={wednesday})
    assert model.days == 13
    assert model.slope == pytest.approx(5.0)
    assert model.aht_s[2][NINE] == pytest.approx(180.0)
    typhoon = forecast(model, MONDAY + timedelta(days=14), factor=1.5)  # 170 * 1.5
    assert typhoon.total == pytest.approx(255.0)
    assert (typhoon.calls[NINE], typhoon.calls[TWO]) == pytest.approx((153.0, 102.0))
    assert typhoon.factor == 1.5


def test_a_queue_event_overrides_the_all_queues_one() -> None:
    d = date(2026, 9, 1)
    all_queues = EventDay(d, "", "typhoon", 2.0)
    mine = EventDay(d, "fault", "typhoon", 3.0)
    events = {(d, ""): all_queues, (d, "fault"): mine}
    assert event_factor(events, d, "fault") is mine
    assert event_factor(events, d, "billing") is all_queues
    assert event_factor(events, d + timedelta(days=1), "fault") is None
    with pytest.raises(ValueError):
        EventDay(d, "", "eclipse", 1.0)
    with pytest.raises(ValueError):
        EventDay(d, "", "holiday", math.nan)


def test_one_week_gives_no_trend_and_unseen_weekdays_the_mean() -> None:
    """Each weekday seen once: nothing tells a trend from the weekdays, so the slope is 0 and
    each level is its day's total. A weekday never seen gets the others' mean level and the
    pooled profile."""
    week = trended(5)  # Monday..Friday: 100, 115, 130, 145, 160
    model = fit(week)
    assert model.slope == 0.0
    assert forecast(model, MONDAY + timedelta(days=7)).total == pytest.approx(100.0)
    assert forecast(model, MONDAY + timedelta(days=11)).total == pytest.approx(160.0)
    sunday = forecast(model, MONDAY + timedelta(days=6))
    assert sunday.total == pytest.approx(130.0)
    assert sunday.calls[NINE] == pytest.approx(78.0)


def test_no_normal_day_is_an_error() -> None:
    with pytest.raises(ValueError):
        fit([])
    with pytest.raises(ValueError):
        fit(trended(1), events={MONDAY})


def test_a_falling_trend_never_forecasts_below_zero() -> None:
    days = [day_of(MONDAY + timedelta(days=t), {NINE: 70.0 - 10 * t}, {NINE: 100.0})
            for t in range(7)]
    model = fit(days, trend=True)
    assert model.slope == 0.0  # one of each weekday: no trend can be told
    falling = [day_of(MONDAY + timedelta(days=7 * t), {NINE: 70.0 - 20 * t}, {NINE: 100.0})
               for t in range(3)]  # Mondays 70, 50, 30
    model = fit(falling)
    assert forecast(model, MONDAY + timedelta(days=21)).total == pytest.approx(10.0)
    assert forecast(model, MONDAY + timedelta(days=35)).total == 0.0


def test_wape_and_mape_by_hand() -> None:
    f = np.zeros(SLOTS)
    a = np.zeros(SLOTS)
    f[NINE], f[TWO], f[0] = 50, 30, 2
    a[NINE], a[TWO] = 40, 30
    acc = accuracy(f, a)
    assert acc.forecast == 82 and acc.actual == 70
    assert acc.wape == pytest.approx((10 + 0 + 2) / 70)
    assert acc.mape == pytest.approx((10 / 40 + 0 / 30) / 2)  # only intervals with calls
    quiet = accuracy(f, np.zeros(SLOTS))
    assert (quiet.wape, quiet.mape) == (None, None)
    assert accuracy(a, a).wape == 0.0


def test_required_agents_of_a_forecast_day_by_hand() -> None:
    """50 calls in a quarter hour with AHT 180 s are the classic 100 calls in 30 minutes:
    14 agents for 80 % within 20 s (Erlang C); with 30 % shrinkage ceil(14 / 0.7) = 20."""
    calls, aht = np.zeros(SLOTS), np.full(SLOTS, 180.0)
    calls[NINE] = 50
    aht[TWO] = math.nan
    calls[TWO] = 10
    needs = required_agents(DayForecast(MONDAY, 1.0, calls, aht), 0.8, 20.0, shrinkage=0.3)
    nine = needs[NINE]
    assert nine.staffing is not None
    assert (nine.staffing.agents, nine.scheduled) == (14, 20)
    assert nine.staffing.service_level == pytest.approx(0.888, abs=0.001)
    assert needs[0].staffing is None and needs[0].scheduled == 0  # no calls
    assert needs[TWO].staffing is None and needs[TWO].aht_s is None  # AHT unknown
    # with impatient callers (Erlang A) fewer agents meet the same target
    patient = required_agents(DayForecast(MONDAY, 1.0, calls, aht), 0.8, 20.0,
                              patience_s=60.0)[NINE]
    assert patient.staffing is not None and patient.staffing.agents < 14


# ---- properties

counts = st.lists(st.integers(0, 40), min_size=SLOTS, max_size=SLOTS)


@settings(max_examples=30, deadline=None)
@given(week=st.lists(counts, min_size=7, max_size=7), weeks=st.integers(2, 5),
       k=st.integers(1, 4))
def test_identical_weeks_forecast_the_week_and_scale(week: list[list[int]], weeks: int,
                                                     k: int) -> None:
    """A history of identical weeks has no trend: each next day's forecast is that weekday's
    counts. Multiplying the history by k multiplies the forecast by k, the AHT stays."""
    history = []
    for i in range(weeks * 7):
        calls = np.array(week[i % 7], dtype=float)
        history.append(DayHistory(MONDAY + timedelta(days=i), calls, calls, calls * 200.0))
    model = fit(history)
    assert model.slope == pytest.approx(0.0, abs=1e-9)
    for i in range(7):
        f = forecast(model, MONDAY + timedelta(days=weeks * 7 + i))
        assert f.calls == pytest.approx(np.array(week[i], dtype=float), abs=1e-8)
    scaled = fit([DayHistory(h.day, h.calls * k, h.handled * k, h.handle_s * k)
                  for h in history])
    day = MONDAY + timedelta(days=weeks * 7 + 3)
    assert forecast(scaled, day).calls == pytest.approx(forecast(model, day).calls * k,
                                                        abs=1e-7)
    aht = forecast(scaled, day).aht_s
    assert np.all((aht == pytest.approx(200.0)) | np.isnan(aht))


@settings(max_examples=30, deadline=None)
@given(days=st.lists(counts, min_size=1, max_size=30), factor=st.floats(0, 5),
       ahead=st.integers(1, 60))
def test_a_forecast_is_its_days_total_spread_by_the_profile(days: list[list[int]],
                                                            factor: float,
                                                            ahead: int) -> None:
    history = [DayHistory(MONDAY + timedelta(days=i), np.array(c, dtype=float),
                          np.array(c, dtype=float), np.array(c, dtype=float) * 90.0)
               for i, c in enumerate(days)]
    model = fit(history)
    day = MONDAY + timedelta(days=len(days) - 1 + ahead)
    f = forecast(model, day, factor)
    assert np.all(f.calls >= 0)
    assert f.total == pytest.approx(model.total(day) * factor, abs=1e-6)
    assert model.profile.sum(axis=1) == pytest.approx(np.ones(7))


def test_a_generated_seasonal_history_is_learnt() -> None:
    """Eight weeks drawn from known means (weekday levels 1,000 down to 500 calls, +3 calls a
    day, a peak at 10:00, Poisson counts, seed 1): the next week's day totals come within 4 %
    of the true means, the slope within 1 call a day, and the peak interval's agents within
    one of what the true mean needs."""
    levels = (1000.0, 960.0, 940.0, 930.0, 900.0, 620.0, 500.0)
    hours = np.arange(SLOTS) / 4.0
    shape = 0.05 + np.exp(-(((hours - 10) / 1.6) ** 2))
    shape /= shape.sum()
    rng = np.random.default_rng(1)

    def mean(t: int) -> np.ndarray:
        d = MONDAY + timedelta(days=t)
        return (levels[d.weekday()] + 3.0 * t) * shape

    history = []
    for t in range(56):
        c = rng.poisson(mean(t)).astype(float)
        history.append(DayHistory(MONDAY + timedelta(days=t), c, c, c * 240.0))
    model = fit(history)
    assert model.slope == pytest.approx(3.0, abs=1.0)
    for t in range(56, 63):
        f = forecast(model, MONDAY + timedelta(days=t))
        assert f.total == pytest.approx(mean(t).sum(), rel=0.04)
    monday = forecast(model, MONDAY + timedelta(days=63))
    peak = int(np.argmax(mean(63)))  # 10:00
    got = required_agents(monday, 0.8, 20.0)[peak].staffing
    assert got is not None
    truth = needed_agents(float(mean(63)[peak]), 240.0, 900, 20.0, sl_target=0.8).agents
    assert abs(got.agents - truth) <= 1
