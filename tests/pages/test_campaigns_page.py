"""The orders page's outage notice campaigns (#18.6) in a real Chromium over the real
PostgreSQL: a supervisor sees each campaign with its numbers per state, opens its attempts'
results (as the campaign job stored them), and cancels a running one from the page (stored
and audited). A screenshot is kept for a person to look at."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.api.security import Role
from hotline.campaigns import queries
from hotline.campaigns.model import Bounds, after_attempt
from hotline.core.settings import Settings
from hotline.history.queries import audit_entries
from hotline.store import db
from tests.helpers.pages import save_artifact
from tests.helpers.servers import fast_hasher, serve_app

AREA = "0574"


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[tuple[str, str]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "office:pw-office:supervisor")
    services = Services.build(hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=3)
    app = create_app(Settings(), services)
    token = app.state.signer.issue("office", [Role.SUPERVISOR])[0]
    try:
        async with serve_app(app) as base:
            yield base, token
    finally:
        await services.db_pool.close()


async def _campaign(conn: asyncpg.Connection, results: list[str]) -> int:
    """A campaign whose first numbers (in number order) had these first attempts' results,
    stored as the job stores them."""
    now = time.time()
    outage = await conn.fetchval(
        "INSERT INTO outages (area_code, kind, starts_at, description_en) VALUES"
        " ($1, 'unplanned', to_timestamp($2), 'a line fault') RETURNING id", AREA, now)
    bounds = Bounds(retries=2, retry_after_s=600, quiet_from_h=0, quiet_to_h=0)
    c = await queries.create(conn, outage, bounds, "office", now, 8.0)
    for result in results:
        claim = await queries.claim_next(conn, c.id, now)
        assert claim is not None
        await queries.record(conn, c.id, claim, result, f"{result} (stored)",
                             now if result == "played" else None, now + 1,
                             after_attempt(result, claim.attempt, bounds, now + 1))
    return c.id


async def test_campaigns_with_results_and_a_cancel_on_the_orders_page(
        site: tuple[str, str], browser: Browser, conn: asyncpg.Connection) -> None:
    base, token = site
    await conn.execute("INSERT INTO accounts (account_no, area_code) VALUES"
                       " ('5705740001', $1), ('5705740002', $1), ('5705740003', $1)", AREA)
    await conn.executemany("INSERT INTO account_phones (phone, account_no) VALUES ($1, $2)", [
        ("13900000001", "5705740001"), ("13900000002", "5705740002"),
        ("13900000003", "5705740003")])
    campaign = await _campaign(conn, ["played", "busy"])
    stored = {(a.number, a.attempt): a.result for a in await queries.attempts(conn, campaign)}
    assert stored == {("13900000001", 1): "played", ("13900000002", 1): "busy"}

    page = await browser.new_page(viewport={"width": 1400, "height": 1100})
    await page.goto(f"{base}/static/orders.html?lang=en")
    await page.evaluate(f"sessionStorage.setItem('orders.token', {token!r})")
    await page.reload()
    row = f'#campaigns tr[data-campaign="{campaign}"]'
    await page.wait_for_selector(row)
    text = await page.inner_text(row)
    assert AREA in text and "running" in text
    assert "done 1" in text and "waiting 2" in text  # the busy one waits for its retry

    await page.click(f'{row} button[data-action="results"]')
    played = f'#campaigns tr[data-results="{campaign}"] tr[data-attempt="13900000001/1"]'
    await page.wait_for_selector(played)
    assert "played" in await page.inner_text(played)
    busy = f'#campaigns tr[data-results="{campaign}"] tr[data-attempt="13900000002/1"]'
    assert "busy" in await page.inner_text(busy)
    assert await page.get_attribute(busy, "title") == "busy (stored)"
    save_artifact("orders-campaigns.png", await page.screenshot(full_page=True))

    await page.click(f'{row} button[data-action="cancel"]')
    await page.wait_for_function(
        "s => document.querySelector(s)?.classList.contains('state-cancelled')", arg=row,
        timeout=5000)
    assert await page.locator(f'{row} button[data-action="cancel"]').count() == 0
    assert "cancelled 2" in await page.inner_text(row)
    done = await queries.get(conn, campaign)
    assert done is not None and (done.state, done.ended_by) == ("cancelled", "office")
    [entry] = await audit_entries(conn, "campaign.cancelled")
    assert (entry.who, entry.details["campaign_id"]) == ("office", campaign)
