"""Outage self-service by account number: the accounts table (migration 009) resolves a typed
account number to its area, and the IVR reads out that area's outages.

First over the real PostgreSQL with a scripted AGI session (tests/unit/test_ivr.py's ScriptedAgi:
only the Asterisk socket is missing), then end to end: a SIPp caller on the real Asterisk types
an account number by RFC 2833 and hears the seeded outage of the account's area.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from hotline.core.events import CallQueued, IvrChoice
from hotline.core.values import Outage, ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import QueueTarget
from hotline.ivr_menu.service import StoreOutages
from hotline.process.controller import Controller
from hotline.store import db, queries
from hotline.store.records import Outage as StoredOutage
from hotline.telephony.agi.server import Agi, AgiEnvironment
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, text_hash
from hotline.telephony.ivr.session import (
    UNKNOWN_NUMBER_PROMPT,
    AccountAreas,
    IvrResult,
    IvrSession,
    outage_text,
)
from tests.helpers.ivr_bed import IVR_NUMBER, SEEDED, IvrBed, caller_dtmf, finished, queued
from tests.helpers.scripted_agi import TIMEOUT, FakeVoice, ScriptedAgi

# the real-Asterisk IVR fixtures of test_ivr_asterisk (AGI server, prompts, seeded outage)

MENU = ivr_menu.load()
WEST_LAKE = "3305710001"  # a demo account of migration 009, in area 0571
BEIJING = "1100100001"  # a demo account in 010, where no outage is seeded
UNKNOWN = "9999999999"


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


# --- end to end on the real Asterisk


def _digits(text: str, first_pause_ms: int) -> list[tuple[int, str]]:
    return [(first_pause_ms if i == 0 else 250, d) for i, d in enumerate(text)]


def tts_name(bed: IvrBed, lang: str, text: str) -> str:
    """The name PromptStore.speak gives `text` (cached by the hash of voice and text)."""
    return f"{bed.store.in_root}/{lang}/tts/{text_hash(bed.store.voice(lang), text)}"


@pytest.mark.asterisk
async def test_caller_types_an_account_and_hears_its_area_outage(
    ivr: IvrBed, controller: Controller
) -> None:
    number = "13911110001"
    # English, outage information, the account and '#', then '0' for an agent after the readout
    steps = [(1500, "2"), (1200, "2"), *_digits(WEST_LAKE + "#", 1500), (9000, "0")]
    phone = caller_dtmf(ivr.settings, number, IVR_NUMBER, steps, talk_ms=2000)
    try:
        event = await controller.wait_for(queued(number), 45)
        assert isinstance(event, CallQueued)
        assert (event.queue, event.service) == ("general", ServiceType.OUTAGE_INFO)
        assert await finished(phone, 20) == 0, phone.errors()
    finally:
        phone.stop()
    data = [reply for name, _, reply in ivr.commands if name == "GET DATA"]
    assert (WEST_LAKE, None) in [(r.result, r.data) for r in data]
    spoken = [
        (args, reply)
        for name, args, reply in ivr.commands
        if name == "STREAM FILE" and "/tts/" in args[0]
    ]
    assert spoken, "the outage was not read out"
    args, reply = spoken[0]
    assert reply.ok and int(reply.extra["endpos"]) > 8000, reply  # > 1 s of it was played
    audio = Path(str(ivr.store.directory) + args[0].removeprefix(PROMPTS_IN_ROOT) + ".sln")
    assert await asyncio.to_thread(audio.exists)
    # what was spoken is the seeded outage of 0571, the account's area (the store reads the
    # Mandarin description first, as for an area code)
    said = outage_text(
        MENU,
        "en",
        Outage(area_code="0571", start=SEEDED.start, end=SEEDED.end, reason="变压器检修"),
    )
    assert args[0] == tts_name(ivr, "en", said)
    choices = [
        (e.menu, e.digit)
        for e in controller.history
        if isinstance(e, IvrChoice) and e.call_id == event.call_id
    ]
    assert choices == [("language", "2"), ("main", "2"), ("outage", "0")]


@pytest.mark.asterisk
async def test_unknown_account_hears_why_and_reaches_an_agent(
    ivr: IvrBed, controller: Controller
) -> None:
    number = "13911110002"
    steps = [(1500, "2"), (1200, "2"), *_digits(UNKNOWN + "#", 1500), (13000, "0"), (250, "#")]
    phone = caller_dtmf(ivr.settings, number, IVR_NUMBER, steps, talk_ms=2000)
    try:
        event = await controller.wait_for(queued(number), 45)
        assert isinstance(event, CallQueued)
        assert (event.queue, event.service) == ("general", ServiceType.OUTAGE_INFO)
        assert await finished(phone, 20) == 0, phone.errors()
    finally:
        phone.stop()
    entered = [r.result for name, _, r in ivr.commands if name == "GET DATA"]
    assert entered[-2:] == [UNKNOWN, "0"], entered
    told = [
        (args, reply)
        for name, args, reply in ivr.commands
        if name == "STREAM FILE" and "/tts/" in args[0]
    ]
    assert [a[0] for a, _ in told] == [
        tts_name(ivr, "en", MENU.prompts["en"][UNKNOWN_NUMBER_PROMPT])
    ]  # "not found", once
    assert told[0][1].ok, told
    assert int(told[0][1].extra["endpos"]) > 8000, told
