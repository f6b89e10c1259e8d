"""The agent panel and the supervisor page in a real headless Chromium against the real
Asterisk: an agent logs in on the panel, goes ready, a SIPp call rings and is answered by the
agent's SIPp phone, the panel shows the caller's number, and the agent ends after-call work
from the panel. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.process.controller import Controller
from hotline.work_orders import queries as work_orders
from tests.helpers.pages import save_artifact, sign_in
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def state_is(page: Page, state: str, timeout_ms: float = 1500) -> None:
    await page.wait_for_selector(f'#state-box[data-state="{state}"]', timeout=timeout_ms)


async def test_an_agent_takes_a_real_call_on_the_panel(
        panel_site: str, browser: Browser, controller: Controller,
        phones: Phones, conn: asyncpg.Connection) -> None:
    phones.agent(1, ring_ms=300)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, f"{panel_site}/agent?lang=en", "agent1")
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
