"""Recording rows (checksum, duration) and the retention job on the real PostgreSQL with real
files: past-retention files are deleted and then their rows marked, per service type; a file
that vanished is found and reported; nothing else is touched."""

from __future__ import annotations

import hashlib
import os
import wave
from pathlib import Path

import asyncpg
import pytest

from hotline.recordings import queries as rows
from hotline.recordings.service import (
    RetentionPolicy,
    catch_up,
    enforce_retention,
    find_missing,
    record,
)
from hotline.store import queries
from hotline.store.records import CallRecord

DAY = 86400.0
NOW = 1_800_000_000.0


def write_wav(path: Path, seconds: float) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))
    return path.read_bytes()


async def test_rows_retention_and_missing_files(conn: asyncpg.Connection, tmp_path: Path) -> None:
    calls = {  # call id: (service, ended days ago, seconds of audio)
        "old-billing": ("billing", 200, 1.5),
        "new-billing": ("billing", 10, 2.0),
        "old-complaint": ("complaint", 200, 1.0),  # complaints are kept 730 days
        "ancient-complaint": ("complaint", 800, 1.0),
    }
    for call_id, (service, days, seconds) in calls.items():
        path = tmp_path / f"{call_id}.wav"
        data = write_wav(path, seconds)
        await queries.upsert_call(conn, CallRecord(
            call_id=call_id, service=service, entered_at=NOW - days * DAY - 60,
            ended_at=NOW - days * DAY, outcome="answered", recording_path=str(path)))
        facts = await record(conn, call_id, path)
        assert facts.sha256 == hashlib.sha256(data).hexdigest()
        assert facts.duration_s == seconds

    (tmp_path / "new-billing.wav").unlink()  # lost by someone: reported, not written off
    assert (await find_missing(conn)).missing == ["new-billing"]

    report = await enforce_retention(conn, RetentionPolicy(), NOW)
    assert sorted(report.deleted) == ["ancient-complaint", "old-billing"]
    assert (report.missing, report.failed) == ([], [])
    assert not (tmp_path / "old-billing.wav").exists()
    assert (tmp_path / "old-complaint.wav").exists()
    marked = {r["call_id"] for r in await conn.fetch(
        "SELECT call_id FROM recordings WHERE deleted_at IS NOT NULL")}
    assert marked == {"ancient-complaint", "old-billing"}
    # a second run has nothing more to do
    again = await enforce_retention(conn, RetentionPolicy(), NOW)
    assert (again.deleted, again.missing) == ([], [])


async def test_the_hourly_job_reads_a_page_at_a_time(conn: asyncpg.Connection, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Retention and the missing-file check walk the table a page at a time (the whole table
    read at once, hourly, is tens of millions of rows at a national centre), and the check
    goes on from where its budget ran out, round the table."""
    pages: list[tuple[str, int]] = []  # (query, rows it returned)

    def counted(name: str) -> None:
        real = getattr(rows, name)

        async def page(*args: object) -> list[tuple[str, str]]:
            got = await real(*args)
            pages.append((name, len(got)))
            return got
        monkeypatch.setattr(rows, name, page)

    ids = [f"c{i:02d}" for i in range(7)]
    for i, call_id in enumerate(ids):
        path = tmp_path / f"{call_id}.wav"
        write_wav(path, 0.1)
        days = 200 if i % 2 == 0 else 10  # c00, c02, c04, c06 past billing's 180 days
        await queries.upsert_call(conn, CallRecord(
            call_id=call_id, service="billing", entered_at=NOW - days * DAY - 60,
            ended_at=NOW - days * DAY, outcome="answered", recording_path=str(path)))
        await record(conn, call_id, path)
    for gone in ("c01", "c05"):
        (tmp_path / f"{gone}.wav").unlink()

    counted("live_paths")
    counted("due_for_deletion")
    first = await find_missing(conn, budget=4, page=3)  # c00..c03
    assert (first.missing, first.checked, first.next_after) == (["c01"], 4, "c03")
    second = await find_missing(conn, first.next_after, budget=4, page=3)  # c04..c06, the end
    assert (second.missing, second.checked, second.next_after) == (["c05"], 3, "")
    assert pages == [("live_paths", 3), ("live_paths", 1), ("live_paths", 3), ("live_paths", 0)]

    pages.clear()
    report = await enforce_retention(conn, RetentionPolicy(), NOW, page=1)
    assert sorted(report.deleted) == ["c00", "c02", "c04", "c06"]
    assert pages == [("due_for_deletion", 1)] * 4 + [("due_for_deletion", 0)]
    assert {p.name for p in os.scandir(tmp_path)} == {"c03.wav"}


async def test_recordings_the_call_path_never_stored_are_caught_up(
        conn: asyncpg.Connection, tmp_path: Path) -> None:
    """A call's recording row is stored by a task that waits for MixMonitor to close the
    file: a crash, a stall past its deadline or a PostgreSQL outage loses that task, never the
    call row (the outbox keeps it). The catch-up finds ended calls with a recording path and
    no row, stores the closed ones, leaves a file still being written for later and reports a
    missing one; what it stored is not done twice."""
    now = NOW
    closed = write_wav(tmp_path / "closed.wav", 2.0)
    write_wav(tmp_path / "open.wav", 1.0)
    with (tmp_path / "open.wav").open("ab") as f:  # still being written: more than the header says
        f.write(b"\x02\x00" * 4000)
    cases = {"closed": now - 120, "open": now - 60, "gone": now - 60, "talking": None,
             "too-old": now - 3 * DAY}
    for call_id, ended in cases.items():
        await queries.upsert_call(conn, CallRecord(
            call_id=call_id, service="billing", entered_at=(ended or now) - 30,
            ended_at=ended, outcome="answered" if ended else None,
            recording_path=str(tmp_path / f"{call_id}.wav")))
    write_wav(tmp_path / "talking.wav", 1.0)
    write_wav(tmp_path / "too-old.wav", 1.0)
    await queries.upsert_call(conn, CallRecord(  # no recording at all: not its business
        call_id="ivr-only", entered_at=now - 50, ended_at=now - 40, outcome="self_served"))

    report = await catch_up(conn, since=now - DAY)
    assert (report.stored, report.not_closed, report.missing) == (["closed"], ["open"], ["gone"])
    row = await conn.fetchrow("SELECT sha256, duration_s FROM recordings WHERE call_id = 'closed'")
    assert (row["sha256"], row["duration_s"]) == (hashlib.sha256(closed).hexdigest(), 2.0)

    with (tmp_path / "open.wav").open("r+b") as f:  # MixMonitor closes it: lengths written
        f.truncate(len(write_wav(tmp_path / "scratch.wav", 1.0)))
    again = await catch_up(conn, since=now - DAY)
    assert (again.stored, again.not_closed, again.missing) == (["open"], [], ["gone"])
    assert await conn.fetchval("SELECT count(*) FROM recordings") == 2
