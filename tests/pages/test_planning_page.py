"""The planner's page in a real Chromium over the real PostgreSQL: the planner signs in with the
development login, picks a queue and a day with interval history, sees the forecast and the
agents it needs (the API's own figures), the day's accuracy, sets and deletes an event day, and
runs a what-if whose baseline and variant show side by side. Screenshots in Chinese and English
go to test-artifacts/planning-{zh,en}.png.

The seeded history, queue billing, local time UTC+8: 1-21 June 2026, every day calls from
08:00 to 20:00 in a hump (peak ~60 a quarter hour at 14:00), AHT 240 s, a few abandons, with a
seeded noise; the page forecasts Friday 19 June (the history before it) and compares it with
what the day had."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import numpy as np
import pytest
from playwright.async_api import Browser

from hotline.api import Services
from hotline.planning import queries as planning
from hotline.planning.whatif import on_floor
from hotline.store import queries as store
from hotline.store.records import IntervalRecord
from tests.helpers.pages import cells, shot, sign_in, site_over
from tests.helpers.servers import fast_hasher

OFFSET = 8 * 3600  # Settings().utc_offset_s
FIRST, DAYS = date(2026, 6, 1), 21
DAY = date(2026, 6, 19)
AHT = 240.0
DEADLINE_MS = 30_000
WHAT_IF_MS = 90_000  # the first what-if spawns the worker process


def history() -> list[IntervalRecord]:
    rng = np.random.default_rng(19)
    rows = []
    for n in range(DAYS):
        d = FIRST + timedelta(days=n)
        midnight = planning.day_start(d, OFFSET)
        for slot in range(96):
            mean = 60 * math.sin(math.pi * (slot - 32) / 48) if 32 <= slot < 80 else 0.0
            calls = int(rng.poisson(mean)) if mean > 0 else 0
            abandoned = int(rng.binomial(calls, 0.04)) if calls else 0
            answered = calls - abandoned
            start = midnight + slot * 900
            rows.append(IntervalRecord("billing", start, start + 900, {
                "offered": calls, "answered": answered, "handled": answered,
                "abandoned": abandoned, "talk_s": answered * (AHT - 30.0),
                "acw_s": answered * 30.0, "wait_answered_s": 8.0 * answered,
                "wait_abandoned_s": 45.0 * abandoned}))
    return rows


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The API with the development logins (planner/planner) over the seeded history."""
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    await store.upsert(conn, history())
    services = Services.build(hasher=fast_hasher())
    async with site_over(empty_db_url, services) as base:
        yield base


async def test_the_planner_forecasts_sizes_and_runs_a_what_if(site: str,
                                                              browser: Browser) -> None:
    base = site
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/auth/token",
                              json={"username": "planner", "password": "planner"})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await client.get("/api/planning/forecast", headers=auth, params={
            "queue": "billing", "day": str(DAY), "shrinkage": 0.3})
        assert r.status_code == 200, r.text
        expected = {i["time"]: i for i in r.json()["intervals"]}
        r = await client.get("/api/planning/accuracy", headers=auth, params={
            "queue": "billing", "since": str(DAY), "until": str(DAY + timedelta(days=1))})
        [day_acc] = r.json()["days"]
    assert expected["14:00"]["agents"] > 5 and expected["03:00"]["calls"] == 0

    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, f"{base}/planning?lang=zh", "planner")
    await page.wait_for_selector("#board:not([hidden])", timeout=DEADLINE_MS)
    await page.fill("#queue", "billing")
    await page.fill("#day", str(DAY))
    await page.click("#query button[type=submit]")

    # the forecast per interval and the agents it needs: the API's figures
    await page.wait_for_selector('#forecast tr[data-time="14:00"]', timeout=DEADLINE_MS)
    two = await cells(page, '#forecast tr[data-time="14:00"]')
    e = expected["14:00"]
    assert two[:5] == ["14:00", f"{e['calls']:.1f}", "4:00", str(e["agents"]),
                       str(e["scheduled"])]
    assert e["scheduled"] == math.ceil(e["agents"] / 0.7)
    assert await page.locator('#forecast tr[data-time="03:00"]').count() == 0  # no calls
    assert await page.locator("#forecast-chart rect.bar").count() == sum(
        1 for i in expected.values() if i["calls"] > 0)
    # the accuracy of the 14 days before and the day itself
    assert await page.locator("#accuracy tbody tr").count() == 15
    acc = await cells(page, f'#accuracy tr[data-day="{DAY}"]')
    assert acc[2] == f"{day_acc['actual']:g}"
    assert acc[3] == f"{day_acc['wape'] * 100:.1f}%"

    # an event day for the chosen day: the forecast scales, then it is deleted again
    await page.select_option("#ev-kind", "typhoon")
    await page.fill("#ev-factor", "2")
    await page.fill("#ev-note", "台风")
    await page.click("#event-form button[type=submit]")
    await page.wait_for_selector(f'#events tr[data-day="{DAY}"]', timeout=DEADLINE_MS)
    await page.wait_for_function(
        "v => document.querySelector('#forecast tr[data-time=\"14:00\"] td:nth-child(2)')"
        "?.textContent === v", arg=f"{2 * e['calls']:.1f}", timeout=DEADLINE_MS)
    assert "台风 ×2" in (await page.text_content("#summary") or "")
    await page.click(f'#events tr[data-day="{DAY}"] button')
    await page.wait_for_selector(f'#events tr[data-day="{DAY}"]', state="detached",
                                 timeout=DEADLINE_MS)
    await page.wait_for_function(
        "v => document.querySelector('#forecast tr[data-time=\"14:00\"] td:nth-child(2)')"
        "?.textContent === v", arg=f"{e['calls']:.1f}", timeout=DEADLINE_MS)

    # what-if: three agents fewer in every staffed interval
    await page.fill("#wi-delta", "-3")
    await page.click("#whatif button[type=submit]")
    await page.wait_for_selector('#whatif-table tr[data-time="14:00"]', timeout=WHAT_IF_MS)
    wi = await cells(page, '#whatif-table tr[data-time="14:00"]')
    floor = on_floor(e["scheduled"], 0.3)
    assert wi[:4] == ["14:00", f"{e['calls']:.1f}", str(floor),
                      str(on_floor(e["scheduled"] - 3, 0.3))]
    assert all(c != "—" for c in wi[4:6])  # both service levels
    sl = await cells(page, '#whatif-totals tr[data-figure="service_level"]')
    offered = await cells(page, '#whatif-totals tr[data-figure="offered"]')
    assert offered[0] == offered[1] != "0"  # the same drawn calls
    base_sl, var_sl = (float(v.rstrip("%")) for v in sl)
    assert var_sl < base_sl
    assert await page.locator("#whatif-chart rect.sl.baseline").count() > 20
    assert await page.locator("#whatif-chart rect.sl.variant").count() > 20
    await shot(page, "planning-zh.png")

    await page.click("#lang")
    await page.wait_for_function(
        "document.querySelector('#whatif-totals thead th:nth-child(2)')"
        "?.textContent === 'Baseline'", timeout=DEADLINE_MS)
    assert await page.text_content("h1") == "Workforce planning"
    await shot(page, "planning-en.png")
    assert errors == []
