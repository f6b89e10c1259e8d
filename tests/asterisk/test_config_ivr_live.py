"""The IVR menu tree changed through the configuration API on the real Asterisk: a SIPp caller
walks a menu changed through the API, while a caller already in the menus finishes on the old
one. (The API's rules over PostgreSQL: integration/test_config_ivr.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hotline.centre.service import load_or_seed_centre, load_or_seed_ivr
from hotline.core.events import CallQueued, IvrChoice
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.ivr_menu.service import StoreOutages
from hotline.process.controller import Controller
from hotline.store import db
from hotline.telephony.agi.server import Agi, Handler
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp
from tests.helpers.ivr_bed import IVR_NUMBER, Recorder, caller_dtmf, finished
from tests.helpers.ivr_config import NEW_EN_MAIN, Api, changed_tree, config_api, no_survey

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def live_ivr(ivr_node: tuple[Settings, PromptStore], controller: Controller,
                   agi_scripts: dict[str, Handler],
                   centre: Any, conn: asyncpg.Connection, empty_db_url: str,
                   monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[tuple[Api, list[Any], Settings]]:
    """The platform's IVR wiring on the test bed: the tree from the database, served over
    FastAGI, changed through the API; yields the API, the AGI commands Asterisk saw and the
    node's settings."""
    settings, prompts = ivr_node
    monkeypatch.setenv("HOTLINE_API_USERS", "boss:pw:admin")
    pool = await db.create_pool(empty_db_url, max_size=3)
    commands: list[Any] = []
    try:
        await load_or_seed_centre(pool, centre)
        menu, version = await load_or_seed_ivr(pool)
        await asyncio.to_thread(prompts.build, menu)
        app_ivr = IvrApp(menu, prompts, StoreOutages(pool), no_survey, time.time)

        async def handler(agi: Agi) -> None:
            await app_ivr(Agi(Recorder(agi.io, commands), agi.env))

        agi_scripts["ivr"] = agi_scripts["survey"] = handler
        async for api in config_api(pool, controller, app_ivr, version, prompts, settings,
                                    ("boss",)):
            yield api, commands, settings
    finally:
        await pool.close()


async def test_a_caller_walks_the_menu_changed_through_the_api(
        live_ivr: tuple[Api, list[Any], Settings], controller: Controller) -> None:
    """Caller A chooses English on version 1 and is in the main menu when the tree changes
    (3 now goes to ev): A still reaches billing; caller B, after the change, hears the new
    English prompt and reaches ev with the same keys."""
    api, commands, node = live_ivr
    first = caller_dtmf(node, "13955550001", IVR_NUMBER, [(1500, "2"), (8000, "3")],
                        talk_ms=3000)
    second = None
    try:
        chose = await controller.wait_for(
            lambda e: isinstance(e, IvrChoice) and e.menu == "language" and e.digit == "2",
            20)
        tree = (await api.get()).json()["tree"]
        r = await api.put(1, changed_tree(tree))
        assert r.status_code == 200, r.text
        a = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13955550001", 20)
        assert isinstance(a, CallQueued) and a.call_id == chose.call_id  # type: ignore[attr-defined]
        assert (a.queue, a.service) == ("billing", ServiceType.BILLING)
        second = caller_dtmf(node, "13955550002", IVR_NUMBER, [(1500, "2"), (1500, "3")],
                             talk_ms=3000)
        b = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13955550002", 30)
        assert isinstance(b, CallQueued)
        assert (b.queue, b.service) == ("ev", ServiceType.EV)
        assert await finished(first, 20) == 0, first.errors()
        assert await finished(second, 20) == 0, second.errors()
    finally:
        first.stop()
        if second is not None:
            second.stop()
    new_main = api.live.prompts.name("en", "main", NEW_EN_MAIN)
    played = [(args[0], reply) for name, args, reply in commands if name == "GET DATA"]
    heard = [reply for prompt, reply in played if prompt == new_main]
    assert heard and all(reply.ok for reply in heard), played  # B heard the new prompt
    assert sum(prompt == new_main for prompt, _ in played) == 1  # only B
