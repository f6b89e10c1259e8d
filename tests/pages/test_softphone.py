"""The agent page's own softphone against the real Asterisk, in headless Chromium with fake
media devices: agent7's page phone registers over the secure websocket (self-signed
certificate, trusted by its key), a SIPp caller is routed to it and rings in the page, the
agent answers, RTP flows both ways (the page's RTCPeerConnection statistics and Asterisk's
channel statistics), mutes, holds, sends a digit and hangs up; a second call is transferred
to the billing queue (*8billing) and answered there by agent2's SIPp phone; then the phone
unregisters (the agent turns not ready, phone unreachable) and registers again (ready). At
every step the state panel (the controller's view) and the phone (the SIP session's) agree.
The ringing page is kept in test-artifacts/softphone-ringing.png."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Page, async_playwright

from hotline.api import create_app
from hotline.centre import queries as centre_queries
from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallHeld, CallQueued, CallUnheld
from hotline.core.settings import Settings
from hotline.process.wiring import attach_controller, services_for
from hotline.store import db
from tests.helpers import testbed
from tests.helpers.calls import logout, media_flows, ready
from tests.helpers.observed import ObservedController
from tests.helpers.pages import CHROMIUM, save_artifact, sign_in
from tests.helpers.phones import Phones
from tests.helpers.servers import fast_hasher, serve_app
from tests.helpers.softphones import (
    endpoint_option,
    observed_controller,
    registered,
    registering_agent,
    spki_sha256,
    with_agents,
)
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk
AGENT = testbed.WEBRTC_AGENT


@pytest.fixture
async def phone_centre(asterisk_node: Settings, centre: Centre) -> AsyncIterator[Centre]:
    with with_agents(asterisk_node, centre, registering_agent(AGENT, "pw7-softphone")) as grown:
        yield grown


@pytest.fixture
async def desk(asterisk_node: Settings, phone_centre: Centre,
               agi_scripts: dict[str, Any]) -> AsyncIterator[ObservedController]:
    async with observed_controller(asterisk_node, phone_centre, agi_scripts,
                                   ring_timeout_s=15) as ctl:
        yield ctl


@pytest.fixture
async def site(desk: ObservedController, asterisk_node: Settings, phone_centre: Centre,
               monkeypatch: pytest.MonkeyPatch, conn: asyncpg.Connection,
               empty_db_url: str) -> AsyncIterator[str]:
    """The API over the controller, agents' development logins, agent7 stored (its secret)."""
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    for team in ("day", "partner"):  # the agents' teams (migration 016 has only 'main')
        await conn.execute("INSERT INTO teams (id, name, vendor_id) VALUES ($1, $1, 'own')"
                           " ON CONFLICT DO NOTHING", team)
    await centre_queries.insert_agent(conn, phone_centre.agents[-1])
    services = services_for(asterisk_node, phone_centre)
    services.hasher = fast_hasher()
    attach_controller(services, desk)
    services.db_pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        async with serve_app(create_app(asterisk_node, services)) as base:
            yield base
    finally:
        await services.db_pool.close()


@pytest.fixture
async def media_browser(asterisk_node: Settings) -> AsyncIterator[Browser]:
    """Chromium with fake microphone (a beep) and no permission prompt, loopback ICE
    candidates allowed, and the node's self-signed certificate trusted by its key."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
            f"--ignore-certificate-errors-spki-list={spki_sha256(asterisk_node)}",
        ])
        yield b
        await b.close()


async def phone_is(page: Page, state: str, timeout_ms: float = 5000) -> None:
    await page.wait_for_selector(f'#softphone[data-phone-state="{state}"]', timeout=timeout_ms,
                                 state="attached")


async def panel_is(page: Page, *states: str, timeout_ms: float = 3000) -> str:
    await page.wait_for_function(
        "states => states.includes(document.getElementById('state-box').dataset.state)",
        arg=list(states), timeout=timeout_ms)
    return await page.get_attribute("#state-box", "data-state") or ""


async def page_rtp(page: Page, deadline_s: float, at_least: int) -> dict[str, int]:
    """Until the page's call has sent and received `at_least` more audio packets."""
    async def grown() -> dict[str, int] | None:
        stats = await page.evaluate("window.hotlineSoftphone.mediaStats()")
        if stats and min(stats["packetsSent"], stats["packetsReceived"]) >= at_least:
            return stats
        return None
    return await wait_for(grown, deadline_s, "page RTP both ways", interval=0.1)


