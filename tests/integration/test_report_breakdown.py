"""GET /api/reports/breakdown (a report's row drilled down by time) against the real
PostgreSQL, on the hand-worked day of tests/helpers/report_day.py: one group's figures per
local day, hour and 15 minutes equal values worked out by hand from the day's rows; every
count of the buckets sums to the period's (`total`, and GET /api/reports/figures), by every
grouping, read from the raw rows and from the roll-ups; the drilled-down export has one row
a bucket; the span bounds."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import fields

import asyncpg
import httpx
import pytest

from hotline.api.limits import MAX_BREAKDOWN_STEPS
from hotline.core.settings import Settings
from hotline.reports import rollup
from hotline.reports.model import Counts
from tests.helpers import report_day as day
from tests.helpers.api_app import api_app, login
from tests.helpers.report_day import DAY, NOW, SINCE, UNTIL, H

COUNT_NAMES = [f.name for f in fields(Counts)]


@pytest.fixture
async def client(conn: asyncpg.Connection, empty_db_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the loaded day at NOW, the centre on UTC, no roll-up job of its own (a
    test rolls up itself)."""
    monkeypatch.setenv("HOTLINE_API_USERS", "boss:pw:supervisor;qa1:pw:qa")
    await day.load(conn)
    async with AsyncExitStack() as stack:
        app = await stack.enter_async_context(api_app(empty_db_url, Settings(
            utc_offset_s=0, report_schedule_poll_s=0),
                                                      clock=lambda: NOW))
        yield app.client


async def _get(client: httpx.AsyncClient, boss: dict[str, str], **params: object) -> dict:
    r = await client.get("/api/reports/breakdown", headers=boss, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_hours_and_quarters_equal_the_hand_worked_day(client: httpx.AsyncClient) -> None:
    boss = await login(client, "boss")
    body = await _get(client, boss, **{"from": SINCE, "to": UNTIL}, by="centre", key="centre",
                      step=3600)
    hours = body["buckets"]
    assert [b["start"] for b in hours] == [SINCE + h * H for h in range(24)]
    assert all(b["end"] - b["start"] == H for b in hours)
    # offered calls by the hour they entered: k1 1, k3 2, k5 3 (abandoned), k7 4 (short
    # abandoned), k2 5, k10 8, k11 9, k6 16; k8 (node failure) and k9 (self-served) are not
    offered = {h: b["figures"]["counts"]["offered"] for h, b in enumerate(hours)
               if b["figures"]["counts"]["offered"]}
    assert offered == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 8: 1, 9: 1, 16: 1}
    rate = {h: hours[h]["figures"]["answer_rate"] for h in (1, 3, 4, 9, 0)}
    assert rate == {1: 1.0, 3: 0.0, 4: 0.0, 9: 1.0, 0: None}
    # k1 (hour 1) has k2 from the same number 4 h later: not resolved at the first call
    assert hours[1]["figures"]["first_call_resolution"] == 0.0
    assert hours[5]["figures"]["first_call_resolution"] == 1.0
    # r1 and r2, the report orders, were created in hours 4 and 5; last year's r3..r6 in
    # hours 1, 6, 12 and 23
    assert [b["figures"]["report_orders"] for b in hours[3:7]] == [0, 1, 1, 0]
    assert [h for h, b in enumerate(hours) if b["figures"]["report_orders_last_year"]] == [
        1, 6, 12, 23]
    assert body["total"]["counts"]["offered"] == 8

    # team "day" (a1, a2), its hour 1 drilled down to quarters: a1 answered k1 at 01:00
    # (then o1, the complaint, and o7 were created, and a2's ready span runs to 02:00)
    body = await _get(client, boss, **{"from": SINCE + H, "to": SINCE + 2 * H}, by="team",
                      key="day", step=900)
    quarters = body["buckets"]
    assert [b["start"] for b in quarters] == [SINCE + H + q * 900 for q in range(4)]
    assert [b["figures"]["counts"]["answered"] for b in quarters] == [1, 0, 0, 0]
    assert [b["figures"]["complaint_rate"] for b in quarters] == [1.0, None, None, None]
    for b in quarters:  # a1 on call, a2 ready, each the whole quarter
        assert b["figures"]["counts"]["busy_s"] == pytest.approx(900)
        assert b["figures"]["counts"]["available_s"] == pytest.approx(900)
        assert b["figures"]["utilisation"] == pytest.approx(0.5)
        assert b["figures"]["occupancy"] == pytest.approx(0.5)
    assert body["total"]["utilisation"] == pytest.approx(0.5)
    assert (body["by"], body["key"], body["step"]) == ("team", "day", 900)


