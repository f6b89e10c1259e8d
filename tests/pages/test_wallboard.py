"""The wallboard page in a real headless Chromium against a real uvicorn server, fed with
typed events through LiveFeed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import Role
from hotline.core.events import AgentStateChanged, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.realtime import MetricsConfig
from tests.helpers.pages import ARTIFACTS, cell, text_becomes
from tests.helpers.servers import serve_app


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, Services, str]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "board:pw-board:supervisor")
    # Two-second intervals so the SL trend fills during the test; every abandon counts in
    # the service level (no short-abandon threshold) so a queue can fall under its target.
    services = Services.build(
        metrics_config=MetricsConfig(interval_s=2, short_abandon_s=0.0),
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    app = create_app(Settings(), services)
    async with serve_app(app) as base:
        token = app.state.signer.issue("board", [Role.SUPERVISOR])[0]
        async with LiveBroadcaster.for_app(app, Settings(live_port=0)):  # the page's live socket
            yield base, services, token


def staff(services: Services, now: float) -> None:
    for n, (queue, state) in enumerate(
        [
            ("billing", AgentState.READY),
            ("billing", AgentState.ON_CALL),
            ("fault", AgentState.NOT_READY),
            ("fault", AgentState.AFTER_CALL_WORK),
        ]
    ):
        services.live.set_agent_queues(f"a{n}", [queue])
        services.live.on_item(
            AgentStateChanged(now, agent_id=f"a{n}", old=AgentState.LOGGED_OUT, new=state)
        )


async def test_wallboard_follows_the_events(site, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    base, services, token = site
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    now = time.time()
    services.live.on_item(CallQueued(now, call_id="f1", queue="fault", service=ServiceType.FAULT))
    staff(services, now)
    await page.goto(f"{base}/static/wallboard.html?lang=zh#token={token}")
    await page.wait_for_selector(cell("fault", "waiting"))
    assert "#token" not in page.url  # the token left the address bar

    for n in range(3):
        services.live.on_item(
            CallQueued(
                time.time() - 5, call_id=f"b{n}", queue="billing", service=ServiceType.BILLING
            )
        )
    await text_becomes(page, cell("billing", "waiting"), "3", 1000)
    assert await page.text_content(cell("billing", "abandon_rate")) == "0.0%"
    assert await page.text_content(cell("__all", "waiting")) == "4"

    services.live.on_item(CallEnded(time.time(), call_id="b0"))
    await text_becomes(page, cell("billing", "abandon_rate"), "33.3%", 1000)
    await text_becomes(page, cell("billing", "waiting"), "2", 1000)
    # 0 answered within 20 s of 1 abandoned: SL 0 %, under its 80 % target: shown red.
    await text_becomes(page, cell("billing", "service_level"), "0.0%", 1000)
    assert "under" in (await page.get_attribute('[data-queue="billing"]', "class") or "")
    assert "under" not in (await page.get_attribute('[data-queue="fault"]', "class") or "")
    # A caller its node dropped (#15.5): shown apart, no abandon, the rate's offered less.
    assert await page.text_content(cell("__all", "lost_node_failure")) == "0"
    services.live.on_item(CallEnded(time.time(), call_id="b1", cause=0, node_failure=True))
    await text_becomes(page, cell("__all", "lost_node_failure"), "1", 1000)
    await text_becomes(page, cell("billing", "waiting"), "1", 1000)
    assert await page.text_content(cell("billing", "abandon_rate")) == "50.0%"  # 1 / (3 - 1)
    await page.wait_for_selector(
        '[data-queue="billing"] svg.trend polyline', state="attached", timeout=4000
    )

    # The longest wait ticks on the page between messages.
    first = await page.text_content(cell("fault", "longest"))
    assert first is not None and first.startswith("00:0")
    await page.wait_for_function(
        "([s, v]) => document.querySelector(s).textContent !== v",
        arg=[cell("fault", "longest"), first],
        timeout=2500,
    )
    chips = await page.locator('[data-queue="billing"] .chip').all_text_contents()
    assert chips == ["空闲 1", "通话 1"]
    assert await page.text_content("h1") == "95598 服务热线实时监控"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "wallboard-zh.png"))

    await page.click("#lang")
    assert await page.text_content("h1") == "95598 Hotline Live"
    chips = await page.locator('[data-queue="billing"] .chip').all_text_contents()
    assert chips == ["Ready 1", "On call 1"]
    await page.screenshot(path=str(ARTIFACTS / "wallboard-en.png"))
    assert errors == []


async def test_login_form_then_live(site, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    base, services, _ = site
    page = await browser.new_page()
    await page.goto(f"{base}/static/wallboard.html?lang=en&queues=billing")
    await page.wait_for_selector("#login:not([hidden])")
    await page.fill("input[name=username]", "board")
    await page.fill("input[name=password]", "wrong")
    await page.click("#login button")
    await text_becomes(page, "#login-error", "unknown user or wrong password", 3000)
    await page.fill("input[name=password]", "pw-board")
    await page.click("#login button")
    await page.wait_for_selector("#login", state="hidden")
    await text_becomes(page, "#status", "live", 3000)
    services.live.on_item(
        CallQueued(time.time(), call_id="x", queue="billing", service=ServiceType.BILLING)
    )
    services.live.on_item(
        CallQueued(time.time(), call_id="y", queue="fault", service=ServiceType.FAULT)
    )
    await text_becomes(page, cell("billing", "waiting"), "1", 1000)
    assert await page.locator('[data-queue="fault"]').count() == 0  # ?queues=billing