async def test_the_page_phone_takes_a_real_call(
        site: str, media_browser: Browser, desk: ObservedController, phones: Phones,
        asterisk_node: Settings) -> None:
    assert endpoint_option(asterisk_node, AGENT, "webrtc") == "yes"
    assert endpoint_option(asterisk_node, AGENT, "media_encryption") == "dtls"
    page = await media_browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("console", lambda m: print("page:", m.text))
    await sign_in(page, f"{site}/agent?lang=en", AGENT)
    await phone_is(page, "registered", 10_000)
    await registered(asterisk_node, AGENT, 5)  # Asterisk holds the page's contact
    await page.click("#btn-login")
    await panel_is(page, "not_ready")
    await page.click("#btn-ready")
    await panel_is(page, "ready")

    # --- call 1: rings in the page, answered, RTP both ways, mute, hold, a digit, hang up
    phones.caller("13500000071", talk_ms=60_000)
    queued = await desk.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000071", 10)
    await phone_is(page, "ringing", 8000)
    assert await panel_is(page, "reserved", "ringing") in ("reserved", "ringing")
    assert await page.text_content('#softphone [data-sp="peer"]') == "from 13500000071"
    shot = await page.screenshot(animations="disabled")
    await asyncio.to_thread(save_artifact, "softphone-ringing.png", shot)
    await page.click('#softphone [data-sp-do="answer"]')
    answered = await desk.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    assert answered.agent_id == AGENT
    await phone_is(page, "talking")
    await panel_is(page, "on_call")
    before = await page_rtp(page, 10, 50)  # 1 s of 20 ms packets each way
    asterisk_rx, caller_rx = await media_flows(desk.links[asterisk_node.node_name], AGENT, 10)
    print("page RTP", before, "asterisk agent rx", asterisk_rx, "caller rx", caller_rx)
    later = await page_rtp(page, 10, before["packetsReceived"] + 25)
    assert later["packetsSent"] > before["packetsSent"]  # still flowing both ways

    await page.click('#softphone [data-sp-do="mute"]')
    await page.wait_for_selector('#softphone[data-muted="true"]', state="attached")
    assert await page.text_content('#softphone [data-sp-do="mute"]') == "Unmute"
    await page.click('#softphone [data-sp-do="mute"]')
    await page.wait_for_selector('#softphone[data-muted="false"]', state="attached")

    await page.click('#softphone [data-sp-do="hold"]')
    await desk.wait_for(lambda e: isinstance(e, CallHeld) and e.call_id == queued.call_id, 5)
    await phone_is(page, "held")
    assert await panel_is(page, "on_call") == "on_call"  # held is still the agent's call
    await page.click('#softphone [data-sp-do="hold"]')
    await desk.wait_for(lambda e: isinstance(e, CallUnheld) and e.call_id == queued.call_id, 5)
    await phone_is(page, "talking")

    link = desk.links[asterisk_node.node_name]
    link.tap = tap = io.BytesIO()  # the raw AMI stream: Asterisk's own word on the digit
    try:
        await page.click('#softphone [data-sp-key="5"]')
        await wait_for(lambda: _dtmf_from(tap.getvalue(), AGENT, "5"), 5, "digit 5 at Asterisk",
                       interval=0.05)
    finally:
        link.tap = None

    await page.click('#softphone [data-sp-do="hangup"]')
    ended = await desk.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 8)
    print("call 1 ended", ended)
    await phone_is(page, "registered")
    await panel_is(page, "after_call_work")
    await page.click("#btn-end-wrap-up")
    await panel_is(page, "ready")

    # --- call 2: answered in the page, then transferred to the billing queue (*8billing),
    # where agent2 (ready only now: it would have taken the call first) answers it
    phones.caller("13500000072", talk_ms=60_000)
    second = await desk.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000072", 10)
    await phone_is(page, "ringing", 8000)
    await page.click('#softphone [data-sp-do="answer"]')
    await desk.wait_for(lambda e: isinstance(e, CallAnswered)
                        and e.call_id == second.call_id and e.agent_id == AGENT, 8)
    await phone_is(page, "talking")
    phones.agent(2, ring_ms=300)
    ready(desk, "agent2")
    try:
        await page.select_option('#softphone [data-sp="queue"]', "billing")
        await page.click('#softphone [data-sp-do="transfer"]')
        await desk.wait_for(lambda e: isinstance(e, CallAnswered)
                            and e.call_id == second.call_id and e.agent_id == "agent2", 10)
        await phone_is(page, "registered")  # the phone left the call as the agent did
        await panel_is(page, "after_call_work")
        await page.click("#btn-end-wrap-up")
        await panel_is(page, "ready")

        # --- the phone goes away (unregisters): the agent is not ready, "phone unreachable",
        # until it registers again
        await page.evaluate("window.hotlineSoftphone.stop()")
        await panel_is(page, "not_ready", timeout_ms=5000)
        await page.wait_for_function(
            "document.querySelector('[data-field=reason]').textContent === 'phone unreachable'",
            timeout=3000)
        await page.evaluate("window.hotlineSoftphone.restart()")
        await phone_is(page, "registered", 10_000)
        await panel_is(page, "ready", timeout_ms=5000)
    finally:
        logout(desk, "agent2", AGENT)


def _dtmf_from(data: bytes, agent_id: str, digit: str) -> bool:
    """A DTMFEnd that Asterisk received on the agent's channel, in raw AMI bytes."""
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        fields = dict(line.split(": ", 1) for line in block.decode(errors="replace").split("\n")
                      if ": " in line)
        if (fields.get("Event") == "DTMFEnd" and fields.get("Digit") == digit
                and fields.get("Direction") == "Received"
                and fields.get("Channel", "").startswith(f"PJSIP/{agent_id}-")):
            return True
    return False


async def test_the_phone_account_is_the_agents_own(
        site: str, asterisk_node: Settings) -> None:
    """Only the agent itself gets its SIP account; agents with desk phones have none."""
    import httpx

    async with httpx.AsyncClient(base_url=site) as client:
        async def token(user: str) -> dict[str, str]:
            r = await client.post("/api/auth/token", json={"username": user, "password": user})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        own = await client.get(f"/api/agents/{AGENT}/phone", headers=await token(AGENT))
        assert own.status_code == 200, own.text
        body = own.json()
        assert body["websocket_url"] == f"wss://127.0.0.1:{asterisk_node.wss_port}/ws"
        assert (body["username"], body["password"]) == (AGENT, "pw7-softphone")
        other = await client.get(f"/api/agents/{AGENT}/phone", headers=await token("agent1"))
        assert other.status_code == 403 and "pw7" not in other.text
        boss = await client.get(f"/api/agents/{AGENT}/phone",
                                headers=await token("supervisor"))
        assert boss.status_code == 403 and "pw7" not in boss.text
        desk_phone = await client.get("/api/agents/agent1/phone",
                                      headers=await token("agent1"))
        assert desk_phone.status_code == 404
        assert json.loads(desk_phone.text)["error"]["id"] == "no-softphone"
