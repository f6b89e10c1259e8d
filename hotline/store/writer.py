"""Write-behind to PostgreSQL: the call path hands records over and never waits for the database.

`Writer.submit(record)` is synchronous and returns at once: the record goes to a bounded
in-memory deque, or, beyond that bound (PostgreSQL slow or down), to an append-only spill file
of JSON lines in the data directory. One task drains them, oldest first, in batches, each in
one transaction: a batch's records of one type (one table) go through executemany, or through
COPY when there are many (see queries.upsert_copy). Every write is an upsert by natural key,
so a batch retried after a lost connection, or a spill file replayed after a crash, never
doubles a row.

Order is kept across the two stores: once anything is spilled, new records go to the file too
until the file has been replayed, so the file always holds the newest records.

Failures are sorted the way they are meant: a lost connection (PostgreSQL stopped, restarted,
unreachable) keeps the batch and retries with exponential backoff; a row the database refuses
(a constraint) is retried alone, and if it still fails it is written with the error to the
reject file and logged, so one bad row never holds up or loses the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import asyncpg

from hotline.core.tasks import cancel_and_wait
from hotline.store import db
from hotline.store.queries import UPSERTS, Record, spec_for, upsert, upsert_copy

log = logging.getLogger("hotline.store.writer")

_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in UPSERTS}


def encode(record: Record) -> bytes:
    data = {f.name: getattr(record, f.name) for f in fields(record)}
    return json.dumps({"kind": type(record).__name__, "data": data},
                      ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Record:
    obj = json.loads(line)
    return _BY_NAME[obj["kind"]](**obj["data"])  # type: ignore[no-any-return]


def is_transient(exc: BaseException) -> bool:
    """True for a lost or refused connection (retry later); False for a refused row."""
    if isinstance(exc, asyncpg.exceptions.DataError):  # SQLSTATE class 22: the row is bad
        return False
    return isinstance(exc, OSError | TimeoutError | asyncpg.PostgresConnectionError
                      | asyncpg.exceptions.OperatorInterventionError
                      | asyncpg.exceptions.InsufficientResourcesError) or (
        isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError))


@dataclass
class WriterStats:
    written: int = 0  # records committed
    spilled: int = 0  # records that went through the spill file
    rejected: int = 0  # records the database refused (in the reject file)
    retries: int = 0  # batches retried after a lost connection
    copies: int = 0  # runs written with COPY


class Writer:
    def __init__(
        self,
        url: str,
        data_dir: Path,
        *,
        max_memory: int = 50_000,
        batch_size: int = 1_000,
        copy_threshold: int = 200,
        backoff: tuple[float, float] = (0.05, 2.0),
        connect: Callable[[str], Awaitable[asyncpg.Connection]] = db.connect,
    ) -> None:
        self.url = url
        self.spill_path = data_dir / "writer-spill.jsonl"
        self.reject_path = data_dir / "writer-rejected.jsonl"
        self.max_memory = max_memory
        self.batch_size = batch_size
        self.copy_threshold = copy_threshold
        self.backoff = backoff
        self.stats = WriterStats()
        self._connect = connect
        self._memory: deque[Record] = deque()
        self._spill: Any = None  # append handle while spilling
        self._spill_offset = 0  # bytes of the spill file already written to the database
        self._spill_pending = 0
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        data_dir.mkdir(parents=True, exist_ok=True)
        self._recover_spill()

    # ---------------------------------------------------------------- the call path (sync)

    def submit(self, record: Record) -> None:
        """Queues a record for writing; never waits. Raises TypeError for a type the store
        cannot write (records validate their own fields when they are built)."""
        spec_for(record)
        if self._spill is not None or len(self._memory) >= self.max_memory:
            self._to_spill([record])
        else:
            self._memory.append(record)
        self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._memory) + self._spill_pending

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="store-writer")

    async def flush(self, wait_s: float | None = None) -> bool:
        """Waits until everything submitted so far is written; False after `wait_s`."""
        if self.pending == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), wait_s)
        except TimeoutError:
            return False
        return True

    async def stop(self, grace_s: float = 5.0) -> None:
        """Writes what it can within `grace_s`; whatever is left goes to the spill file, to be
        replayed by the next Writer on the same data directory."""
        await self.flush(grace_s)
        self._stopping = True
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._memory:
            self._prepend_to_spill(list(self._memory))
            self._memory.clear()
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2.0)
            self._conn = None

    # ---------------------------------------------------------------- the spill file

    def _recover_spill(self) -> None:
        """A spill file left by a previous run is replayed first; a torn last line (a crash
        mid-write) is cut off."""
        if not self.spill_path.exists():
            return
        data = self.spill_path.read_bytes()
        if not data:
            self.spill_path.unlink()
            return
        if not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]
            self.spill_path.write_bytes(data)
        self._spill_pending = data.count(b"\n")
        self._spill = self.spill_path.open("ab")
        log.warning("replaying %d records from %s", self._spill_pending, self.spill_path)

    def _to_spill(self, records: Sequence[Record]) -> None:
        if self._spill is None:
            self._spill = self.spill_path.open("ab")
            self._spill_offset = 0
            log.warning("write-behind queue full (%d); spilling to %s", len(self._memory),
                        self.spill_path)
        self._spill.write(b"".join(encode(r) for r in records))
        self._spill.flush()
        self._spill_pending += len(records)
        self.stats.spilled += len(records)

    def _prepend_to_spill(self, records: list[Record]) -> None:
        """Puts `records` (older than anything spilled) before the unreplayed part of the file."""
        rest = b""
        if self.spill_path.exists():
            with self.spill_path.open("rb") as f:
                f.seek(self._spill_offset)
                rest = f.read()
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        tmp = self.spill_path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(encode(r) for r in records) + rest)
        os.replace(tmp, self.spill_path)
        self._spill_offset = 0
        self._spill_pending += len(records)
        self.stats.spilled += len(records)

    def _read_spill(self) -> tuple[list[Record], int]:
        with self.spill_path.open("rb") as f:
            f.seek(self._spill_offset)
            lines = list(itertools.islice(f, self.batch_size))
            return [decode(line) for line in lines], f.tell()

    # ---------------------------------------------------------------- the drain task

    def _next_batch(self) -> tuple[list[Record], int | None]:
        """The oldest records not yet written, and the spill offset after them (None: memory)."""
        if self._memory:
            return list(itertools.islice(self._memory, self.batch_size)), None
        if self._spill is not None:
            return self._read_spill()
        return [], None

    def _done(self, count: int, offset: int | None) -> None:
        self.stats.written += count
        if offset is None:
            for _ in range(count):
                self._memory.popleft()
            return
        self._spill_offset = offset
        self._spill_pending -= count
        if self._spill_offset >= self.spill_path.stat().st_size:
            # replayed to the end: back to memory (no await since the read, so nothing new
            # can have been appended unseen)
            self._spill.close()
            self._spill = None
            self.spill_path.unlink()
            self._spill_offset = self._spill_pending = 0
            log.warning("spill file replayed; back to the in-memory queue")

    async def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            batch, offset = self._next_batch()
            if not batch:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A lost connection, or one refused (auth, missing database): the records
                # stay queued and the writer keeps trying, whatever the cause.
                await self._drop_connection()
                self.stats.retries += 1
                log.log(logging.WARNING if is_transient(exc) else logging.ERROR,
                        "PostgreSQL unavailable (%s: %s); %d records wait, retry in %.2fs",
                        type(exc).__name__, exc, self.pending, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay = self.backoff[0]
            self._done(len(batch), offset)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect(self.url)
        return self._conn

    async def _write(self, batch: list[Record]) -> None:
        conn = await self._connection()
        try:
            async with conn.transaction():
                for run in _runs(batch):
                    await self._write_run(conn, run)
        except Exception as exc:
            if is_transient(exc) or conn.is_closed():
                raise
            log.error("batch refused (%s: %s); writing its %d records one by one",
                      type(exc).__name__, exc, len(batch))
            await self._write_singly(conn, batch)

    async def _write_run(self, conn: asyncpg.Connection, run: list[Record]) -> None:
        if len(run) >= self.copy_threshold:
            await upsert_copy(conn, run)
            self.stats.copies += 1
        else:
            await upsert(conn, run)

    async def _write_singly(self, conn: asyncpg.Connection, batch: list[Record]) -> None:
        for record in batch:
            try:
                async with conn.transaction():
                    await upsert(conn, [record])
            except Exception as exc:
                if is_transient(exc) or conn.is_closed():
                    raise
                self._reject(record, exc)

    def _reject(self, record: Record, exc: Exception) -> None:
        self.stats.rejected += 1
        log.error("PostgreSQL refused %s: %s: %s", type(record).__name__,
                  type(exc).__name__, exc)
        entry = json.loads(encode(record))
        entry["error"] = f"{type(exc).__name__}: {exc}"
        with self.reject_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")  # ASCII: the record may hold lone surrogates


def _runs(batch: list[Record]) -> list[list[Record]]:
    """The batch split by record type, each keeping its order. Only the order within a table
    matters (the written tables have no foreign keys between them), and one run per table
    lets COPY pay off even when the call path interleaves types."""
    runs: dict[type, list[Record]] = {}
    for record in batch:
        runs.setdefault(type(record), []).append(record)
    return list(runs.values())


__all__ = ["Writer", "WriterStats", "decode", "encode", "is_transient"]
