"""Call recordings: the WAV streamed with HTTP Range support, so a browser's <audio> can seek.

Only quality inspectors, supervisors, admins and the call's own agent may listen, and every
request that returns audio is written to the audit log (who, when, which call, which bytes).
A recording whose file is gone answers 410 and is logged and audited as missing.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Path
from fastapi.responses import StreamingResponse

from hotline.api.deps import CurrentUser, ServicesDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.routes.history import ID_PATTERN, store
from hotline.api.security import Claims, Role
from hotline.history import queries as history

log = logging.getLogger("hotline.api.recordings")
router = APIRouter(prefix="/api", tags=["recordings"])

CHUNK = 64 * 1024
LISTENERS = frozenset({Role.QA, Role.SUPERVISOR})  # and admin, and the call's own agent
_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class Unsatisfiable(ValueError):
    """A bytes Range that is malformed or lies wholly outside the file: 416."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range asked for, clipped to the file; None: send the whole file (no
    header, a unit other than bytes, or several ranges, which RFC 9110 lets a server ignore).
    Raises Unsatisfiable for a malformed bytes range or one that starts past the end."""
    if header is None:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    m = _SPEC.match(spec)
    if m is None or m.group(1) == m.group(2) == "":
        raise Unsatisfiable(f"malformed range {header!r}")
    first, last = m.group(1), m.group(2)
    if first == "":  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable("an empty suffix range")
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        raise Unsatisfiable(f"range ends before it starts: {header!r}")
    if start >= size:
        raise Unsatisfiable(f"range starts at {start}, the file has {size} bytes")
    return ByteRange(start, end)


def may_listen(user: Claims, agent_id: str | None) -> bool:
    return user.has_any(LISTENERS) or (agent_id is not None and user.username == agent_id)


async def file_chunks(path: FsPath, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as f:
        await f.seek(start)
        left = length
        while left > 0:
            data = await f.read(min(CHUNK, left))
            if not data:  # the file shrank under us; the client sees a short body
                return
            left -= len(data)
            yield data


def _stat(path: str) -> os.stat_result | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if FsPath(path).is_file() else None


AUDIO = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the whole recording", "content": AUDIO},
    206: {"description": "the bytes asked for (Content-Range)", "content": AUDIO},
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse, "description": "no-such-call or not-recorded"},
    410: {"model": ErrorResponse, "description": "recording-missing: the file is gone"},
    416: {"model": ErrorResponse, "description": "range-not-satisfiable"},
    503: {"model": ErrorResponse},
}


@router.get("/recordings/{call_id}", responses=RESPONSES, response_class=StreamingResponse)
async def recording(
    user: CurrentUser,
    services: ServicesDep,
    call_id: Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN,
                                 examples=["1795432233.17"])],
    range_: Annotated[str | None, Header(alias="Range", max_length=200,
                                         examples=["bytes=0-1023"])] = None,
) -> StreamingResponse:
    """The call's recording as audio/wav; `Range: bytes=a-b`, `bytes=a-` or `bytes=-n`
    answer 206 with that part. Roles: qa, supervisor, admin, and the call's own agent."""
    if not user.has_any({*LISTENERS, Role.AGENT}):
        raise ApiError(403, "forbidden", "your role may not do this",
                       {"roles_allowed": sorted({*LISTENERS, Role.AGENT, Role.ADMIN})})
    async with store(services) as conn:
        ref = await history.recording_of(conn, call_id)
        if ref is None or not may_listen(user, ref.agent_id):
            # an agent learns nothing about other agents' calls, not even that they exist
            raise ApiError(404, "no-such-call", "no call with this id in the history",
                           {"call_id": call_id})
        if ref.path is None:
            raise ApiError(404, "not-recorded", "this call was not recorded",
                           {"call_id": call_id})
        st = None if ref.deleted else await anyio.to_thread.run_sync(_stat, ref.path)
        if st is None:
            log.error("recording of call %s is missing: %s", call_id, ref.path)
            await history.audit(conn, history.AuditEntry(
                user.username, services.clock(), "recording.missing",
                {"call_id": call_id, "path": ref.path, "deleted": ref.deleted}))
            raise ApiError(410, "recording-missing", "the recording of this call is gone",
                           {"call_id": call_id})
        size = st.st_size
        try:
            part = parse_range(range_, size)
        except Unsatisfiable as exc:
            raise ApiError(416, "range-not-satisfiable", str(exc), {"size": size},
                           {"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"}
                           ) from None
        await history.audit(conn, history.AuditEntry(
            user.username, services.clock(), "recording.listen",
            {"call_id": call_id, "range": range_ or "",
             "bytes": [part.start, part.end] if part else [0, size - 1]}))
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if part is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(file_chunks(FsPath(ref.path), 0, size), 200, headers,
                                 media_type="audio/wav")
    headers["Content-Length"] = str(part.length)
    headers["Content-Range"] = f"bytes {part.start}-{part.end}/{size}"
    return StreamingResponse(file_chunks(FsPath(ref.path), part.start, part.length), 206,
                             headers, media_type="audio/wav")


__all__ = ["ByteRange", "Unsatisfiable", "parse_range", "router"]
