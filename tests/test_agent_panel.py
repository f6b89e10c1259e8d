"""The agent panel and the supervisor page in a real headless Chromium against the real
Asterisk: an agent logs in on the panel, goes ready, a SIPp call rings and is answered by the
agent's SIPp phone, the panel shows the caller's number, and the agent ends after-call work
from the panel. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.async_api import Browser, Page

from hotline.api import create_app
from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from hotline.work_orders import queries as work_orders
from tests.conftest import Phones
from tests.observed import ObservedController
from tests.test_wallboard import browser  # noqa: F401
from tests.test_wallboard_live_call import save_artifact

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def site(controller: ObservedController, asterisk_node: Settings, centre: Centre,
               monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection,
               empty_db_url: str) -> AsyncIterator[str]:
    """The API over the real controller, with the development logins (agents log in as
    themselves, password = id; supervisor/supervisor)."""
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    services = services_for(asterisk_node, centre)
    services.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    attach_controller(services, controller)
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)  # work orders
    app = create_app(asterisk_node, services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                           ws="websockets-sansio", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    await task
    await services.db_pool.close()


async def sign_in(page: Page, url: str, user: str) -> None:
    await page.goto(url)
    await page.fill('#login input[name="username"]', user)
    await page.fill('#login input[name="password"]', user)
    await page.click('#login button[type="submit"]')


async def state_is(page: Page, state: str, timeout_ms: float = 1500) -> None:
    await page.wait_for_selector(f'#state-box[data-state="{state}"]', timeout=timeout_ms)


async def test_an_agent_takes_a_real_call_on_the_panel(
        site: str, browser: Browser, controller: ObservedController,  # noqa: F811
        phones: Phones, conn: asyncpg.Connection) -> None:
    phones.agent(1, ring_ms=300)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, f"{site}/agent?lang=en", "agent1")
    await state_is(page, "logged_out", 3000)
    await page.click("#btn-login")
    await state_is(page, "not_ready")
    await page.click("#btn-ready")
    await state_is(page, "ready")  # within a second of the click
    assert controller.router.agent("agent1").state.value == "ready"
    assert await page.text_content('[data-field="state"]') == "Ready"

    caller = phones.caller("13500000001", talk_ms=6_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000001", 10)
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    await state_is(page, "on_call", 1000)
    await page.wait_for_function(
        "document.querySelector('[data-field=caller]').textContent === '13500000001'",
        timeout=1000)
    assert await page.text_content('[data-field="queue"]') == "general"
    assert await page.text_content('[data-field="call-id"]') == queued.call_id
    await asyncio.to_thread(save_artifact, "agent-panel-on-call.png", await page.screenshot())

    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 12)
    await state_is(page, "after_call_work", 1000)
    assert await page.is_visible("#btn-end-wrap-up")
    # during after-call work, a work order from this call
    await page.select_option('#order-form select[name="service"]', "fault")
    await page.fill('#order-form textarea[name="description"]', "no power in building 3")
    await page.click('#order-form button[type="submit"]')
    await page.wait_for_function(
        "document.getElementById('order-result').textContent.includes('#')", timeout=3000)
    [order] = await work_orders.for_call(conn, queued.call_id)
    assert (order.caller, order.created_by, str(order.service)) == (
        "13500000001", "agent1", "fault")
    await asyncio.to_thread(save_artifact, "agent-panel-wrap-up.png", await page.screenshot())
    await page.click("#btn-end-wrap-up")
    await state_is(page, "ready")
    assert controller.router.agent("agent1").state.value == "ready"

    await page.select_option("#reason", "meal")
    await page.click("#btn-not-ready")
    await state_is(page, "not_ready")
    assert controller.router.agent("agent1").reason == "meal"
    await page.click("#btn-logout")
    await state_is(page, "logged_out")
    await page.click("#lang")  # the panel in Chinese, for a person to look at
    assert await page.text_content('[data-field="state"]') == "已签出"
    assert await page.text_content("#status") == "在线"
    await asyncio.to_thread(save_artifact, "agent-panel-zh.png", await page.screenshot())
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
