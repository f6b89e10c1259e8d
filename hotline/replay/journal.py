"""The replay journal: the controller's inputs, one line each, append-only (docs/replay.md).

A line is `<crc32 of the JSON, 8 hex> <JSON array>`. The first line of a file is its header
(an object: format, version, what it follows, the centre and the settings the decisions
depend on); every other line is one input, `[t, kind, ...]`, t being the controller's clock
when it took the input (the clock every decision of that input reads):

- `[t, "e", Type, [fields]]`  a typed event into Controller.handle (AMI, hold session,
  resync, callback legs)
- `[t, "c", name, [args]]`    a command (agent_command, set_skills, mark_repeat, ...)
- `[t, "o", number, [CallQueued fields]]`  an outbound callback queued (its id was drawn live)
- `[t, "t"]`                  the router's tick
- `[t, "r", Type, [fields]]`  an event recorded without the router (the ledger's calls)
- `[t, "x", why]`             recording stopped here (the size bound): the day is cut short

Events are encoded by their dataclass fields in order; enums by value; floats by repr (JSON
round-trips them exactly). A line whose checksum or shape is wrong is quarantined by the
reader with its number and the reason, never silently used.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import operator
import typing
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.core import events as events_module
from hotline.core.events import Event
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType

FORMAT = "hotline-replay"
VERSION = 1
SUFFIX = ".hlr"

EVENT, COMMAND, OUTBOUND, TICK, RECORDED, STOPPED = "e", "c", "o", "t", "r", "x"
KINDS = frozenset({EVENT, COMMAND, OUTBOUND, TICK, RECORDED, STOPPED})
#: the commands a journal may hold, with their argument count
COMMANDS: dict[str, int] = {
    "agent_command": 3, "set_skills": 2, "mark_repeat": 2, "add_agent": 3,
    "remove_agent": 1, "put_queue": 1, "set_vip_numbers": 1, "remove_queue": 1,
}


class JournalError(ValueError):
    """A journal this code cannot replay at all (its header, its version, its chain)."""


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A line set aside: where, why, and its first characters."""

    path: str
    line: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: quarantined ({self.reason}): {self.text[:80]!r}"


@dataclass(frozen=True, slots=True)
class Entry:
    t: float
    kind: str
    what: str = ""  # event type, command name, or the outbound number
    args: tuple[Any, ...] = ()
    event: Event | None = None  # decoded, for kinds e, o, r


@dataclass(slots=True)
class Journal:
    path: Path
    header: dict[str, Any]
    entries: list[Entry] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return bool(self.entries) and self.entries[-1].kind == STOPPED


# -- events <-> JSON


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    args = typing.get_args(hint)
    for cls in (ServiceType, AgentState):
        if hint is cls:
            return cls
        if cls in args:  # Optional
            return lambda v, cls=cls: None if v is None else cls(v)
    return None


def _event_types() -> dict[str, tuple[type[Event], tuple[str, ...], tuple[Any, ...]]]:
    out = {}
    for name in events_module.__all__:
        cls = getattr(events_module, name)
        if not (isinstance(cls, type) and issubclass(cls, Event)):
            continue
        hints = typing.get_type_hints(cls, vars(events_module))
        names = tuple(f.name for f in dataclasses.fields(cls))
        out[name] = (cls, names, tuple(_converter(hints[n]) for n in names))
    return out


_TYPES = _event_types()
#: per event class: its fields' getter, and whether any field may hold an enum
_GETTERS: dict[type, tuple[Callable[[Any], Any], bool]] = {
    cls: (operator.attrgetter(*names), any(c is not None for c in converters))
    for cls, names, converters in _TYPES.values()}


def event_fields(event: Event) -> list[Any]:
    """The event's field values in declaration order, enums by value (JSON-ready)."""
    getter, enums = _GETTERS[type(event)]
    values = getter(event)
    if not isinstance(values, tuple):  # a one-field class
        values = (values,)
    if not enums:
        return list(values)
    return [v.value if isinstance(v, enum.Enum) else v for v in values]


