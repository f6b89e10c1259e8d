"""The live feed: controller items in, coalesced wallboard changes out to a bus.

`LiveFeed.on_item` (hand it to `Controller.observe`) applies each typed event to a `Metrics`
and marks which parts of the live view it touched. `run()` publishes those parts at most every
`min_interval_s` (50 ms) as a *delta*: only the values that differ from what was published
before. A tick every `tick_s` (1 s) refreshes every queue, so sliding figures, the longest
wait and interval closes reach the screens without events; at an interval change the whole
view is published as a *snapshot*.

The live view (one JSON object; deltas have the same shape with only the changed leaves):
    now, interval {start, end},
    all / queues[q]: {waiting, oldest_since, sl_target, sl_seconds,
                      today {...BOARD_FIELDS, ...QUALITY_FIELDS}, interval {...BOARD_FIELDS}},
    agents_by_state {all | q: {state: n}}, agents {id: {state, reason, since, call_id, queues}},
    occupancy {today, interval}, sl_trend [{queue, start, end, service_level, sl_target}],
    survey_alerts [{at, call_id, agent_id, queue, service, satisfaction, scale, nps,
                    order_id}]: the latest low survey answers, newest first (`survey_alert`)
    reserve {q: {state, since, team, auto, by, agents, level, target, recovered} | None}: the
                    emergency reserve of each queue that has one going (`set_reserve`)
`oldest_since` is when the longest-waiting call queued (None when nobody waits), so a screen
ticks the longest wait itself instead of receiving it every second.
Agent rows are replaced whole (a delta row is complete), so rows can be filtered by queue.

Messages on the bus: {"type": "snapshot"|"delta", "seq": n, "changed": t, "sent": t, "data":
view}; `changed` is the moment of the earliest change the message carries, `sent` when it was
published (for latency figures: change -> screen, and publish -> screen).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallHeld,
    CallOverflowed,
    CallQueued,
    CallUnheld,
    Event,
    FailsafeTaken,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState
from hotline.core.tasks import cancel_and_wait
from hotline.realtime.fanout import Fanout
from hotline.realtime.figures import QueueFigures
from hotline.realtime.metrics import Metrics
from hotline.realtime.quality import TodayQuality

LIVE_CHANNEL = "hl:board"  # not hl:live: that one carries the store's own deltas
#: Requests to the feed: "snapshot" asks it to publish the whole view (a mirror starting up
#: or resynchronising after a gap).
CONTROL_CHANNEL = "hl:board:control"
SNAPSHOT_REQUEST = "snapshot"
BOARD_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_t",
    "service_level",
    "asa",
    "abandon_rate",
    "lost_node_failure",
    "handled",
    "aht",
)
View = dict[str, Any]
#: the view's list of low survey answers, and how many it keeps (newest first)
SURVEY_ALERTS = "survey_alerts"
SURVEY_ALERTS_KEPT = 20
#: the view's emergency reserve (应急梯队) per queue: proposed or applied (hotline/centre/
#: reserve.py), the floor watchers' only (api/live_rules.py)
RESERVE = "reserve"
#: today's quality figures each queue's `today` carries besides BOARD_FIELDS (realtime/
#: quality.py)
QUALITY_FIELDS = ("fcr", "fcr_calls", "satisfaction_rate", "dissatisfaction_rate",
                  "satisfaction_answers", "nps", "nps_answers")


class Publisher(Protocol):
    async def publish(self, channel: str, message: str) -> None: ...


class LiveSource(Protocol):
    """What a socket needs: the current view as a snapshot message, and its seq."""

    seq: int

    def snapshot(self, queues: Collection[str] | None = None) -> str: ...


# ---- pure helpers over views


def diff(old: View, new: View) -> View:
    """The leaves of `new` that are missing from or differ in `old` (nested dicts recursed,
    except the rows under "agents", which are compared and sent whole)."""
    out: View = {}
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if key == "agents" and isinstance(before, dict):  # rows go whole (see merge)
            rows = {a: row for a, row in value.items() if before.get(a) != row}
            if rows:
                out[key] = rows
        elif isinstance(value, dict) and isinstance(before, dict):
            sub = diff(before, value)
            if sub:
                out[key] = sub
        elif before is _MISSING or before != value:
            out[key] = value
    return out


def merge(base: View, delta: View) -> View:
    """Applies `delta` to `base` in place (nested dicts merged, other values replaced; rows
    under "agents" replaced whole, so a delta row can be filtered by its queues). The pages
    merge the same way (api/static/live.js)."""
    for key, value in delta.items():
        before = base.get(key)
        if isinstance(value, dict) and isinstance(before, dict) and key != "agents":
            merge(before, value)
        elif key == "agents" and isinstance(before, dict):
            before.update(value)  # rows are whole
        else:
            base[key] = _copy(value)
    return base


def filter_view(view: View, queues: Collection[str] | None) -> View:
    """The part of a view (or delta) a client that chose `queues` sees (None: everything).
    Centre-wide parts (all, occupancy, agents_by_state.all) are kept."""
    if queues is None:
        return view
    sel = set(queues)
    out = dict(view)
    if "queues" in view:
        out["queues"] = {q: v for q, v in view["queues"].items() if q in sel}
    if "agents_by_state" in view:
        out["agents_by_state"] = {
            k: v for k, v in view["agents_by_state"].items() if k == "all" or k in sel
        }
    if "agents" in view:  # agents of no known queue are shown to everyone
        out["agents"] = {
            a: row
            for a, row in view["agents"].items()
            if not row.get("queues") or not sel.isdisjoint(row["queues"])
        }
    if "sl_trend" in view:
        out["sl_trend"] = [p for p in view["sl_trend"] if p["queue"] is None or p["queue"] in sel]
    return out


def encode(
    kind: str, seq: int, changed: float | None, data: View, sent: float | None = None
) -> str:
    return json.dumps(
        {"type": kind, "seq": seq, "changed": changed, "sent": sent, "data": data},
        separators=(",", ":"),
    )


_MISSING = object()
# Members as module constants: `AgentState.X` goes through EnumType's __getattr__ hook.
_AFTER_CALL_WORK = AgentState.AFTER_CALL_WORK
_LOGGED_OUT = AgentState.LOGGED_OUT


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _scope(f: QueueFigures) -> View:
    return {
        name: _r(getattr(f, name)) if name in _RATIOS else getattr(f, name) for name in BOARD_FIELDS
    }


_RATIOS = {"service_level", "asa", "abandon_rate", "aht"}


# ---- the feed




class LiveFeed:
    def __init__(
        self,
        metrics: Metrics,
        bus: Publisher,
        clock: Callable[[], float],
        *,
        channel: str = LIVE_CHANNEL,
        min_interval_s: float = 0.05,
        tick_s: float = 1.0,
        repeat_window_s: float = 24 * 3600.0,
    ) -> None:
        self.metrics = metrics
        self.quality = TodayQuality(repeat_window_s, metrics.config.day_index)
        self.bus = bus
        self.clock = clock
        self.channel = channel
        self.min_interval_s = min_interval_s
        self.tick_s = tick_s
        self.seq = 0
        self.published = 0  # messages published, for tests and monitoring
        self._latest = 0.0  # the latest event time seen: the metrics never go back
        self._calls: dict[str, str] = {}  # call id -> queue, while the call is live
        self._agent_call_queue: dict[str, str] = {}  # agent -> queue of its current call
        self._agent_queues: dict[str, tuple[str, ...]] = {}
        self._agents: dict[str, View] = {}
        self._declared: list[str] = []
        self._dirty_queues: set[str] = set()
        self._dirty_agents: set[str] = set()
        self._dirty = asyncio.Event()
        self._first_change: float | None = None
        self._last_flush = -1e18
        self._task: asyncio.Task[None] | None = None
        self._snapshots: dict[frozenset[str] | None, str] = {}
        self._snapshots_seq = -1
        self._alerts: list[View] = []
        self._alerts_dirty = False
        self._reserve: View = {}
        self._reserve_dirty = False
        self._state: View = self._build_full(self._now())
        # the event types that move a figure or a row: the metrics' and _mark's
        self._moving = frozenset(metrics.handled_types()) | _MARKED

    # ---- input (synchronous: called by the controller for every item)

    def on_item(self, item: object) -> None:
        kind = type(item)
        if kind not in self._moving:
            if isinstance(item, Event):
                if item.at > self._latest:
                    self._latest = item.at
                if kind is CallEntered:  # first-call resolution follows the numbers
                    self.quality.entered(item.call_id, item.caller, item.at)  # type: ignore[attr-defined]
                # most AMI traffic (channel states, DTMF, recordings): no figure moves, no
                # publish
                self.metrics.ignored += 1
            return  # router decisions (Offer, CallbackDue) change no figure by themselves
        e: Any = item
        if e.at > self._latest:
            self._latest = e.at
        self.metrics.apply(e)
        mark = _MARKS.get(kind)
        if mark is not None:
            mark(self, e)
        if self._first_change is None:
            self._first_change = self.clock()
            self._dirty.set()  # (cleared only by flush, with _first_change)

    def set_agent_queues(self, agent_id: str, queues: Iterable[str]) -> None:
        qs = tuple(queues)
        self.metrics.set_agent_queues(agent_id, qs)
        self._agent_queues[agent_id] = qs
        row = self._agents.setdefault(agent_id, _agent_row(AgentState.LOGGED_OUT, "", 0.0, ""))
        row["queues"] = list(qs)
        self._dirty_agents.add(agent_id)
        self._dirty.set()

    def survey_alert(self, alert: View) -> None:
        """A low survey answer (hotline/ivr_menu/service.py SurveyToStore) for the supervisor
        page: published with the next change, newest first, the latest SURVEY_ALERTS_KEPT."""
        self._alerts = [dict(alert), *self._alerts][:SURVEY_ALERTS_KEPT]
        self._alerts_dirty = True
        self._dirty.set()

    def survey_answer(self, queue: str, satisfaction: int | None, nps: int | None,
                      satisfied_to: int, dissatisfied_from: int, at: float) -> None:
        """Every survey answer (SurveyToStore): today's satisfaction and NPS."""
        self.quality.survey(queue, satisfaction, nps, satisfied_to, dissatisfied_from, at)
        if queue:
            self._dirty_queues.add(queue)
        self._dirty.set()

    def set_reserve(self, queue: str, entry: View | None) -> None:
        """The emergency reserve's state of a queue (None: nothing proposed or applied)."""
        if entry is None:
            self._reserve.pop(queue, None)
        else:
            self._reserve[queue] = dict(entry)
        self._reserve_dirty = True
        self._dirty.set()

    def declare_queues(self, names: Iterable[str]) -> None:
        """Queues to show before their first call (from the centre's configuration)."""
        self._declared.extend(n for n in names if n not in self._declared)
        self._dirty.set()

    # ---- output

    def snapshot(self, queues: Collection[str] | None = None) -> str:
        """The view as published so far, as a snapshot message (filtered to `queues`).
        Encoded once per published state and choice of queues (sockets connect in crowds)."""
        key = frozenset(queues) if queues is not None else None
        if self._snapshots_seq != self.seq:
            self._snapshots.clear()
            self._snapshots_seq = self.seq
        text = self._snapshots.get(key)
        if text is None:
            if len(self._snapshots) > 64:
                self._snapshots.clear()
            data = filter_view(self._public(self._state), key)
            text = self._snapshots[key] = encode("snapshot", self.seq, None, data)
        return text

    def view(self) -> View:
        """A copy of the published view."""
        return _copy(self._public(self._state))

    def agents(self) -> dict[str, View]:
        return {a: dict(row) for a, row in self._agents.items()}

    async def flush(self, *, tick: bool = False) -> None:
        """Publishes what changed (everything re-read on a tick)."""
        now = self._now()
        changed, self._first_change = self._first_change, None
        self._dirty.clear()
        self._last_flush = asyncio.get_running_loop().time()
        index = self.metrics.config.interval_index(now)
        if index != self._state["_interval_index"]:
            self._state = self._build_full(now)
            self._dirty_queues.clear()
            self._dirty_agents.clear()
            await self._publish("snapshot", changed, self._public(self._state))
            return
        parts = self._build_parts(now, tick)
        delta = diff(self._state, parts)
        merge(self._state, delta)
        await self._publish("delta", changed, delta)

    async def run(self) -> None:
        """Publishes changes at most every min_interval_s, and everything every tick_s."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self.tick_s
        while True:
            if not self._dirty.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(next_tick):
                        await self._dirty.wait()
            wait = self._last_flush + self.min_interval_s - loop.time()
            if wait > 0:  # a tick too keeps the pace: screens never get two at once
                await asyncio.sleep(wait)
            tick = loop.time() >= next_tick
            if tick:
                next_tick = max(next_tick + self.tick_s, loop.time())
            await self.flush(tick=tick)

    async def answer_requests(self, fanout: Fanout) -> None:
        """Publishes the whole view when a mirror asks (at most once a second: a crowd of
        mirrors restarting together gets one snapshot)."""
        loop = asyncio.get_running_loop()
        last = -1e18
        async with fanout.subscribe(CONTROL_CHANNEL, maxsize=16) as requests:
            while True:
                await requests.wait()
                early = last + 1.0 - loop.time()
                if early > 0:
                    await asyncio.sleep(early)
                requests.overflowed = False
                if SNAPSHOT_REQUEST in requests.drain():
                    last = loop.time()
                    await self._publish("snapshot", None, self._public(self._state))

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="live-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    # ---- internals

    def _queue_names(self) -> list[str]:
        return list(dict.fromkeys([*self._declared, *self.metrics.queues()]))

    def _now(self) -> float:
        return max(self.clock(), self._latest)

    # What each event marks dirty (_MARKS: by type, looked up once per event).

    def _mark_queued(self, e: CallQueued) -> None:
        self._calls[e.call_id] = e.queue
        self._dirty_queues.add(e.queue)

    def _mark_overflowed(self, e: CallOverflowed) -> None:
        self._calls[e.call_id] = e.to_queue
        self._dirty_queues.update((e.from_queue, e.to_queue))

    def _mark_answered(self, e: CallAnswered) -> None:
        q = self._calls.get(e.call_id)
        if q is not None:
            self._dirty_queues.add(q)
            self._agent_call_queue[e.agent_id] = q
            self.quality.answered(e.call_id, q, e.at)

    def _mark_ended(self, e: CallEnded) -> None:
        q = self._calls.pop(e.call_id, None)
        if q is not None:
            self._dirty_queues.add(q)

    def _mark_call(
        self, e: CallHeld | CallUnheld | CallbackRequested | FailsafeTaken | RingNoAnswer
    ) -> None:
        q = self._calls.get(e.call_id)
        if q is not None:
            self._dirty_queues.add(q)

    def _mark_agent(self, e: AgentStateChanged) -> None:
        agent_id = e.agent_id
        row = self._agents[agent_id] = _agent_row(e.new, e.reason, e.at, e.call_id)
        row["queues"] = list(self._agent_queues.get(agent_id, ()))
        self._dirty_agents.add(agent_id)
        if e.old is _AFTER_CALL_WORK or e.new is _LOGGED_OUT:
            q = self._agent_call_queue.pop(agent_id, None)  # handling counted now
            if q is not None:
                self._dirty_queues.add(q)

    def _board(self, queue: str | None, now: float) -> View:
        today = self.metrics.queue_figures(queue, "today", now)
        interval = self.metrics.queue_figures(queue, "interval", now)
        return {
            "waiting": today.waiting_now,
            "oldest_since": round(now - today.longest_wait_s, 3) if today.waiting_now else None,
            "sl_target": today.sl_target,
            "sl_seconds": today.sl_seconds,
            "today": {**_scope(today), **self.quality.figures(queue, now)},
            "interval": _scope(interval),
        }

    def _by_state(self, queue: str | None) -> dict[str, int]:
        return {s.value: n for s, n in self.metrics.agents_by_state(queue).items()}

    def _occupancy(self, now: float) -> View:
        return {s: _r(self.metrics.occupancy(now, s)) for s in ("today", "interval")}

    def _build_full(self, now: float) -> View:
        start = self.metrics.config.interval_start(self.metrics.config.interval_index(now))
        queues = self._queue_names()
        trend = self.metrics.snapshot(now)["sl_trend"] if queues else []
        return {
            "_interval_index": self.metrics.config.interval_index(now),
            "now": now,
            "interval": {"start": start, "end": start + self.metrics.config.interval_s},
            "all": self._board(None, now),
            "queues": {q: self._board(q, now) for q in queues},
            "agents_by_state": {
                "all": self._by_state(None),
                **{q: self._by_state(q) for q in queues},
            },
            "agents": {a: dict(row) for a, row in self._agents.items()},
            "occupancy": self._occupancy(now),
            "sl_trend": [{**p, "service_level": _r(p["service_level"])} for p in trend],
            SURVEY_ALERTS: [dict(a) for a in self._alerts],
            RESERVE: _copy(self._reserve),
        }

    def _build_parts(self, now: float, tick: bool) -> View:
        all_queues = self._queue_names()
        new = set(all_queues) - self._state["queues"].keys()
        queues = set(all_queues) if tick else self._dirty_queues | new
        agents = self._dirty_agents
        self._dirty_queues, self._dirty_agents = set(), set()
        parts: View = {"now": now}
        if self._alerts_dirty:  # a list: replaced whole by merge
            self._alerts_dirty = False
            parts[SURVEY_ALERTS] = [dict(a) for a in self._alerts]
        if self._reserve_dirty:
            self._reserve_dirty = False
            # queues gone from it are sent as None (a delta cannot delete a key)
            gone = {q: None for q in self._state.get(RESERVE, {}) if q not in self._reserve}
            parts[RESERVE] = {**gone, **_copy(self._reserve)}
        if queues or agents or tick:
            parts["all"] = self._board(None, now)
        if queues:  # in the order of _queue_names: configured first, then first seen
            parts["queues"] = {q: self._board(q, now) for q in all_queues if q in queues}
        if agents or tick or new:
            touched = new | (
                set(all_queues)
                if tick
                else {q for a in agents for q in self._agent_queues.get(a, ())}
            )
            parts["agents_by_state"] = {
                "all": self._by_state(None),
                **{q: self._by_state(q) for q in touched},
            }
            parts["occupancy"] = self._occupancy(now)
        if agents:
            parts["agents"] = {
                a: dict(self._agents[a])
                for a in agents
                if self._state["agents"].get(a) != self._agents[a]
            }
        return parts

    async def _publish(self, kind: str, changed: float | None, data: View) -> None:
        self.seq += 1
        self.published += 1
        message = encode(kind, self.seq, changed, data, self.clock())
        await self.bus.publish(self.channel, message)

    @staticmethod
    def _public(view: View) -> View:
        return {k: v for k, v in view.items() if not k.startswith("_")}


#: What marks which part of the view dirty, by event type (the rest moves figures through
#: the metrics only).
_MARKS: dict[type, Callable[[LiveFeed, Any], None]] = {
    CallQueued: LiveFeed._mark_queued,
    CallOverflowed: LiveFeed._mark_overflowed,
    CallAnswered: LiveFeed._mark_answered,
    CallEnded: LiveFeed._mark_ended,
    CallHeld: LiveFeed._mark_call,
    CallUnheld: LiveFeed._mark_call,
    CallbackRequested: LiveFeed._mark_call,
    FailsafeTaken: LiveFeed._mark_call,
    RingNoAnswer: LiveFeed._mark_call,
    AgentStateChanged: LiveFeed._mark_agent,
}
_MARKED = frozenset(_MARKS)


class LiveMirror:
    """The live view on an API node that does not run the feed, rebuilt from the bus: it
    asks the feed for a snapshot, then merges the deltas. A gap (it fell behind, or the bus
    reconnected) makes it ask again; until a snapshot arrives it serves what it has."""

    def __init__(self, fanout: Fanout, *, channel: str = LIVE_CHANNEL) -> None:
        self.fanout = fanout
        self.channel = channel
        self.seq = 0
        self.complete = asyncio.Event()  # a snapshot arrived since the last gap
        self._state: View = {}
        self._snapshots: dict[frozenset[str] | None, str] = {}
        self._task: asyncio.Task[None] | None = None

    def snapshot(self, queues: Collection[str] | None = None) -> str:
        key = frozenset(queues) if queues is not None else None
        text = self._snapshots.get(key)
        if text is None:
            if len(self._snapshots) > 64:
                self._snapshots.clear()
            text = self._snapshots[key] = encode(
                "snapshot", self.seq, None, filter_view(self._state, key)
            )
        return text

    def view(self) -> View:
        return _copy(self._state)

    async def run(self) -> None:
        async with self.fanout.subscribe(self.channel, maxsize=4096) as sub:
            await self._ask()
            while True:
                text = await sub.get()
                if text is None or is_resync(text):
                    sub.overflowed = False
                    sub.drain()
                    await self._ask()
                    continue
                msg = json.loads(text)
                if msg["type"] == "snapshot":
                    self._state = msg["data"]
                    self.complete.set()
                elif msg["type"] == "delta" and msg["seq"] > self.seq:
                    merge(self._state, msg["data"])
                else:
                    continue
                self.seq = msg["seq"]
                self._snapshots.clear()

    async def _ask(self) -> None:
        self.complete.clear()
        await self.fanout.publish(CONTROL_CHANNEL, SNAPSHOT_REQUEST)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="live-mirror")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None


def is_resync(message: str) -> bool:
    """The bus's notice that messages were lost (hotline.store.live.RESYNC)."""
    return len(message) < 40 and json.loads(message).get("type") == "resync"


def _agent_row(state: AgentState, reason: str, since: float, call_id: str) -> View:
    return {
        "state": str(state),  # its value (.value is a property, slow on this path)
        "reason": reason,
        "since": since,
        "call_id": call_id,
        "queues": [],
    }


__all__ = [
    "BOARD_FIELDS",
    "CONTROL_CHANNEL",
    "LIVE_CHANNEL",
    "QUALITY_FIELDS",
    "RESERVE",
    "SNAPSHOT_REQUEST",
    "LiveFeed",
    "LiveMirror",
    "LiveSource",
    "Publisher",
    "diff",
    "encode",
    "filter_view",
    "is_resync",
    "merge",
]
