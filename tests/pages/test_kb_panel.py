"""The knowledge base on the agent desk, in a real headless Chromium against the real Asterisk
and PostgreSQL: a SIPp caller walks the real IVR (Mandarin, then 3: electricity bills) and
rings agent1's phone; while it rings, the desk suggests the articles for that service type and
IVR path (the tariff article naming main=3 first, then the other billing article, then the
forbidden phrases that hold for every call; not the fault article); the agent searches in
Chinese, opens an article and says it helped, which is stored against the call. Screenshots
in test-artifacts/."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from playwright.async_api import Browser

from hotline.core.events import CallQueued
from hotline.kb import queries
from hotline.kb.model import ArticleKind
from hotline.kb.queries import Draft
from hotline.kb.service import words_of
from hotline.process.controller import Controller
from tests.asterisk.conftest import ivr, ivr_node  # noqa: F401 (the IVR as the platform runs it)
from tests.helpers.ivr_bed import IvrBed
from tests.helpers.pages import save_artifact, sign_in
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

ARTICLES = [
    Draft("阶梯电价怎么计算", "居民阶梯电价按年度用电量分三档计价。\n第一档：2760千瓦时以内……",
          "billing", ArticleKind.TARIFF, ("电价",), ("main=3",)),
    Draft("服务忌语", "不说“这不归我们管”“不知道”“你自己看着办”。", "",
          ArticleKind.FORBIDDEN_PHRASES),
    Draft("抢修到达现场时限", "城区45分钟，农村90分钟，特殊边远地区2小时。", "fault",
          ArticleKind.POLICY),
    Draft("欠费停电后如何复电", "客户缴清电费及违约金后，24小时内恢复送电。", "billing",
          ArticleKind.PROCEDURE),
]


async def test_suggestions_and_search_on_a_ringing_call(
        panel_site: str, browser: Browser, controller: Controller, phones: Phones,
        ivr: IvrBed, conn: asyncpg.Connection) -> None:  # noqa: F811
    await queries.load_published(conn, [(d, words_of(d)) for d in ARTICLES], "editor",
                                 time.time())
    ids = {d.title: i for d, i in zip(ARTICLES, await conn.fetch(
        "SELECT id FROM kb_articles ORDER BY id"), strict=True)}
    tariff, phrases, repair, reconnect = (ids[d.title]["id"] for d in ARTICLES)
    # the phone answers after 2 s: the test bed's calls ring out after 3 (ring_timeout_s)
    phones.agent(1, ring_ms=2_000, talk_ms=30_000)
    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    await sign_in(page, f"{panel_site}/agent?lang=zh", "agent1")
    await page.wait_for_selector('#state-box[data-state="logged_out"]', timeout=5000)
    await page.click("#btn-login")
    await page.wait_for_selector('#state-box[data-state="not_ready"]', timeout=3000)
    await page.click("#btn-ready")
    await page.wait_for_selector('#state-box[data-state="ready"]', timeout=3000)
    assert await page.is_visible("#kb-q")  # the search box, before any call

    caller = phones.dtmf_caller("13500000018", [(1500, "1"), (1200, "3")], talk_ms=30_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000018", 30)
    await page.wait_for_selector('#state-box[data-state="ringing"]', timeout=3000)
    await page.wait_for_selector(f'#kb-suggestions li[data-article="{tariff}"]', timeout=3000)
    ringing = await page.get_attribute("#state-box", "data-state")
    shown = await page.eval_on_selector_all(
        "#kb-suggestions li", "els => els.map(e => Number(e.dataset.article))")
    assert shown == [tariff, reconnect, phrases], shown  # scores 3, 2, 1
    assert repair not in shown
    assert await page.text_content('[data-field="ivr"]') == "language=1 → main=3"
    await asyncio.to_thread(save_artifact, f"agent-panel-kb-{ringing}.png",
                            await page.screenshot())

    await page.fill("#kb-q", "欠费停电了怎么复电？")
    await page.click('#kb-search button[type="submit"]')
    await page.wait_for_selector(f'#kb-results li[data-article="{reconnect}"]', timeout=3000)
    await page.click(f'#kb-results li[data-article="{reconnect}"] .kb-title')
    await page.wait_for_selector(f'#kb-article[data-article="{reconnect}"]', timeout=3000)
    assert "24小时内恢复送电" in await page.text_content("#kb-article .kb-body")
    await page.wait_for_selector('#state-box[data-state="on_call"]', timeout=10_000)
    await page.click("#kb-article .kb-helped")
    await page.wait_for_function(
        "document.querySelector('#kb-article .kb-counted').textContent.includes('1')",
        timeout=3000)
    row = await conn.fetchrow("SELECT username, call_id FROM kb_helped WHERE article_id = $1",
                              reconnect)
    assert (row["username"], row["call_id"]) == ("agent1", queued.call_id)
    assert await conn.fetchval("SELECT helped FROM kb_articles WHERE id = $1", reconnect) == 1
    await asyncio.to_thread(save_artifact, "agent-panel-kb-search.png", await page.screenshot())
    assert await asyncio.to_thread(caller.wait, 40) == 0, caller.errors()
