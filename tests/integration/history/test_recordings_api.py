"""Recordings over the API against a real PostgreSQL: whole file and byte ranges, who may
listen, every listen in the audit log, a missing file answers 410."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.api.routes.recordings import ByteRange, Unsatisfiable, parse_range
from hotline.history import queries as history
from tests.helpers.history import WAV, Api

SIZE = len(WAV)


async def listens(api: Api) -> list[history.AuditEntry]:
    return await history.audit_entries(api.conn, what="recording.listen")


async def test_whole_file(api: Api) -> None:
    r = await api.get("qa1", "/api/recordings/c01")
    assert r.status_code == 200 and r.content == WAV
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["accept-ranges"] == "bytes" and r.headers["content-length"] == str(SIZE)
    [entry] = await listens(api)
    assert (entry.who, entry.details["call_id"], entry.details["bytes"]) == (
        "qa1", "c01", [0, SIZE - 1])
    assert entry.at == pytest.approx(api.services.clock())


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),              # the first bytes (a browser probing the header)
    ("bytes=4000-5023", 4000, 5023),    # the middle (a seek)
    ("bytes=-100", SIZE - 100, SIZE - 1),  # a suffix
    ("bytes=10000-", 10000, SIZE - 1),  # open-ended
    ("bytes=10200-99999", 10200, SIZE - 1),  # past the end is clipped
])
async def test_ranges(api: Api, header: str, start: int, end: int) -> None:
    r = await api.get("boss", "/api/recordings/c01", headers={"Range": header})
    assert r.status_code == 206, r.text
    assert r.content == WAV[start:end + 1]
    assert r.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert r.headers["content-length"] == str(end - start + 1)
    [entry] = await listens(api)
    assert entry.details["range"] == header and entry.details["bytes"] == [start, end]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", "bytes=500-100", "bytes=abc",
                                    "bytes=-0", "bytes=-"])
async def test_bad_ranges_are_416_and_not_audited(api: Api, header: str) -> None:
    r = await api.get("boss", "/api/recordings/c01", headers={"Range": header})
    assert r.status_code == 416 and r.json()["error"]["id"] == "range-not-satisfiable"
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert await listens(api) == []


async def test_other_units_and_several_ranges_get_the_whole_file(api: Api) -> None:
    for header in ("items=0-5", "bytes=0-5,10-20"):
        r = await api.get("boss", "/api/recordings/c01", headers={"Range": header})
        assert r.status_code == 200 and r.content == WAV


async def test_who_may_listen(api: Api) -> None:
    for user in ("qa1", "boss", "root", "agent1"):  # agent1 handled c01
        assert (await api.get(user, "/api/recordings/c01")).status_code == 200, user
    r = await api.get("agent2", "/api/recordings/c01")
    assert r.status_code == 404 and r.json()["error"]["id"] == "no-such-call"
    r = await api.get("plan", "/api/recordings/c01")
    assert r.status_code == 403 and r.json()["error"]["id"] == "forbidden"
    assert [e.who for e in await listens(api)] == ["qa1", "boss", "root", "agent1"]


async def test_missing_file_is_410_and_reported(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    r = await api.get("qa1", "/api/recordings/c03")
    assert r.status_code == 410 and r.json()["error"]["id"] == "recording-missing"
    assert "c03" in caplog.text
    [missing] = await history.audit_entries(api.conn, what="recording.missing")
    assert missing.details["call_id"] == "c03" and missing.details["path"].endswith("gone.wav")
    assert await listens(api) == []


async def test_unrecorded_and_unknown_calls_are_404(api: Api) -> None:
    r = await api.get("qa1", "/api/recordings/c05")
    assert r.status_code == 404 and r.json()["error"]["id"] == "not-recorded"
    r = await api.get("qa1", "/api/recordings/nope")
    assert r.status_code == 404 and r.json()["error"]["id"] == "no-such-call"


async def test_deleted_recording_is_410(api: Api) -> None:
    await api.conn.execute(
        "INSERT INTO recordings (call_id, path, deleted_at) VALUES ('c01', $1, now())",
        str(api.recordings / "c01.wav"))
    r = await api.get("qa1", "/api/recordings/c01")
    assert r.status_code == 410 and r.json()["error"]["id"] == "recording-missing"


@given(size=st.integers(1, 10_000), a=st.integers(0, 12_000), b=st.integers(0, 12_000))
def test_parse_range_matches_slicing(size: int, a: int, b: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    try:
        part = parse_range(f"bytes={a}-{b}", size)
    except Unsatisfiable:
        assert a >= size or b < a
        return
    assert part is not None and 0 <= part.start <= part.end < size
    assert data[part.start:part.end + 1] == data[a:b + 1]


@given(size=st.integers(1, 10_000), n=st.integers(0, 12_000))
def test_parse_suffix_range(size: int, n: int) -> None:
    try:
        part = parse_range(f"bytes=-{n}", size)
    except Unsatisfiable:
        assert n == 0
        return
    assert part == ByteRange(max(0, size - n), size - 1)
