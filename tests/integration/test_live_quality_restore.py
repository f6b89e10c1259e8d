"""Today's live quality figures across a restart: a controller that starts reads today's calls
and survey answers from PostgreSQL (FiguresKeeper.restore_quality, the SQL of
hotline/history/restore.py today_quality) and shows what the live feed showed before: the
same morning fed live and restored from its rows gives the same figures; yesterday's rows
count in neither."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import asyncpg

from hotline.process.restart import FiguresKeeper
from hotline.realtime import Metrics, MetricsConfig
from hotline.realtime.quality import TodayQuality
from hotline.store import db

W = 24 * 3600.0


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


async def test_a_restart_shows_the_same_quality(conn: asyncpg.Connection,
                                                empty_db_url: str) -> None:
    config = MetricsConfig()
    now = time.time()
    base = max(config.day_start(now) + 1, now - 300)
    # (call, caller, entered, queue, outcome): 1351 answered, then called again (not resolved)
    calls = [("c1", "1351", base, "billing", "answered"),
             ("c2", "1351", base + 10, "billing", "abandoned"),
             ("c3", "1352", base + 20, "general", "answered"),
             ("c4", "1353", base + 30, "general", "callback"),  # called back and reached
             ("c5", "", base + 40, "general", "answered"),  # no number: not in the base
             ("y1", "1352", config.day_start(now) - 600, "general", "answered")]  # yesterday
    answers = [("c1", base + 5, 1, 10, "billing"), ("c3", base + 25, 4, 3, "general"),
               ("c4", base + 35, None, 9, "general"),
               ("y1", config.day_start(now) - 300, 5, 0, "general")]
    for cid, caller, entered, queue, outcome in calls:
        await conn.execute(
            "INSERT INTO calls (call_id, caller, entered_at, queue, outcome, ended_at)"
            " VALUES ($1, $2, $3, $4, $5, $3)", cid, caller, at(entered), queue, outcome)
    for cid, t, sat, nps, queue in answers:
        await conn.execute(
            "INSERT INTO survey_answers (call_id, at, satisfaction, scale, nps, queue)"
            " VALUES ($1, $2, $3, $4, $5, $6)", cid, at(t), sat, 5 if sat else None, nps,
            queue)

    live = TodayQuality(W, config.day_index)  # what the old controller counted, live
    for cid, caller, entered, queue, outcome in calls[:5]:
        live.entered(cid, caller, entered)
        if outcome != "abandoned":
            live.answered(cid, queue, entered + 3)
    for _, t, sat, nps, queue in answers[:3]:
        live.survey(queue, sat, nps, 2, 4, t)

    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        restored = TodayQuality(W, config.day_index)
        keeper = FiguresKeeper(pool, Metrics(config), clock=lambda: now)
        assert await keeper.restore_quality(restored, 2, 4) == 4 + 3  # c5: no number
    finally:
        await pool.close()
    for queue in (None, "billing", "general"):
        assert restored.figures(queue, now) == live.figures(queue, now), queue
    assert restored.figures(None, now) == {
        "fcr": round(2 / 3, 4), "fcr_calls": 3, "satisfaction_rate": 0.5,
        "dissatisfaction_rate": 0.5, "satisfaction_answers": 2, "nps": round(100 / 3, 1),
        "nps_answers": 3}
