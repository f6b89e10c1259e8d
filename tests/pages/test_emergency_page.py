"""The planner page's emergency staffing panel in a real Chromium over the real PostgreSQL: a
storm morning (test_emergency_api's: the last hour at twice the forecast) shows the ratio, the
coming intervals' need against the published plan with the gap, and who could be called in,
in the API's order; a new interval row moves the ratio and the panel follows on its own (it
polls, here every 2 s). Screenshots in Chinese and English: test-artifacts/emergency-{zh,en}.png.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from hotline.api import Services
from hotline.store import queries as store
from tests.helpers.pages import cells, shot, sign_in, site_over
from tests.helpers.servers import fast_hasher
from tests.integration.test_emergency_api import today_rows
from tests.integration.test_plans_api import NOW, WEEK, seed

DEADLINE_MS = 30_000


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The API with the development logins (planner/planner), its clock at 10:30 of the
    storm day."""
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    await seed(conn)
    services = Services.build(clock=lambda: NOW, hasher=fast_hasher())
    async with site_over(empty_db_url, services) as base:
        yield base


async def test_the_planner_sees_the_storm_s_gap_and_whom_to_call_in(
        site: str, browser: Browser, conn: asyncpg.Connection) -> None:
    base = site
    await conn.execute("UPDATE agent_skills SET level = 5 WHERE agent_id = 'a5'")
    await conn.execute("UPDATE agents SET name = '王芳' WHERE id = 'a5'")
    yesterday = WEEK - timedelta(days=1)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        r = await client.post("/api/auth/token",
                              json={"username": "planner", "password": "planner"})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for a in ("a3", "a4", "a5"):
            r = await client.put(f"/api/plans/contracts/{a}", headers=auth,
                                 json={"hours_week": 40})
            assert r.status_code == 200, r.text
        for day, agent, start, end, breaks in [
                (WEEK, "a1", 540, 1020, [{"start_min": 660, "length_min": 15}]),
                (WEEK, "a2", 480, 960, [{"start_min": 600, "length_min": 60,
                                         "kind": "lunch"}]),
                (WEEK, "a3", 780, 1260, []), (yesterday, "a4", 960, 1440, [])]:
            r = await client.put(f"/api/plans/shifts/{day}/{agent}", headers=auth, json={
                "queue": "general", "start_min": start, "end_min": end, "breaks": breaks})
            assert r.status_code == 201, r.text
        r = await client.post("/api/plans/publish", headers=auth,
                              json={"first": str(yesterday), "days": 2})
        assert r.json()["shifts"] == 4
        await store.upsert(conn, today_rows({36: 9, 37: 9, 38: 18, 39: 18, 40: 18, 41: 18}))
        r = await client.get("/api/plans/emergency", headers=auth,
                             params={"queue": "general", "erlang": "a", "horizon": 8})
        assert r.status_code == 200, r.text
        expected = r.json()
    assert expected["ratio"] == 2.0 and expected["short"] > 0

    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, f"{base}/planning?lang=zh&poll=2", "planner")
    await page.wait_for_selector("#board:not([hidden])", timeout=DEADLINE_MS)
    await page.fill("#day", str(WEEK))
    await page.click("#query button[type=submit]")

    # the coming intervals: the API's figures, the short ones marked
    await page.wait_for_selector('#em-coming tr[data-time="10:30"]', timeout=DEADLINE_MS)
    for c in expected["coming"]:
        got = await cells(page, f'#em-coming tr[data-time="{c["time"]}"]')
        assert got == [c["time"], f"{c['forecast']:.1f}", f"{c['calls']:.1f}",
                       str(c["planned_need"]), str(c["need"]), str(c["scheduled"]),
                       str(c["gap"]) if c["gap"] <= 0 else f"+{c['gap']}"]
    assert await page.locator("#em-coming td.short").count() == sum(
        c["gap"] < 0 for c in expected["coming"])
    status = await page.text_content("#em-status") or ""
    assert "×2.00" in status and "72 / 36.0" in status and "来电高于预测" in status
    assert await page.get_attribute("#em-status", "data-storm") == "yes"
    # who could be called in, in the API's order
    order = await page.eval_on_selector_all("#em-callins tbody tr",
                                            "trs => trs.map(t => t.dataset.agent)")
    assert order == [c["agent_id"] for c in expected["call_ins"]] == ["a5", "a4", "a3", "a6"]
    a5 = await cells(page, '#em-callins tr[data-agent="a5"]')
    assert a5[:6] == ["a5", "王芳", "main", "5", "已签出", "10:30–12:30"]
    assert a5[7] == "40.0h · 合同内"
    a3 = await cells(page, '#em-callins tr[data-agent="a3"]')
    assert a3[8] == "提前上班，原定上班 13:00"
    assert "在班 1" in (await page.text_content("#em-excluded") or "")
    await shot(page, "emergency-zh.png")

    # the storm eases: two quieter rows; the panel reads them on its own
    await store.upsert(conn, today_rows({38: 9, 39: 9}))
    await page.wait_for_function(
        "() => document.querySelector('#em-status')?.textContent.includes('×1.50')",
        timeout=DEADLINE_MS)
    assert (await cells(page, '#em-coming tr[data-time="10:30"]'))[2] == "13.5"

    await page.click("#lang")
    await page.wait_for_function(
        "document.querySelector('#emergency-pane h2')?.textContent"
        " === 'Emergency staffing (today live against the forecast)'", timeout=DEADLINE_MS)
    assert "above forecast" in (await page.text_content("#em-status") or "")
    await shot(page, "emergency-en.png")
    assert errors == []
