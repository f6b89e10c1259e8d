"""The emergency reserve on the real Asterisk: a general caller waits while the only ready
agent (agent3, of the outsourced partner team) lacks the general skill; the supervisor applies
the partner team's reserve to the general queue and agent3's SIPp phone takes the caller at
once; after the call the reserve is taken back and agent3 serves general no more. Over a real
PostgreSQL and the real configuration service (the one skill edit, audited)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hotline.centre import queries as store
from hotline.centre.model import Centre
from hotline.centre.reserve import ReserveService, put_rule
from hotline.centre.service import Configuration, load_or_seed_centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.realtime.reserve import ReserveRule
from hotline.store import db
from tests.helpers.calls import logout, ready
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_an_applied_reserve_lets_its_agent_take_the_queue(
        controller: Controller, asterisk_node: Settings, centre: Centre, phones: Phones,
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    pool = await db.create_pool(empty_db_url, max_size=3)
    try:
        await load_or_seed_centre(pool, centre)
        services = services_for(asterisk_node, centre)
        attach_controller(services, controller)
        configuration = Configuration(pool, controller, live=services.live)

        def level_of(queue: str, now: float) -> tuple[float | None, float]:
            f = services.metrics.queue_figures(queue, "window", now)
            return f.service_level, f.sl_target or 0.8

        reserve = ReserveService(pool, configuration, level_of, services.live.set_reserve)
        await configuration.set_skills("supervisor", "agent3", {"fault": 5})  # no general
        await put_rule(pool, "supervisor", ReserveRule("general", "partner", 300, 300))
        phones.agent(3, ring_ms=300)
        ready(controller, "agent3")

        caller = phones.caller("13500000077", talk_ms=3_000)
        queued = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13500000077", 10)
        # the router decides as the call queues: nobody may take it
        assert [w.call_id for w in controller.router.waiting("general")] == [queued.call_id]
        assert controller.router.agent("agent3").state is AgentState.READY

        entry = await reserve.apply("general", "supervisor")
        assert entry["agents"] == ["agent3"]  # agent4 (partner) served general already
        answered = await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 10)
        assert answered.agent_id == "agent3"
        await controller.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()

        await reserve.take_back("general", "supervisor")
        assert dict(controller.router.agent("agent3").skills) == {"fault": 5}
        assert "general" not in controller.router.queues_of("agent3")
        async with pool.acquire() as c:
            whats = [r.what for r in await store.list_audit(c, what_prefix="reserve.")]
        assert sorted(whats) == ["reserve.applied", "reserve.rule_set", "reserve.taken_back"]
        logout(controller, "agent3")
    finally:
        await pool.close()
