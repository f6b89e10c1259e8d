"""The report figures' SQL (hotline/reports/queries.py) against the real PostgreSQL, on the
hand-worked day of tests/helpers/report_day.py: the same values as the unit test's docstring
(tests/unit/test_report_figures.py works them out), by every grouping, and equal to the
counting rules of hotline/reports/model.py for every group."""

from __future__ import annotations

from dataclasses import astuple

import asyncpg
import pytest

from hotline.reports import queries
from hotline.reports.model import (
    By,
    Counts,
    Rules,
    count_calls,
    count_orders,
    count_states,
)
from tests.helpers import report_day as day
from tests.helpers.report_day import DAY, NOW, SINCE, UNTIL, H

RULES = Rules(repeat_window_s=DAY)


def by_key(found: list) -> dict:
    return {f.key: f for f in found}


async def test_the_centre_and_its_roll_up(conn: asyncpg.Connection) -> None:
    await day.load(conn)
    [centre] = await queries.report(conn, By.CENTRE, SINCE, UNTIL, NOW, RULES)
    assert centre.key == "centre"
    assert centre.answer_rate == 0.75
    assert centre.first_call_resolution == 0.8
    assert centre.repeat_call_rate == pytest.approx(3 / 9)
    assert centre.complaint_rate == 0.5
    assert centre.substantiated_complaint_rate == pytest.approx(2 / 3)
    assert centre.complaint_timeliness == 0.5
    assert centre.callback_timeliness == 0.5
    assert centre.callbacks_done == 3
    assert (centre.report_orders, centre.report_orders_last_year,
            centre.report_orders_yoy) == (2, 4, -0.5)
    assert centre.utilisation == pytest.approx(10 / 35)
    assert centre.occupancy == pytest.approx(10 / 32)

    agents = by_key(await queries.report(conn, By.AGENT, SINCE, UNTIL, NOW, RULES))
    assert {k: (f.first_call_resolution, f.callback_timeliness, f.callbacks_done)
            for k, f in agents.items()} == {"a1": (0.0, 1.0, 1), "a2": (1.0, 0.5, 2),
                                            "a3": (1.0, 0.0, 0)}
    assert agents["a1"].utilisation == pytest.approx(3 / 7)
    teams = by_key(await queries.report(conn, By.TEAM, SINCE, UNTIL, NOW, RULES))
    assert teams["day"].first_call_resolution == pytest.approx(2 / 3)
    assert teams["day"].utilisation == pytest.approx(7 / 31)
    assert teams["day"].callback_timeliness == pytest.approx(2 / 3)
    vendors = by_key(await queries.report(conn, By.VENDOR, SINCE, UNTIL, NOW, RULES))
    assert set(vendors) == {"own", "partner"}
    assert vendors["partner"].occupancy == 0.75 and vendors["partner"].answer_rate is None


async def test_queues_services_and_units(conn: asyncpg.Connection) -> None:
    await day.load(conn)
    queues = by_key(await queries.report(conn, By.QUEUE, SINCE, UNTIL, NOW, RULES))
    assert {k: f.answer_rate for k, f in queues.items()} == {
        "billing": 1.0, "fault": pytest.approx(2 / 3), "general": 0.5}
    # complaints by the queue of the order's first call: o1 (k1) and o3 (k2) in billing,
    # o2 (k3) in fault; over billing's 3 and fault's 2 answered calls
    assert queues["billing"].complaint_rate == pytest.approx(2 / 3)
    assert queues["fault"].complaint_rate == 0.5
    assert queues["fault"].utilisation is None
    services = by_key(await queries.report(conn, By.SERVICE, SINCE, UNTIL, NOW, RULES))
    assert services["report"].report_orders_yoy == -0.5
    units = by_key(await queries.report(conn, By.UNIT, SINCE, UNTIL, NOW, RULES))
    assert units["complaints_office"].substantiated_complaint_rate == pytest.approx(2 / 3)
    assert units["complaints_office"].complaint_timeliness == 0.5
    assert (units["billing_office"].callback_timeliness,
            units["billing_office"].callbacks_done) == (0.5, 2)
    assert units["inspection_office"].report_orders == 2
    assert units["repair_crew"].answer_rate is None  # calls have no unit


async def test_a_twelve_hour_centre_and_excused_training(conn: asyncpg.Connection) -> None:
    await day.load(conn)
    rules = Rules(12 * H, frozenset({"training"}))
    [centre] = await queries.report(conn, By.CENTRE, SINCE, UNTIL, NOW, rules)
    assert centre.repeat_call_rate == pytest.approx(2 / 9)
    assert centre.utilisation == pytest.approx(10 / 33)


@pytest.mark.parametrize("rules", [RULES, Rules(12 * H, frozenset({"break", "training"}))])
async def test_the_sql_keeps_the_counting_rules(conn: asyncpg.Connection,
                                                rules: Rules) -> None:
    """Every agent's counts from PostgreSQL equal the rules over the same rows, also for a
    report cut short by `now` (mid-period)."""
    await day.load(conn)
    every = [c.row for c in day.CALLS]
    for now in (NOW, SINCE + 12 * H):
        found = await queries.counts(conn, By.AGENT, SINCE, UNTIL, now, rules)
        for agent in ("a1", "a2", "a3"):
            want = (count_calls(day.calls_of({agent}), every, SINCE, UNTIL, rules)
                    + count_orders(day.orders_of({agent}), SINCE, UNTIL, now)
                    + count_states(day.states_of({agent}), SINCE, UNTIL, now, rules))
            got = found.get(agent, Counts())
            assert astuple(got) == pytest.approx(astuple(want)), (agent, now)
