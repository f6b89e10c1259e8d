"""What the browser tests share besides fixtures (tests/pages/conftest.py): where Chromium
is, where screenshots are kept, and reading the wallboard's cells."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.store import db
from tests.helpers.servers import serve_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def save_artifact(name: str, data: bytes) -> None:
    """Keeps a screenshot for a person to look at, under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot kept under test-artifacts/ (written off the event loop)."""
    await asyncio.to_thread(save_artifact, name, await page.screenshot(full_page=True))


async def cells(page: Page, selector: str) -> list[str]:
    """The texts of the table cells under `selector`, in order."""
    return await page.eval_on_selector_all(f"{selector} td", "tds => tds.map(t => t.textContent)")


@asynccontextmanager
async def site_over(database_url: str, services: Services,
                    settings: Settings | None = None) -> AsyncIterator[str]:
    """The API served over the database (a pool of 3) for a browser: its base URL."""
    services.db_pool = await db.create_pool(database_url, max_size=3)
    try:
        async with serve_app(create_app(settings or Settings(), services)) as base:
            yield base
    finally:
        await services.db_pool.close()


def cell(queue: str, field: str) -> str:
    return f'[data-queue="{queue}"] [data-field="{field}"]'


async def text_becomes(page: Page, selector: str, expected: str, timeout_ms: float) -> None:
    await page.wait_for_function(
        "([s, v]) => document.querySelector(s)?.textContent === v",
        arg=[selector, expected],
        timeout=timeout_ms,
    )


async def sign_in(page: Page, url: str, user: str) -> None:
    """The development login of the agent and supervisor pages (password = user name)."""
    await page.goto(url)
    await page.fill('#login input[name="username"]', user)
    await page.fill('#login input[name="password"]', user)
    await page.click('#login button[type="submit"]')


__all__ = ["ARTIFACTS", "CHROMIUM", "cell", "cells", "save_artifact", "shot", "sign_in",
           "site_over", "text_becomes"]
