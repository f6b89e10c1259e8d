"""The QA sample drawn by PostgreSQL (hotline/qa/queries.py, draw_sample) is the sample that
hotline/qa/model.py's `draw` defines (#14.6: the draw moved into SQL so the API never holds a
period's calls). Checked on a varied set of calls against the real PostgreSQL, for several
plans: the same calls picked, for the same reasons."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import asyncpg
import pytest

from hotline.core.values import ServiceType
from hotline.qa import model as qa
from hotline.qa import queries as store
from hotline.store.queries import epoch, ts
from hotline.work_orders import queries as orders_store
from hotline.work_orders.model import WorkOrder

T0 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
SINCE, UNTIL = T0 + DAY, T0 + 3 * DAY
AGENTS = ["a1", "a2", "a3", "a4", "a5", "new"]
QUEUES = ["billing", "fault", None, "tiny"]


async def seed(conn: asyncpg.Connection) -> None:
    rnd = random.Random(14)
    callers = [f"1380000{n:04d}" for n in range(120)] + [""]
    rows = []
    for n in range(1500):
        at = T0 + rnd.uniform(0, 4 * DAY)
        queue = rnd.choice(QUEUES[:3]) if n % 500 else "tiny"
        answered = rnd.random() < 0.85
        agent = rnd.choice([*AGENTS, ""]) if answered else None
        talk = (None if rnd.random() < 0.03
                else rnd.choice([60.0, 120.0, round(rnd.uniform(1, 900), 3)]))
        rows.append((f"k{n:05d}", rnd.choice(callers), queue,
                     "complaint" if rnd.random() < 0.05 else "billing", at,
                     at if answered else None, agent, talk))
    # edges: exactly at since and until, a repeat exactly 24 h after, a 3-call queue
    rows += [("e1", "13999999999", "billing", "billing", SINCE, SINCE, "a1", 10.0),
             ("e2", "13999999999", "billing", "billing", SINCE + DAY, SINCE + DAY, "a2", 10.0),
             ("e3", "13999999998", "billing", "billing", UNTIL, UNTIL, "a1", 10.0)]
    rows += [(f"t{n}", "", "three", "billing", SINCE + n, SINCE + n, "a3", 1000.0 * n)
             for n in range(3)]
    await conn.executemany(
        "INSERT INTO calls (call_id, caller, queue, service, entered_at, answered_at,"
        " agent_id, talk_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(c, caller, q, s, ts(at), ts(ans), a, talk)
         for c, caller, q, s, at, ans, a, talk in rows])
    # complaints by a linked work order
    for call_id in ("k00010", "k00020", "k00030"):
        await orders_store.save(conn, WorkOrder(
            None, ServiceType.COMPLAINT, "13800000001", T0, "a1", "rude",
            call_ids=(call_id,)))
    # "new" started two months and a bit before the period: its window ends inside it
    starts = {"new": datetime(2025, 12, 31, 12, tzinfo=UTC).timestamp(), "a2": SINCE + DAY / 2}
    await conn.executemany("INSERT INTO agent_start_dates VALUES ($1, $2)",
                           [(a, ts(t)) for a, t in starts.items()])


async def model_inputs(conn: asyncpg.Connection, since: float, until: float
                       ) -> tuple[list[qa.SampleCall], dict[str, float]]:
    """What `draw` is given: answered calls in [since - 24 h, until), complaint when its
    service is or a complaint order links it; the agents' start dates."""
    rows = await conn.fetch(
        "SELECT c.call_id, c.agent_id, coalesce(c.queue, '') AS queue, c.caller,"
        " c.entered_at, coalesce(c.talk_s, 0) AS talk_s,"
        " (c.service = 'complaint' OR EXISTS (SELECT 1 FROM work_order_calls l"
        "   JOIN work_orders o ON o.id = l.order_id"
        "   WHERE l.call_id = c.call_id AND o.service = 'complaint')) AS complaint"
        " FROM calls c WHERE c.entered_at >= $1 AND c.entered_at < $2"
        " AND c.agent_id IS NOT NULL AND c.answered_at IS NOT NULL",
        ts(since - qa.DEFAULT_REPEAT_WINDOW_S), ts(until))
    calls = [qa.SampleCall(r["call_id"], r["agent_id"], r["queue"], r["caller"],
                           epoch(r["entered_at"]) or 0.0, r["talk_s"], bool(r["complaint"]))
             for r in rows]
    starts = {r["agent_id"]: epoch(r["started_at"]) or 0.0
              for r in await conn.fetch("SELECT * FROM agent_start_dates")}
    return calls, starts


PLANS = [
    qa.SamplePlan(SINCE, UNTIL, 10, seed=1),
    qa.SamplePlan(SINCE, UNTIL, 7.5, seed=2**53 - 1, long_quantile=0.75, short_quantile=0.25),
    qa.SamplePlan(SINCE, UNTIL, 0, seed=0, new_agent_months=2),
    qa.SamplePlan(SINCE, UNTIL, 33.3, seed=42, targeted=frozenset()),
    qa.SamplePlan(SINCE, UNTIL, 100, seed=5,
                  targeted=frozenset({qa.Reason.REPEAT_CALLER, qa.Reason.NEW_AGENT})),
    qa.SamplePlan(SINCE + 3600.5, SINCE + 7200.25, 50, seed=9),
]


@pytest.mark.parametrize("plan", PLANS)
async def test_the_sql_draw_is_the_models(conn: asyncpg.Connection, plan: qa.SamplePlan) -> None:
    await seed(conn)
    calls, starts = await model_inputs(conn, plan.since, plan.until)
    expected = {(p.call_id, p.agent_id, tuple(str(r) for r in p.reasons))
                for p in qa.draw(calls, plan, starts)}
    sample_id = await store.draw_sample(conn, plan, "qa1", T0)
    got = {(r["call_id"], r["agent_id"], tuple(r["reasons"])) for r in await conn.fetch(
        "SELECT * FROM qa_sample_calls WHERE sample_id = $1", sample_id)}
    assert got == expected
    assert expected  # every plan picks something
    if plan is PLANS[0]:  # the data exercises every reason
        assert {r for _c, _a, why in expected for r in why} == {str(r) for r in qa.Reason}
