"""The reports page (#17.4) in a real Chromium over the real PostgreSQL, on the hand-worked
day of tests/helpers/report_day.py (2026-07-01, the browser in UTC): the supervisor signs in
with the development login, sees the figures by team (the API's, as percentages), exports
them as CSV (the same bytes as GET /api/reports/export), reads the balanced scorecard and
enters an exam score that shows on it, reads the monthly warning list, adds a daily report
schedule whose report the background job makes (the day has ended) and downloads it.
Screenshots in Chinese and English: test-artifacts/reports-{zh,en}.png."""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import openpyxl
import pytest
from playwright.async_api import Browser, Page

from hotline.api import Services
from hotline.core.settings import Settings
from tests.helpers import report_day as day
from tests.helpers.pages import cells, shot, sign_in, site_over
from tests.helpers.report_day import SINCE, UNTIL
from tests.helpers.servers import fast_hasher

DEADLINE_MS = 30_000


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The API with the development logins over the day, 30 s after it ended (UTC centre)."""
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    await day.load(conn)
    await charts_data(conn)
    services = Services.build(hasher=fast_hasher(), clock=lambda: UNTIL + 30)
    async with site_over(empty_db_url, services,
                         Settings(utc_offset_s=0, report_schedule_poll_s=0.2)) as base:
        yield base


async def charts_data(conn: asyncpg.Connection) -> None:
    """Interval rows of billing over the day (a hump from 08:00 to 20:00, a few abandons,
    the service level dipping at the peak) and survey answers on it."""
    for q in range(32, 80):
        calls = round(30 * math.sin(math.pi * (q - 32) / 48)) + 2
        abandoned = calls // 10
        within = round((calls - abandoned) * (0.95 - 0.4 * math.sin(math.pi * (q - 32) / 48)))
        start = SINCE + q * 900
        await conn.execute(
            "INSERT INTO interval_stats (queue, interval_start, interval_end, offered,"
            " answered, abandoned, answered_within_t, figures) VALUES ('billing', $1, $2, $3,"
            " $4, $5, $6, '{\"sl_target\": 0.8}')", day.at(start), day.at(start + 900), calls,
            calls - abandoned, abandoned, within)
    for i, (nps, sat) in enumerate(((10, 1), (9, 1), (8, 2), (3, 5), (10, 2))):
        await conn.execute("INSERT INTO survey_answers (call_id, agent_id, nps, satisfaction,"
                           " scale, at) VALUES ($1, 'a1', $2, $3, 5, $4)", f"s{i}", nps, sat,
                           day.at(SINCE + 3600 * (9 + i)))


async def read(path: Path) -> bytes:
    return await asyncio.to_thread(Path(path).read_bytes)


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


async def test_the_supervisor_reads_exports_and_schedules(site: str, browser: Browser) -> None:
    base = site
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.post("/api/auth/token",
                              json={"username": "supervisor", "password": "supervisor"})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        period = {"from": SINCE, "to": UNTIL, "by": "team"}
        teams = {g["key"]: g for g in (await client.get(
            "/api/reports/figures", headers=auth, params=period)).json()["groups"]}
        csv_bytes = (await client.get("/api/reports/export", headers=auth,
                                      params={**period, "format": "csv"})).content

    context = await browser.new_context(viewport={"width": 1500, "height": 1000},
                                        timezone_id="UTC", accept_downloads=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, f"{base}/reports?lang=zh&from=2026-07-01&to=2026-07-01&by=team",
                  "supervisor")
    await page.wait_for_selector('#figures tr[data-key="day"]', timeout=DEADLINE_MS)
    got = await cells(page, '#figures tr[data-key="day"]')
    d = teams["day"]
    # key, answer rate (none by team), FCR 2/3, repeat (none), complaint rate 2/4, ...
    assert got[:5] == ["day", "—", pct(d["first_call_resolution"]), "—", "50.0%"]
    assert got[1 + 12] == pct(d["occupancy"]) == "25.0%"
    assert (await cells(page, '#figures tr[data-key="partner"]'))[0] == "partner"

    # the charts (ECharts, vendored): billing per hour, the API's service level in percent
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        hours = (await client.get("/api/reports/intervals", headers=auth, params={
            "from": SINCE, "to": UNTIL, "queue": "billing", "step": 3600})).json()
    await page.fill("#chart-queue", "billing")
    await page.select_option("#step", "3600")
    await page.dispatch_event("#chart-queue", "change")
    want = [round(b["service_level"] * 100, 1) for b in hours]
    await page.wait_for_function(
        "(n) => echarts.getInstanceByDom(document.getElementById('chart-sl'))"
        "?.getOption().series[0].data.length === n", arg=len(want), timeout=DEADLINE_MS)
    got_sl = await page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-sl'))"
                                 ".getOption().series[0].data")
    assert got_sl == want and len(want) == 12
    nps = await page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-nps'))"
                              ".getOption().series[0].data")
    assert nps == [40.0]  # promoters 3, detractors 1 of 5
    states = await page.evaluate("echarts.getInstanceByDom("
                                 "document.getElementById('chart-states')).getOption().yAxis[0].data")
    assert states == ["a1", "a2", "a3"]

    # the export: the API's own file
    async with page.expect_download() as dl:
        await page.click("#csv")
    assert await read(await (await dl.value).path()) == csv_bytes

    # the scorecard by agent; an exam score entered shows on it (72 of the target 90 -> 80)
    await page.wait_for_selector('#scorecard tr[data-key="a1"]', timeout=DEADLINE_MS)
    await page.fill("#score-agent", "a1")
    await page.fill("#score-value", "72")
    await page.click("#score-form button[type=submit]")
    await page.wait_for_function(
        "() => document.querySelector('#scorecard tr[data-key=\"a1\"] [data-field=\"exam\"]')"
        "?.textContent === '72.0 · 80'", timeout=DEADLINE_MS)

    # the monthly warning list: o2 overdue, o1 and o4 substantiated
    rows = await page.eval_on_selector_all("#warnings tbody tr", "trs => trs.map(t => "
                                           "[...t.cells].slice(0, 2).map(c => c.textContent))")
    assert rows == [["complaints_office", "超期"], ["complaints_office", "属实投诉"],
                    ["complaints_office", "属实投诉"]]

    # a daily report by team as XLSX: made by the background job, listed, downloaded
    await page.select_option("#sch-period", "day")
    await page.select_option("#sch-by", "team")
    await page.select_option("#sch-format", "xlsx")
    await page.click("#schedule-form button[type=submit]")
    await page.wait_for_selector("#schedules tbody tr", timeout=DEADLINE_MS)
    async with asyncio.timeout(DEADLINE_MS / 1000):
        while not await page.locator("#files tbody tr").count():
            await page.click("#query button[type=submit]")  # reload the lists
            await page.wait_for_load_state()
            await asyncio.sleep(0.3)
    assert (await cells(page, "#files tbody tr"))[0] == "team-2026-07-01.xlsx"
    async with page.expect_download() as dl:
        await page.click("#files tbody tr button")
    sheet = openpyxl.load_workbook(io.BytesIO(await read(await (await dl.value).path()))).active
    made = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(made) == {"day", "partner"}
    assert made["day"][2] == pytest.approx(d["first_call_resolution"])
    await shot(page, "reports-zh.png")

    await page.click("#lang")
    await page.wait_for_function("() => document.querySelector('h1').textContent === 'Reports'",
                                 timeout=DEADLINE_MS)
    assert (await cells(page, "#warnings tbody tr"))[1] == "overdue"
    await shot(page, "reports-en.png")
    assert not errors, errors
    await context.close()


async def drill_rows(page: Page) -> list[list[str]]:
    return await page.eval_on_selector_all("#figures tbody tr", "trs => trs.map(t => "
                                           "[...t.cells].map(c => c.textContent))")


async def rows_become(page: Page, n: int, first: str) -> None:
    await page.wait_for_function(
        "([n, first]) => { const r = document.querySelectorAll('#figures tbody tr');"
        " return r.length === n && r[0].cells[0].textContent === first; }",
        arg=[n, first], timeout=DEADLINE_MS)


async def test_drilling_down_month_day_hour_quarter(site: str, browser: Browser) -> None:
    """Team "day" (a1, a2) over July 2026: its row opens the month's days, the day its hours
    (a row click), the hour its quarters (a click on the hour's bar in the drill chart), each
    the API's breakdown (answered: k1 01:00, k2 05:00, k10 08:00, k11 09:00); the CSV export
    writes the view shown; the breadcrumb goes back up to the days and the groups."""
    base = site
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.post("/api/auth/token",
                              json={"username": "supervisor", "password": "supervisor"})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        hours_csv = (await client.get("/api/reports/export", headers=auth, params={
            "from": SINCE, "to": UNTIL, "by": "team", "key": "day", "step": 3600,
            "format": "csv"})).content
    context = await browser.new_context(viewport={"width": 1500, "height": 1000},
                                        timezone_id="UTC", accept_downloads=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, f"{base}/reports?lang=zh&from=2026-07-01&to=2026-07-01&by=team",
                  "supervisor")
    await page.wait_for_selector('#figures tr[data-key="day"]', timeout=DEADLINE_MS)
    await page.click('button[data-period="month"]')  # July 2026
    await page.wait_for_function("() => document.getElementById('from').value === "
                                 "'2026-07-01' && document.getElementById('to').value === "
                                 "'2026-07-31'", timeout=DEADLINE_MS)
    await page.wait_for_selector('#figures tr[data-key="day"]', timeout=DEADLINE_MS)

    # month -> days: team "day"'s 31 days; 1 July holds its 4 answered calls
    await page.click('#figures tr[data-key="day"]')
    await rows_become(page, 31, "2026-07-01")
    days = await drill_rows(page)
    answered = [int(r[-1]) for r in days]
    assert answered[0] == 4 and sum(answered) == 4
    assert days[0][2] == "66.7%"  # first-call resolution 2/3, as the month's row
    crumbs = await page.eval_on_selector_all("#crumbs button", "bs => bs.map(b => b.textContent)")
    assert crumbs == ["全部分组 (班组)", "day · 2026-07-01 – 2026-07-31"]

    # day -> hours: a row click
    await page.click(f'#figures tbody tr[data-start="{SINCE:.0f}"]')
    await rows_become(page, 24, "07-01 00:00")
    hours = await drill_rows(page)
    assert {i: int(r[-1]) for i, r in enumerate(hours) if r[-1] != "0"} == {
        1: 1, 5: 1, 8: 1, 9: 1}
    assert (hours[1][2], hours[5][2], hours[8][2]) == ("0.0%", "100.0%", "—")
    # the export follows the drilled view: the API's file of the day's hours
    async with page.expect_download() as dl:
        await page.click("#csv")
    assert await read(await (await dl.value).path()) == hours_csv
    await shot(page, "reports-drill-hours-zh.png")

    # hour -> quarters: a click on 01:00's bar in the drill chart
    await page.wait_for_function(
        "() => echarts.getInstanceByDom(document.getElementById('chart-drill'))"
        "?.getOption().series[0].data.length === 24", timeout=DEADLINE_MS)
    x, y = await page.evaluate(
        "() => { const c = echarts.getInstanceByDom(document.getElementById('chart-drill'));"
        " const [x, y] = c.convertToPixel({seriesIndex: 0}, [1, 0.5]);"
        " const r = document.getElementById('chart-drill').getBoundingClientRect();"
        " return [r.left + x, r.top + y]; }")
    await page.mouse.click(x, y)
    await rows_become(page, 4, "07-01 01:00")
    quarters = await drill_rows(page)
    assert [r[0] for r in quarters] == ["07-01 01:00", "07-01 01:15", "07-01 01:30",
                                        "07-01 01:45"]
    assert [int(r[-1]) for r in quarters] == [1, 0, 0, 0]
    assert quarters[0][4] == "100.0%"  # complaint rate: o1 on k1's answer
    assert [r[-2] for r in quarters] == ["1", "0", "0", "0"]  # offered (k1)
    # the deepest step: a row click stays
    assert not await page.locator("#figures tbody tr.drillable").count()
    await page.click("#lang")
    await page.wait_for_function("() => document.querySelector('h1').textContent === 'Reports'",
                                 timeout=DEADLINE_MS)
    crumbs = await page.eval_on_selector_all("#crumbs button", "bs => bs.map(b => b.textContent)")
    assert crumbs == ["All groups (Team)", "day · 2026-07-01 – 2026-07-31", "2026-07-01",
                      "2026-07-01 01:00–02:00"]
    await shot(page, "reports-drill-quarters-en.png")

    # the breadcrumb back up: the month's days, then the groups
    await page.click('#crumbs button[data-depth="0"]')
    await rows_become(page, 31, "2026-07-01")
    await page.click('#crumbs button[data-depth="-1"]')
    await page.wait_for_selector('#figures tr[data-key="partner"]', timeout=DEADLINE_MS)
    assert not errors, errors
    await context.close()
