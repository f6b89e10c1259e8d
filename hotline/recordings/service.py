"""Recordings (全程录音): their checksum and duration once the file is complete, and the
retention policy (days per service type) applied by a job that deletes files first and then
marks their rows, never the other way round; a file that went missing is found and reported.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from hotline.recordings import queries as rows
from hotline.store.records import RecordingRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordingFacts:
    path: str
    sha256: str
    duration_s: float


def inspect(path: Path) -> RecordingFacts:
    """Checksum and duration of a finished WAV (MixMonitor writes 8 kHz 16-bit PCM)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    with wave.open(str(path)) as w:
        duration = w.getnframes() / float(w.getframerate() or 1)
    return RecordingFacts(path=str(path), sha256=digest.hexdigest(), duration_s=duration)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    default_days: int = 180
    by_service: tuple[tuple[str, int], ...] = (("complaint", 730), ("report", 730))

    def days(self, service: str | None) -> int:
        return dict(self.by_service).get(service or "", self.default_days)


@dataclass
class RetentionReport:
    deleted: list[str]  # call ids whose file was deleted, then their row marked
    missing: list[str]  # call ids whose file was gone before retention: reported, marked
    failed: list[str]  # files that could not be deleted: rows left unmarked, retried later


def delete_file(path: Path) -> str:
    """'deleted', 'missing' or 'failed' (the row is marked only for the first two)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        log.error("recording %s could not be deleted: %s", path, exc)
        return "failed"
    return "deleted"


def is_closed(path: Path) -> bool:
    """Whether the recorder has closed the WAV: Asterisk writes the header's lengths when it
    closes the file, so until then the header claims fewer bytes than the file holds."""
    try:
        size = path.stat().st_size
        with wave.open(str(path)) as w:
            data = w.getnframes() * w.getsampwidth() * w.getnchannels()
    except (OSError, EOFError, wave.Error):
        return False
    # what is left is the header (44 bytes; a few chunks more at most). A call with no
    # audio closes as a header-only file, which is complete too.
    return 0 <= size - data <= 128


async def wait_closed(path: Path, deadline_s: float, poll_s: float = 0.05) -> None:
    """Waits (up to `deadline_s`) until Asterisk has closed the recording: the hang-up reaches
    us a moment before MixMonitor finishes the file. TimeoutError if it never closes."""
    async with asyncio.timeout(deadline_s):
        while not await asyncio.to_thread(is_closed, path):  # noqa: ASYNC110 (a file: no event)
            await asyncio.sleep(poll_s)


async def record_when_closed(pool: asyncpg.Pool, call_id: str, path: Path,
                             deadline_s: float = 30.0, poll_s: float = 0.1) -> RecordingFacts:
    """Waits until the recording is closed, then stores its row. TimeoutError if it never
    closes (a missing or broken file, reported by the caller)."""
    await wait_closed(path, deadline_s, poll_s)
    async with pool.acquire() as conn:
        return await record(conn, call_id, path)


async def submit_when_closed(submit: Callable[[RecordingRecord], None], call_id: str,
                             path: Path, deadline_s: float = 30.0,
                             poll_s: float = 0.1) -> RecordingFacts:
    """As `record_when_closed`, but the row goes through the history writer's outbox
    (`submit`: Writer.submit), so it is written even if PostgreSQL is down right now."""
    await wait_closed(path, deadline_s, poll_s)
    facts = await asyncio.to_thread(inspect, path)
    submit(RecordingRecord(call_id, facts.path, facts.duration_s, facts.sha256))
    return facts


async def record(conn: asyncpg.Connection, call_id: str, path: Path) -> RecordingFacts:
    """Inspects a finished recording and stores its row."""
    facts = await asyncio.to_thread(inspect, path)
    await rows.save(conn, call_id, facts.path, facts.duration_s, facts.sha256)
    return facts


@dataclass
class CatchUpReport:
    stored: list[str]  # call ids whose recording row was stored now
    not_closed: list[str]  # files still being written: the next catch-up looks again
    missing: list[str]  # files that are not there: for the caller to report


async def catch_up(conn: asyncpg.Connection, since: float, limit: int = 1000) -> CatchUpReport:
    """Stores the recording rows the call path lost (calls entered since `since`, ended,
    with a recording path and no row): the closed files now, open ones later, a missing one
    reported. Idempotent: a stored row is never looked at again."""
    report = CatchUpReport(stored=[], not_closed=[], missing=[])
    for call_id, path in await rows.unrecorded(conn, since, limit):
        file = Path(path)
        if not await asyncio.to_thread(file.exists):
            report.missing.append(call_id)
        elif not await asyncio.to_thread(is_closed, file):
            report.not_closed.append(call_id)
        else:
            await record(conn, call_id, file)
            report.stored.append(call_id)
    return report


async def enforce_retention(conn: asyncpg.Connection, policy: RetentionPolicy,
                            now: float) -> RetentionReport:
    """Deletes the files past retention, then marks their rows (a crash between the two
    leaves a row pointing at no file, which the next run marks as missing: never a marked
    row whose file still exists)."""
    report = RetentionReport(deleted=[], missing=[], failed=[])
    for call_id, path in await rows.due_for_deletion(conn, policy.days, now):
        outcome = await asyncio.to_thread(delete_file, Path(path))
        if outcome == "failed":
            report.failed.append(call_id)
            continue
        await rows.mark_deleted(conn, call_id, now)
        (report.deleted if outcome == "deleted" else report.missing).append(call_id)
    return report


async def find_missing(conn: asyncpg.Connection) -> list[str]:
    """Call ids whose recording row is live but whose file is gone (reported, not marked:
    a person must look before a recording is written off)."""
    missing = []
    for call_id, path in await rows.live_paths(conn):
        if not await asyncio.to_thread(Path(path).exists):
            log.error("recording of %s is missing: %s", call_id, path)
            missing.append(call_id)
    return missing
