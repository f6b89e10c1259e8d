"""Recording rows (checksum, duration) and the retention job on the real PostgreSQL with real
files: past-retention files are deleted and then their rows marked, per service type; a file
that vanished is found and reported; nothing else is touched."""

from __future__ import annotations

import hashlib
import wave
from pathlib import Path

import asyncpg

from hotline.recordings.service import RetentionPolicy, enforce_retention, find_missing, record
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
    assert await find_missing(conn) == ["new-billing"]

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
