"""Issue #8 end to end, on the real Asterisk and the real PostgreSQL, through the API as the
people of the centre use it: a SIPp caller is answered by agent1's SIPp phone and recorded
(file, checksum, duration); agent1 creates a work order from the call; the back office
dispatches it, the unit accepts and replies; agent1 places the callback (回访), a real
outbound call to the customer's SIPp phone, and records its result; an inspector samples the
first call (it says why), scores it with a fatal item, and agent1's scorecard shows it. The
inspector's page, opened on that evaluation in Chromium, is kept as a screenshot."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from hotline.api import create_app
from hotline.centre.model import Centre
from hotline.core.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.history.service import Recorder
from hotline.process.wiring import attach_controller, services_for
from hotline.recordings import service as recordings
from hotline.router import CallbackDue
from hotline.store import db
from hotline.store.writer import Writer
from tests.helpers.calls import logout
from tests.helpers.observed import ObservedController
from tests.helpers.pages import ARTIFACTS
from tests.helpers.phones import Phones
from tests.helpers.qa import FORM, marks
from tests.helpers.servers import fast_hasher, serve_app
from tests.helpers.store import store_tmpdir

pytestmark = pytest.mark.asterisk

CUSTOMER = "13600000008"
USERS = "agent1:pw-agent1:agent;office:pw-office:supervisor;qa1:pw-qa1:qa"


@dataclass
class Site:
    base: str
    writer: Writer
    stored: dict[str, asyncio.Task[recordings.RecordingFacts]]


@pytest.fixture
async def site(controller: ObservedController, asterisk_node: Settings, centre: Centre,
               conn: asyncpg.Connection, empty_db_url: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    """What `hotline run` joins, piece by piece over the test bed's controller: the history
    writer and recorder (with the recording's checksum and duration stored once Asterisk has
    closed the file), and the API over the controller and a fresh database."""
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    writer = Writer(empty_db_url, store_tmpdir("hotline-writer-"))
    await writer.start()
    pool = await db.create_pool(empty_db_url, max_size=4)
    stored: dict[str, asyncio.Task[recordings.RecordingFacts]] = {}

    def recorded(call_id: str, host_path: str) -> None:
        stored[call_id] = asyncio.create_task(
            recordings.record_when_closed(pool, call_id, Path(host_path)))

    controller.observe(Recorder(writer, asterisk_node.recordings_dir,
                                asterisk_node.recordings_dir_in_root,
                                asterisk_node.short_abandon_s,
                                on_recorded_call=recorded).observe)
    services = services_for(asterisk_node, centre)
    services.hasher = fast_hasher()
    attach_controller(services, controller)
    services.db_pool = pool
    try:
        async with serve_app(create_app(asterisk_node, services)) as base:
            yield Site(base, writer, stored)
    finally:
        for task in stored.values():
            task.cancel()
        await writer.stop()
        await pool.close()


async def sign_in(http: httpx.AsyncClient, user: str, password: str) -> dict[str, str]:
    r = await http.post("/api/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def ok(response: Any, status: int = 200) -> Any:
    r = await response
    assert r.status_code == status, r.text
    return r.json()


async def test_a_call_becomes_an_order_a_callback_and_an_evaluation_on_the_scorecard(
        site: Site, controller: ObservedController, phones: Phones, asterisk_node: Settings,
        conn: asyncpg.Connection, browser: Browser) -> None:
    start = time.time()
    async with httpx.AsyncClient(base_url=site.base, timeout=15) as http:
        agent = await sign_in(http, "agent1", "pw-agent1")
        office = await sign_in(http, "office", "pw-office")
        inspector = await sign_in(http, "qa1", "pw-qa1")

        # 1. The customer calls; agent1 (logged in from the desk) answers on its SIPp phone.
        phones.agent(1, ring_ms=300, talk_ms=3_000)
        await ok(http.post("/api/agents/agent1/login", headers=agent))
        await ok(http.post("/api/agents/agent1/ready", headers=agent))
        caller = phones.caller(CUSTOMER, talk_ms=30_000)
        queued = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == CUSTOMER, 15)
        first = queued.call_id
        await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == first, 15)
        desk = await ok(http.get("/api/agents/agent1/desk", headers=agent))
        assert desk["call"]["call_id"] == first
        await controller.wait_for(
            lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent1"
            and e.new is AgentState.AFTER_CALL_WORK, 15)

        # 2. In after-call work the agent writes the work order from the call.
        order = await ok(http.post("/api/work-orders", headers=agent, json={
            "service": "billing", "caller": CUSTOMER, "call_id": first,
            "description": "bill for October counts 300 kWh twice", "account": "0571-88",
            "area": "0571"}), 201)
        assert (order["state"], order["unit"], order["call_ids"], order["created_by"]) == (
            "created", "billing_office", [first], "agent1")
        await ok(http.post("/api/agents/agent1/end-wrap-up", headers=agent))

        # The call is recorded: the file on disk, its checksum and duration in PostgreSQL.
        await controller.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == first, 15)
        facts = await asyncio.wait_for(site.stored[first], 30)
        assert await site.writer.flush(10)
        row = await conn.fetchrow(
            "SELECT c.agent_id, c.recording_path, r.path, r.sha256, r.duration_s"
            " FROM calls c JOIN recordings r USING (call_id) WHERE call_id = $1", first)
        assert row is not None and row["agent_id"] == "agent1"
        assert row["recording_path"] == row["path"] == facts.path
        data = await asyncio.to_thread(Path(facts.path).read_bytes)
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert 2.0 <= row["duration_s"] <= 10.0
        # ... reachable from the order through its call, for the call's own agent
        r = await http.get(f"/api/recordings/{order['call_ids'][0]}", headers=agent)
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == row["sha256"]

        # 3. The back office dispatches to the unit; the unit accepts and replies.
        path = f"/api/work-orders/{order['id']}/actions"
        await ok(http.post(path, headers=office, json={"action": "dispatch",
                                                       "unit": "billing_office"}))
        await ok(http.post(path, headers=office, json={"action": "accept"}))
        replied = await ok(http.post(path, headers=office, json={
            "action": "reply", "text": "meter re-read: 150 kWh, the bill is corrected"}))
        assert replied["state"] == "callback_due"
        assert replied["callback_by"] == pytest.approx(replied["replied_at"] + 86400)

        # 4. The callback: a real outbound call to the customer's phone, connected to agent1.
        assert await asyncio.to_thread(caller.wait, 40) == 0, caller.errors()
        phones.callback_phone(talk_ms=30_000)
        placed = await ok(http.post(f"/api/work-orders/{order['id']}/call-back",
                                    headers=agent))
        [_, callback] = placed["call_ids"]
        due = await controller.wait_for(
            lambda e: isinstance(e, CallbackDue) and e.call_id == callback, 10)
        assert (due.agent_id, due.number, due.queue) == ("agent1", CUSTOMER, "billing")
        await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == callback, 15)
        await controller.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == callback, 20)
        done = await ok(http.post(path, headers=agent, json={
            "action": "callback_done", "text": "customer confirms the corrected bill"}))
        assert (done["state"], done["callback_result"]) == (
            "replied", "customer confirms the corrected bill")
        assert done["callback_done_at"] <= done["callback_by"]
        assert done["callback_done_by"] == "agent1"
        await ok(http.post("/api/agents/agent1/end-wrap-up", headers=agent))
        callback_facts = await asyncio.wait_for(site.stored[callback], 30)
        assert callback_facts.duration_s >= 1.0
        assert await site.writer.flush(10)

        # 5. The inspector draws a sample: the first call is in it, saying why.
        await ok(http.post("/api/qa/forms", headers=inspector, json=FORM), 201)
        r = await http.put("/api/qa/agents/agent1/start", headers=inspector,
                           json={"started_at": start - 30 * 86400})
        assert r.status_code == 204, r.text
        until = time.time() + 60
        sample = await ok(http.post("/api/qa/samples", headers=inspector, json={
            "since": start - 60, "until": until, "percentage": 0, "seed": 8}), 201)
        picked = {c["call_id"]: c for c in sample["calls"]}
        assert picked[first]["reasons"] == ["new_agent"]
        assert picked[first]["recording_url"] == f"/api/recordings/{first}"

        # 6. ... and scores it: identity not verified (fatal), the answer a little off.
        evaluation = await ok(http.post("/api/qa/evaluations", headers=inspector, json={
            "call_id": first, "form_id": "std", "marks": marks(10, 0, 8, 4, fatal=True),
            "comment": "account holder not verified"}), 201)
        assert (evaluation["score"], evaluation["fatal"], evaluation["agent_id"]) == (
            0.0, True, "agent1")
        assert evaluation["errors"] == {"general": 0, "important": 1, "major": 0}

        # 7. agent1's scorecard for the period shows it.
        card = await ok(http.get("/api/qa/scorecard/agent1", headers=agent,
                                 params={"since": start - 60, "until": until}))
        assert (card["evaluations"], card["fatal_errors"], card["qa_score"]) == (1, 1, 0.0)
        # 1 evaluation, and it lost marks on a non-fatal item: 1 / 1
        assert card["non_fatal_error_rate"] == 1.0
        # one callback settled in the period, done within its 24 h: 1 / 1
        assert (card["callbacks_done"], card["callback_timeliness"]) == (1, 1.0)
        assert card["calls"] == 2  # the first call and the callback
        assert card["avg_talk_s"] is not None and card["avg_talk_s"] > 1.0
        assert card["avg_acw_s"] is not None and card["avg_acw_s"] > 0.0
        assert card["utilisation"] is not None and 0.0 < card["utilisation"] <= 1.0

        # 8. The inspector's page, opened on that evaluation.
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{site.base}/qa?lang=en")
        await page.fill('#login input[name="username"]', "qa1")
        await page.fill('#login input[name="password"]', "pw-qa1")
        await page.click('#login button[type="submit"]')
        await page.wait_for_selector("#board:not([hidden])")
        await page.goto(f"{site.base}/qa?lang=en&sample={sample['id']}&call={first}")
        await page.wait_for_selector(f'tr[data-call="{first}"].selected')
        assert (await page.input_value("#percentage"), await page.input_value("#seed")) == (
            "0", "8")
        await page.wait_for_selector(f'li[data-evaluation="{evaluation["id"]}"]')
        assert "fatal" in (await page.text_content(
            f'li[data-evaluation="{evaluation["id"]}"]') or "")
        await page.wait_for_selector("#player:not([hidden])")
        assert await page.text_content(f'li[data-order="{order["id"]}"]') == (
            f"#{order['id']} billing · replied · bill for October counts 300 kWh twice")
        await page.wait_for_function(
            "document.querySelector('[data-figure=fatal_errors] td')?.textContent === '1'")
        assert await page.text_content('[data-figure="callback_timeliness"] td') == "100.0%"
        shot = await page.screenshot(full_page=True)
        await asyncio.to_thread(lambda: (ARTIFACTS.mkdir(exist_ok=True),
                                         (ARTIFACTS / "order-to-scorecard.png").write_bytes(shot)))
        assert errors == []
    logout(controller, "agent1")
