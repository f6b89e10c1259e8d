"""Outage self-service by account number: the accounts table (migration 009) resolves a typed
account number to its area, and the IVR reads out that area's outages.

Here over the real PostgreSQL with a scripted AGI session (tests/helpers/scripted_agi.py: only
the Asterisk socket is missing); end to end on the real Asterisk in
asterisk/test_ivr_accounts_live.py.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from hotline.core.values import ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import QueueTarget
from hotline.ivr_menu.service import StoreOutages
from hotline.store import db, queries
from hotline.store.records import Outage as StoredOutage
from hotline.telephony.agi.server import Agi, AgiEnvironment
from hotline.telephony.ivr.session import (
    UNKNOWN_NUMBER_PROMPT,
    AccountAreas,
    IvrResult,
    IvrSession,
)
from tests.helpers.ivr_bed import BEIJING, UNKNOWN, WEST_LAKE
from tests.helpers.scripted_agi import TIMEOUT, FakeVoice, ScriptedAgi

MENU = ivr_menu.load()


async def test_migration_seeds_demo_accounts_and_resolves_them(conn: asyncpg.Connection) -> None:
    assert await queries.area_of_account(conn, WEST_LAKE) == "0571"
    assert await queries.area_of_account(conn, BEIJING) == "010"
    assert await queries.area_of_account(conn, UNKNOWN) is None
    assert await queries.area_of_account(conn, "0571") is None  # an area is not an account
    with pytest.raises(asyncpg.CheckViolationError):  # area codes only, digits only
        await conn.execute(
            "INSERT INTO accounts (account_no, area_code) VALUES ('12345678', 'Hangzhou')"
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO accounts (account_no, area_code) VALUES ('12ab5678', '0571')"
        )


@pytest.fixture
async def store(conn: asyncpg.Connection, empty_db_url: str) -> AsyncIterator[StoreOutages]:
    """StoreOutages over the real PostgreSQL, one planned outage seeded in 0571."""
    now = time.time()
    await queries.add_outage(
        conn,
        StoredOutage(
            area_code="0571",
            kind="planned",
            starts_at=now + 3600,
            ends_at=now + 7200,
            description_zh="线路检修",
            description_en="line maintenance",
        ),
    )
    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        yield StoreOutages(pool)
    finally:
        await pool.close()


async def walk(
    store: StoreOutages, inputs: list[str | None]
) -> tuple[ScriptedAgi, FakeVoice, IvrResult]:
    fake, voice = ScriptedAgi(list(inputs)), FakeVoice()
    session = IvrSession(
        MENU, voice, store, time.time, Agi(fake, AgiEnvironment({"network_script": "ivr"}))
    )
    return fake, voice, await session.run()


async def test_store_outages_knows_accounts(store: StoreOutages) -> None:
    assert isinstance(store, AccountAreas)
    assert await store.area_of_account(WEST_LAKE) == "0571"
    assert await store.area_of_account(UNKNOWN) is None


async def test_account_number_reads_out_its_area_outage(store: StoreOutages) -> None:
    fake, voice, result = await walk(store, ["2", "2", WEST_LAKE + "#", TIMEOUT])
    assert result.target is None  # heard it, asked for nobody: self-served
    assert fake.played[2:] == [
        "en/outage-enter",
        "en/outage-found",
        "en/tts/1",
        "en/outage-after",
        "en/goodbye",
    ]
    # (StoreOutages reads the Mandarin description first, whatever the language)
    assert voice.spoken[0].startswith("0571:") and "线路检修" in voice.spoken[0], voice.spoken


async def test_area_code_still_works_and_an_account_without_outage_hears_none(
    store: StoreOutages,
) -> None:
    fake, _, _ = await walk(store, ["2", "2", "0571#", TIMEOUT])
    assert "en/outage-found" in fake.played
    fake, voice, _ = await walk(store, ["2", "2", BEIJING + "#", TIMEOUT])
    assert "en/outage-none" in fake.played and voice.spoken == []


async def test_unknown_account_is_told_then_retries_with_a_known_one(store: StoreOutages) -> None:
    fake, voice, result = await walk(store, ["2", "2", UNKNOWN + "#", WEST_LAKE + "#", TIMEOUT])
    assert voice.spoken[0] == MENU.prompts["en"][UNKNOWN_NUMBER_PROMPT]
    assert fake.played[2:6] == ["en/outage-enter", "en/tts/1", "en/outage-enter", "en/outage-found"]
    assert result.target is None and "0571" in voice.spoken[1]


async def test_unknown_account_may_ask_for_an_agent(store: StoreOutages) -> None:
    fake, voice, result = await walk(store, ["1", "2", UNKNOWN + "#", "0#"])
    assert voice.spoken == [MENU.prompts["zh"][UNKNOWN_NUMBER_PROMPT]]
    assert result.target == QueueTarget("general", ServiceType.OUTAGE_INFO)
    assert fake.events[-1] == "HotlineIvr,Menu: outage,Digit: 0,Service: outage_info"
    assert fake.variables["HL_QUEUE"] == "general"


async def test_three_unknown_numbers_go_to_an_agent(store: StoreOutages) -> None:
    fake, voice, result = await walk(store, ["2", "2", UNKNOWN, "12345", "7#"])
    assert len(voice.spoken) == 3  # each wrong number was told
    assert result.target == QueueTarget("general", ServiceType.OUTAGE_INFO)
    assert fake.events[-1] == "HotlineIvr,Menu: outage,Digit: t,Service: outage_info"


async def test_tree_without_the_unknown_prompt_says_invalid(store: StoreOutages) -> None:
    prompts = {
        lang: {k: v for k, v in texts.items() if k != UNKNOWN_NUMBER_PROMPT}
        for lang, texts in MENU.prompts.items()
    }
    menu = dataclasses.replace(MENU, prompts=prompts)  # a tree saved before the prompt existed
    fake = ScriptedAgi(["2", "2", UNKNOWN + "#", "0#"])
    await IvrSession(
        menu, FakeVoice(), store, time.time, Agi(fake, AgiEnvironment({"network_script": "ivr"}))
    ).run()
    assert fake.played[2:5] == ["en/outage-enter", "en/invalid", "en/outage-enter"]
