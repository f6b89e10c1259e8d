"""The rows the store writes and reads, as typed, validated dataclasses.

Times are float seconds since the epoch, as everywhere in the domain; the query layer converts
them to timestamptz. Every record checks its own field types and sizes on construction, so a
malformed value is refused where it was made (a `RecordError` naming the record and field)
and never reaches the write-behind queue, where it could hold up the rows behind it.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, ClassVar, Self

from hotline.core import values
from hotline.core.errors import InvalidRequest
from hotline.core.values import OPEN_ENDED_READOUT_S, OUTAGE_KINDS

MAX_TEXT = 1024  # identifiers, numbers, paths, reasons
MAX_LONG_TEXT = 16_384  # descriptions
MAX_JSON = 1_000_000  # bytes of a JSON document (timeline, explanation, figures)


class RecordError(InvalidRequest, ValueError):
    """A record was built with a value of the wrong type or size."""

    error_id = "invalid-record"

    def __init__(self, record: str, name: str, problem: str) -> None:
        super().__init__(f"{record}.{name}: {problem}",
                         details={"record": record, "field": name, "problem": problem})
        self.record, self.field, self.problem = record, name, problem


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _allowed(hint: Any) -> tuple[tuple[type, ...], bool]:
    """The runtime types a hint admits, and whether None is allowed."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    optional = type(None) in args
    allowed: list[type] = []
    for arg in args:
        if arg is type(None):
            continue
        origin = typing.get_origin(arg) or arg
        allowed.append(origin)
        if origin is float:
            allowed.append(int)
    return tuple(allowed), optional


class Validated:
    """Mixin: checks every dataclass field against its annotation and size limits."""

    __slots__ = ()
    LONG_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_store(cls, **values: Any) -> Self:
        """A record read back from the store, built without the checks: the row passed them
        (and the table's constraints) when it was written. A page of rows checked again
        field by field costs tens of milliseconds of the event loop that routes calls
        (docs/security.md, "Request bounds"). Every field must be given."""
        record = object.__new__(cls)
        for f in fields(cls):  # type: ignore[arg-type]
            object.__setattr__(record, f.name, values[f.name])
        return record

    def __post_init__(self) -> None:
        name = type(self).__name__
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            allowed, optional = _allowed(_hints(type(self))[f.name])
            if value is None:
                if not optional:
                    raise RecordError(name, f.name, "is required")
                continue
            if isinstance(value, bool) and bool not in allowed:
                raise RecordError(name, f.name, f"expected {_names(allowed)}, got bool")
            if not isinstance(value, allowed):
                raise RecordError(name, f.name,
                                  f"expected {_names(allowed)}, got {type(value).__name__}")
            if isinstance(value, float) and not math.isfinite(value):
                raise RecordError(name, f.name, f"must be finite, got {value}")
            if isinstance(value, str):
                limit = MAX_LONG_TEXT if f.name in self.LONG_FIELDS else MAX_TEXT
                if len(value) > limit:
                    raise RecordError(name, f.name, f"{len(value)} characters (limit {limit})")
                if "\x00" in value:
                    raise RecordError(name, f.name, "contains a NUL character")
                if not _encodable(value):
                    raise RecordError(name, f.name, "is not valid Unicode (a lone surrogate)")
            if isinstance(value, list | dict):
                _check_json(name, f.name, value)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _names(allowed: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in allowed)


def _check_json(record: str, name: str, value: Any) -> None:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RecordError(record, name, f"not JSON-serialisable: {exc}") from None
    if len(text) > MAX_JSON:
        raise RecordError(record, name, f"{len(text)} bytes of JSON (limit {MAX_JSON})")
    if "\\u0000" in text:
        raise RecordError(record, name, "contains a NUL character")
    if not _encodable(json.dumps(value, ensure_ascii=False)):
        raise RecordError(record, name, "is not valid Unicode (a lone surrogate)")


@dataclass(frozen=True, slots=True)
class CallRecord(Validated):
    """One call, as known so far. Writing it again with more fields filled completes the row:
    a None field never erases what an earlier write stored."""

    call_id: str
    node: str = ""
    caller: str = ""
    dialed: str = ""
    queue: str | None = None
    service: str | None = None
    entered_at: float | None = None
    queued_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    agent_id: str | None = None
    outcome: str | None = None
    wait_s: float | None = None
    talk_s: float | None = None
    hold_s: float | None = None
    acw_s: float | None = None
    ivr_path: list[str] = field(default_factory=list)
    recording_path: str | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        Validated.__post_init__(self)
        if not self.call_id:
            raise RecordError("CallRecord", "call_id", "must not be empty")
        if not all(isinstance(step, str) for step in self.ivr_path):
            raise RecordError("CallRecord", "ivr_path", "must be a list of str")


