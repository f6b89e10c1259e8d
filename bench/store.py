"""Benchmark: writing call records to a real (embedded) PostgreSQL, executemany vs COPY.

    .venv/bin/python -m bench.store            # 40,000 rows per method
    .venv/bin/python -m bench.store --quick    # 8,000 rows per method

Measured, side by side on one server: the idempotent upsert of complete CallRecords in batches
of --batch rows, one transaction per batch, through executemany and through COPY into a staging
table (queries.upsert / queries.upsert_copy); then the write-behind Writer end to end (submit
every record, then flush) with its default COPY threshold; the cost of one submit() call (the
record encoded and appended to the outbox's buffer); the same with the outbox's one write(2)
per loop turn counted in, ten records a turn, which is all the call path pays; and the time
one sync() (the outbox's fsync) takes. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from hotline.devtools.embedded import EmbeddedPostgres
from hotline.store import db, queries
from hotline.store.records import CallRecord
from hotline.store.writer import Writer

T0 = 1_763_900_000.0


def calls(prefix: str, n: int) -> list[CallRecord]:
    return [CallRecord(call_id=f"{prefix}{i}", node="ast1", caller=f"138{i:08d}", dialed="95598",
                       queue="billing", service="billing", entered_at=T0 + i,
                       queued_at=T0 + i + 8, answered_at=T0 + i + 20, ended_at=T0 + i + 200,
                       agent_id=f"a{i % 500}", outcome="answered", wait_s=12.0, talk_s=180.0,
                       hold_s=0.0, ivr_path=["main:3"],
                       timeline=[{"at": T0 + i, "what": "entered"},
                                 {"at": T0 + i + 20, "what": "answered"}])
            for i in range(n)]


async def timed_batches(conn: asyncpg.Connection, records: Sequence[CallRecord], batch: int,
                        write: Callable[[asyncpg.Connection, Sequence[CallRecord]],
                                        Awaitable[None]]) -> float:
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        async with conn.transaction():
            await write(conn, records[i:i + batch])
    return time.perf_counter() - started


async def run(n: int, batch: int, base: Path) -> dict[str, Any]:
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    try:
        conn = await db.connect(server.url)
        await db.migrate(conn)
        figures: dict[str, Any] = {"rows": n, "batch": batch}
        for name, write in (("executemany", queries.upsert), ("copy", queries.upsert_copy)):
            secs = await timed_batches(conn, calls(name, n), batch, write)
            figures[f"{name}_rows_per_s"] = round(n / secs)
            # the same rows again: every one an update through ON CONFLICT
            secs = await timed_batches(conn, calls(name, n), batch, write)
            figures[f"{name}_update_rows_per_s"] = round(n / secs)
        assert await conn.fetchval("SELECT count(*) FROM calls") == 2 * n
        figures["copy_vs_executemany"] = round(
            figures["copy_rows_per_s"] / figures["executemany_rows_per_s"], 2)
        figures["copy_vs_executemany_update"] = round(
            figures["copy_update_rows_per_s"] / figures["executemany_update_rows_per_s"], 2)

        writer = Writer(server.url, base / "writer", batch_size=batch)
        await writer.start()
        records = calls("writer", n)
        started = time.perf_counter()
        for record in records:
            writer.submit(record)
        submitted = time.perf_counter()
        assert await writer.flush(120)
        done = time.perf_counter()
        figures["writer_rows_per_s"] = round(n / (done - started))
        figures["submit_us"] = round((submitted - started) / n * 1e6, 2)
        await writer.stop()
        # as the routing loop submits: ten records per loop turn, each turn ending with the
        # outbox's one write(2) of what the turn submitted (its share counted here too); the
        # drain not started, so its work is not counted
        writer = Writer(server.url, base / "writer-turns", batch_size=batch)
        records = calls("turns", n)
        started = time.perf_counter()
        for i in range(0, n, 10):
            for record in records[i:i + 10]:
                writer.submit(record)
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        figures["submit_per_turn_us"] = round((time.perf_counter() - started) / n * 1e6, 2)
        # the durability window's tail: one record submitted, then made durable (fsync)
        waits = []
        for i in range(50):
            writer.submit(calls(f"sync{i}-", 1)[0])
            t = time.perf_counter()
            await writer.sync()
            waits.append(time.perf_counter() - t)
        figures["sync_ms_median"] = round(sorted(waits)[len(waits) // 2] * 1e3, 2)
        await writer.start()
        assert await writer.flush(120)
        await writer.stop()
        assert await conn.fetchval("SELECT count(*) FROM calls") == 4 * n + 50
        await conn.close()
        return figures
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8,000 rows per method")
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    n = 8_000 if args.quick else args.rows
    base = Path(tempfile.mkdtemp(prefix="hotline-bench-store-"))
    base.chmod(0o711)  # the PostgreSQL service user must traverse it when run as root
    try:
        figures = asyncio.run(run(n, args.batch, base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{n} complete call records per method, batches of {args.batch}, one transaction each")
    for method in ("executemany", "copy"):
        print(f"  {method:<12} insert {figures[f'{method}_rows_per_s']:>9,} rows/s   "
              f"upsert-update {figures[f'{method}_update_rows_per_s']:>9,} rows/s")
    print(f"  COPY / executemany: insert x{figures['copy_vs_executemany']}, "
          f"update x{figures['copy_vs_executemany_update']}")
    print(f"  Writer end to end: {figures['writer_rows_per_s']:,} rows/s; "
          f"submit() {figures['submit_us']} us per record, "
          f"{figures['submit_per_turn_us']} us with its share of the loop turn's write; "
          f"a sync (fsync) {figures['sync_ms_median']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
