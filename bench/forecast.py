"""The forecast's fit time and accuracy on a synthetic seasonal history, ours against
statsmodels' Holt-Winters (the comparison behind the choice in README.md, docs/planning.md).

    .venv/bin/python -m bench.forecast [--weeks 12] [--test-weeks 4] [--seed 1]

statsmodels is not a dependency of the project: run this with an interpreter that has it
(e.g. a scratch venv with `pip install statsmodels`, from the repository root) to get its
figures; without it they are null.

The history: `weeks` weeks of 96 quarter hours, a level per weekday (Monday 1,000 calls down to
Sunday 500), a trend of +3 calls a day, a weekday and a weekend intraday profile (peaks at
10:00 and 15:00), Poisson counts. Then `test_weeks` weeks are forecast two ways:
- eve: each day forecast from the history up to its eve (one fit per day, as the planner's
  accuracy report does);
- ahead: all days from one fit at the end of the history (a month plan's view).
Each method: ours (hotline/planning/forecast.py: weekday levels + linear trend by least squares,
pooled weekday profile); Holt-Winters on the daily totals (additive trend, multiplicative
weekly season, statsmodels ExponentialSmoothing) spread by the same profile; Holt-Winters on
the quarter-hour series itself (season 672 = a week), ahead only (one fit takes seconds).
WAPE = sum |actual - forecast| / sum actual over the test intervals. The last line is one
JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from datetime import date, timedelta

import numpy as np

from hotline.planning.forecast import SLOTS, DayHistory, fit, forecast

LEVELS = (1000.0, 960.0, 940.0, 930.0, 900.0, 620.0, 500.0)
TREND_PER_DAY = 3.0
START = date(2026, 1, 5)  # a Monday


def profiles() -> np.ndarray:
    """(2, SLOTS): weekday and weekend shares."""
    t = np.arange(SLOTS) / 4.0  # hours
    night = 0.05
    weekday = night + np.exp(-((t - 10) / 1.6) ** 2) + 0.8 * np.exp(-((t - 15) / 1.8) ** 2)
    weekend = night + 0.7 * np.exp(-((t - 11) / 2.5) ** 2) + 0.5 * np.exp(-((t - 16) / 2.5) ** 2)
    p = np.stack([weekday, weekend])
    return p / p.sum(axis=1, keepdims=True)


def expected(day: date) -> np.ndarray:
    p = profiles()[1 if day.weekday() >= 5 else 0]
    total = LEVELS[day.weekday()] + TREND_PER_DAY * (day - START).days
    return total * p


def history(weeks: int, seed: int) -> list[DayHistory]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(weeks * 7):
        day = START + timedelta(days=i)
        calls = rng.poisson(expected(day)).astype(float)
        out.append(DayHistory(day, calls, calls, calls * 240.0))
    return out


def wape(pred: list[np.ndarray], actual: list[np.ndarray]) -> float:
    f, a = np.concatenate(pred), np.concatenate(actual)
    return float(np.abs(a - f).sum() / a.sum())


def wape_day(pred: list[np.ndarray], actual: list[np.ndarray]) -> float:
    """WAPE of the daily totals (the quarter-hour WAPE is mostly Poisson noise)."""
    f, a = np.array([p.sum() for p in pred]), np.array([x.sum() for x in actual])
    return float(np.abs(a - f).sum() / a.sum())


def ours(train: list[DayHistory], test: list[DayHistory], window_weeks: int) -> dict[str, float]:
    t0 = time.perf_counter()
    preds = []
    days = train + test
    n = len(train)
    for j, h in enumerate(test):  # eve: fit on the window before each day
        window = [d for d in days[:n + j] if d.day >= h.day - timedelta(weeks=window_weeks)]
        preds.append(forecast(fit(window), h.day).calls)
    eve_s = (time.perf_counter() - t0) / len(test)
    model = fit([d for d in train if d.day >= train[-1].day - timedelta(weeks=window_weeks) +
                 timedelta(days=1)])
    ahead = [forecast(model, h.day).calls for h in test]
    actual = [h.calls for h in test]
    return {"fit_s": eve_s, "wape_eve": wape(preds, actual), "wape_ahead": wape(ahead, actual),
            "wape_day_eve": wape_day(preds, actual)}


def holt_winters(train: list[DayHistory], test: list[DayHistory]) -> dict[str, float] | None:
    try:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
    except ImportError:
        return None
    warnings.simplefilter("ignore")
    days = train + test
    n = len(train)
    actual = [h.calls for h in test]

    def daily(part: list[DayHistory]) -> tuple[np.ndarray, float]:
        totals = np.array([d.calls.sum() for d in part])
        t0 = time.perf_counter()
        res = ExponentialSmoothing(totals, trend="add", seasonal="mul",
                                   seasonal_periods=7).fit()
        return res, time.perf_counter() - t0

    preds, fit_s = [], 0.0
    for j, h in enumerate(test):
        res, s = daily(days[:n + j])
        fit_s += s
        shape = fit(days[:n + j]).profile[h.day.weekday()]  # the same intraday profile
        preds.append(float(res.forecast(1)[0]) * shape)
    res, _ = daily(train)
    shape = fit(train).profile
    ahead = [float(v) * shape[h.day.weekday()] for v, h in
             zip(res.forecast(len(test)), test, strict=True)]
    out = {"fit_s": fit_s / len(test), "wape_eve": wape(preds, actual),
           "wape_ahead": wape(ahead, actual), "wape_day_eve": wape_day(preds, actual)}
    series = np.concatenate([d.calls for d in train]) + 0.5  # multiplicative needs > 0
    t0 = time.perf_counter()
    res = ExponentialSmoothing(series, trend="add", seasonal="add",
                               seasonal_periods=7 * SLOTS).fit()
    out["interval_fit_s"] = time.perf_counter() - t0
    flat = res.forecast(len(test) * SLOTS) - 0.5
    out["interval_wape_ahead"] = wape([np.clip(flat, 0, None)], [np.concatenate(actual)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--test-weeks", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    days = history(args.weeks + args.test_weeks, args.seed)
    train, test = days[:args.weeks * 7], days[args.weeks * 7:]
    # the floor: no method can beat the Poisson noise; WAPE of the true means
    floor = wape([expected(h.day) for h in test], [h.calls for h in test])
    floor_day = wape_day([expected(h.day) for h in test], [h.calls for h in test])
    mine8 = ours(train, test, 8)
    mine = ours(train, test, args.weeks)
    hw = holt_winters(train, test)
    print(f"history {args.weeks} weeks, test {args.test_weeks} weeks, "
          f"{sum(h.calls.sum() for h in test):.0f} test calls; WAPE of the true means "
          f"{floor:.4f} (daily totals {floor_day:.4f})")
    print(f"ours, 8-week window: fit {mine8['fit_s'] * 1e3:.2f} ms, WAPE eve "
          f"{mine8['wape_eve']:.4f} (daily {mine8['wape_day_eve']:.4f}), ahead "
          f"{mine8['wape_ahead']:.4f}")
    print(f"ours, {args.weeks}-week window: fit {mine['fit_s'] * 1e3:.2f} ms, WAPE eve "
          f"{mine['wape_eve']:.4f} (daily {mine['wape_day_eve']:.4f}), ahead "
          f"{mine['wape_ahead']:.4f}")
    if hw is None:
        print("statsmodels not installed: Holt-Winters not measured")
    else:
        print(f"Holt-Winters daily (statsmodels): fit {hw['fit_s'] * 1e3:.2f} ms, WAPE eve "
              f"{hw['wape_eve']:.4f} (daily {hw['wape_day_eve']:.4f}), ahead "
              f"{hw['wape_ahead']:.4f}")
        print(f"Holt-Winters on quarter hours (season 672): fit {hw['interval_fit_s']:.2f} s, "
              f"WAPE ahead {hw['interval_wape_ahead']:.4f}")
    figures = {
        "weeks": args.weeks, "test_weeks": args.test_weeks, "seed": args.seed,
        "wape_floor": round(floor, 4), "wape_day_floor": round(floor_day, 4),
        "ours8_fit_ms": round(mine8["fit_s"] * 1e3, 3),
        "ours8_wape_eve": round(mine8["wape_eve"], 4),
        "ours8_wape_ahead": round(mine8["wape_ahead"], 4),
        "ours_fit_ms": round(mine["fit_s"] * 1e3, 3),
        "ours_wape_eve": round(mine["wape_eve"], 4),
        "ours_wape_ahead": round(mine["wape_ahead"], 4),
        "ours_wape_day_eve": round(mine["wape_day_eve"], 4),
        "hw_fit_ms": None if hw is None else round(hw["fit_s"] * 1e3, 3),
        "hw_wape_eve": None if hw is None else round(hw["wape_eve"], 4),
        "hw_wape_ahead": None if hw is None else round(hw["wape_ahead"], 4),
        "hw_wape_day_eve": None if hw is None else round(hw["wape_day_eve"], 4),
        "hw_interval_fit_s": None if hw is None else round(hw["interval_fit_s"], 3),
        "hw_interval_wape_ahead": None if hw is None else round(hw["interval_wape_ahead"], 4),
    }
    assert all(v is None or math.isfinite(v) for v in figures.values())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
