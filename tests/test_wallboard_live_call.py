"""The wallboard in a real Chromium, fed by a real call: a SIPp caller dials the real Asterisk,
the controller's events go through the live feed and Redis pub/sub to the page; the waiting
count rises within a second of the caller joining the queue, and the abandon moves the
abandon rate. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from argon2 import PasswordHasher
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
from tests.conftest import Phones
from tests.observed import ObservedController
from tests.test_wallboard import ARTIFACTS, browser, cell, text_becomes  # noqa: F401

pytestmark = pytest.mark.asterisk


def save_artifact(name: str, data: bytes) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


@pytest.fixture
async def board(controller: ObservedController, asterisk_node: Settings, centre: Centre,
                redis_server: EmbeddedRedis,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "board:pw-board:supervisor")
    services = services_for(asterisk_node, centre, FanoutBackend(redis_server.url))
    services.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    attach_controller(services, controller)
    app = create_app(asterisk_node, services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                           ws="websockets-sansio", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    token = app.state.signer.issue("board", [Role.SUPERVISOR])[0]
    # the page's live socket: the dedicated server on a free port
    async with LiveBroadcaster.for_app(app, asterisk_node.model_copy(update={"live_port": 0})):
        yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    await task


async def test_wallboard_shows_a_real_call_waiting_then_abandoned(
        board: tuple[str, str], browser: Browser, controller: ObservedController,  # noqa: F811
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
