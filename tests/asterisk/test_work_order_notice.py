"""A customer told of a work order deadline that will be missed, by a real call (#18.5): the
deadline job's voice channel speaks the message (espeak-ng), rings the customer through the
real Asterisk (AMI Originate into hotline-notice), a SIPp phone answers and the notice is
logged as delivered once the message played to its end; a customer who hangs up before the
end is logged as not reached."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.store import db
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from hotline.telephony.node import box as asterisk_box
from hotline.telephony.notice_call import VoiceNotices
from hotline.work_orders import notices
from hotline.work_orders import queries as store
from hotline.work_orders.deadline_job import DeadlineJob
from hotline.work_orders.model import create
from tests.helpers import testbed
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk
H = 3600.0


@pytest.fixture
async def pool(conn: asyncpg.Connection, empty_db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(empty_db_url, max_size=2)
    yield p
    await p.close()


def _job(controller: ObservedController, node: Settings, pool: asyncpg.Pool) -> DeadlineJob:
    prompts = PromptStore(asterisk_box.root_dir(node) / PROMPTS_IN_ROOT.lstrip("/"))
    voice = VoiceNotices(controller.links[testbed.NODE], prompts, node.callback_dial,
                         '"95598" <95598>', ring_timeout_s=15)
    return DeadlineJob(pool, time.time, notice_before_s=H, channel=voice, lang="en")


async def _late_order(conn: asyncpg.Connection, caller: str) -> int:
    # due in half an hour: within the notice's hour before the deadline
    order = await store.save(conn, create(ServiceType.FAULT, caller, "no power", "c1",
                                          "agent1", time.time() - 3.5 * H))
    assert order.id is not None
    return order.id


async def test_the_customer_hears_the_notice_and_it_is_logged_delivered(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    phone = phones.callback_phone(talk_ms=60_000)  # answers and listens to the end
    order_id = await _late_order(conn, "13900000001")
    job = _job(controller, asterisk_node, pool)
    run = await job.run_once()
    assert [(o, delivered, detail) for o, _, delivered, detail in run.notices] == [
        (order_id, True, "answered, message played to its end")], phone.errors()
    [row] = await notices.for_order(conn, order_id)
    assert (row.result, row.channel, row.address) == ("delivered", "voice", "13900000001")
    assert row.done_at is not None and row.done_at >= row.at
    assert (await job.run_once()).notices == []  # told once


async def test_a_customer_who_hangs_up_early_is_logged_not_reached(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    phones.callback_phone(talk_ms=1_500)  # answers, hangs up within the first sentence
    order_id = await _late_order(conn, "13900000002")
    run = await _job(controller, asterisk_node, pool).run_once()
    assert [(o, d) for o, _, d, _ in run.notices] == [(order_id, False)]
    [row] = await notices.for_order(conn, order_id)
    assert (row.result, row.detail) == ("failed", "answered, hung up before the message ended")
