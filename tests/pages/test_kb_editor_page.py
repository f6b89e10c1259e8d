"""The knowledge base's editors' page (/kb) in a real Chromium over the real PostgreSQL: one
editor writes an article and submits it, may not publish it herself (four eyes), another
editor finds it among those in review and publishes it; the article is then what an agent's
search finds. Screenshot: test-artifacts/kb-editor.png."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.store import db
from tests.helpers.pages import save_artifact, sign_in
from tests.helpers.servers import fast_hasher, serve_app


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("HOTLINE_API_USERS", "ed1:ed1:editor;ed2:ed2:editor;agent1:agent1:agent")
    services = Services.build(hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=3)
    try:
        async with serve_app(create_app(Settings(), services)) as base:
            yield base
    finally:
        await services.db_pool.close()


async def test_write_review_and_publish_on_the_editors_page(
        site: str, browser: Browser, conn: asyncpg.Connection) -> None:
    writer = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(writer, f"{site}/kb", "ed1")
    await writer.wait_for_selector("#editor:not([hidden])", timeout=5000)
    await writer.fill('#edit input[name="title"]', "峰谷电价时段说明")
    await writer.select_option('#edit select[name="service"]', "billing")
    await writer.select_option('#edit select[name="kind"]', "tariff")
    await writer.fill('#edit input[name="ivr_keys"]', "main=3")
    await writer.fill('#edit textarea[name="body"]', "峰时段8:00-22:00，谷时段22:00-次日8:00。")
    await writer.click('#edit button[type="submit"]')
    await writer.wait_for_selector('#actions button[data-action="submit"]', timeout=5000)
    aid = await conn.fetchval("SELECT id FROM kb_articles")
    await writer.click('#actions button[data-action="submit"]')
    await writer.wait_for_selector('#actions button[data-action="publish"]', timeout=5000)
    await writer.click('#actions button[data-action="publish"]')  # her own version
    await writer.wait_for_function(
        "document.getElementById('message').textContent.includes('four eyes')", timeout=5000)
    assert await conn.fetchval("SELECT state FROM kb_articles") == "draft"

    reviewer = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(reviewer, f"{site}/kb", "ed2")
    await reviewer.wait_for_selector("#editor:not([hidden])", timeout=5000)
    await reviewer.select_option("#filter", "review=in_review")
    await reviewer.click(f'#articles li[data-article="{aid}"] .kb-title')
    await reviewer.wait_for_selector('#actions button[data-action="publish"]', timeout=5000)
    await reviewer.click('#actions button[data-action="publish"]')
    await reviewer.wait_for_selector('#actions button[data-action="confirm"]', timeout=5000)
    assert await conn.fetchval("SELECT state FROM kb_articles WHERE id = $1", aid) == "published"
    assert "published by ed2" in await reviewer.text_content("#versions")
    await asyncio.to_thread(save_artifact, "kb-editor.png", await reviewer.screenshot())

    async with httpx.AsyncClient(base_url=site) as client:
        r = await client.post("/api/auth/token", json={"username": "agent1",
                                                       "password": "agent1"})
        r = await client.get("/api/kb/search", params={"q": "谷时段是几点"}, headers={
            "Authorization": f"Bearer {r.json()['access_token']}"})
    assert [h["id"] for h in r.json()] == [aid]
