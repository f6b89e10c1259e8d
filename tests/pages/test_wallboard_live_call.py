"""The wallboard in a real Chromium, fed by a real call: a SIPp caller dials the real Asterisk,
the controller's events go through the live feed and Redis pub/sub to the page; the waiting
count rises within a second of the caller joining the queue, and the abandon moves the
abandon rate. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from hotline.api import create_app
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import Role
from hotline.centre.model import Centre
from hotline.core.events import CallEnded, CallQueued
from hotline.core.settings import Settings
from hotline.devtools.embedded import EmbeddedRedis
from hotline.process.wiring import attach_controller, services_for
from hotline.store.live import FanoutBackend
from tests.helpers.observed import ObservedController
from tests.helpers.pages import cell, save_artifact, text_becomes
from tests.helpers.phones import Phones
from tests.helpers.servers import fast_hasher, serve_app

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def board(controller: ObservedController, asterisk_node: Settings, centre: Centre,
                redis_server: EmbeddedRedis,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "board:pw-board:supervisor")
    services = services_for(asterisk_node, centre, FanoutBackend(redis_server.url))
    services.hasher = fast_hasher()
    attach_controller(services, controller)
    app = create_app(asterisk_node, services)
    async with serve_app(app) as base:
        token = app.state.signer.issue("board", [Role.SUPERVISOR])[0]
        # the page's live socket: the dedicated server on a free port
        live = asterisk_node.model_copy(update={"live_port": 0})
        async with LiveBroadcaster.for_app(app, live):
            yield base, token


async def test_wallboard_shows_a_real_call_waiting_then_abandoned(
        board: tuple[str, str], browser: Browser, controller: ObservedController,
        phones: Phones) -> None:
    base, token = board
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    await page.goto(f"{base}/wallboard?lang=en#token={token}")
    await page.wait_for_selector(cell("general", "waiting"))
    assert await page.evaluate("document.documentElement.lang") == "en"  # ?lang= kept
    await text_becomes(page, cell("general", "waiting"), "0", 2000)

    caller = phones.caller("13100000001", talk_ms=7_000)  # nobody is ready: it waits
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13100000001", 10)
    seen_at = time.monotonic()
    await text_becomes(page, cell("general", "waiting"), "1", 1000)
    assert time.monotonic() - seen_at < 1.0

    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 12)
    await text_becomes(page, cell("general", "abandon_rate"), "100.0%", 1000)
    await text_becomes(page, cell("general", "waiting"), "0", 1000)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    shot = await page.screenshot()  # kept for a person to look at, under test-artifacts/
    assert len(shot) > 10_000
    await asyncio.to_thread(save_artifact, "wallboard-real-call.png", shot)