@dataclass(frozen=True, slots=True)
class OpenCall(Validated):
    """A call an agent answered that has not ended yet: `record` is its CallRecord as known
    at `at` (dataclasses.asdict). Read at the next start: a call that ended while no
    controller ran still reaches history (hotline/history/unfinished.py)."""

    call_id: str
    at: float
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentStateEntry(Validated):
    """An agent's stay in one state; (agent_id, started_at) identifies it."""

    agent_id: str
    state: str
    started_at: float
    reason: str = ""
    ended_at: float | None = None
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class RoutingExplanation(Validated):
    """Why the router chose (or passed over) agents for a call at one moment."""

    call_id: str
    at: float
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IntervalRecord(Validated):
    """The figures of one queue ('' for all queues) over one closed interval. `figures` holds
    every figure; the counters listed in COUNTERS are also stored as columns."""

    COUNTERS: ClassVar[tuple[str, ...]] = (
        "offered", "answered", "abandoned", "short_abandoned", "overflowed", "callbacks",
        "answered_within_t", "handled",
    )
    SECONDS: ClassVar[tuple[str, ...]] = ("wait_answered_s", "talk_s", "hold_s", "acw_s")

    queue: str
    interval_start: float
    interval_end: float
    figures: dict[str, Any]

    def __post_init__(self) -> None:
        Validated.__post_init__(self)
        if self.interval_end <= self.interval_start:
            raise RecordError("IntervalRecord", "interval_end", "must be after interval_start")
        for key in self.COUNTERS:
            value = self.figures.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RecordError("IntervalRecord", f"figures[{key!r}]",
                                  f"must be a non-negative int, got {value!r}")
        for key in self.SECONDS:
            value = self.figures.get(key, 0.0)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise RecordError("IntervalRecord", f"figures[{key!r}]",
                                  f"must be a number, got {value!r}")


@dataclass(frozen=True, slots=True)
class AuditRecord(Validated):
    """One audit_log row written through the writer's outbox (never lost while PostgreSQL
    is down). `key` is unique (audit_log.entry_key): a replayed row is written once."""

    key: str
    who: str
    at: float
    what: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Validated.__post_init__(self)
        if not self.key:
            raise RecordError("AuditRecord", "key", "must not be empty")


@dataclass(frozen=True, slots=True)
class RecordingRecord(Validated):
    """A finished recording's row (hotline/recordings/service.py): written through the
    outbox, so a call recorded while PostgreSQL is down keeps its checksum and duration."""

    call_id: str
    path: str
    duration_s: float
    sha256: str


@dataclass(frozen=True, slots=True)
class SurveyAnswer(Validated):
    """One call's survey (migration 015): satisfaction on the centre's scale (1 = very
    satisfied .. `scale`), the NPS answer (0-10), with the call's agent, queue, service type
    and responsible unit. `score`: the one 0-10 rating of the survey before it (rows written
    then, and outbox lines from then); new answers leave it None."""

    call_id: str
    at: float
    score: int | None = None
    agent_id: str = ""
    satisfaction: int | None = None
    scale: int | None = None
    nps: int | None = None
    queue: str = ""
    service: str = ""
    unit: str = ""

    def __post_init__(self) -> None:
        Validated.__post_init__(self)
        if self.score is not None and not 0 <= self.score <= 10:
            raise RecordError("SurveyAnswer", "score", f"must be 0..10, got {self.score}")
        if self.nps is not None and not 0 <= self.nps <= 10:
            raise RecordError("SurveyAnswer", "nps", f"must be 0..10, got {self.nps}")
        if self.satisfaction is not None and (
                self.scale is None or not 1 <= self.satisfaction <= self.scale):
            raise RecordError("SurveyAnswer", "satisfaction",
                              f"must be 1..scale ({self.scale}), got {self.satisfaction}")
        if self.score is None and self.nps is None and self.satisfaction is None:
            raise RecordError("SurveyAnswer", "nps", "an answer needs at least one score")


@dataclass(frozen=True, slots=True)
class Outage(Validated):
    """A planned or unplanned outage in an area; ends_at None: not over yet."""

    LONG_FIELDS: ClassVar[frozenset[str]] = frozenset({"description_zh", "description_en"})

    area_code: str
    kind: str
    starts_at: float
    ends_at: float | None = None
    description_zh: str = ""
    description_en: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        Validated.__post_init__(self)
        if self.kind not in OUTAGE_KINDS:
            raise RecordError("Outage", "kind", f"must be planned or unplanned, got {self.kind!r}")
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise RecordError("Outage", "ends_at", "must be after starts_at")

    def for_callers(self) -> values.Outage:
        """What the IVR reads out: the Mandarin description first; an outage with no known
        end as lasting OPEN_ENDED_READOUT_S."""
        end = self.ends_at if self.ends_at is not None else self.starts_at + OPEN_ENDED_READOUT_S
        return values.Outage(area_code=self.area_code, start=self.starts_at, end=end,
                             reason=self.description_zh or self.description_en,
                             planned=self.kind == "planned")


@dataclass(frozen=True, slots=True)
class CallFilter(Validated):
    """Which calls `calls_by` returns: every given field must match; newest first."""

    queue: str | None = None
    agent_id: str | None = None
    caller: str | None = None
    outcome: str | None = None
    service: str | None = None
    since: float | None = None  # entered_at >= since
    until: float | None = None  # entered_at < until
    limit: int = 100

    def __post_init__(self) -> None:
        Validated.__post_init__(self)
        if not 1 <= self.limit <= 10_000:
            raise RecordError("CallFilter", "limit", f"must be 1..10000, got {self.limit}")


__all__ = [
    "AgentStateEntry",
    "AuditRecord",
    "CallFilter",
    "CallRecord",
    "IntervalRecord",
    "OpenCall",
    "Outage",
    "RecordError",
    "RecordingRecord",
    "RoutingExplanation",
    "SurveyAnswer",
]