def decode_event(name: str, values: list[Any]) -> Event:
    spec = _TYPES.get(name)
    if spec is None:
        raise ValueError(f"unknown event type {name!r}")
    cls, names, converters = spec
    if not isinstance(values, list) or len(values) != len(names):
        raise ValueError(f"{name} needs {len(names)} fields, got {values!r}")
    kwargs = {n: (c(v) if c is not None else v)
              for n, c, v in zip(names, converters, values, strict=True)}
    return cls(**kwargs)


# -- lines


def encode_line(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return f"{zlib.crc32(text.encode()):08x} {text}\n"


def _decode_line(raw: str) -> Any:
    crc, sep, text = raw.rstrip("\n").partition(" ")
    if not sep or len(crc) != 8:
        raise ValueError("no checksum")
    if f"{zlib.crc32(text.encode()):08x}" != crc:
        raise ValueError("checksum mismatch")
    return json.loads(text)


def _entry(value: Any) -> Entry:
    if not isinstance(value, list) or len(value) < 2 or not isinstance(value[0], int | float) \
            or value[1] not in KINDS:
        raise ValueError("not an input line [t, kind, ...]")
    t, kind = float(value[0]), value[1]
    if kind == TICK:
        return Entry(t, kind)
    if kind == STOPPED:
        return Entry(t, kind, str(value[2]) if len(value) > 2 else "")
    if len(value) != 4 and not (kind == EVENT and len(value) == 5 and value[4] in (0, 1)):
        raise ValueError(f"kind {kind!r} needs 4 items")
    what, args = value[2], value[3]
    if kind == COMMAND:
        if COMMANDS.get(what) != (len(args) if isinstance(args, list) else -1):
            raise ValueError(f"unknown command or arguments: {what!r} {args!r}")
        return Entry(t, kind, what, tuple(args))
    if kind == OUTBOUND:
        return Entry(t, kind, str(what), (), decode_event("CallQueued", args))
    return Entry(t, kind, what, tuple(value[4:]), decode_event(what, args))


def read(path: str | Path) -> Journal:
    """One journal file. Raises JournalError for a missing or foreign header or another
    version; a bad input line is quarantined (Journal.quarantined) and left out."""
    path = Path(path)
    with path.open(encoding="utf-8", errors="replace") as f:
        first = f.readline()
        try:
            header = _decode_line(first)
        except ValueError as exc:
            raise JournalError(f"{path}: line 1 is not a replay journal header ({exc})") \
                from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise JournalError(f"{path}: not a {FORMAT} journal")
        if header.get("version") != VERSION:
            raise JournalError(f"{path}: journal version {header.get('version')!r}; this "
                               f"hotline replays version {VERSION} only")
        journal = Journal(path, header)
        for number, raw in enumerate(f, start=2):
            if not raw.strip():
                continue
            try:
                journal.entries.append(_entry(_decode_line(raw)))
            except (ValueError, TypeError, KeyError) as exc:
                journal.quarantined.append(Quarantined(str(path), number, str(exc), raw))
    return journal


def chain(path: str | Path) -> list[Journal]:
    """The file and those it follows (a day's file begins where the last one ended, so a
    replay starts from the controller's start), oldest first."""
    out = [read(path)]
    while (follows := out[0].header.get("follows")) is not None:
        before = out[0].path.parent / follows
        if not before.exists():
            raise JournalError(f"{out[0].path} follows {follows}, which is gone: the replay "
                               "needs every file back to the controller's start")
        earlier = read(before)
        if earlier.stopped:
            raise JournalError(f"{before} was cut short (size bound): {out[0].path} cannot be "
                               "replayed from it")
        out.insert(0, earlier)
    return out


def entries(journals: list[Journal]) -> Iterator[tuple[int, Entry]]:
    """(file index, entry) over the chain."""
    for i, j in enumerate(journals):
        for e in j.entries:
            yield i, e


__all__ = ["COMMANDS", "FORMAT", "SUFFIX", "VERSION", "Entry", "Journal", "JournalError",
           "Quarantined", "chain", "decode_event", "encode_line", "entries", "event_fields",
           "read"]
