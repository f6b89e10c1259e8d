"""Fixtures of the real-Asterisk tests beyond tests/conftest.py's: the IVR as the platform runs
it, on the test bed's node (prompts built into the node, the test-only survey extension);
the configuration API over the live controller."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from hotline.api import Services, create_app
from hotline.api.security import PostgresUserRepository
from hotline.centre.model import Centre
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.settings import Settings
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.service import StoreOutages, SurveyToStore
from hotline.process.controller import Controller
from hotline.process.wiring import NodeAgentFiles, local_nodes
from hotline.store import db, queries
from hotline.store.records import Outage as StoredOutage
from hotline.store.writer import Writer
from hotline.telephony.agi.server import Agi, Handler
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from hotline.telephony.ivr.session import IvrApp, SurveyResponse
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed
from tests.helpers.ivr_bed import SEEDED, TEST_EXTENSIONS, IvrBed, Recorder, cli
from tests.helpers.servers import fast_hasher
from tests.helpers.store import store_tmpdir


@pytest.fixture(scope="module")
def ivr_node(asterisk_node: Settings) -> Iterator[tuple[Settings, PromptStore]]:
    root = asterisk_box.root_dir(asterisk_node)
    store = PromptStore(root / PROMPTS_IN_ROOT.lstrip("/"))
    store.build(ivr_menu.load())
    for exten, apps in TEST_EXTENSIONS.items():
        for prio, app in enumerate(apps, start=1):
            cli(asterisk_node, f'dialplan add extension "{exten},{prio},{app}" into hotline '
                                f"replace")
    yield asterisk_node, store
    for exten in TEST_EXTENSIONS:
        cli(asterisk_node, f"dialplan remove extension {exten}@hotline")


@pytest.fixture
async def ivr(ivr_node: tuple[Settings, PromptStore], conn: asyncpg.Connection,
              empty_db_url: str, agi_scripts: dict[str, Handler]) -> AsyncIterator[IvrBed]:
    """The IVR as the platform runs it: outages read from the real PostgreSQL (seeded with
    SEEDED), survey answers written to it through the write-behind writer, a low answer's
    callback order through the pool and its alert kept in `bed.alerts`."""
    settings, store = ivr_node
    bed = IvrBed(settings, store)
    await queries.add_outage(conn, StoredOutage(
        area_code=SEEDED.area_code, kind="planned", starts_at=SEEDED.start,
        ends_at=SEEDED.end, description_zh="变压器检修", description_en=SEEDED.reason))
    pool = await db.create_pool(empty_db_url, max_size=2)
    writer = Writer(empty_db_url, Path(store_tmpdir("ivr-writer")))
    await writer.start()
    to_store = SurveyToStore(writer, pool, bed.alerts.append)

    async def on_survey(response: SurveyResponse) -> None:
        bed.scores.append(response)
        await to_store(response)

    bed.writer, bed.conn, bed.survey = writer, conn, to_store  # type: ignore[attr-defined]
    app = IvrApp(ivr_menu.load(), store, StoreOutages(pool), on_survey, time.time)

    async def handler(agi: Agi) -> None:
        recorder = Recorder(agi.io, bed.commands)
        await app(Agi(recorder, agi.env))

    agi_scripts["ivr"] = agi_scripts["survey"] = handler
    try:
        yield bed
    finally:
        await writer.stop()
        await pool.close()


@pytest.fixture
async def admin(controller: Controller, asterisk_node: Settings, centre: Centre,
                conn: asyncpg.Connection, empty_db_url: str,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client on the API over the live controller; removes the agent the tests
    create (testbed.CONFIG_AGENT) afterwards."""
    monkeypatch.setenv("HOTLINE_API_USERS", "boss:pw:admin")
    pool = await db.create_pool(empty_db_url, max_size=2)
    await load_or_seed_centre(pool, centre)  # the test bed's agents stay in the files
    services = Services.build(users=PostgresUserRepository(pool),
                              hasher=fast_hasher())
    services.db_pool, services.controller = pool, controller
    services.configuration = Configuration(  # type: ignore[attr-defined]
        pool, controller,
        agent_files=NodeAgentFiles(local_nodes(asterisk_node), controller.links))
    app = create_app(asterisk_node, services)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.post("/api/auth/token",
                                      json={"username": "boss", "password": "pw"})
                client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
                yield client
                # leave the node as the session found it
                await client.delete(f"/api/config/agents/{testbed.CONFIG_AGENT}")
    finally:
        await pool.close()
