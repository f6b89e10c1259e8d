"""The writer's on-disk outbox (#15.8) against a real PostgreSQL: a record accepted is on disk
and reaches PostgreSQL exactly once, through a kill -9, a garbage line, an outage and a row the
database refuses. The outbox itself is described in docs/outbox.md."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from hotline.api import Services, create_app
from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.embedded import EmbeddedPostgres
from hotline.store import db
from hotline.store.outbox import OutboxBusy
from hotline.store.records import (
    AgentStateEntry,
    CallRecord,
    IntervalRecord,
)
from hotline.store.writer import Writer
from tests.helpers.observed import ObservedController
from tests.helpers.servers import fast_hasher
from tests.helpers.store import fresh_database, store_tmpdir
from tests.helpers.waiting import wait_for

T0 = 1_763_900_000.0
REPO = Path(__file__).resolve().parents[2]


def closed_port_url() -> str:
    """A PostgreSQL URL nobody answers at: a port bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://nobody@127.0.0.1:{port}/none"


@pytest.fixture
async def url(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    url = await fresh_database(pg_server)
    conn = await db.connect(url)
    await db.migrate(conn)
    await conn.close()
    yield url


async def count(url: str, sql: str) -> int:
    conn = await db.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


# ---- (a) kill -9 right after submit() and the fsync point: nothing is lost, nothing doubled

CHILD = """
import asyncio, sys
from pathlib import Path
from hotline.store.records import (AgentStateEntry, CallRecord, IntervalRecord,
                                   RoutingExplanation, SurveyAnswer)
from hotline.store.outbox import OutboxBusy
from hotline.store.writer import Writer

T0, N = 1_763_900_000.0, int(sys.argv[3])

async def main():
    writer = Writer(sys.argv[1], Path(sys.argv[2]), backoff=(0.05, 0.05))
    await writer.start()
    for i in range(N):  # what the controller writes for a call, over several loop turns
        writer.submit(CallRecord(call_id=f"k{i}", caller="13800000000", entered_at=T0 + i,
                                 queue="billing"))
        writer.submit(AgentStateEntry(agent_id=f"a{i % 7}", state="on_call",
                                      started_at=T0 + i, call_id=f"k{i}"))
        writer.submit(RoutingExplanation(call_id=f"k{i}", at=T0 + i, detail={"why": i}))
        writer.submit(CallRecord(call_id=f"k{i}", ended_at=T0 + i + 30, outcome="answered",
                                 talk_s=30.0))
        if i % 10 == 0:
            writer.submit(SurveyAnswer(call_id=f"k{i}", score=i % 11, at=T0 + i + 40))
            writer.submit(IntervalRecord(queue="billing", interval_start=T0 + i * 900,
                                         interval_end=T0 + i * 900 + 900,
                                         figures={"offered": i}))
        if i % 25 == 0:
            await asyncio.sleep(0)
    # the fsync point: flush() makes everything submitted durable at once, then waits for
    # PostgreSQL (unreachable here) and gives up
    await writer.flush(0.05)
    print("submitted", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_kill_9_after_submit_loses_and_doubles_nothing(url: str, tmp_path: Path) -> None:
    n = 300
    data = tmp_path / "writer"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, closed_port_url(), str(data), str(n),
        stdout=asyncio.subprocess.PIPE, cwd=REPO)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        assert line == b"submitted\n"
    finally:
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 10)

    writer = Writer(url, data)
    assert writer.pending == 4 * n + 2 * len(range(0, n, 10))
    await writer.start()
    assert await writer.flush(30), f"{writer.pending} records never written"
    await writer.stop()
    conn = await db.connect(url)
    try:
        rows = await conn.fetch("SELECT call_id, outcome, caller FROM calls ORDER BY call_id")
        assert sorted(r["call_id"] for r in rows) == sorted(f"k{i}" for i in range(n))
        assert all(r["outcome"] == "answered" and r["caller"] for r in rows)
        assert await conn.fetchval("SELECT count(*) FROM agent_state_log") == n
        assert await conn.fetchval("SELECT count(*) FROM routing_explanations") == n
        assert await conn.fetchval("SELECT count(*) FROM survey_answers") == len(range(0, n, 10))
        assert await conn.fetchval("SELECT count(*) FROM interval_stats") == len(range(0, n, 10))
    finally:
        await conn.close()
    # drained for good: the next writer on the same directory has nothing to replay
    again = Writer(url, data)
    assert again.pending == 0
    await again.stop()


# ---- (b) a garbage line in the middle of the outbox is quarantined; the rest is written


def insert_garbage(directory: Path, records: int) -> None:
    """Four lines that are no record, in the middle of the outbox file and near its end."""
    [outbox] = list(directory.glob("*.jsonl"))  # the records left on disk
    lines = outbox.read_bytes().splitlines(keepends=True)
    assert len(lines) == records
    garbage = [b'{"kind":"CallRecord","data":{"call_id":\n', b"\xff\xfe not json\n",
               b'{"kind":"NoSuchRecord","data":{}}\n',
               b'{"kind":"CallRecord","data":{"call_id":""}}\n']
    outbox.write_bytes(b"".join(lines[:5] + garbage[:2] + lines[5:15] + garbage[2:]
                                + lines[15:]))


async def test_a_garbage_line_is_quarantined_and_the_rest_written(url: str,
                                                                  tmp_path: Path) -> None:
    first = Writer(closed_port_url(), tmp_path)
    for i in range(20):
        first.submit(CallRecord(call_id=f"g{i}", caller="110", entered_at=T0 + i))
    await first.stop(grace_s=0.05)
    insert_garbage(tmp_path, 20)

    writer = Writer(url, tmp_path)
    await writer.start()
    assert await writer.flush(15), f"{writer.pending} records never written"
    assert await count(url, "SELECT count(*) FROM calls") == 20
    assert writer.stats.undecodable == 4 and writer.stats.quarantined == 4
    kept = writer.quarantine_path.read_bytes().splitlines()
    assert len(kept) == 4 and all(b"error" in line for line in kept)
    # still alive: later records are written too
    writer.submit(CallRecord(call_id="after", caller="110"))
    assert await writer.flush(10)
    await writer.stop()
    assert await count(url, "SELECT count(*) FROM calls") == 21


# ---- (c) audit rows of agent commands while PostgreSQL is down all land once it is back

CENTRE = Centre(
    queues=[QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1})],
    agents=[AgentSpec(id="agent1", name="Agent 1", secret="pw1", skills={"general": 3})],
)


@pytest.fixture
def own_pg() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to be stopped and started."""
    base = store_tmpdir("hotline-pg-outbox-")
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


async def test_agent_command_audit_survives_a_postgres_outage(
        own_pg: EmbeddedPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_API_USERS", "agent1:pw:agent")
    conn = await db.connect(own_pg.url)
    await db.migrate(conn)
    await conn.close()
    pool = await db.create_pool(own_pg.url, max_size=2)
    writer = Writer(own_pg.url, tmp_path, backoff=(0.02, 0.2))
    await writer.start()
    services = Services.build(hasher=fast_hasher())
    services.db_pool = pool
    services.controller = ObservedController(Settings(), CENTRE, emit_line=lambda _: None)
    services.writer = writer
    app = create_app(Settings(), services)
    rounds = 5
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.post("/api/auth/token",
                                      json={"username": "agent1", "password": "pw"})
                assert r.status_code == 200, r.text
                h = {"Authorization": f"Bearer {r.json()['access_token']}"}
                await asyncio.to_thread(own_pg.stop, "fast")
                for _ in range(rounds):
                    for command in ("login", "ready", "logout"):
                        r = await client.post(f"/api/agents/agent1/{command}", headers=h)
                        assert r.status_code == 200, r.text
                await app.state.audit.flush()
                await asyncio.to_thread(own_pg.start)

                async def landed() -> int:
                    return await count(own_pg.url, "SELECT count(*) FROM audit_log"
                                                   " WHERE what LIKE 'agent_desk.%'")
                await wait_for(lambda: writer.flush(0.2), 20, "the writer catching up")
                assert await landed() == 3 * rounds
    finally:
        await writer.stop()
        pool.terminate()
    conn = await db.connect(own_pg.url)
    try:
        rows = await conn.fetch("SELECT who, what, details FROM audit_log ORDER BY at, id")
    finally:
        await conn.close()
    assert [r["what"] for r in rows] == [f"agent_desk.{c}" for _ in range(rounds)
                                         for c in ("login", "ready", "logout")]
    assert all(r["who"] == "agent1" and r["details"]["agent_id"] == "agent1" for r in rows)


# ---- (d) a record PostgreSQL refuses for good is quarantined and blocks nothing


async def test_a_refused_record_is_quarantined_once_and_blocks_nothing(
        url: str, tmp_path: Path) -> None:
    first = Writer(closed_port_url(), tmp_path)
    good = [CallRecord(call_id=f"d{i}", caller="1") for i in range(6)]
    overflow = IntervalRecord(queue="q", interval_start=T0, interval_end=T0 + 900,
                              figures={"offered": 2**40})  # beyond the integer column
    far = AgentStateEntry(agent_id="a1", state="ready", started_at=1e12)  # year 33658
    for record in (good[0], good[1], overflow, good[2], good[3], far, good[4], good[5]):
        first.submit(record)
    await first.stop(grace_s=0.05)  # left on disk, as after a crash with PostgreSQL down

    writer = Writer(url, tmp_path, backoff=(0.02, 0.2))
    await writer.start()
    assert await writer.flush(15), f"{writer.pending} records never written"
    await writer.stop()
    assert await count(url, "SELECT count(*) FROM calls") == 6
    assert writer.stats.refused == 2 and writer.stats.quarantined == 2
    kept = [json.loads(line) for line in writer.quarantine_path.read_text().splitlines()]
    assert [k["kind"] for k in kept] == ["IntervalRecord", "AgentStateEntry"]
    assert all(k["error"] for k in kept)
    # never retried: the next writer on the directory has nothing left
    again = Writer(url, tmp_path)
    assert again.pending == 0
    await again.stop()
    assert os.listdir(tmp_path)  # the quarantine stays for an operator to read


# ---- the outbox's own mechanics: a torn last line, segments rotated and dropped


def segments(directory: Path) -> int:
    return len(list(directory.glob("outbox-*.jsonl")))


def append_torn_line(directory: Path) -> None:
    [outbox] = list(directory.glob("outbox-*.jsonl"))
    with outbox.open("ab") as f:
        f.write(b'{"kind":"CallRecord","data":{"call_id":"tor')  # the crash hit mid-write


async def test_a_torn_last_line_is_dropped_and_counted(url: str, tmp_path: Path) -> None:
    first = Writer(closed_port_url(), tmp_path)
    for i in range(5):
        first.submit(CallRecord(call_id=f"t{i}", caller="1"))
    await first.stop(grace_s=0.05)
    append_torn_line(tmp_path)
    writer = Writer(url, tmp_path)
    assert (writer.pending, writer.stats.torn) == (5, 1)
    writer.submit(CallRecord(call_id="t5", caller="1"))  # appended after the cut
    await writer.start()
    assert await writer.flush(10)
    await writer.stop()
    assert await count(url, "SELECT count(*) FROM calls") == 6


async def test_segments_roll_over_and_drained_ones_go(url: str, tmp_path: Path) -> None:
    """Small segments and a small memory: records come back from several segments, in
    order, and the drained segments are deleted."""
    writer = Writer(url, tmp_path, segment_bytes=4_000, max_memory=40, batch_size=25)
    for i in range(400):
        writer.submit(AgentStateEntry(agent_id="a1", state="ready", started_at=T0 + i))
        writer.submit(AgentStateEntry(agent_id="a1", state="ready", started_at=T0 + i,
                                      ended_at=T0 + i + 0.5))
        if i % 20 == 0:
            await asyncio.sleep(0)
    await writer.start()
    assert await writer.flush(20), f"{writer.pending} records never written"
    assert writer.stats.read_back > 0
    await writer.stop()
    conn = await db.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM agent_state_log"
                                   " WHERE ended_at IS NOT NULL") == 400
    finally:
        await conn.close()
    assert segments(tmp_path) == 1  # only the current one is left


def test_one_writer_per_directory(tmp_path: Path) -> None:
    first = Writer(closed_port_url(), tmp_path)
    with pytest.raises(OutboxBusy, match="in use by another writer"):
        Writer(closed_port_url(), tmp_path)
    asyncio.run(first.stop(grace_s=0))
    Writer(closed_port_url(), tmp_path).outbox.close()  # free again once the first stopped


async def test_postgres_unfit_for_every_row_is_waited_for_not_quarantined(
        pg_server: EmbeddedPostgres, tmp_path: Path) -> None:
    """A missing table is PostgreSQL's state, not the rows' fault: the records wait (retried)
    instead of being refused one by one, and land once the table is there."""
    url = await fresh_database(pg_server)  # not migrated yet: no calls table
    writer = Writer(url, tmp_path, backoff=(0.02, 0.1))
    await writer.start()
    for i in range(5):
        writer.submit(CallRecord(call_id=f"m{i}", caller="1"))
    await wait_for(lambda: writer.stats.retries >= 2, 10, "the writer retrying")
    conn = await db.connect(url)
    try:
        await db.migrate(conn)
        assert await writer.flush(15), f"{writer.pending} records never written"
        assert await conn.fetchval("SELECT count(*) FROM calls") == 5
    finally:
        await conn.close()
        await writer.stop()
    assert writer.stats.quarantined == 0
