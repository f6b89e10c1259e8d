"""The write-behind writer against a real PostgreSQL, including one stopped mid-traffic."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from hotline.core.events import AgentStateChanged
from hotline.core.lifecycle import AgentState
from hotline.devtools.embedded import EmbeddedPostgres
from hotline.history.service import Recorder
from hotline.store import db, queries
from hotline.store.records import (
    AgentStateEntry,
    CallRecord,
    IntervalRecord,
    SurveyAnswer,
)
from hotline.store.writer import Writer, decode, encode
from tests.helpers.store import fresh_database, store_tmpdir
from tests.helpers.waiting import wait_for

T0 = 1_763_900_000.0


def traffic(n: int) -> Iterator[CallRecord | AgentStateEntry | SurveyAnswer]:
    """What a controller writes: each call twice (entered, then ended), agent states, surveys."""
    for i in range(n):
        yield CallRecord(call_id=f"c{i:05d}", caller="1380000" + str(i % 1000),
                         entered_at=T0 + i, queue="billing")
        yield AgentStateEntry(agent_id=f"a{i % 20}", state="on_call", started_at=T0 + i,
                              call_id=f"c{i:05d}")
        yield CallRecord(call_id=f"c{i:05d}", ended_at=T0 + i + 60, outcome="answered",
                         talk_s=60.0)
        if i % 10 == 0:
            yield SurveyAnswer(call_id=f"c{i:05d}", score=i % 11, at=T0 + i + 90)


async def assert_traffic_stored(conn: asyncpg.Connection, n: int) -> None:
    rows = await conn.fetch("SELECT call_id, outcome, caller, entered_at FROM calls")
    assert len(rows) == n
    assert sorted(r["call_id"] for r in rows) == [f"c{i:05d}" for i in range(n)]
    assert all(r["outcome"] == "answered" and r["caller"] and r["entered_at"] for r in rows)
    assert await conn.fetchval("SELECT count(*) FROM agent_state_log") == n
    assert await conn.fetchval("SELECT count(*) FROM survey_answers") == len(range(0, n, 10))


@pytest.fixture
async def writer_db(pg_server: EmbeddedPostgres) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    url = await fresh_database(pg_server)
    conn = await db.connect(url)
    await db.migrate(conn)
    yield url, conn
    await conn.close()


async def test_writer_writes_everything_once(writer_db: tuple[str, asyncpg.Connection],
                                             tmp_path: Path) -> None:
    url, conn = writer_db
    writer = Writer(url, tmp_path, batch_size=500, copy_threshold=50)
    await writer.start()
    for record in traffic(1000):
        writer.submit(record)
    assert await writer.flush(20)
    await writer.stop()
    await assert_traffic_stored(conn, 1000)
    assert writer.stats.copies > 0 and writer.stats.read_back == 0 and writer.stats.quarantined == 0


async def test_copy_and_executemany_agree(writer_db: tuple[str, asyncpg.Connection]) -> None:
    """Random partial updates of a few rows give the same table through both paths."""
    _, conn = writer_db
    rng = random.Random(7)
    for _trial in range(15):
        records = [CallRecord(call_id=f"x{rng.randrange(4)}",
                              caller=rng.choice(["", "110", "120"]),
                              queue=rng.choice([None, "fault", "billing"]),
                              wait_s=rng.choice([None, 1.5, 2.0]),
                              ivr_path=rng.choice([[], ["1"], ["1", "2"]]))
                   for _ in range(rng.randrange(1, 12))]
        tables = []
        for write in (queries.upsert, queries.upsert_copy):
            await conn.execute("TRUNCATE calls")
            async with conn.transaction():
                await write(conn, records)
            tables.append(await conn.fetch("SELECT * FROM calls ORDER BY call_id"))
        assert [dict(r) for r in tables[0]] == [dict(r) for r in tables[1]]


async def test_refused_rows_are_quarantined_and_lose_nothing_else(
        writer_db: tuple[str, asyncpg.Connection], tmp_path: Path) -> None:
    url, conn = writer_db
    writer = Writer(url, tmp_path)
    good = [CallRecord(call_id=f"g{i}", caller="1") for i in range(5)]
    overflow = IntervalRecord(queue="q", interval_start=T0, interval_end=T0 + 900,
                              figures={"offered": 2**40})  # beyond the integer column
    far = AgentStateEntry(agent_id="a1", state="ready", started_at=1e12)  # year 33658
    for record in (good[0], good[1], overflow, good[2], far, good[3], good[4]):
        writer.submit(record)
    await writer.start()
    assert await writer.flush(10)
    await writer.stop()
    assert await conn.fetchval("SELECT count(*) FROM calls") == 5
    assert writer.stats.refused == 2 and writer.stats.quarantined == 2
    rejected = [json.loads(line) for line in writer.quarantine_path.read_text().splitlines()]
    assert [r["kind"] for r in rejected] == ["IntervalRecord", "AgentStateEntry"]
    assert all(r["error"] for r in rejected)


def test_submit_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    writer = Writer("postgresql://unused", tmp_path)
    with pytest.raises(TypeError, match="cannot write a dict"):
        writer.submit({"call_id": "x"})  # type: ignore[arg-type]
    assert writer.pending == 0


def test_outbox_lines_round_trip() -> None:
    record = CallRecord(call_id="c", caller="12", entered_at=T0 + 0.1, wait_s=1 / 3,
                        ivr_path=["a"], timeline=[{"at": 1.5, "what": "排队"}])
    assert decode(encode(record)) == record


@pytest.fixture
def own_pg() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to be stopped and started."""
    base = store_tmpdir("hotline-pg-outage-")
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


