"""The supervisor page in a real headless Chromium against the real Asterisk: the supervisor
lowers agent1's general skill and raises agent4's on the page, the next general call goes to
agent4 (the page shows the caller on agent4's row), and the supervisor listens in from the
page: another phone is refused, its own (agent2's, from supervisor_endpoints) is put into
ChanSpy. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.process.controller import Controller
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.pages import save_artifact, sign_in
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def save_skill(page: Page, agent_id: str, skill: str, level: int) -> None:
    await page.select_option("#skill-agent", agent_id)
    await page.select_option(f'#skill-rows [data-skill="{skill}"] select', str(level))
    await page.click("#skills-save")
    await page.wait_for_function(
        "a => document.querySelector('#skills-note').textContent.startsWith(a)",
        arg=agent_id, timeout=2000)


async def test_a_supervisor_reskills_and_the_next_call_follows(
        panel_site: str, browser: Browser, controller: Controller,
        phones: Phones) -> None:
    phones.agent(1, ring_ms=300)
    phones.agent(4, ring_ms=300)
    phones.agent(2, ring_ms=300)  # agent2's phone serves as the supervisor's here
    ready(controller, "agent1", "agent4")
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    await sign_in(page, f"{panel_site}/supervisor?lang=en", "supervisor")
    await page.wait_for_selector('#agents [data-agent="agent4"]', timeout=3000)
    await page.wait_for_selector('#queues [data-queue="general"]', timeout=3000)
    assert await page.text_content(
        '#agents [data-agent="agent1"] [data-field="state"]') == "Ready"

    await save_skill(page, "agent1", "general", 1)
    await save_skill(page, "agent4", "general", 5)
    assert controller.router.agent("agent1").skills["general"] == 1
    assert controller.router.agent("agent4").skills["general"] == 5

    caller = phones.caller("13500000002", talk_ms=9_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13500000002", 10)
    answered = await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    assert answered.agent_id == "agent4"  # type: ignore[union-attr]
    row = '#agents [data-agent="agent4"]'
    await page.wait_for_function(
        "s => document.querySelector(s + ' [data-field=call]')?.textContent"
        ".includes('13500000002')", arg=row, timeout=2500)

    await page.fill("#sup-endpoint", "agent3")  # not the supervisor's phone: refused
    await page.click(f'{row} button.spy[data-mode="listen"]')
    await page.wait_for_function(
        "() => document.querySelector('#message').textContent.includes('agent2')",
        timeout=3000)
    await page.fill("#sup-endpoint", "")  # the supervisor's own phone (agent2's here)
    await page.click(f'{row} button.spy[data-mode="listen"]')
    link = controller.links[testbed.NODE]
    async with asyncio.timeout(8):  # the supervisor's phone is put into ChanSpy on agent4
        while True:
            spying = [c for c in await link.channels() if c.application == "ChanSpy"]
            if spying:
                break
            await asyncio.sleep(0.2)  # polling Asterisk's channel list, bounded above
    assert spying[0].channel.startswith("PJSIP/agent2-")
    assert await page.text_content("#message") == ""
    await asyncio.to_thread(save_artifact, "supervisor-page.png", await page.screenshot())

    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent1", "agent4")
