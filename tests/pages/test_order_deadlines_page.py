"""The orders page's deadlines (#18.5) in a real Chromium over the real PostgreSQL: a
supervisor sees the notice of the orders the deadline job escalated (to the unit's supervisor
and, a day late, to the centre), and sets a unit's time limit from the page (stored and
audited). A screenshot is kept for a person to look at."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.api.security import Role
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.history.queries import audit_entries
from hotline.store import db
from hotline.work_orders import limits
from hotline.work_orders import queries as store
from hotline.work_orders.deadline_job import DeadlineJob
from hotline.work_orders.model import OrderAction, act, create
from tests.helpers.pages import save_artifact
from tests.helpers.servers import fast_hasher, serve_app

H = 3600.0


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[tuple[str, str, asyncpg.Pool]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "office:pw-office:supervisor")
    services = Services.build(hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=3)
    app = create_app(Settings(), services)
    token = app.state.signer.issue("office", [Role.SUPERVISOR])[0]
    try:
        async with serve_app(app) as base:
            yield base, token, services.db_pool
    finally:
        await services.db_pool.close()


async def test_escalation_notice_and_time_limits_on_the_orders_page(
        site: tuple[str, str, asyncpg.Pool], browser: Browser, conn: asyncpg.Connection) -> None:
    base, token, pool = site
    now = time.time()
    late = await store.save(conn, act(create(
        ServiceType.FAULT, "13900000001", "no power since 9:00", "c1", "agent1", now - 5 * H),
        OrderAction.DISPATCH, now - 5 * H))
    very_late = await store.save(conn, create(
        ServiceType.FAULT, "13900000002", "line down on the road", "c2", "agent2", now - 30 * H))
    run = await DeadlineJob(pool, time.time).run_once()  # the job escalates, not the page
    assert sorted((e.order_id, e.level) for e in run.escalated) == [
        (late.id, 1), (very_late.id, 1), (very_late.id, 2)]

    page = await browser.new_page(viewport={"width": 1400, "height": 1100})
    await page.goto(f"{base}/static/orders.html?lang=en&unit=repair_crew")
    await page.evaluate(f"sessionStorage.setItem('orders.token', {token!r})")
    await page.reload()
    notice = "#escalations"
    await page.wait_for_selector(f'{notice} li[data-order="{late.id}"]')
    assert await page.is_visible(notice)
    top = await page.get_attribute(f'{notice} li.level-2', "data-order")
    assert top == str(very_late.id)
    text = await page.inner_text(notice)
    assert "escalated to the centre" in text and "escalated to the unit's supervisor" in text

    row = 'tr[data-limit="fault/repair_crew"]'
    await page.wait_for_selector(row)
    assert await page.inner_text(f"{row} td:nth-child(6)") == "default"
    await page.fill(f"{row} input[name=resolve_s]", "2")
    await page.click(f'{row} button[data-action="save"]')
    await page.wait_for_function(
        "s => document.querySelector(s)?.classList.contains('own')", arg=row, timeout=5000)
    assert await page.inner_text(f"{row} td:nth-child(6)") == "this unit"
    assert (await limits.all_limits(conn))[("fault", "repair_crew")].resolve_s == 2 * H
    [entry] = await audit_entries(conn, "work_order.limit.set")
    assert (entry.who, entry.details["unit"]) == ("office", "repair_crew")
    save_artifact("orders-deadlines.png", await page.screenshot(full_page=True))