async def test_postgres_outage_mid_traffic_loses_and_doubles_nothing(
        own_pg: EmbeddedPostgres, tmp_path: Path) -> None:
    conn = await db.connect(own_pg.url)
    await db.migrate(conn)
    await conn.close()
    n = 3000
    records = list(traffic(n))
    writer = Writer(own_pg.url, tmp_path, max_memory=300, batch_size=200, copy_threshold=100,
                    backoff=(0.02, 0.2))
    await writer.start()

    async def produce(part: list[CallRecord | AgentStateEntry | SurveyAnswer]) -> None:
        for i, record in enumerate(part):
            writer.submit(record)
            if i % 50 == 0:
                await asyncio.sleep(0.002)

    third = len(records) // 3
    await produce(records[:third])
    await asyncio.to_thread(own_pg.stop, "immediate")  # a crash, mid-traffic
    await produce(records[third:2 * third])
    await wait_for(lambda: writer.stats.retries > 0, 5, "the writer noticing the outage")
    await wait_for(lambda: writer.pending > writer.max_memory, 5,
                   "more records waiting than memory holds")
    await asyncio.to_thread(own_pg.start)
    await produce(records[2 * third:])
    assert await writer.flush(30), f"{writer.pending} records never written"
    assert writer.stats.read_back > 0  # those beyond memory came back from the outbox

    # a second outage, this time with the writer stopped while PostgreSQL is down: what is
    # left must survive in the outbox and be replayed by the next writer
    await asyncio.to_thread(own_pg.stop, "fast")
    extra = [CallRecord(call_id=f"late{i}", caller="9") for i in range(50)]
    for record in extra:
        writer.submit(record)
    await writer.stop(grace_s=0.3)
    await asyncio.to_thread(own_pg.start)
    second = Writer(own_pg.url, tmp_path)
    assert second.pending == 50
    await second.start()
    assert await second.flush(15)
    await second.stop()

    conn = await db.connect(own_pg.url)
    try:
        rows = await conn.fetch("SELECT call_id FROM calls WHERE call_id LIKE 'late%'")
        assert sorted(r["call_id"] for r in rows) == sorted(r.call_id for r in extra)
        await conn.execute("DELETE FROM calls WHERE call_id LIKE 'late%'")
        await assert_traffic_stored(conn, n)
    finally:
        await conn.close()


async def test_two_agent_states_begun_in_the_same_instant_are_both_kept(
        writer_db: tuple[str, asyncpg.Connection], tmp_path: Path) -> None:
    """An agent passing through a state that lasts no time at all (two changes stamped with
    the same instant, as a replay can give) keeps both rows, in order: the second does not
    overwrite the first, and the first does not take the second's time."""
    url, conn = writer_db
    writer = Writer(url, tmp_path, batch_size=500, copy_threshold=50)
    await writer.start()
    recorder = Recorder(writer, tmp_path, "/rec", short_abandon_s=5.0)
    S = AgentState
    for at, old, new in [(T0, S.LOGGED_OUT, S.READY), (T0 + 5, S.READY, S.RESERVED),
                         (T0 + 5, S.RESERVED, S.RINGING), (T0 + 7, S.RINGING, S.ON_CALL)]:
        recorder.observe(AgentStateChanged(at, node="n1", agent_id="a1", old=old, new=new))
    assert await writer.flush(20)
    await writer.stop()
    rows = await conn.fetch("SELECT state, extract(epoch FROM ended_at - started_at) AS s "
                            "FROM agent_state_log ORDER BY started_at")
    assert [(r["state"], round(float(r["s"] or -1), 3)) for r in rows] == [
        ("ready", 5.0), ("reserved", 0.0), ("ringing", 2.0), ("on_call", -1)]
