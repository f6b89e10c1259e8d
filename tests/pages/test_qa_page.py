"""The inspector's page in a real Chromium over the real PostgreSQL: draw a sample (each call
says why), play the recording (fetched with the token into a blob URL), see the call's work
order, score the call with a fatal item, and the agent's scorecard shows it."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.api.limits import MAX_PAGE
from hotline.api.security import Role
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.store import db
from hotline.work_orders import queries as orders_store
from hotline.work_orders.model import create
from tests.helpers.pages import ARTIFACTS
from tests.helpers.qa import FORM
from tests.helpers.servers import fast_hasher, serve_app
from tests.helpers.store import store_tmpdir


def write_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 8000)


@pytest.fixture
async def site(conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str, str]]:
    monkeypatch.setenv("HOTLINE_API_USERS", "qa1:pw:qa;agent1:pw:agent")
    services = Services.build(hasher=fast_hasher())
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    app = create_app(Settings(), services)
    qa_token = app.state.signer.issue("qa1", [Role.QA])[0]
    agent_token = app.state.signer.issue("agent1", [Role.AGENT])[0]
    try:
        async with serve_app(app) as base:
            yield base, qa_token, agent_token
    finally:
        await services.db_pool.close()


async def test_inspector_scores_a_fatal_call_and_the_scorecard_shows_it(
        site: tuple[str, str, str], browser: Browser,
        conn: asyncpg.Connection) -> None:
    base, qa_token, agent_token = site
    now = time.time()
    wav = store_tmpdir("hotline-qa-") / "c1.wav"
    await asyncio.to_thread(write_wav, wav)
    wav.chmod(0o644)
    rows = [("c1", "13800000001", "complaint", now - 3600, 300.0, str(wav)),
            ("c2", "13800000002", "billing", now - 1800, 200.0, None)]
    await conn.executemany(
        "INSERT INTO calls (call_id, caller, queue, service, entered_at, answered_at,"
        " agent_id, talk_s, acw_s, recording_path) VALUES ($1, $2, 'q', $3, $4, $4,"
        " 'agent1', $5, 20, $6)",
        [(c, caller, s, datetime.fromtimestamp(at, UTC), talk, path)
         for c, caller, s, at, talk, path in rows])
    order = await orders_store.save(conn, create(
        ServiceType.COMPLAINT, "13800000001", "the crew was rude", "c1", "agent1", now - 3600))
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/qa/forms", json=FORM,
                              headers={"Authorization": f"Bearer {qa_token}"})
        assert r.status_code == 201, r.text

        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{base}/qa?lang=en")
        await page.evaluate(f"sessionStorage.setItem('qa.token', {qa_token!r})")
        await page.reload()
        await page.fill("#percentage", "0")
        await page.click("#draw button[type=submit]")
        await page.wait_for_selector('tr[data-call="c1"]')
        reasons = await page.eval_on_selector_all(
            'tr[data-call="c1"] .chip', "cs => cs.map(c => c.dataset.reason)")
        assert reasons == ["complaint"]  # with 0 % random, only the targeted call
        assert await page.locator("tr[data-call]").count() == 1

        await page.click('tr[data-call="c1"]')
        await page.wait_for_selector("#player:not([hidden])")
        src = await page.get_attribute("#player", "src")
        assert src is not None and src.startswith("blob:")
        assert await page.text_content(f'li[data-order="{order.id}"]') == (
            f"#{order.id} complaint · created · the crew was rude")
        await page.wait_for_selector('[data-item="identity"] input[type=checkbox]')
        await page.fill('[data-item="greeting"] input[type=number]', "8")
        await page.check('[data-item="identity"] input[type=checkbox]')
        await page.fill("#comment", "account holder not verified")
        await page.click("#score button[type=submit]")
        await page.wait_for_selector("#result.fatal-result")
        assert await page.text_content("#result") == "Score 0 (fatal error)"
        await page.wait_for_function(
            "document.querySelector('[data-figure=fatal_errors] td')?.textContent === '1'")
        assert await page.text_content('[data-figure="qa_score"] td') == "0.00"
        assert await page.text_content('tr[data-call="c1"] td:last-child') == "1"
        shot = await page.screenshot(full_page=True)
        await asyncio.to_thread(lambda: (ARTIFACTS.mkdir(exist_ok=True),
                                         (ARTIFACTS / "qa-page.png").write_bytes(shot)))
        assert errors == []

        # the agent reads the same on their own scorecard
        r = await client.get("/api/qa/scorecard/agent1",
                             params={"since": now - 86400, "until": now + 60},
                             headers={"Authorization": f"Bearer {agent_token}"})
        card = r.json()
        assert (card["evaluations"], card["fatal_errors"], card["qa_score"]) == (1, 1, 0.0)


async def test_a_large_sample_is_shown_a_page_at_a_time(
        site: tuple[str, str, str], browser: Browser, conn: asyncpg.Connection) -> None:
    """#14.6: the API answers a sample a page (MAX_PAGE calls) at a time; "more" loads on."""
    base, qa_token, _agent = site
    now = time.time()
    await conn.execute(
        "INSERT INTO calls (call_id, caller, queue, service, entered_at, answered_at, agent_id,"
        " talk_s) SELECT 'p' || lpad(g::text, 4, '0'), '1380000' || lpad(g::text, 4, '0'),"
        " 'q', 'billing', to_timestamp($1 - g), to_timestamp($1 - g), 'agent1', 60"
        " FROM generate_series(1, $2) g", now - 600, MAX_PAGE + 20)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{base}/qa?lang=en")
    await page.evaluate(f"sessionStorage.setItem('qa.token', {qa_token!r})")
    await page.reload()
    await page.fill("#percentage", "100")
    await page.click("#draw button[type=submit]")
    await page.wait_for_selector("#more-calls")
    assert await page.locator("tr[data-call]").count() == MAX_PAGE
    assert await page.text_content("#more-calls") == f"more ({MAX_PAGE} / {MAX_PAGE + 20})"
    await page.click("#more-calls")
    await page.wait_for_selector("#more-calls", state="detached")
    assert await page.locator("tr[data-call]").count() == MAX_PAGE + 20
    assert errors == []
