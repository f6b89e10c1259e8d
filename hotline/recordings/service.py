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


#: Rows the retention job and the missing-file check read at a time: their memory and each
#: thread hop are one page's, whatever the table holds (a national centre keeps tens of
#: millions of recordings; the whole table was read at once, hourly: in bench.soak the
#: controller's RSS stepped 6-7 MB as that first run read 18,000 rows)
PAGE = 1000


def _delete_files(page: list[tuple[str, str]]) -> list[str]:
    return [delete_file(Path(path)) for _, path in page]


def _gone(page: list[tuple[str, str]]) -> list[bool]:
    return [not Path(path).exists() for _, path in page]


async def enforce_retention(conn: asyncpg.Connection, policy: RetentionPolicy,
                            now: float, page: int = PAGE) -> RetentionReport:
    """Deletes the files past retention, then marks their rows (a crash between the two
    leaves a row pointing at no file, which the next run marks as missing: never a marked
    row whose file still exists). A page at a time, the files of a page in one thread."""
    report = RetentionReport(deleted=[], missing=[], failed=[])
    by_service = dict(policy.by_service)
    after = ""
    while due := await rows.due_for_deletion(conn, by_service, policy.default_days, now,
                                             after, page):
        outcomes = await asyncio.to_thread(_delete_files, due)
        for (call_id, _), outcome in zip(due, outcomes, strict=True):
            if outcome == "failed":
                report.failed.append(call_id)  # left live: the next run tries again
                continue
            await rows.mark_deleted(conn, call_id, now)
            (report.deleted if outcome == "deleted" else report.missing).append(call_id)
        after = due[-1][0]
    return report


@dataclass
class MissingScan:
    missing: list[str]  # call ids whose file is gone
    checked: int  # rows looked at
    next_after: str  # where the next scan goes on ("": this one reached the end)


async def find_missing(conn: asyncpg.Connection, after: str = "", budget: int | None = None,
                       page: int = PAGE) -> MissingScan:
    """Live recording rows whose file is gone (reported, not marked: a person must look
    before a recording is written off), from the call id after `after` for at most `budget`
    rows (None: to the end), a page at a time. The hourly job checks a budget and goes on
    from there the next hour, round the table."""
    scan = MissingScan(missing=[], checked=0, next_after="")
    while budget is None or scan.checked < budget:
        size = page if budget is None else min(page, budget - scan.checked)
        paths = await rows.live_paths(conn, after, size)
        if not paths:
            scan.next_after = ""  # the end
            return scan
        for (call_id, path), gone in zip(paths, await asyncio.to_thread(_gone, paths),
                                         strict=True):
            if gone:
                log.error("recording of %s is missing: %s", call_id, path)
                scan.missing.append(call_id)
        scan.checked += len(paths)
        after = scan.next_after = paths[-1][0]
        if len(paths) < size:
            scan.next_after = ""
            return scan
    return scan
