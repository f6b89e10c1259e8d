"""What the browser tests share besides fixtures (tests/pages/conftest.py): where Chromium
is, where screenshots are kept, and reading the wallboard's cells."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def save_artifact(name: str, data: bytes) -> None:
    """Keeps a screenshot for a person to look at, under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


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


__all__ = ["ARTIFACTS", "CHROMIUM", "cell", "save_artifact", "sign_in", "text_becomes"]
