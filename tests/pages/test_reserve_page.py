"""The supervisor page and the wallboard in a real headless Chromium: today's AHT, first-call
resolution, satisfaction and NPS on both, and the emergency reserve (应急梯队): the billing
queue stays under target, the page shows the proposal live, the supervisor applies it on the
page and the reserve agents now serve billing (the router says so), then takes it back.
Over a real PostgreSQL, the configuration service and the router (a Controller, not
started). Screenshots in test-artifacts/ (reserve-supervisor.png, reserve-wallboard.png)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from hotline.api import Services, create_app
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import Role
from hotline.centre.reserve import ReserveService
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.events import CallAnswered, CallEnded, CallEntered, CallQueued
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from tests.helpers.pages import cell, save_artifact, sign_in, text_becomes
from tests.helpers.servers import serve_app
from tests.integration.test_emergency_reserve import CENTRE, FAST_HASH, Clock


@dataclass
class Site:
    base: str
    services: Services
    controller: Controller
    reserve: ReserveService
    clock: Clock
    board_token: str


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection,
               empty_db_url: str) -> AsyncIterator[Site]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    pool = await db.create_pool(empty_db_url, max_size=4)
    settings = Settings(live_port=0)
    centre = await load_or_seed_centre(pool, CENTRE)
    controller = Controller(settings, centre, emit_line=lambda _: None)
    services = services_for(settings, centre)
    services.hasher = FAST_HASH
    attach_controller(services, controller)
    services.db_pool = pool
    services.configuration = Configuration(pool, controller, live=services.live)
    clock = Clock()

    def level_of(queue: str, now: float) -> tuple[float | None, float]:
        f = services.metrics.queue_figures(queue, "window", now)
        return f.service_level, f.sl_target or 0.8

    services.reserve = reserve = ReserveService(pool, services.configuration, level_of,
                                                services.live.set_reserve, clock=clock)
    app = create_app(settings, services)
    try:
        async with serve_app(app) as base, LiveBroadcaster.for_app(app, settings):
            token = app.state.signer.issue("board", [Role.SUPERVISOR])[0]
            yield Site(base, services, controller, reserve, clock, token)
    finally:
        await controller.stop()
        await pool.close()


def a_morning(services: Services) -> None:
    """Billing: 4 calls, one answered (in 5 s, 120 s of talk) and 3 abandoned after 60 s; the
    answered caller calls again (not resolved at the first call); general: 2 answered, both
    resolved. Survey: three answers."""
    live, t = services.live, time.time()
    calls = [("b1", "billing", "1350001", True), ("b2", "billing", "1350002", False),
             ("b3", "billing", "1350003", False), ("b4", "billing", "1350004", False),
             ("g1", "general", "1350005", True), ("g2", "general", "1350006", True)]
    for cid, queue, caller, _ in calls:
        live.on_item(CallEntered(t, call_id=cid, caller=caller, dialed="95598", channel=""))
        service = ServiceType.BILLING if queue == "billing" else ServiceType.GENERAL
        live.on_item(CallQueued(t, call_id=cid, queue=queue, service=service))
    for cid, _, _, answered in calls:
        if answered:
            live.on_item(CallAnswered(t + 5, call_id=cid, agent_id="agent1"))
    for cid, _, _, _ in calls:
        live.on_item(CallEnded(t + 60 if cid[0] == "b" and cid != "b1" else t + 125,
                               call_id=cid))
    live.on_item(CallEntered(t + 130, call_id="b5", caller="1350001", dialed="95598",
                             channel=""))
    for queue, sat, nps in [("billing", 1, 10), ("billing", 4, 3), ("general", 2, 9)]:
        live.survey_answer(queue, sat, nps, 2, 4, t + 130)


async def wait_row(page: Page, queue: str, state: str) -> None:
    await page.wait_for_selector(f'#reserve tr[data-queue="{queue}"][data-state="{state}"]',
                                 timeout=4000)


async def test_the_proposal_and_the_figures_on_the_pages(site: Site, browser: Browser) -> None:
    s = site
    errors: list[str] = []
    a_morning(s.services)
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, f"{s.base}/supervisor?lang=en", "supervisor")
    row = '#queues [data-queue="billing"]'
    await text_becomes(page, f'{row} [data-field="fcr"]', "0.0%", 4000)  # b1 was called again
    assert await page.text_content(f'{row} [data-field="aht"]') == "120s"
    assert await page.text_content(f'{row} [data-field="satisfaction_rate"]') == "50.0%"
    assert await page.text_content(f'{row} [data-field="nps"]') == "0.0"  # (1 - 1) / 2
    general = '#queues [data-queue="general"]'
    assert await page.text_content(f'{general} [data-field="fcr"]') == "100.0%"
    assert await page.text_content(f'{general} [data-field="nps"]') == "100.0"

    # the rule, as a supervisor sets it; billing is at 25% against 80%
    r = await page.request.put(f"{s.base}/api/reserve/rules/billing", data={
        "team": "reserve", "after_min": 1}, headers={
        "Authorization": "Bearer " + await page.evaluate(
            "sessionStorage.getItem('supervisor.token')")})
    assert r.status == 200, await r.text()
    assert await s.reserve.tick() == []
    s.clock.now += 60
    assert await s.reserve.tick() == [("billing", "proposed")]
    await wait_row(page, "billing", "proposed")
    await asyncio.to_thread(save_artifact, "reserve-supervisor.png", await page.screenshot())

    await page.click('#reserve tr[data-queue="billing"] button[data-step="apply"]')
    await wait_row(page, "billing", "applied")
    assert await page.text_content(
        '#reserve tr[data-queue="billing"] [data-field="agents"]') == "agent2, agent4"
    assert "billing" in s.controller.router.queues_of("agent2")
    await asyncio.to_thread(save_artifact, "reserve-supervisor-applied.png",
                            await page.screenshot())
    await page.click('#reserve tr[data-queue="billing"] button[data-step="take-back"]')
    await page.wait_for_selector('#reserve td.quiet', timeout=4000)
    assert "billing" not in s.controller.router.queues_of("agent2")

    board = await browser.new_page(viewport={"width": 1600, "height": 900})
    board.on("pageerror", lambda e: errors.append(str(e)))
    await board.goto(f"{s.base}/static/wallboard.html?lang=zh#token={s.board_token}")
    await text_becomes(board, cell("billing", "fcr"), "0.0%", 4000)
    assert await board.text_content(cell("billing", "aht")) == "120s"
    assert await board.text_content(cell("general", "satisfaction_rate")) == "100.0%"
    assert await board.text_content('#summary [data-field="nps"]') == "33.3"  # (2 - 1) / 3
    assert await board.text_content('#summary [data-field="fcr"]') == "66.7%"
    await asyncio.to_thread(save_artifact, "reserve-wallboard.png", await board.screenshot())
    assert errors == []
