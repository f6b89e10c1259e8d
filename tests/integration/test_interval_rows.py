"""Closed metrics intervals become interval_stats rows in the real PostgreSQL, on time even
when no event arrives (the platform calls close_intervals every second)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.values import ServiceType
from hotline.history.service import Recorder
from hotline.realtime import Metrics, MetricsConfig
from hotline.store import queries
from hotline.store.writer import Writer
from tests.helpers.store import store_tmpdir

T0 = 1_800_000_000.0  # a multiple of 900: an interval starts here


async def test_closed_intervals_are_written_without_new_events(
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    writer = Writer(empty_db_url, Path(store_tmpdir("intervals")))
    await writer.start()
    metrics = Metrics(MetricsConfig(interval_s=900))
    recorder = Recorder(writer, Path("/recordings"), "/var/spool/asterisk/hotline", 5.0,
                        metrics=metrics)
    try:
        for e in (CallQueued(T0 + 10, call_id="c1", queue="billing", service=ServiceType.BILLING),
                  CallAnswered(T0 + 25, call_id="c1", agent_id="a1"),
                  CallEnded(T0 + 125, call_id="c1"),
                  CallQueued(T0 + 300, call_id="c2", queue="billing",
                             service=ServiceType.BILLING),
                  CallEnded(T0 + 330, call_id="c2")):
            metrics.apply(e)
        assert recorder.close_intervals(T0 + 899) == 0  # still open
        # No event since T0 + 330: the clock alone closes the interval.
        assert recorder.close_intervals(T0 + 901) == 2  # billing, and all queues ("*")
        assert recorder.close_intervals(T0 + 950) == 0  # each interval once
        assert await writer.flush(10)
        [row] = await queries.intervals(conn, "billing", T0, T0 + 1)
        assert (row.interval_start, row.interval_end) == (T0, T0 + 900)
        f = row.figures
        assert (f["offered"], f["answered"], f["abandoned"]) == (2, 1, 1)
        assert f["answered_within_t"] == 1  # answered after 15 s, within 20 s
        assert f["service_level"] == 0.5  # 1 / (1 answered + 1 abandoned after 5 s)
        assert f["abandon_rate"] == 0.5 and f["asa"] == 15.0
        [everything] = await queries.intervals(conn, "*", T0, T0 + 1)
        assert everything.figures["offered"] == 2
    finally:
        await writer.stop()
