"""History reads for the API: pages of calls (keyset paging), a call's recording, the audit log.

Paging is by keyset rather than offset: a page ends at a (entered_at, call_id) position and the
next page starts strictly after it, so calls written meanwhile never shift or repeat rows. The
position is kept in whole microseconds, which timestamptz stores exactly (a float would not
round-trip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from hotline.core.errors import InvalidRequest
from hotline.store.queries import CALLS_SELECT, _call_from_row, epoch, ts
from hotline.store.records import CallFilter, CallRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class BadCursor(InvalidRequest, ValueError):
    """A paging cursor that this module did not make."""

    error_id = "bad-cursor"


#: A cursor as text: `<entry time in µs>~<call id>`, the time empty for calls without one.
#: Any text of this form is a position in the order, so a client may also build one.
CURSOR_PATTERN = r"^(\d{1,17})?~[^\x00-\x1f\x7f]{1,128}$"
_CURSOR = re.compile(CURSOR_PATTERN)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last call's entry time (microseconds, None: unknown) and id."""

    entered_us: int | None
    call_id: str

    def encode(self) -> str:
        return f"{'' if self.entered_us is None else self.entered_us}~{self.call_id}"

    @classmethod
    def decode(cls, token: str) -> Cursor:
        if not _CURSOR.match(token):
            raise BadCursor(f"not a cursor (<µs>~<call id>): {token[:40]!r}")
        us, call_id = token.split("~", 1)
        return cls(int(us) if us else None, call_id)

    def entered_at(self) -> datetime | None:
        return None if self.entered_us is None else _EPOCH + self.entered_us * _US


@dataclass(frozen=True, slots=True)
class CallPage:
    calls: list[CallRecord]
    next_cursor: Cursor | None  # None: this was the last page


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _US


async def calls_page(conn: asyncpg.Connection, filters: CallFilter,
                     after: Cursor | None = None) -> CallPage:
    """Calls matching every filter, newest entry first (calls without an entry time last,
    ties by call id), `filters.limit` of them, starting after `after`."""
    where: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for column in ("queue", "agent_id", "caller", "outcome", "service"):
        value = getattr(filters, column)
        if value is not None:
            where.append(f"{column} = {arg(value)}")
    if filters.since is not None:
        where.append(f"entered_at >= {arg(ts(filters.since))}")
    if filters.until is not None:
        where.append(f"entered_at < {arg(ts(filters.until))}")
    if after is not None:
        at = after.entered_at()
        if at is None:  # the previous page ended among the calls without an entry time
            where.append(f"(entered_at IS NULL AND call_id > {arg(after.call_id)})")
        else:
            a, c = arg(at), arg(after.call_id)
            where.append(f"(entered_at < {a} OR (entered_at = {a} AND call_id > {c})"
                         " OR entered_at IS NULL)")
    sql = (f"{CALLS_SELECT} {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY entered_at DESC NULLS LAST, call_id LIMIT {arg(filters.limit + 1)}")
    rows = await conn.fetch(sql, *args)
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    cursor = (Cursor(_micros(rows[-1]["entered_at"]), rows[-1]["call_id"])
              if more and rows else None)
    return CallPage([_call_from_row(r) for r in rows], cursor)


@dataclass(frozen=True, slots=True)
class RecordingRef:
    """Where a call's recording is (host path) and whose call it was."""

    call_id: str
    agent_id: str | None
    path: str | None  # None: the call was not recorded
    deleted: bool  # the recordings row says it was deleted (retention)


async def recording_of(conn: asyncpg.Connection, call_id: str) -> RecordingRef | None:
    """The call's recording: the `recordings` row when there is one, else the path the
    recorder wrote on the call. None: no such call."""
    row = await conn.fetchrow(
        "SELECT c.call_id, c.agent_id, COALESCE(r.path, c.recording_path) AS path,"
        " r.deleted_at FROM calls c LEFT JOIN recordings r ON r.call_id = c.call_id"
        " WHERE c.call_id = $1", call_id)
    if row is None:
        return None
    return RecordingRef(row["call_id"], row["agent_id"], row["path"],
                        row["deleted_at"] is not None)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    who: str
    at: float
    what: str
    details: dict[str, Any]
    id: int = 0


async def audit(conn: asyncpg.Connection, entry: AuditEntry) -> int:
    """Appends to the audit log; returns the row's id."""
    return int(await conn.fetchval(
        "INSERT INTO audit_log (who, at, what, details) VALUES ($1, $2, $3, $4) RETURNING id",
        entry.who, ts(entry.at), entry.what, entry.details))


async def audit_entries(conn: asyncpg.Connection, what: str | None = None,
                        call_id: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    """Audit rows, oldest first, optionally only of one kind and/or about one call."""
    rows = await conn.fetch(
        "SELECT * FROM audit_log WHERE ($1::text IS NULL OR what = $1)"
        " AND ($2::text IS NULL OR details->>'call_id' = $2) ORDER BY id LIMIT $3",
        what, call_id, limit)
    return [AuditEntry(r["who"], epoch(r["at"]) or 0.0, r["what"], r["details"], r["id"])
            for r in rows]


__all__ = [
    "CURSOR_PATTERN",
    "AuditEntry",
    "BadCursor",
    "CallPage",
    "Cursor",
    "RecordingRef",
    "audit",
    "audit_entries",
    "calls_page",
    "recording_of",
]
