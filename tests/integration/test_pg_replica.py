"""PostgreSQL as a primary with a synchronous streaming replica (docs/deploy.md, "Stores"):
real servers, the platform's DSN naming both with `target_session_attrs=read-write`. History
records go through the writer (and its outbox) before, during and after the primary's crash
(`pg_ctl stop -m immediate`) and the replica's promotion: each one arrives in the promoted
server exactly once, through the same writer (no restart). A pool on the same DSN (the API's)
sees only PostgreSQL-is-away errors meanwhile (its 503), and then reaches the promoted one."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from hotline.core.tasks import cancel_and_wait
from hotline.devtools.embedded import EmbeddedPostgres
from hotline.store import db
from hotline.store.records import CallRecord
from hotline.store.writer import Writer
from tests.helpers.store import store_tmpdir
from tests.helpers.waiting import wait_for


@dataclass
class Pair:
    base: Path
    primary: EmbeddedPostgres
    replica: EmbeddedPostgres

    @property
    def dsn(self) -> str:
        hosts = ",".join(f"{s.host}:{s.port}" for s in (self.primary, self.replica))
        return f"postgresql://postgres@{hosts}/hotline?target_session_attrs=read-write"


async def _streaming_sync(primary: EmbeddedPostgres) -> bool:
    conn = await asyncpg.connect(primary.url)
    try:
        return bool(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_replication"
            " WHERE state = 'streaming' AND sync_state = 'sync'"))
    finally:
        await conn.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    base = store_tmpdir("hotline-pg-pair-")
    primary = EmbeddedPostgres(base / "primary" / "cluster")
    replica: EmbeddedPostgres | None = None
    try:
        primary.start()
        replica = primary.make_replica(base / "replica" / "cluster")
        replica.start()
        yield Pair(base, primary, replica)
    finally:
        for server in (replica, primary):
            if server is not None:
                server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


async def test_promoted_replica_gets_every_record_once(pair: Pair,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    # synchronous: a commit the writer saw is on the replica too (docs/deploy.md says why)
    admin = await asyncpg.connect(pair.primary.url)
    await admin.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
    await admin.execute("SELECT pg_reload_conf()")
    await admin.close()
    await wait_for(lambda: _streaming_sync(pair.primary), 20, "the replica streaming, in sync")
    # no server that takes writes (here: the standby alone) is PostgreSQL's state, as a
    # refused connection is: the API's 503, the writer's retry
    with pytest.raises(asyncpg.exceptions.TargetServerAttributeNotMatched) as standby_only:
        await db.connect(f"postgresql://postgres@{pair.replica.host}:{pair.replica.port}"
                         "/hotline?target_session_attrs=read-write")
    assert db.is_unreachable(standby_only.value)
    migrated = await db.connect(pair.dsn)
    await db.migrate(migrated)
    await migrated.close()

    writer = Writer(pair.dsn, pair.base / "writer", backoff=(0.05, 0.5))
    await writer.start()
    pool = await db.create_pool(pair.dsn, min_size=2, max_size=2, connect_timeout=2.0)
    submitted: list[str] = []
    reads: list[tuple[float, str]] = []  # (when, "ok" | "away" | anything else: a failure)

    async def submit() -> None:
        while True:
            call_id = f"c{len(submitted):05d}"
            writer.submit(CallRecord(call_id=call_id, caller="13800000000"))
            submitted.append(call_id)
            await asyncio.sleep(0.01)  # a pace, not a wait for a condition

    async def read() -> None:
        while True:
            try:
                async with asyncio.timeout(8):  # the pool's connect timeout, per host
                    in_recovery = await pool.fetchval("SELECT pg_is_in_recovery()")
                reads.append((time.monotonic(), "ok" if in_recovery is False else "replica"))
            except TimeoutError:
                reads.append((time.monotonic(), "hang"))
            except Exception as exc:
                reads.append((time.monotonic(), "away" if db.is_unreachable(exc)
                               else f"{type(exc).__name__}: {exc}"))
            await asyncio.sleep(0.02)  # a pace, not a wait for a condition

    tasks = [asyncio.create_task(submit()), asyncio.create_task(read())]
    try:
        # committed, not "nothing pending": submissions every 10 ms and a writer that keeps
        # up leave one record pending at almost every look (polls and submits in step)
        await wait_for(lambda: writer.stats.written >= 100, 20,
                       "records written before the crash")
        stopped = time.monotonic()
        await asyncio.to_thread(pair.primary.stop, "immediate")
        # the replica alone, not yet promoted: the writer retries, the pool's reads fail
        await wait_for(lambda: writer.stats.retries >= 2 and len(submitted) >= 150 and sum(
            k != "ok" for t, k in reads if t > stopped) >= 3, 10, "the primary missed")
        await asyncio.to_thread(pair.replica.promote)
        promoted = time.monotonic()
        await wait_for(lambda: any(t > promoted and k == "ok" for t, k in reads), 20,
                       "the pool reaching the promoted server")
        count = len(submitted)
        await wait_for(lambda: len(submitted) >= count + 100, 10, "records submitted after")
    finally:
        for task in tasks:
            await cancel_and_wait(task)
    assert await writer.flush(wait_s=30)
    caught_up = time.monotonic()
    retries = writer.stats.retries
    await writer.stop()
    await pool.close()

    conn = await asyncpg.connect(pair.replica.url)
    try:
        assert await conn.fetchval("SELECT NOT pg_is_in_recovery()")
        rows = [r["call_id"] for r in await conn.fetch("SELECT call_id FROM calls")]
    finally:
        await conn.close()
    assert len(rows) == len(set(rows))  # once
    assert sorted(rows) == submitted  # every one (the names sort in submission order)
    assert retries > 0  # the same writer rode through the crash

    kinds = {k for _, k in reads}
    assert kinds <= {"ok", "away"}, kinds  # the API's 503, never another error or a hang
    first_away = min(t for t, k in reads if k == "away")
    back_ok = min(t for t, k in reads if t > first_away and k == "ok")
    back = [r.getMessage() for r in caplog.records if "reachable again" in r.getMessage()]
    assert back, "the writer said when PostgreSQL was back"
    print(f"\npg failover: crash to promoted {promoted - stopped:.2f} s (promotion run by the "
          f"test once the writer had retried); pool: reads 'away' (503) for "
          f"{back_ok - first_away:.2f} s ({sum(k == 'away' for _, k in reads)} reads); writer: "
          f"{back[-1]!r}, {retries} retries, everything in {caught_up - stopped:.2f} s after "
          f"the crash; {len(submitted)} records")
