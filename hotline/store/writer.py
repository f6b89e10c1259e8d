"""Write-behind to PostgreSQL: the call path hands records over and never waits for the database.

`Writer.submit(record)` is synchronous and cheap: the record is encoded as one JSON line and
appended to the on-disk outbox (hotline/store/outbox.py, docs/outbox.md), where it counts as
accepted; the outbox writes its buffer once per event-loop turn and fsyncs in a background
thread (group commit), so a record is durable moments after submit(), and `flush()`/`stop()`
make everything durable at once. The newest records are also kept in memory (up to
`max_memory`) so the drain need not read them back; beyond that, and after a restart, the
drain reads the outbox itself.

One task drains the outbox in order, in batches, each in one transaction: a batch's records
of one type (one table) go through executemany, or through COPY when there are many (see
queries.upsert_copy). Every write is an upsert by natural key, so a batch retried after a lost
connection, or replayed after a crash (the drained position is persisted after the commit,
lazily), never doubles a row. At start, whatever was not drained is replayed.

Failures are sorted the way they are meant: a lost connection, or PostgreSQL unusable for any
reason that is not the row itself, keeps the batch and retries with exponential backoff; a
row the database refuses for good (`is_refused`: SQLSTATE class 22 or 23, a program limit, a
value the driver cannot encode) is retried alone, and if it still fails it is quarantined
with its error, so one bad row never holds up or loses the others. A line of the outbox that
cannot be decoded is quarantined the same way; neither is ever fatal to the drain task.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import asyncpg
import orjson

from hotline.core.tasks import cancel_and_wait
from hotline.store import db
from hotline.store.outbox import Outbox
from hotline.store.queries import UPSERTS, Record, spec_for, upsert, upsert_copy

log = logging.getLogger("hotline.store.writer")

_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in UPSERTS}


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# orjson: the line in one call, straight to UTF-8 bytes with its newline: a call record's
# encode() about 2.4 us against 7.7 with json (submit() runs on the routing loop).
# Records hold no NaN (orjson would write null) nor lone surrogates: they validate that.
_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def encode(record: Record) -> bytes:
    data = {name: getattr(record, name) for name in _names(type(record))}
    return orjson.dumps({"kind": type(record).__name__, "data": data}, option=_OPTIONS)


def decode(line: bytes) -> Record:
    """The record of one outbox line; raises (ValueError, KeyError, TypeError, RecordError)
    for a line that is not one."""
    obj = orjson.loads(line)
    return _BY_NAME[obj["kind"]](**obj["data"])  # type: ignore[no-any-return]


def is_transient(exc: BaseException) -> bool:
    """True for a lost or refused connection (retry later); False for a refused row."""
    return db.is_unreachable(exc)


def is_refused(exc: BaseException) -> bool:
    """True when the row itself is at fault, so writing it again can never succeed: bad data
    (class 22), a constraint (class 23), a program limit (class 54, e.g. a key too long for
    its index), or a value the driver cannot encode (asyncpg's client-side DataError is a
    ValueError; so is a time beyond datetime's range). Anything else (a missing table, a
    permission, a lost connection) is PostgreSQL's state, not the row's: retried."""
    return isinstance(exc, asyncpg.exceptions.DataError
                      | asyncpg.exceptions.IntegrityConstraintViolationError
                      | asyncpg.exceptions.ProgramLimitExceededError
                      | ValueError | OverflowError | TypeError) and not is_transient(exc)


@dataclass
class WriterStats:
    written: int = 0  # records committed
    replayed: int = 0  # records found undrained in the outbox at start
    read_back: int = 0  # lines read back from the outbox (after a restart, or memory full)
    quarantined: int = 0  # lines kept aside for good (undecodable + refused)
    undecodable: int = 0  # outbox lines that were no record
    refused: int = 0  # records PostgreSQL refused for good
    torn: int = 0  # torn last lines cut off at start (a crash mid-write)
    retries: int = 0  # batches retried after a lost connection
    copies: int = 0  # runs written with COPY


@dataclass
class _Batch:
    """The oldest records not yet written: (record, its line's end) in order; `end`: the
    outbox position after the batch (past quarantined lines too); `from_memory`: how many
    to pop from the in-memory queue once written."""

    items: list[tuple[Record, int]]
    end: int
    from_memory: int
    quarantined: set[int]  # indexes in items already quarantined (a retry skips them)


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
        sync_interval_s: float = 0.005,
        segment_bytes: int = 16 << 20,
        connect: Callable[[str], Awaitable[asyncpg.Connection]] = db.connect,
    ) -> None:
        self.url = url
        self.max_memory = max_memory
        self.batch_size = batch_size
        self.copy_threshold = copy_threshold
        self.backoff = backoff
        self.stats = WriterStats()
        self._connect = connect
        self.outbox = Outbox(data_dir, sync_interval_s=sync_interval_s,
                             segment_bytes=segment_bytes)
        self.quarantine_path = self.outbox.quarantine_path
        # The newest records, in order, with the outbox position after each; those before
        # `_disk_until` are only on disk (replayed, or submitted while memory was full).
        self._memory: deque[tuple[Record, int]] = deque()
        self._disk_until = self.outbox.end
        self._pending = self.outbox.undrained_lines()
        self.stats.replayed = self._pending
        self.stats.torn = self.outbox.torn
        if self._pending:
            log.warning("outbox: replaying %d records not yet in PostgreSQL", self._pending)
        self._batch: _Batch | None = None
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # ---------------------------------------------------------------- the call path (sync)

    def submit(self, record: Record) -> None:
        """Accepts a record for writing; never waits. It is in the outbox (written at the end
        of this loop turn, durable after the next fsync) and will reach PostgreSQL. Raises
        TypeError for a type the store cannot write (records validate their own fields when
        they are built)."""
        spec_for(record)
        line = encode(record)
        before = self.outbox.end
        end = self.outbox.append(line)
        memory = self._memory
        if not memory:
            if self.max_memory > 0:
                self._disk_until = before  # what precedes is read back from disk
                memory.append((record, end))
        elif memory[-1][1] == before and len(memory) < self.max_memory:
            memory.append((record, end))
        # else: memory is full (or was, and has not emptied yet): this one is read back
        self._pending += 1
        self._idle.clear()
        self._wake.set()

    @property
    def accepting(self) -> bool:
        """Whether `submit` takes records (the outbox is open): history survives a
        PostgreSQL outage while it does."""
        return not self._closed and not self.outbox._closed

    @property
    def pending(self) -> int:
        """Records accepted and not yet written (or quarantined)."""
        return self._pending

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="store-writer")

    async def sync(self) -> None:
        """Everything submitted so far is durable in the outbox when this returns."""
        await self.outbox.sync()

    async def flush(self, wait_s: float | None = None) -> bool:
        """Makes everything submitted so far durable at once, then waits until it is written
        to PostgreSQL; False after `wait_s` (it stays in the outbox)."""
        await self.outbox.sync()
        if self._pending == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), wait_s)
        except TimeoutError:
            return False
        return True

    async def stop(self, grace_s: float = 5.0) -> None:
        """Writes what it can within `grace_s`; the rest stays in the outbox, durable, to be
        replayed by the next Writer on the same data directory."""
        if self._closed:
            return
        if self._task is not None:
            await self.flush(grace_s)
            await cancel_and_wait(self._task)
            self._task = None
        self._closed = True
        self.outbox.seal()  # here, on the loop: the buffer is the loop's alone
        await asyncio.to_thread(self.outbox.close)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2.0)
            self._conn = None

    # ---------------------------------------------------------------- the drain task

    def _next_batch(self) -> _Batch | None:
        """The oldest records not yet written: read back from the outbox while the drained
        position is before `_disk_until`, else from memory."""
        drained = self.outbox.drained
        if not self._memory:  # all of the log not yet drained is on disk only
            self._disk_until = self.outbox.end
        if drained < self._disk_until:
            lines = self.outbox.read(drained, self._disk_until, self.batch_size)
            if not lines:  # nothing there (cut off at a crash): memory takes over
                self.outbox.mark_drained(self._disk_until)
                return self._next_batch()
            self.stats.read_back += len(lines)
            items: list[tuple[Record, int]] = []
            bad = 0
            for line in lines:
                try:
                    items.append((decode(line.data), line.end))
                except Exception as exc:
                    bad += 1
                    self._quarantine_line(line.data, exc)
            self._pending -= bad
            return _Batch(items, lines[-1].end, 0, set())
        if self._memory:
            items = _take(self._memory, self.batch_size)
            return _Batch(items, items[-1][1], len(items), set())
        return None

    def _quarantine_line(self, data: bytes, exc: BaseException) -> None:
        self.stats.undecodable += 1
        self.stats.quarantined += 1
        text = data.rstrip(b"\n").decode("utf-8", "backslashreplace")
        log.error("outbox: an undecodable line quarantined to %s (%s: %s): %.200s",
                  self.quarantine_path, type(exc).__name__, exc, text)
        self.outbox.quarantine(json.dumps(
            {"line": text, "error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")

    def _done(self, batch: _Batch) -> None:
        written = len(batch.items) - len(batch.quarantined)
        self.stats.written += written
        self._pending -= len(batch.items)
        for _ in range(batch.from_memory):
            self._memory.popleft()
        self.outbox.mark_drained(batch.end)

    async def _run(self) -> None:
        delay = self.backoff[0]
        away_since: float | None = None  # the first failure of the current outage
        while True:
            if self._batch is None:
                try:
                    self._batch = self._next_batch()
                except Exception:  # the disk (full, failing): said loudly, never fatal
                    log.exception("outbox unreadable; retry in %.2fs", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
            batch = self._batch
            if batch is None:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                if batch.items:
                    await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A lost connection, or PostgreSQL refusing for reasons not of the rows
                # (auth, a missing database or table): the records stay in the outbox and
                # the writer keeps trying, whatever the cause.
                await self._drop_connection()
                self.stats.retries += 1
                if away_since is None:
                    away_since = asyncio.get_running_loop().time()
                log.log(logging.WARNING if is_transient(exc) else logging.ERROR,
                        "PostgreSQL unavailable (%s: %s); %d records wait, retry in %.2fs",
                        type(exc).__name__, exc, self._pending, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay = self.backoff[0]
            self._batch = None
            self._done(batch)
            if away_since is not None:  # said once per outage, as it ends
                log.warning("PostgreSQL reachable again after %.1f s; %d records wait",
                            asyncio.get_running_loop().time() - away_since, self._pending)
                away_since = None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect(self.url)
        return self._conn

    async def _write(self, batch: _Batch) -> None:
        conn = await self._connection()
        records = [r for i, (r, _) in enumerate(batch.items) if i not in batch.quarantined]
        try:
            async with conn.transaction():
                for run in _runs(records):
                    await self._write_run(conn, run)
        except Exception as exc:
            if not is_refused(exc) or conn.is_closed():
                raise
            log.error("batch refused (%s: %s); writing its %d records one by one",
                      type(exc).__name__, exc, len(records))
            await self._write_singly(conn, batch)

    async def _write_run(self, conn: asyncpg.Connection, run: list[Record]) -> None:
        if len(run) >= self.copy_threshold and spec_for(run[0]).copy:
            await upsert_copy(conn, run)
            self.stats.copies += 1
        else:
            await upsert(conn, run)

    async def _write_singly(self, conn: asyncpg.Connection, batch: _Batch) -> None:
        for i, (record, _) in enumerate(batch.items):
            if i in batch.quarantined:
                continue
            try:
                async with conn.transaction():
                    await upsert(conn, [record])
            except Exception as exc:
                if not is_refused(exc) or conn.is_closed():
                    raise
                batch.quarantined.add(i)
                self._refuse(record, exc)

    def _refuse(self, record: Record, exc: Exception) -> None:
        self.stats.refused += 1
        self.stats.quarantined += 1
        log.error("PostgreSQL refused %s (quarantined to %s): %s: %s", type(record).__name__,
                  self.quarantine_path, type(exc).__name__, exc)
        entry = json.loads(encode(record))
        entry["error"] = f"{type(exc).__name__}: {exc}"
        # ASCII: the record may hold lone surrogates
        self.outbox.quarantine(json.dumps(entry).encode() + b"\n")


def _take(memory: deque[tuple[Record, int]], n: int) -> list[tuple[Record, int]]:
    return list(itertools.islice(memory, n))


def _runs(batch: list[Record]) -> list[list[Record]]:
    """The batch split by record type, each keeping its order. Only the order within a table
    matters (the written tables have no foreign keys between them), and one run per table
    lets COPY pay off even when the call path interleaves types."""
    runs: dict[type, list[Record]] = {}
    for record in batch:
        runs.setdefault(type(record), []).append(record)
    return list(runs.values())


__all__ = ["Writer", "WriterStats", "decode", "encode", "is_refused", "is_transient"]
