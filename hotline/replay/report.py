"""What a run produced, as text a replay is compared with byte for byte (docs/replay.md):
the decisions (every item the router returned) and the figures per interval. The same taps
watch a live controller (an observer) and a replay, so equal inputs give equal text.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hotline.core.events import (
    AgentStateChanged,
    CallbackAttempted,
    CallbackFailed,
    CallOffered,
    CallOverflowed,
    Event,
)
from hotline.history.service import Recorder
from hotline.realtime.metrics import Metrics
from hotline.replay.journal import event_fields
from hotline.router import Offer
from hotline.router.decisions import CallbackDue

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode
#: what only the router produces: its decisions and what they did to agents and calls
DECISION_EVENTS: tuple[type[Event], ...] = (AgentStateChanged, CallOffered, CallOverflowed,
                                            CallbackAttempted, CallbackFailed)
#: an interval's occupancy is read this long before its end, then it is closed
_READ_BEFORE_S = 1e-6


def decision_line(t: float, item: object) -> str | None:
    """One decision as a line (None: the item is not a decision)."""
    if isinstance(item, Offer):
        return _encode([t, "Offer", item.call_id, item.agent_id, item.queue, item.wait_s])
    if isinstance(item, CallbackDue):
        return _encode([t, "CallbackDue", item.call_id, item.agent_id, item.number,
                        item.queue, item.wait_s, item.attempt])
    if isinstance(item, DECISION_EVENTS):
        return _encode([t, type(item).__name__, *event_fields(item)])
    return None


@dataclass
class DecisionTap:
    """An observer: the decisions, with the controller's clock at each."""

    clock: Callable[[], float]
    lines: list[str] = field(default_factory=list)
    #: call id -> the agents it was offered to, in order
    offers: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, item: object) -> None:
        line = decision_line(self.clock(), item)
        if line is None:
            return
        self.lines.append(line)
        if isinstance(item, Offer | CallbackDue):
            self.offers.setdefault(item.call_id, []).append(item.agent_id)


class FiguresTap:
    """An observer: the metrics fed every item as the live feed feeds them, one row per
    finished interval and queue (queue None: all) with the centre's occupancy."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.rows: list[dict[str, Any]] = []
        self._end: float | None = None

    def __call__(self, item: object) -> None:
        if not isinstance(item, Event):
            return
        at = item.at
        if self._end is None:
            cfg = self.metrics.config
            self._end = cfg.interval_start(cfg.interval_index(at) + 1)
        while at >= self._end:
            self._close(self._end)
        self.metrics.apply(item)

    def finish(self) -> list[str]:
        """Closes the interval under way; the rows as lines."""
        if self._end is not None:
            self._close(self._end)
        return [_encode(r) for r in self.rows]

    def _close(self, end: float) -> None:
        occupancy = self.metrics.occupancy(end - _READ_BEFORE_S, "interval")
        for closed in self.metrics.close_due(end):
            self.rows.append({**closed.as_row(), "occupancy": occupancy})
        self._end = end + self.metrics.config.interval_s


class HistoryTap:
    """An observer: the history recorder (hotline/history/service.py, the call model's rows,
    agents' state log, routing explanations) writing into a list instead of the writer's
    outbox: one line per record it would store."""

    def __init__(self, short_abandon_s: float, recordings_dir: Path,
                 recordings_dir_in_root: str) -> None:
        self.lines: list[str] = []
        self.recorder = Recorder(self, recordings_dir, recordings_dir_in_root, short_abandon_s)

    def __call__(self, item: object) -> None:
        self.recorder.observe(item)

    def submit(self, record: Any) -> None:
        self.lines.append(_encode([type(record).__name__, _plain(dataclasses.asdict(record))]))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass(frozen=True)
class Outcome:
    """A run's text: decisions, figures; and what went wrong along the way."""

    decisions: list[str]
    figures: list[str]
    offers: dict[str, list[str]]
    failed: list[str] = field(default_factory=list)  # inputs that raised (as live)
    #: call id -> its offers with their time and input (a comparison's baseline)
    live_offers: dict[str, list[Any]] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # HistoryTap's records

    def since(self, t: float) -> Outcome:
        """The decisions made from `t` on and the intervals that end after it (a day's file:
        the files before it built the state it starts from)."""
        return replace(self, decisions=[d for d in self.decisions if json.loads(d)[0] >= t],
                       figures=[f for f in self.figures if json.loads(f)["end"] > t],
                       history=[h for h in self.history if _record_time(h) >= t])

    def text(self) -> str:
        """Decisions, a blank line, the figures, a blank line, the history records."""
        return "".join(f"{line}\n" for line in
                       [*self.decisions, "", *self.figures, "", *self.history])


def _record_time(line: str) -> float:
    """When a history record happened (a call's end, a state's start, a decision)."""
    _kind, fields = json.loads(line)
    for key in ("ended_at", "started_at", "at", "interval_end"):
        if fields.get(key) is not None:
            return float(fields[key])
    return float("inf")


@dataclass(frozen=True)
class Difference:
    call_id: str
    before: list[str]  # the agents offered the call, in order
    after: list[str]


def different_decisions(base: Mapping[str, list[str]], variant: Mapping[str, list[str]]
                        ) -> list[Difference]:
    return [Difference(c, base.get(c, []), variant.get(c, []))
            for c in sorted(set(base) | set(variant)) if base.get(c, []) != variant.get(c, [])]


_FIGURES = ("offered", "answered", "abandoned", "service_level", "asa", "occupancy")


def figure_changes(base: Iterable[str], variant: Iterable[str]) -> list[dict[str, Any]]:
    """Per interval and queue, each figure before and after, where any differs."""
    def keyed(lines: Iterable[str]) -> dict[tuple[float, str | None], dict[str, Any]]:
        rows = (json.loads(line) for line in lines)
        return {(r["start"], r["queue"]): r for r in rows}

    b, v = keyed(base), keyed(variant)
    out = []
    for key in sorted(set(b) | set(v), key=lambda k: (k[0], k[1] or "")):
        rb, rv = b.get(key, {}), v.get(key, {})
        pairs = {f: (rb.get(f), rv.get(f)) for f in _FIGURES}
        if any(x != y for x, y in pairs.values()):
            out.append({"start": key[0], "queue": key[1], **pairs})
    return out


__all__ = ["DECISION_EVENTS", "DecisionTap", "Difference", "FiguresTap", "HistoryTap", "Outcome",
           "decision_line", "different_decisions", "figure_changes"]