@pytest.mark.parametrize("rolled", [False, True])
async def test_the_buckets_sum_to_the_period(client: httpx.AsyncClient,
                                             conn: asyncpg.Connection, rolled: bool) -> None:
    """Every count is additive over time (a call, an order event, a piece of a state span
    counts in the one bucket it falls in), so the buckets' counts sum to the period's, and
    the ratios are the period's own, not an average of the buckets'."""
    if rolled:  # the quarters and days up to NOW from the roll-ups, as production reads
        await rollup.roll_up(conn, NOW, 0)
    boss = await login(client, "boss")
    since, until = SINCE - DAY, UNTIL + DAY  # three days, the last one partly after NOW
    cases = [("day", since, until), ("hour", SINCE, UNTIL), ("quarter", SINCE + 4 * H,
                                                            SINCE + 28 * H)]
    steps = {"day": 86400, "hour": 3600, "quarter": 900}
    for by in ("centre", "team", "agent", "queue", "service", "unit"):
        r = await client.get("/api/reports/figures", headers=boss,
                             params={"from": SINCE, "to": UNTIL, "by": by})
        keys = [g["key"] for g in r.json()["groups"]]
        assert keys, by
        for key in keys:
            for name, a, b in cases:
                body = await _get(client, boss, **{"from": a, "to": b}, by=by, key=key,
                                  step=steps[name])
                whole = (await client.get("/api/reports/figures", headers=boss, params={
                    "from": a, "to": b, "by": by})).json()["groups"]
                period = next((g for g in whole if g["key"] == key), None)
                assert len(body["buckets"]) == round((b - a) / steps[name])
                for c in COUNT_NAMES:
                    summed = sum(x["figures"]["counts"][c] for x in body["buckets"])
                    assert summed == pytest.approx(body["total"]["counts"][c]), (by, key, name, c)
                    expected = period["counts"][c] if period else 0
                    assert summed == pytest.approx(expected), (by, key, name, c)
                if period:
                    for f in ("answer_rate", "first_call_resolution", "utilisation"):
                        assert body["total"][f] == period[f], (by, key, f)


async def test_the_export_follows_the_drilled_view(client: httpx.AsyncClient) -> None:
    boss = await login(client, "boss")
    r = await client.get("/api/reports/export", headers=boss, params={
        "from": SINCE, "to": UNTIL, "by": "queue", "key": "fault", "step": 3600,
        "format": "csv"})
    assert r.status_code == 200, r.text
    assert 'filename="queue-fault-hour-' in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["start"] for row in table][:3] == [
        "2026-07-01 00:00", "2026-07-01 01:00", "2026-07-01 02:00"]
    assert len(table) == 24 and {row["key"] for row in table} == {"fault"}
    # fault: k3 (02:00, answered), k5 (03:00, abandoned), k6 (16:00, answered)
    assert {i: row["offered"] for i, row in enumerate(table) if row["offered"] != "0"} == {
        2: "1", 3: "1", 16: "1"}
    assert (table[2]["answer_rate"], table[3]["answer_rate"], table[0]["answer_rate"]) == (
        "1.0", "0.0", "")


async def test_bounds_and_who_may_read(client: httpx.AsyncClient) -> None:
    boss = await login(client, "boss")
    r = await client.get("/api/reports/breakdown", headers=boss, params={
        "from": SINCE, "to": SINCE + (MAX_BREAKDOWN_STEPS + 1) * 900, "key": "centre",
        "step": 900})
    assert (r.status_code, r.json()["error"]["details"]["max_span_s"]) == (
        422, MAX_BREAKDOWN_STEPS * 900)
    for bad in ({"from": SINCE, "to": UNTIL}, {"from": SINCE, "to": UNTIL, "key": "centre",
                                                 "step": 60}):
        r = await client.get("/api/reports/breakdown", headers=boss, params=bad)
        assert r.status_code == 422, bad
    r = await client.get("/api/reports/export", headers=boss, params={
        "from": SINCE, "to": UNTIL, "key": "centre"})
    assert r.status_code == 422
    r = await client.get("/api/reports/breakdown", headers=await login(client, "qa1"),
                         params={"from": SINCE, "to": UNTIL, "key": "centre"})
    assert r.status_code == 403
    # a key with nothing in the period: empty buckets, not an error
    body = await _get(client, boss, **{"from": SINCE, "to": UNTIL}, by="team", key="nobody")
    assert [b["figures"]["counts"]["answered"] for b in body["buckets"]] == [0]
