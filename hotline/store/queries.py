"""Typed queries: records in, records out. Every write is an upsert by the row's natural key,
so writing the same record twice (a retry, a replay after a crash) never doubles a row.

Each writable record type has one `Upsert` spec; `upsert(conn, records)` (executemany) and
`upsert_copy(conn, records)` (COPY into a staging table, then one INSERT ... SELECT) both use
it, and the write-behind `Writer` picks between them by batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import asyncpg

from hotline.store.records import (
    AgentStateEntry,
    AuditRecord,
    CallFilter,
    CallRecord,
    IntervalRecord,
    OpenCall,
    Outage,
    RecordingRecord,
    RoutingExplanation,
    SurveyAnswer,
)

Record = (CallRecord | AgentStateEntry | RoutingExplanation | IntervalRecord | SurveyAnswer
          | AuditRecord | OpenCall | RecordingRecord)


def ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


@dataclass(frozen=True)
class Upsert:
    """How one record type lands in its table."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    row: Callable[[Any], tuple[Any, ...]]
    #: column -> SQL of its new value on conflict (EXCLUDED.c when not listed)
    merge: dict[str, str]
    #: whether upsert_copy may write it (its staging table is `LIKE table`, which keeps
    #: NOT NULL but not defaults: a table with a serial column the rows leave out cannot)
    copy: bool = True

    def assignments(self) -> str:
        return ", ".join(f"{c} = {self.merge.get(c, f'EXCLUDED.{c}')}"
                         for c in self.columns if c not in self.key)

    @property
    def sql(self) -> str:
        marks = ", ".join(f"${i}" for i in range(1, len(self.columns) + 1))
        return (f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {self.assignments()}")

    def key_of(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[self.columns.index(k)] for k in self.key)


def _keep(table: str, column: str, empty: str) -> str:
    """On conflict: the new value unless it is empty, else the stored one."""
    return f"COALESCE(NULLIF(EXCLUDED.{column}, {empty}), {table}.{column})"


_CALL_COLUMNS = tuple(f.name for f in fields(CallRecord))
_CALL_TIMES = {"entered_at", "queued_at", "answered_at", "ended_at"}
_CALL_EMPTY = {"node": "''", "caller": "''", "dialed": "''", "ivr_path": "'{}'::text[]",
               "timeline": "'[]'::jsonb"}


def _call_row(r: CallRecord) -> tuple[Any, ...]:
    return tuple(ts(getattr(r, c)) if c in _CALL_TIMES else getattr(r, c) for c in _CALL_COLUMNS)


UPSERTS: dict[type, Upsert] = {
    CallRecord: Upsert(
        "calls", _CALL_COLUMNS, ("call_id",), _call_row,
        {c: _keep("calls", c, _CALL_EMPTY.get(c, "NULL")) for c in _CALL_COLUMNS},
    ),
    OpenCall: Upsert(
        "open_calls", ("call_id", "at", "record"), ("call_id",),
        lambda r: (r.call_id, ts(r.at), r.record), {},
    ),
    AgentStateEntry: Upsert(
        "agent_state_log",
        ("agent_id", "started_at", "state", "reason", "ended_at", "call_id"),
        ("agent_id", "started_at"),
        lambda r: (r.agent_id, ts(r.started_at), r.state, r.reason, ts(r.ended_at), r.call_id),
        {"ended_at": "COALESCE(EXCLUDED.ended_at, agent_state_log.ended_at)"},
    ),
    RoutingExplanation: Upsert(
        "routing_explanations", ("call_id", "at", "detail"), ("call_id", "at"),
        lambda r: (r.call_id, ts(r.at), r.detail), {},
    ),
    IntervalRecord: Upsert(
        "interval_stats",
        ("queue", "interval_start", "interval_end", *IntervalRecord.COUNTERS,
         *IntervalRecord.SECONDS, "figures"),
        ("queue", "interval_start"),
        lambda r: (r.queue, ts(r.interval_start), ts(r.interval_end),
                   *(r.figures.get(k, 0) for k in IntervalRecord.COUNTERS),
                   *(float(r.figures.get(k, 0.0)) for k in IntervalRecord.SECONDS), r.figures),
        {},
    ),
    SurveyAnswer: Upsert(
        "survey_answers", ("call_id", "agent_id", "score", "at", "satisfaction", "scale", "nps",
                           "queue", "service", "unit"), ("call_id",),
        lambda r: (r.call_id, r.agent_id, r.score, ts(r.at), r.satisfaction, r.scale, r.nps,
                   r.queue, r.service, r.unit), {},
    ),
    # deleted_at is retention's (set once the file is gone): a replay leaves it as it is
    RecordingRecord: Upsert(
        "recordings", ("call_id", "path", "duration_s", "sha256"), ("call_id",),
        lambda r: (r.call_id, r.path, r.duration_s, r.sha256), {},
    ),
    # an audit row is written once: a replay leaves the stored row as it is
    AuditRecord: Upsert(
        "audit_log", ("entry_key", "who", "at", "what", "details"), ("entry_key",),
        lambda r: (r.key, r.who, ts(r.at), r.what, r.details),
        {c: f"audit_log.{c}" for c in ("who", "at", "what", "details")}, copy=False,
    ),
}


def spec_for(record: object) -> Upsert:
    try:
        return UPSERTS[type(record)]
    except KeyError:
        raise TypeError(f"the store cannot write a {type(record).__name__}") from None


async def upsert(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
    """Writes records of one type with executemany (one round trip, one statement)."""
    if records:
        spec = spec_for(records[0])
        await conn.executemany(spec.sql, [spec.row(r) for r in records])


async def upsert_copy(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
    """Writes records of one type through COPY into a staging table, then one upsert.

    One INSERT cannot touch a row twice, so repeated keys in the batch are folded first in
    order, with the same merge rule as the executemany path (see `_fold`). Call inside a
    transaction: the staging table empties itself at commit.
    """
    if not records:
        return
    spec = spec_for(records[0])
    rows = _fold(spec, [spec.row(r) for r in records])
    stage = f"_stage_{spec.table}"
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {spec.table}) "
                       "ON COMMIT DELETE ROWS")
    await conn.copy_records_to_table(stage, records=rows, columns=spec.columns)
    cols = ", ".join(spec.columns)
    await conn.execute(
        f"INSERT INTO {spec.table} ({cols}) SELECT {cols} FROM {stage} "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {spec.assignments()}"
    )


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _fold(spec: Upsert, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Folds rows with the same key into one, later values winning; for tables whose merge
    keeps stored values over empty new ones, an empty later value keeps the earlier one."""
    keeps = {i for i, c in enumerate(spec.columns) if c in spec.merge}
    folded: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        key = spec.key_of(row)
        old = folded.get(key)
        if old is not None and keeps:
            row = tuple(old[i] if i in keeps and _is_empty(v) else v for i, v in enumerate(row))
        folded[key] = row
    return list(folded.values())


# --------------------------------------------------------------------------------------------
# The direct (awaited) queries the controller and the API use.


async def upsert_call(conn: asyncpg.Connection, record: CallRecord) -> None:
    await upsert(conn, [record])


async def log_agent_state(conn: asyncpg.Connection, entry: AgentStateEntry) -> None:
    await upsert(conn, [entry])


async def save_explanation(conn: asyncpg.Connection, explanation: RoutingExplanation) -> None:
    await upsert(conn, [explanation])


async def save_interval(conn: asyncpg.Connection, interval: IntervalRecord) -> None:
    await upsert(conn, [interval])


async def save_survey(conn: asyncpg.Connection, answer: SurveyAnswer) -> None:
    await upsert(conn, [answer])


async def add_outage(conn: asyncpg.Connection, outage: Outage) -> Outage:
    """Stores a new outage (or updates the one with outage.id); returns it with its id."""
    values = (outage.area_code, outage.kind, ts(outage.starts_at), ts(outage.ends_at),
              outage.description_zh, outage.description_en)
    if outage.id is None:
        new_id = await conn.fetchval(
            "INSERT INTO outages (area_code, kind, starts_at, ends_at, description_zh,"
            " description_en) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", *values)
    else:
        new_id = await conn.fetchval(
            "UPDATE outages SET area_code = $1, kind = $2, starts_at = $3, ends_at = $4,"
            " description_zh = $5, description_en = $6 WHERE id = $7 RETURNING id",
            *values, outage.id)
        if new_id is None:
            raise LookupError(f"no outage with id {outage.id}")
    return Outage(**{**_as_dict(outage), "id": int(new_id)})


async def find_outages(conn: asyncpg.Connection, area_code: str, at: float) -> list[Outage]:
    """Outages of the area in force at `at` (started, not yet ended), earliest first."""
    rows = await conn.fetch(
        "SELECT * FROM outages WHERE area_code = $1 AND starts_at <= $2"
        " AND (ends_at IS NULL OR ends_at > $2) ORDER BY starts_at, id", area_code, ts(at))
    return [Outage(area_code=r["area_code"], kind=r["kind"], starts_at=r["starts_at"].timestamp(),
                   ends_at=epoch(r["ends_at"]), description_zh=r["description_zh"],
                   description_en=r["description_en"], id=r["id"]) for r in rows]


async def outages_for_callers(conn: asyncpg.Connection, area_code: str, at: float,
                              horizon_s: float = 7 * 86400) -> list[Outage]:
    """What the IVR reads out: outages of the area in force at `at` or starting within
    `horizon_s` after it (planned work announced ahead), earliest first."""
    rows = await conn.fetch(
        "SELECT * FROM outages WHERE area_code = $1 AND starts_at <= $3"
        " AND (ends_at IS NULL OR ends_at > $2) ORDER BY starts_at, id",
        area_code, ts(at), ts(at + horizon_s))
    return [Outage(area_code=r["area_code"], kind=r["kind"], starts_at=r["starts_at"].timestamp(),
                   ends_at=epoch(r["ends_at"]), description_zh=r["description_zh"],
                   description_en=r["description_en"], id=r["id"]) for r in rows]


async def area_of_account(conn: asyncpg.Connection, account_no: str) -> str | None:
    """The area code a customer account is supplied in; None for an unknown account."""
    return await conn.fetchval(
        "SELECT area_code FROM accounts WHERE account_no = $1", account_no)


async def calls_by(conn: asyncpg.Connection, filters: CallFilter) -> list[CallRecord]:
    """Calls matching every given filter, newest entry first."""
    where: list[str] = []
    args: list[Any] = []
    for column in ("queue", "agent_id", "caller", "outcome", "service"):
        value = getattr(filters, column)
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if filters.since is not None:
        args.append(ts(filters.since))
        where.append(f"entered_at >= ${len(args)}")
    if filters.until is not None:
        args.append(ts(filters.until))
        where.append(f"entered_at < ${len(args)}")
    args.append(filters.limit)
    sql = (f"{CALLS_SELECT} {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY entered_at DESC NULLS LAST, call_id LIMIT ${len(args)}")
    return [_call_from_row(r) for r in await conn.fetch(sql, *args)]


async def get_call(conn: asyncpg.Connection, call_id: str) -> CallRecord | None:
    row = await conn.fetchrow(f"{CALLS_SELECT} WHERE call_id = $1", call_id)
    return None if row is None else _call_from_row(row)


async def agent_states(conn: asyncpg.Connection, agent_id: str, since: float = 0.0,
                       until: float | None = None, *, limit: int | None = None,
                       offset: int = 0) -> list[AgentStateEntry]:
    """The agent's state log from `since` (by start), oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM agent_state_log WHERE agent_id = $1 AND started_at >= $2"
        " AND ($3::timestamptz IS NULL OR started_at < $3) ORDER BY started_at"
        " LIMIT $4 OFFSET $5", agent_id, ts(since), ts(until), limit, offset)
    return [AgentStateEntry.from_store(
        agent_id=r["agent_id"], state=r["state"], started_at=r["started_at"].timestamp(),
        reason=r["reason"], ended_at=epoch(r["ended_at"]), call_id=r["call_id"]) for r in rows]


async def explanations(conn: asyncpg.Connection, call_id: str, *,
                       limit: int | None = None) -> list[RoutingExplanation]:
    rows = await conn.fetch(
        "SELECT * FROM routing_explanations WHERE call_id = $1 ORDER BY at LIMIT $2",
        call_id, limit)
    return [RoutingExplanation(call_id=r["call_id"], at=r["at"].timestamp(), detail=r["detail"])
            for r in rows]


async def intervals(conn: asyncpg.Connection, queue: str, since: float,
                    until: float) -> list[IntervalRecord]:
    """The queue's closed intervals starting in [since, until), oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM interval_stats WHERE queue = $1 AND interval_start >= $2"
        " AND interval_start < $3 ORDER BY interval_start", queue, ts(since), ts(until))
    return [IntervalRecord(queue=r["queue"], interval_start=r["interval_start"].timestamp(),
                           interval_end=r["interval_end"].timestamp(), figures=r["figures"])
            for r in rows]


async def survey_of(conn: asyncpg.Connection, call_id: str) -> SurveyAnswer | None:
    r = await conn.fetchrow("SELECT * FROM survey_answers WHERE call_id = $1", call_id)
    if r is None:
        return None
    return SurveyAnswer(call_id=r["call_id"], score=r["score"], at=r["at"].timestamp(),
                        agent_id=r["agent_id"], satisfaction=r["satisfaction"],
                        scale=r["scale"], nps=r["nps"], queue=r["queue"],
                        service=r["service"], unit=r["unit"])


#: How calls are read: every column, and the call's after-call work from agent_state_log.
#: The row is written at the hang-up, before its agent's wrap-up ends, so its acw_s column
#: stays empty; the finished after_call_work spans on the call hold it (null while none).
CALLS_SELECT = (
    "SELECT calls.*, (SELECT sum(extract(epoch FROM a.ended_at - a.started_at))::float8"
    " FROM agent_state_log a WHERE a.call_id = calls.call_id AND a.call_id <> ''"
    " AND a.state = 'after_call_work' AND a.ended_at IS NOT NULL) AS acw_logged FROM calls"
)


def _call_from_row(row: asyncpg.Record) -> CallRecord:
    values = {c: (epoch(row[c]) if c in _CALL_TIMES else row[c]) for c in _CALL_COLUMNS}
    if values["acw_s"] is None:
        values["acw_s"] = row.get("acw_logged")
    values["ivr_path"] = list(values["ivr_path"])
    return CallRecord.from_store(**values)


def _as_dict(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


__all__ = [
    "UPSERTS",
    "Record",
    "Upsert",
    "add_outage",
    "agent_states",
    "area_of_account",
    "calls_by",
    "explanations",
    "find_outages",
    "get_call",
    "intervals",
    "log_agent_state",
    "save_explanation",
    "save_interval",
    "save_survey",
    "spec_for",
    "survey_of",
    "upsert",
    "upsert_call",
    "upsert_copy",
]
