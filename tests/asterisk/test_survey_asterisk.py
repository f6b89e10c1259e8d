"""The two-question survey against the real Asterisk: a SIPp caller on the test-only survey
extension (tests/helpers/ivr_bed.py: a billing call whose agent, agent2, just hung up) answers
both questions with RFC 2833 digits; the answers are stored in PostgreSQL with the call's
agent, queue, service and unit, and a low answer makes a callback order (回访) and an alert
(docs/metrics.md, "Survey")."""

from __future__ import annotations

import asyncio

import pytest

from hotline.store import queries
from hotline.survey.model import SURVEY_CREATOR
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import OrderState
from tests.helpers.ivr_bed import SURVEY_NUMBER, IvrBed, caller_dtmf, finished

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
