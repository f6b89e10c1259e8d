"""Outage self-service by account number, end to end: a SIPp caller on the real Asterisk types
an account number by RFC 2833 and hears the seeded outage of the account's area (or hears why
not, and reaches an agent). The accounts table itself: integration/test_ivr_accounts.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.core.events import CallQueued, IvrChoice
from hotline.core.values import Outage, ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.process.controller import Controller
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, text_hash
from hotline.telephony.ivr.session import UNKNOWN_NUMBER_PROMPT, outage_text
from tests.helpers.ivr_bed import (
    IVR_NUMBER,
    SEEDED,
    UNKNOWN,
    WEST_LAKE,
    IvrBed,
    caller_dtmf,
    finished,
    queued,
)

pytestmark = pytest.mark.asterisk

MENU = ivr_menu.load()


def _digits(text: str, first_pause_ms: int) -> list[tuple[int, str]]:
    return [(first_pause_ms if i == 0 else 250, d) for i, d in enumerate(text)]


def tts_name(bed: IvrBed, lang: str, text: str) -> str:
    """The name PromptStore.speak gives `text` (cached by the hash of voice and text)."""
    return f"{bed.store.in_root}/{lang}/tts/{text_hash(bed.store.voice(lang), text)}"


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
