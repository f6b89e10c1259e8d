"""The back office's work-order page in a real Chromium, over the real PostgreSQL: a unit's
orders with the overdue one first and red, and a reply given from the page moves the order
to callback-due."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.api.security import Role
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.store import db
from hotline.work_orders import queries as store
from hotline.work_orders.model import OrderAction, act, create
from tests.helpers.pages import ARTIFACTS
from tests.helpers.servers import fast_hasher, serve_app

H = 3600.0


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "office:pw-office:supervisor")
    services = Services.build(hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    app = create_app(Settings(), services)
    token = app.state.signer.issue("office", [Role.SUPERVISOR])[0]
    try:
        async with serve_app(app) as base:
            yield base, token
    finally:
        await services.db_pool.close()


async def test_back_office_works_its_queue_from_the_page(
        site: tuple[str, str], browser: Browser, conn: asyncpg.Connection) -> None:
    base, token = site
    now = time.time()
    late = await store.save(conn, act(create(
        ServiceType.FAULT, "13900000001", "no power since 9:00", "c1", "agent1", now - 5 * H),
        OrderAction.DISPATCH, now - 5 * H))
    fresh = await store.save(conn, act(act(create(
        ServiceType.FAULT, "13900000002", "sparks at the meter", "c2", "agent2", now - H),
        OrderAction.DISPATCH, now - H), OrderAction.ACCEPT, now - H))
    page = await browser.new_page(viewport={"width": 1400, "height": 700})
    await page.goto(f"{base}/static/orders.html?lang=en&unit=repair_crew")
    await page.evaluate(f"sessionStorage.setItem('orders.token', {token!r})")
    await page.reload()
    await page.wait_for_selector(f'tr[data-order="{late.id}"]')
    ids = await page.eval_on_selector_all("tr[data-order]", "rs => rs.map(r => r.dataset.order)")
    assert ids == [str(late.id), str(fresh.id)]  # overdue first
    assert "overdue" in (await page.get_attribute(f'tr[data-order="{late.id}"]', "class") or "")

    page.once("dialog", lambda d: asyncio.ensure_future(d.accept("fuse replaced")))
    await page.click(f'tr[data-order="{fresh.id}"] button[data-action="reply"]')
    await page.wait_for_selector(
        f'tr[data-order="{fresh.id}"] button[data-action="callback_done"]')
    replied = await store.get(conn, fresh.id or 0)
    assert replied is not None and (str(replied.state), replied.reply) == (
        "callback_due", "fuse replaced")
    shot = await page.screenshot()
    await asyncio.to_thread(lambda: (ARTIFACTS.mkdir(exist_ok=True),
                                     (ARTIFACTS / "orders-page.png").write_bytes(shot)))


async def test_the_page_opens_on_the_back_office_users_own_unit(
        conn: asyncpg.Connection, empty_db_url: str, browser: Browser,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A back office user signs in on the bare page (no ?unit=): it shows its own unit's
    queue, and the unit list is fixed to it (another unit's queue is not its to read)."""
    monkeypatch.setenv("HOTLINE_API_USERS", "li.billing:pw-billing:back_office@billing_office")
    services = Services.build(hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    now = time.time()
    billing = await store.save(conn, act(create(
        ServiceType.BILLING, "13900000003", "charged twice", "c3", "agent1", now - H),
        OrderAction.DISPATCH, now - H))
    assert billing.unit == "billing_office"
    try:
        async with serve_app(create_app(Settings(), services)) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/static/orders.html?lang=en")
            await page.fill("input[name=username]", "li.billing")
            await page.fill("input[name=password]", "pw-billing")
            await page.click("#login button[type=submit]")
            await page.wait_for_selector(f'tr[data-order="{billing.id}"]')
            assert await page.input_value("#unit") == "billing_office"
            assert await page.is_disabled("#unit")
            assert await page.text_content("#message") == ""
    finally:
        await services.db_pool.close()
