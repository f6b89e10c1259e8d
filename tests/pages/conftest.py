"""Fixtures of the browser tests: a headless Chromium, and the API over the real controller
that the agent panel and the supervisor page are served from."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, async_playwright

from hotline.api import create_app
from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from tests.helpers.pages import CHROMIUM
from tests.helpers.servers import fast_hasher, serve_app


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        await b.close()


@pytest.fixture
async def panel_site(controller: Controller, asterisk_node: Settings, centre: Centre,
                     monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection,
                     empty_db_url: str) -> AsyncIterator[str]:
    """The API over the real controller, with the development logins (agents log in as
    themselves, password = id; supervisor/supervisor)."""
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    services = services_for(asterisk_node, centre)
    services.hasher = fast_hasher()
    attach_controller(services, controller)
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)  # work orders
    try:
        # the supervisor's own phone is agent2's (its spy goes only there: api/spy_target.py)
        settings = asterisk_node.model_copy(
            update={"supervisor_endpoints": {"supervisor": "agent2"}})
        async with serve_app(create_app(settings, services)) as base:
            yield base
    finally:
        await services.db_pool.close()
