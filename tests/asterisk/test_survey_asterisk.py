"""The two-question survey against the real Asterisk: a SIPp caller on the test-only survey
extension (tests/helpers/ivr_bed.py: a billing call whose agent, agent2, just hung up) answers
both questions with RFC 2833 digits; the answers are stored in PostgreSQL with the call's
agent, queue, service and unit, and a low answer makes a callback order (回访) and an alert
(docs/metrics.md, "Survey")."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from hotline.core.settings import Settings
from hotline.store import queries
from hotline.survey.model import SURVEY_CREATOR
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import OrderState
from tests.helpers import testbed
from tests.helpers.ivr_bed import (
    AFTER_TALK_NUMBER,
    AFTER_TALK_ONE_ADDRESS,
    SURVEY_NUMBER,
    IvrBed,
    caller_dtmf,
    cli,
    finished,
)

pytestmark = pytest.mark.asterisk


async def test_a_dissatisfied_detractor_gets_a_callback_order(ivr: IvrBed) -> None:
    number = "13922221111"
    # very dissatisfied (5 on the 1-5 scale), then 3 to "how likely are you to recommend"
    phone = caller_dtmf(ivr.settings, number, SURVEY_NUMBER,
                        [(1500, "5"), (1500, "3"), (300, "#")], talk_ms=20000)
    try:
        assert await finished(phone, 30) == 0, phone.errors()  # the survey hangs up
    finally:
        phone.stop()
    [r] = ivr.scores
    assert (r.agent_id, r.satisfaction, r.scale, r.nps, r.low, r.caller) == (
        "agent2", 5, 5, 3, True, number)
    assert await ivr.writer.flush(10)  # type: ignore[attr-defined]
    stored = await queries.survey_of(ivr.conn, r.call_id)  # type: ignore[attr-defined]
    assert stored is not None
    assert (stored.agent_id, stored.satisfaction, stored.scale, stored.nps, stored.score,
            stored.queue, stored.service, stored.unit) == (
        "agent2", 5, 5, 3, None, "billing", "billing", "billing_office")
    # the order is made in a task of its own (the caller heard the thanks meanwhile)
    pending = ivr.survey.pending  # type: ignore[attr-defined]
    await asyncio.wait_for(asyncio.gather(*pending), 10)
    [order] = await work_orders.for_call(ivr.conn, r.call_id)  # type: ignore[attr-defined]
    assert (order.state, order.caller, order.created_by, order.unit, order.call_ids) == (
        OrderState.CALLBACK_DUE, number, SURVEY_CREATOR, "billing_office", (r.call_id,))
    assert order.callback_by is not None
    assert order.callback_by - order.created_at == pytest.approx(86400)  # ivr.toml's
    assert [(a["call_id"], a["agent_id"], a["satisfaction"], a["nps"], a["order_id"])
            for a in ivr.alerts] == [(r.call_id, "agent2", 5, 3, order.id)]


# --- the survey step's answer deadline (docs/dialplan-contract.md, "The survey's answer
# deadline"): the real dialplan's step after the agent hung up (hotline-connect, label done)


@contextlib.asynccontextmanager
async def paused_controller(settings: Settings) -> AsyncIterator[list[bytes]]:
    """A FastAGI address whose kernel accepts and whose process never answers: a controller
    paused by SIGSTOP. Made the active's address (AstDB hotline/agi, tried first); yields
    what each session sent it (the AGI environment: Asterisk did come)."""
    got: list[bytes] = []
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        got.append(await reader.read(4096))
        await reader.read()  # never a word back, until Asterisk gives up on the session
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", testbed.AGI_PORT + 9)
    cli(settings, f"database put hotline agi agi://127.0.0.1:{testbed.AGI_PORT + 9}")
    try:
        yield got
    finally:
        cli(settings, "database del hotline agi")
        server.close()
        for writer in held:  # a session Asterisk still holds ends (the controller died)
            writer.close()


async def test_the_survey_goes_past_a_paused_controller_to_the_next_address(
        ivr: IvrBed) -> None:
    number = "13922223333"
    async with paused_controller(ivr.settings) as paused:
        # keys late enough for the answer deadline (3 s) at the paused one
        phone = caller_dtmf(ivr.settings, number, AFTER_TALK_NUMBER,
                            [(6000, "4"), (1500, "9"), (300, "#")], talk_ms=30000)
        try:
            assert await finished(phone, 40) == 0, phone.errors()
        finally:
            phone.stop()
    assert paused, "the paused controller's address was not tried first"
    [r] = ivr.scores
    assert (r.agent_id, r.satisfaction, r.nps, r.caller) == ("agent2", 4, 9, number)


async def test_a_survey_no_controller_answers_is_skipped_with_a_goodbye(
        ivr: IvrBed) -> None:
    """The only address paused (this extension's HL_AGI is the active's own): the caller
    hears a goodbye and the node hangs up within the deadline, not at the caller's own
    hang-up 60 s later; nothing is recorded."""
    number = "13922224444"
    async with paused_controller(ivr.settings) as paused:
        # no key: a key sent after the node hung up would be SIPp's own error
        phone = caller_dtmf(ivr.settings, number, AFTER_TALK_ONE_ADDRESS, [], talk_ms=60000)
        started = time.monotonic()
        try:
            assert await finished(phone, 30) == 0, phone.errors()
        finally:
            phone.stop()
        took = time.monotonic() - started
    assert len(paused) == 1
    assert took < 12, took  # the answer deadline (3 s) and the goodbye
    assert not ivr.scores
    assert not [c for c in ivr.commands if c[0] == "GET DATA"]
