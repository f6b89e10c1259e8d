"""Repeat-call detection against the real PostgreSQL, feeding a real router: an open work
order raises the call and prefers the agent who created it; a call within the centre's repeat
window (24 h, or 12 h when the centre says so) raises it; a first-time caller is left alone."""

from __future__ import annotations

from dataclasses import replace

import asyncpg

from hotline.core.events import CallQueued
from hotline.core.lifecycle import AgentTrigger
from hotline.core.values import ServiceType
from hotline.history.repeat_calls import RepeatDetector
from hotline.router import AgentConfig, QueueConfig, Router, RouterConfig
from hotline.store import db, queries
from hotline.store.records import CallRecord
from hotline.work_orders import queries as orders
from hotline.work_orders.model import OrderState, create

T0 = 1_800_000_000.0


async def test_repeat_callers_are_marked_for_the_router(conn: asyncpg.Connection,
                                                        empty_db_url: str) -> None:
    await orders.save(conn, create(ServiceType.FAULT, "13900000001", "no power", "old-1",
                                   "agent2", T0 - 3 * 86400))
    await queries.upsert_call(conn, CallRecord(call_id="old-2", caller="13900000002",
                                               entered_at=T0 - 3600, outcome="answered"))
    await queries.upsert_call(conn, CallRecord(call_id="old-3", caller="13900000003",
                                               entered_at=T0 - 2 * 86400, outcome="answered"))
    await queries.upsert_call(conn, CallRecord(call_id="old-4", caller="13900000004",
                                               entered_at=T0 - 13 * 3600, outcome="answered"))
    router = Router(RouterConfig(
        queues=[QueueConfig("general", ServiceType.GENERAL, {"general": 1})],
        agents=[AgentConfig("agent1", {"general": 5}), AgentConfig("agent2", {"general": 1})]),
        clock=lambda: T0)
    marked: list[tuple[str, str | None]] = []

    def mark(call_id: str, preferred: str | None) -> None:
        marked.append((call_id, preferred))
        router.mark_repeat(call_id, preferred)

    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        detector = RepeatDetector(pool, mark, 24 * 3600.0)
        open_order = await detector.check("new-1", "13900000001", T0)
        within_day = await detector.check("new-2", "13900000002", T0)
        first_time = await detector.check("new-3", "13900000003", T0)
        # 13 h after the last call: a repeat in a 24 h centre, not in a 12 h one
        day_window = await RepeatDetector(pool, lambda _c, _a: None, 24 * 3600.0).check(
            "new-4", "13900000004", T0)
        half_day = await RepeatDetector(pool, lambda _c, _a: None, 12 * 3600.0).check(
            "new-4", "13900000004", T0)
    finally:
        await pool.close()
    assert (open_order.repeat, open_order.preferred_agent) == (True, "agent2")
    assert (within_day.repeat, within_day.preferred_agent) == (True, None)
    assert not first_time.repeat  # its last call was two days ago
    assert day_window.repeat and not half_day.repeat
    assert marked == [("new-1", "agent2"), ("new-2", None)]

    # The router: the repeat caller about the open order goes first to agent2 although
    # agent1 is the more skilled, and ahead of an earlier first-time caller.
    for agent in ("agent1", "agent2"):
        router.agent_command(agent, AgentTrigger.LOGIN)
    router.handle(CallQueued(T0 - 5, call_id="new-3", queue="general",
                             service=ServiceType.GENERAL, caller="13900000003"))
    router.handle(CallQueued(T0, call_id="new-1", queue="general",
                             service=ServiceType.GENERAL, caller="13900000001"))
    assert [w.call_id for w in router.waiting()] == ["new-1", "new-3"]
    out = router.agent_command("agent2", AgentTrigger.READY)
    offers = [o for o in out if type(o).__name__ == "Offer"]
    assert [(o.call_id, o.agent_id, o.explanation.reason) for o in offers] == [
        ("new-1", "agent2", "preferred_agent")]


async def test_a_caller_back_about_an_answered_matter_is_flagged(conn: asyncpg.Connection,
                                                                 empty_db_url: str) -> None:
    """最终答复 (#17.8): a closed order with a final answer, settled within the repeat window,
    makes the next call a repeat of that matter; one settled earlier, or closed without a
    final answer, does not."""
    answered = create(ServiceType.BILLING, "13900000011", "bill too high", "a-1", "agent2",
                      T0 - 2 * 86400)
    answered = await orders.save(conn, replace(
        answered, state=OrderState.CLOSED, closed_at=T0 - 3600,
        final_answer="the meter was read wrong; refunded"))
    old = create(ServiceType.BILLING, "13900000012", "bill", "b-1", "agent3", T0 - 9 * 86400)
    await orders.save(conn, replace(old, state=OrderState.CLOSED, closed_at=T0 - 5 * 86400,
                                    final_answer="explained the tariff"))
    plain = create(ServiceType.BILLING, "13900000013", "bill", "c-1", "agent3", T0 - 7200)
    await orders.save(conn, replace(plain, state=OrderState.CLOSED, closed_at=T0 - 3600))
    marked: list[tuple[str, str | None]] = []
    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        detector = RepeatDetector(pool, lambda c, p: marked.append((c, p)), 24 * 3600.0)
        back = await detector.check("new-11", "13900000011", T0)
        long_ago = await detector.check("new-12", "13900000012", T0)
        no_answer = await detector.check("new-13", "13900000013", T0)
    finally:
        await pool.close()
    assert (back.repeat, back.answered_order, back.preferred_agent) == (
        True, answered.id, "agent2")
    assert (long_ago.repeat, long_ago.answered_order) == (False, None)
    assert (no_answer.repeat, no_answer.answered_order) == (False, None)
    assert marked == [("new-11", "agent2")]
