"""The caller's story (客户 360) on the agent page in a real headless Chromium against the
real Asterisk: a SIPp caller whose number is registered to an account rings agent1's SIPp
phone, and while it rings the page shows the story: VIP, sensitive and repeat-caller flags,
the account's holder, address, area and the outage there now, the past calls (agent1's own
recording plays), the work orders with their final answers and the survey scores.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser

from hotline.centre import queries as centre
from hotline.core.events import AgentRinging, CallEnded, CallQueued
from hotline.core.values import ServiceType
from hotline.customer.queries import link_phone
from hotline.process.controller import Controller
from hotline.store import queries
from hotline.store.records import CallRecord, Outage, SurveyAnswer
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import OrderState, WorkOrder
from tests.helpers.pages import save_artifact, sign_in
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

CALLER = "13500000042"
HOUR = 3600.0


def a_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    return path


async def seed(conn: asyncpg.Connection, recording: Path) -> dict[str, int]:
    now = time.time()
    await conn.execute("UPDATE accounts SET sensitive = true, sensitive_note ="
                       " 'complained to the media' WHERE account_no = '3305710001'")
    await link_phone(conn, CALLER, "3305710001")
    outage = await queries.add_outage(conn, Outage(
        area_code="0571", kind="unplanned", starts_at=now - HOUR, ends_at=now + 3 * HOUR,
        description_zh="电缆故障抢修", description_en="cable fault repair"))
    await queries.upsert(conn, [
        CallRecord(call_id="past-a1", caller=CALLER, agent_id="agent1", queue="general",
                   service="general", entered_at=now - 2 * HOUR, outcome="answered",
                   talk_s=95.0, recording_path=str(recording)),
        CallRecord(call_id="past-a2", caller=CALLER, agent_id="agent2", queue="fault",
                   service="fault", entered_at=now - 26 * HOUR, outcome="answered",
                   talk_s=40.0, recording_path=str(recording))])
    await queries.save_survey(conn, SurveyAnswer(
        call_id="past-a2", at=now - 26 * HOUR + 120, agent_id="agent2", satisfaction=4,
        scale=5, nps=2, service="fault"))
    order = WorkOrder(id=None, service=ServiceType.FAULT, caller=CALLER,
                      created_at=now - 26 * HOUR, created_by="agent2",
                      description="no power in building 3", resolve_by=now - 20 * HOUR,
                      state=OrderState.CLOSED, closed_at=now - 20 * HOUR,
                      final_answer="the feeder was replaced; power is back")
    answered = await work_orders.save(conn, order)
    await centre.upsert_vip(conn, CALLER, "hospital", "boss")
    return {"outage": outage.id or 0, "order": answered.id or 0}


async def test_the_story_shows_when_the_call_rings(
        panel_site: str, browser: Browser, controller: Controller, phones: Phones,
        conn: asyncpg.Connection, tmp_path: Path) -> None:
    seeds = await seed(conn, a_wav(tmp_path / "past.wav"))
    # the phone answers after 2.5 s of ringing (the test bed's Dial gives up after 3 s)
    phones.agent(1, ring_ms=2_500)
    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    await sign_in(page, f"{panel_site}/agent?lang=en", "agent1")
    await page.wait_for_selector('#state-box[data-state="logged_out"]', timeout=3000)
    await page.click("#btn-login")
    await page.wait_for_selector('#state-box[data-state="not_ready"]', timeout=1500)
    await page.click("#btn-ready")
    await page.wait_for_selector('#state-box[data-state="ready"]', timeout=1500)
    assert await page.is_hidden("#story")

    # (its talk time runs from the hold session's answer: ringing included)
    caller = phones.caller(CALLER, talk_ms=20_000)
    queued = await controller.wait_for(  # type: ignore[attr-defined]
        lambda e: isinstance(e, CallQueued) and e.caller == CALLER, 10)
    await controller.wait_for(  # type: ignore[attr-defined]
        lambda e: isinstance(e, AgentRinging) and e.call_id == queued.call_id, 8)
    # the story is on the page while the call still rings (the phone has not answered)
    await page.wait_for_function(
        "([call]) => document.querySelector(`#story[data-call='${call}']`)?.dataset.state"
        " === 'shown' && ['reserved', 'ringing'].includes("
        "document.getElementById('state-box').dataset.state)", arg=[queued.call_id],
        timeout=2500)
    await asyncio.to_thread(save_artifact, "agent-story-ringing.png",
                            await page.screenshot(full_page=True))
    flags = await page.eval_on_selector_all("#story [data-flag]",
                                            "els => els.map(e => e.dataset.flag)")
    assert flags == ["vip", "sensitive", "repeat"]
    assert "hospital" in await page.text_content('#story [data-flag="vip"]')
    assert "complained to the media" in await page.text_content('#story [data-flag="sensitive"]')
    account = await page.text_content('#story [data-account="3305710001"]')
    assert "Hangzhou" in account and "0571" in account
    outage = await page.text_content(f'#story [data-outage="{seeds["outage"]}"]')
    assert "cable fault repair" in outage
    assert await page.eval_on_selector_all(
        "#story tr[data-call]", "els => els.map(e => e.dataset.call)") == ["past-a1", "past-a2"]
    # agent1 may hear its own call's recording, not agent2's
    assert await page.is_visible('#story tr[data-call="past-a1"] button[data-recording]')
    assert await page.query_selector('#story tr[data-call="past-a2"] button') is None
    order = await page.text_content(f'#story [data-order="{seeds["order"]}"]')
    assert "the feeder was replaced" in order
    assert "Satisfaction 4/5" in await page.text_content("#story .story-surveys")

    await page.click('#story tr[data-call="past-a1"] button[data-recording]')
    # the recording fetched with the token and decoded: its one second of audio
    await page.wait_for_function(
        "Math.abs(document.querySelector('#story tr[data-call=\"past-a1\"] audio')"
        "?.duration - 1) < 0.01", timeout=5000)
    listened = await conn.fetchval("SELECT count(*) FROM audit_log WHERE what ="
                                   " 'recording.listen' AND details->>'call_id' = 'past-a1'")
    assert listened == 1

    await page.click("#lang")  # the panel in Chinese, for a person to look at
    await page.wait_for_function(
        "document.querySelector('#story h2').textContent === '客户全景'", timeout=5000)
    await asyncio.to_thread(save_artifact, "agent-story-zh.png",
                            await page.screenshot(full_page=True))
    await controller.wait_for(  # type: ignore[attr-defined]
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 30)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    await page.wait_for_selector('#state-box[data-state="after_call_work"]', timeout=3000)
    await page.click("#btn-end-wrap-up")
    await page.wait_for_selector('#state-box[data-state="ready"]', timeout=1500)
    await page.wait_for_selector("#story", state="hidden", timeout=1500)
    await page.select_option("#reason", "meal")
    await page.click("#btn-not-ready")
    await page.click("#btn-logout")
    await page.wait_for_selector('#state-box[data-state="logged_out"]', timeout=1500)
