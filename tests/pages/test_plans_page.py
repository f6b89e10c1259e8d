"""Plans and adherence on the pages, in a real Chromium over the real PostgreSQL: the planner
builds today's week on /planning (the CP-SAT model in its worker process), sees the day's
shifts and the gap per interval (the API's own figures, as a chart and a table) and publishes
it; the supervisor sees an agent's adherence live on /supervisor; the agent sees today's
shift on /agent. Screenshots: test-artifacts/plans-en.png, plans-zh.png,
supervisor-adherence.png, agent-shift.png.

The seeded history (queue general): the 28 days before today, 9 calls a quarter hour from
09:00 to 17:00 handled in 200 s: 4 agents needed then (tests/unit/test_week_plan.py). Six
agents of 40 hours."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from hotline.api import Services
from hotline.planning import plan_queries as pq
from hotline.planning import queries as planning
from hotline.store import queries as store
from hotline.store.records import IntervalRecord
from tests.helpers.pages import cells, shot, sign_in, site_over
from tests.helpers.servers import fast_hasher

OFFSET = 8 * 3600
AGENTS = [f"a{k}" for k in range(1, 7)]
DEADLINE_MS = 30_000
SOLVE_MS = 180_000  # the solver's worker process starts, imports OR-Tools, solves (40 s)


def today() -> date:
    return date(1970, 1, 1) + timedelta(days=int((time.time() + OFFSET) // 86_400))


async def seed(conn: asyncpg.Connection, day: date) -> None:
    rows = []
    for d in range(1, 29):
        for slot in range(36, 68):
            start = planning.day_start(day - timedelta(days=d), OFFSET) + slot * 900
            rows.append(IntervalRecord("general", start, start + 900, {
                "offered": 9, "answered": 9, "handled": 9, "abandoned": 0, "talk_s": 9 * 170.0,
                "acw_s": 9 * 30.0, "wait_answered_s": 9.0, "wait_abandoned_s": 0.0}))
    await store.upsert(conn, rows)
    await conn.execute("INSERT INTO queues (name, service, required_skills) VALUES"
                       " ('general', 'business', '{\"general\": 1}')")
    for a in AGENTS:
        await conn.execute("INSERT INTO agents (id, name, sip_endpoint) VALUES ($1, $1, $1)", a)
        await conn.execute("INSERT INTO agent_skills VALUES ($1, 'general', 3)", a)
        await pq.set_contract(conn, pq.Contract(a, 40.0), "seed", time.time())


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("HOTLINE_API_USERS", "planner:planner:planner;"
                       "supervisor:supervisor:supervisor;a1:a1:agent")
    await seed(conn, today())
    services = Services.build(hasher=fast_hasher())
    async with site_over(empty_db_url, services) as base:
        yield base


async def test_plan_publish_and_adherence_on_the_pages(site: str, browser: Browser,
                                                      conn: asyncpg.Connection) -> None:
    base, day = site, today()
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, f"{base}/planning?lang=en&queue=general&day={day}", "planner")
    await page.wait_for_selector("#plans-pane:not([hidden])", timeout=DEADLINE_MS)
    await page.fill("#plan-shrinkage", "0")
    await page.fill("#plan-limit", "40")  # the machine runs other tests: CPU is scarce
    await page.click("#plan-build")
    await page.wait_for_selector("#plan-status[data-status]", timeout=SOLVE_MS)
    status = await page.get_attribute("#plan-status", "data-status")
    assert status in ("optimal", "feasible"), await page.text_content("#plan-status")
    await page.wait_for_selector("#plan-shifts tbody tr[data-agent]", timeout=DEADLINE_MS)

    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/auth/token",
                              json={"username": "planner", "password": "planner"})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await client.get("/api/plans/day", headers=auth,
                             params={"queue": "general", "day": str(day)})
        assert r.status_code == 200, r.text
        plan = r.json()
    assert {i["need"] for i in plan["intervals"][36:68]} == {4}
    # the table: every interval with a need or agents, the API's figures
    shown = [i for i in plan["intervals"] if i["need"] or i["scheduled"]]
    assert await page.locator("#plan-gaps tbody tr").count() == len(shown)
    for i in shown:
        gap = ("+" if i["gap"] > 0 else "") + str(i["gap"])
        assert await cells(page, f'#plan-gaps tr[data-time="{i["time"]}"]') == [
            i["time"], str(i["need"]), str(i["scheduled"]), gap]
    assert await page.locator("#plan-chart rect.gapneg").count() == sum(
        i["gap"] < 0 for i in plan["intervals"])
    assert await page.locator("#plan-chart rect.gappos").count() == sum(
        i["gap"] > 0 for i in plan["intervals"])
    assert await page.locator("#plan-shifts tbody tr").count() == len(plan["shifts"])
    await shot(page, "plans-en.png")

    await page.click("#plan-publish")
    await page.wait_for_function(
        "document.querySelector('#plan-status').textContent.startsWith('shifts published')",
        timeout=DEADLINE_MS)
    await page.wait_for_function(
        "[...document.querySelectorAll('#plan-shifts tbody tr td:last-child')]"
        ".every(td => td.textContent === 'yes')", timeout=DEADLINE_MS)

    # a1's shift today is fine-tuned to cover now (no break in it) and published; a1 logged
    # in a quarter hour after its start and is ready since
    local_min = int((time.time() + OFFSET) % 86_400 // 60)
    start = max(0, min(local_min // 15 * 15 - 60, 1440 - 240))
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.put(f"/api/plans/shifts/{day}/a1", headers=auth, json={
            "queue": "general", "start_min": start, "end_min": start + 240})
        assert r.status_code in (200, 201), r.text
        r = await client.post("/api/plans/publish", headers=auth,
                              json={"first": str(day), "days": 1})
        assert r.status_code == 200
    midnight = planning.day_start(day, OFFSET)
    await conn.execute("INSERT INTO agent_state_log (agent_id, started_at, state) VALUES"
                       " ('a1', to_timestamp($1), 'ready')", midnight + (start + 15) * 60)
    await page.click("#lang")
    await page.wait_for_function(
        "document.querySelector('#plan-adherence thead th:nth-child(5)')?.textContent"
        " === '遵从度'", timeout=DEADLINE_MS)
    await page.click("#query button[type=submit]")  # read again: a1's new shift
    hm = f"{start // 60:02d}:{start % 60:02d}"
    await page.wait_for_function(
        "v => document.querySelector('#plan-adherence tr[data-agent=\"a1\"] td:nth-child(2)')"
        "?.textContent.startsWith(v)", arg=hm, timeout=DEADLINE_MS)
    await shot(page, "plans-zh.png")

    sup = await browser.new_page(viewport={"width": 1400, "height": 900})
    sup.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(sup, f"{base}/supervisor?lang=en", "supervisor")
    cell = '#adherence tr[data-agent="a1"] td[data-field="in-adherence"]'
    await sup.wait_for_selector(cell, timeout=DEADLINE_MS)
    assert await sup.text_content(cell) == "in"
    row = await cells(sup, '#adherence tr[data-agent="a1"]')
    assert row[1].startswith(hm) and row[2] == "work"
    elapsed = local_min - start  # minutes of the shift gone, 15 of them logged out
    adherence = float(row[5].rstrip("%"))
    assert adherence == pytest.approx(100 * (elapsed - 15) / elapsed, abs=2.0)
    await shot(sup, "supervisor-adherence.png")

    agent = await browser.new_page(viewport={"width": 1000, "height": 700})
    agent.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(agent, f"{base}/agent?lang=en", "a1")
    await agent.wait_for_selector("#shift-today:not([hidden]) h3", timeout=DEADLINE_MS)
    h = await agent.text_content("#shift-today h3")
    end = start + 240
    assert h == f"Today's shift {hm}–{end // 60:02d}:{end % 60:02d}"
    assert await agent.locator("#shift-today li.now").count() == 1
    await shot(agent, "agent-shift.png")
    assert errors == []
