"""Realtime contact-centre metrics over the typed events of hotline.core.events.

Pure logic: events in, numbers out; no sockets, no database, no clock of its own. The time is
the largest moment seen so far, from events (`event.at`) or read-outs (`now`); an event older
than that is counted at that time (a late event never reopens a closed interval).

Every figure, its formula and the interval attribution rule are in docs/metrics.md ("Interval
attribution", "Queue figures", "What counts and what does not": short abandons, overflow,
failsafe, callbacks, transfers back to a queue, "Agent figures"). In short: a call counts as
offered when it entered the queue; as answered / abandoned / called back, with its wait and its
place in the service level, when its wait ended; with its talk, hold and after-call work (and as
handled) when that handling ended, i.e. when its agent left after_call_work (AgentStateChanged
with old=after_call_work, or a logout / the next answer). An agent the router never reported
(e.g. an app_queue member after the failsafe) has no wrap-up: the handling ends at hangup.
A transfer back to a queue (CallRequeued) ends the connected agent's part, whose wrap-up then
runs in a slot of its own (the kernel's "part"); the call waits again, answered once already.

"Today" (from local midnight, `day_start_offset_s`) and the sliding window (now - window_s,
now] count the same moments. close_due() hands out every closed interval, empty ones included,
except across a silence of more than a day (see _skip_to). An interval is [start, end): an
event exactly at a boundary belongs to the interval that starts there. Agent state time is
clock time split at interval boundaries (agent_clocks.py).

A restarted controller restores today's figures before any event: restore() from a
checkpoint() (or today's closed intervals), then replay() of what history holds since
(docs/metrics.md, "Restart"); none of it is on the event path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, Literal

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallHeld,
    CallOverflowed,
    CallQueued,
    CallRequeued,
    CallUnheld,
    Event,
    FailsafeTaken,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState, is_short_abandon
from hotline.core_ext import metrics_py as k
from hotline.core_ext.select import load
from hotline.realtime.agent_clocks import AgentClocks
from hotline.realtime.figures import (
    AgentFigures,
    ClosedInterval,
    QueueFigures,
    counter_row,
    queue_figures,
    ratio,
)
from hotline.realtime.replay import Counted, StateSeen
from hotline.realtime.targets import DAY_S, MetricsConfig

# Members as module constants: `AgentState.X` goes through EnumType's __getattr__ hook.
_LOGGED_OUT = AgentState.LOGGED_OUT
_READY = AgentState.READY
_AFTER_CALL_WORK = AgentState.AFTER_CALL_WORK

Scope = Literal["interval", "today", "window"]
_SCOPES: dict[Scope, int] = {"interval": k.INTERVAL, "today": k.TODAY, "window": k.WINDOW}


class Metrics:
    def __init__(
        self,
        config: MetricsConfig | None = None,
        kernel: ModuleType | None = None,
        agent_kernel: ModuleType | None = None,
    ):
        self.config = config or MetricsConfig()
        self.kernel = kernel or load("metrics")
        self.ignored = 0  # events of types the metrics do not use
        self._core = self.kernel.Core(float(self.config.window_s))
        self._groups: dict[str, int] = {}
        # the groups of services and agents by the event's own value, on the path of every
        # call (the same groups as _group("s:" + service) / _group("a:" + agent id))
        self._service_groups: dict[str, int] = {}
        self._agent_groups: dict[str, int] = {}
        self._queue_groups: dict[str, int] = {}  # queue name -> its group (_queue_group)
        self._queues: list[str] = []  # in order of appearance
        self._sl_seconds: dict[int, float] = {}  # queue group -> T
        self._calls: dict[str, int] = {}  # call id -> slot, while waiting or connected
        self._slot_agent: dict[int, str] = {}
        self._wrap: dict[str, int] = {}  # agent id -> slot of the call (or part) in wrap-up
        self._agents = AgentClocks(agent_kernel)
        self._now: float | None = None
        self._interval = 0  # index of the open interval
        self._next_boundary = 0.0
        self._day = 0
        self._closed: list[ClosedInterval] = []  # not yet handed out by close_due
        self._trend: list[ClosedInterval] = []  # today's closed intervals
        #: calls a previous run counted offered and left waiting (restore): not offered again
        self._offered_before: set[str] = set()
        #: calls a previous run counted answered and left connected (restore): a replay of
        #: one from the ledger (#15.10) counts nothing again
        self._connected_before: set[str] = set()
        self._handlers: dict[type[Event], Callable[[Any, float], None]] = {
            CallQueued: self._on_queued,
            CallOverflowed: self._on_overflowed,
            CallAnswered: self._on_answered,
            CallRequeued: self._on_requeued,
            CallHeld: self._on_held,
            CallUnheld: self._on_unheld,
            CallEnded: self._on_ended,
            TalkEnded: self._on_ended,  # the agent left: handling ends (the survey is not talk)
            CallbackRequested: self._on_callback,
            FailsafeTaken: self._on_failsafe,
            RingNoAnswer: self._on_ring_no_answer,
            AgentStateChanged: self._on_agent_state,
        }

    # ---- input

    def handled_types(self) -> frozenset[type[Event]]:
        """The event types that can move a figure (the rest only count in `ignored`)."""
        return frozenset(self._handlers)

    def apply(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            self.ignored += 1
            return
        # _advance's first test inlined: the events a router returns come at the moment of
        # the event that caused them (most events the metrics take)
        now = self._now
        t = event.at
        handler(event, now if now is not None and t <= now else self._advance(t))

    def set_agent_queues(self, agent_id: str, queues: Iterable[str]) -> None:
        """Which queues an agent serves (from the router's configuration), for
        agents_by_state(queue)."""
        self._agents.ensure(agent_id, self._time())
        self._agents.queues[agent_id] = frozenset(queues)

    def declare_queues(self, names: Iterable[str]) -> None:
        """Queues shown (and written per interval) before their first call: the centre's."""
        for name in names:
            self._queue_group(name)

    # ---- restart (docs/metrics.md, "Restart: what is restored and from where")

    def checkpoint(self, now: float) -> dict[str, Any]:
        """JSON-ready figures as of `now` (the clock moves there first): every group's
        interval and today counters, the queues, each agent's state and its state time in
        both scopes."""
        self._advance(now)
        now = self._time()
        groups = {"*": 0, **self._groups}
        return {
            "version": 1,
            "at": now,
            "queues": list(self._queues),
            "waiting": [call_id for call_id, slot in self._calls.items()
                        if self._core.phase(slot) == k.WAITING],
            "connected": [call_id for call_id, slot in self._calls.items()
                          if self._core.phase(slot) in (k.TALKING, k.HELD)],
            "groups": {
                name: {"interval": self._core.read(k.INTERVAL, g),
                       "today": self._core.read(k.TODAY, g)}
                for name, g in groups.items()
            },
            "agents": {
                agent_id: {
                    "state": self._agents.state[agent_id].value,
                    "reason": self._agents.reason[agent_id],
                    **{scope: [[state.value, reason, secs] for (state, reason), secs
                               in self._agents.times(agent_id, scope, now, 0.0).items()]
                       for scope in ("interval", "today")},
                }
                for agent_id in self._agents.ids()
            },
        }

    def restore(self, saved: Mapping[str, Any] | None,
                closed: Sequence[ClosedInterval]) -> float | None:
        """Before any event: today's figures as the previous run left them. `saved`: its
        last checkpoint() of today, if any; `closed`: today's closed intervals as stored.
        Without a checkpoint, today's queue figures are the sum of the closed intervals and
        the open interval starts empty. Calls the checkpoint saw waiting are not offered
        again when they queue again (resync, their hold session); calls it saw connected
        count nothing again (replayed from the node's ledger when they ended). Returns the
        moment from which history must be replayed (None: nothing is known of today)."""
        if self._calls or self._wrap or self._closed:
            raise RuntimeError("restore() is for a Metrics that has counted nothing")
        at = saved["at"] if saved else max((c.end for c in closed), default=None)
        if at is None:
            return None
        self._now = None  # a read-out may have set the clock; nothing was counted since
        self._advance(at)
        start = self.config.interval_start(self._interval)
        if saved is None:
            for c in closed:
                g = 0 if c.queue is None else self._queue_group(c.queue)
                self._core.add_row(k.TODAY, g, counter_row(c.figures))
            self._restore_trend(closed, start)
            return at
        self.declare_queues(saved["queues"])
        self._offered_before = set(saved.get("waiting", ()))
        self._connected_before = set(saved.get("connected", ()))
        for name, rows in saved["groups"].items():
            if name == "*":
                g = 0
            elif name.startswith("q:"):
                g = self._queue_group(name[2:])
            else:
                g = self._group(name)
            self._core.add_row(k.INTERVAL, g, _row(rows["interval"]))
            self._core.add_row(k.TODAY, g, _row(rows["today"]))
        for agent_id, agent in saved["agents"].items():
            self._agents.change(agent_id, at, AgentState(agent["state"]), agent["reason"])
            for scope in ("interval", "today"):
                for state, reason, secs in agent[scope]:
                    self._agents.add(agent_id, scope, AgentState(state), reason, secs)
        self._restore_trend(closed, start)
        return at

    def _restore_trend(self, closed: Sequence[ClosedInterval], start: float) -> None:
        """Today's closed intervals before the open one, in the order they were closed."""
        order = {q: i for i, q in enumerate(self._queues)}
        self._trend = sorted(
            (c for c in closed if c.end <= start),
            key=lambda c: (c.start, -1 if c.queue is None else order.get(c.queue, len(order))))

    def replay(self, items: Iterable[Counted | StateSeen]) -> None:
        """What history holds of the time since the restored moment, in time order: each
        count made at its moment (intervals close on the way, as they would have)."""
        for item in sorted(items, key=lambda i: i.at):
            t = self._advance(item.at)
            if isinstance(item, StateSeen):
                self._agents.change(item.agent_id, t, item.state, item.reason)
            else:
                self._offered_before.discard(item.call_id)  # its end is in history
                self._count(item, t)

    def _count(self, c: Counted, t: float) -> None:
        gq, gs = self._queue_group(c.queue), self._group("s:" + c.service)
        ga = self._group("a:" + c.agent_id) if c.agent_id else -1
        add = self._core.add_record
        if c.what == "offered":
            add(t, k.K_OFFERED, gq, gs, -1, 0.0, 0.0, 0.0)
        elif c.what == "answered":
            within = 1.0 if c.wait_s <= self._sl_seconds[gq] else 0.0
            add(t, k.K_ANSWERED, gq, gs, ga, c.wait_s, within, 0.0)
        elif c.what == "abandoned":
            short = 1.0 if is_short_abandon(c.wait_s, self.config.short_abandon_s) else 0.0
            add(t, k.K_ABANDONED, gq, gs, -1, c.wait_s, short, 0.0)
        elif c.what == "callback":
            add(t, k.K_CALLBACK, gq, gs, -1, c.wait_s, 0.0, 0.0)
        elif c.what == "failsafe":
            add(t, k.K_FAILSAFE, gq, gs, -1, 0.0, 0.0, 0.0)
        elif c.what == "node_failure":
            add(t, k.K_NODE_FAILURE, gq, gs, -1, c.wait_s, 0.0, 0.0)
        elif c.what == "handled":
            add(t, k.K_HANDLED, gq, gs, ga, c.talk_s, c.hold_s, c.acw_s)

    # ---- output

    def queue_figures(self, queue: str | None, scope: Scope, now: float) -> QueueFigures:
        """Figures of one queue, or of all queues when queue is None."""
        self._advance(now)
        if queue is None:
            return self._figures(0, _SCOPES[scope], self.config.default_targets.sl_target, None)
        t = self.config.targets_for(queue)
        g = self._groups.get("q:" + queue)
        return self._figures(g, _SCOPES[scope], t.sl_target, t.sl_seconds)

    def service_figures(self, service: str, scope: Scope, now: float) -> QueueFigures:
        """Figures of one service type across queues (no target of its own)."""
        self._advance(now)
        return self._figures(self._groups.get("s:" + str(service)), _SCOPES[scope], None, None)

    def queues(self) -> list[str]:
        return list(self._queues)

    def agent_figures(self, agent_id: str, scope: Scope, now: float) -> AgentFigures:
        self._advance(now)
        g = self._groups.get("a:" + agent_id)
        row = self._core.read(_SCOPES[scope], g) if g is not None else [0.0] * k.F
        times = self._agents.times(agent_id, scope, self._time(), self.config.window_s)
        by_state: dict[str, float] = {}
        by_reason: dict[str, float] = {}
        for (state, reason), secs in times.items():
            by_state[state.value] = by_state.get(state.value, 0.0) + secs
            if state is AgentState.NOT_READY:
                by_reason[reason] = by_reason.get(reason, 0.0) + secs
        work = row[k.TALK] + row[k.HOLD] + row[k.ACW]
        ready = by_state.get(AgentState.READY.value, 0.0)
        logged_in = sum(by_state.values())
        return AgentFigures(
            agent_id=agent_id,
            state=self._agents.state.get(agent_id, AgentState.LOGGED_OUT).value,
            reason=self._agents.reason.get(agent_id, ""),
            answered=round(row[k.ANSWERED]),
            handled=round(row[k.HANDLED]),
            missed_rings=round(row[k.MISSED_RINGS]),
            talk_s=row[k.TALK],
            hold_s=row[k.HOLD],
            acw_s=row[k.ACW],
            time_in_state=by_state,
            not_ready_by_reason=by_reason,
            ready_idle_s=ready,
            logged_in_s=logged_in,
            occupancy=ratio(work, work + ready),
            utilisation=ratio(work, logged_in),
        )

    def agents_by_state(self, queue: str | None = None) -> dict[AgentState, int]:
        out = dict.fromkeys(AgentState, 0)
        for agent_id, state in self._agents.state.items():
            if queue is None or queue in self._agents.queues[agent_id]:
                out[state] += 1
        return out

    def occupancy(self, now: float, scope: Scope) -> float | None:
        work, ready, _ = self._centre_work(now, scope)
        return ratio(work, work + ready)

    def utilisation(self, now: float, scope: Scope) -> float | None:
        work, _, logged_in = self._centre_work(now, scope)
        return ratio(work, logged_in)

    def close_due(self, now: float) -> list[ClosedInterval]:
        """Closes every interval that ended by `now` (even with no event since) and returns
        the ones not handed out before: one per queue seen so far plus queue=None (all)."""
        self._advance(now)
        out, self._closed = self._closed, []
        return out

    def snapshot(self, now: float) -> dict[str, Any]:
        """JSON-ready state for the wallboard."""
        self._advance(now)
        start = self.config.interval_start(self._interval)

        def scopes(queue: str | None) -> dict[str, Any]:
            return {s: self.queue_figures(queue, s, now).as_dict() for s in _SCOPES}

        return {
            "now": self._time(),
            "interval": {"start": start, "end": start + self.config.interval_s},
            "all": scopes(None),
            "queues": {q: scopes(q) for q in self._queues},
            "agents_by_state": {
                "all": {s.value: n for s, n in self.agents_by_state().items()},
                **{
                    q: {s.value: n for s, n in self.agents_by_state(q).items()}
                    for q in self._queues
                },
            },
            "occupancy": {s: self.occupancy(now, s) for s in _SCOPES},
            "sl_trend": [
                {
                    "queue": c.queue,
                    "start": c.start,
                    "end": c.end,
                    "service_level": c.figures.service_level,
                    "sl_target": c.figures.sl_target,
                }
                for c in self._trend
            ],
        }

    # ---- event handlers: (event, effective time)

    def _on_queued(self, e: CallQueued, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is None:
            if self._connected_before and e.call_id in self._connected_before:
                # offered and answered in the checkpoint; its handling since is not followed
                self._connected_before.discard(e.call_id)
                return
            slot = self._calls[e.call_id] = self._core.open_call()
            if self._offered_before and e.call_id in self._offered_before:
                self._offered_before.discard(e.call_id)  # waits on since it first queued
                self._core.resume(slot, e.at, self._queue_group(e.queue),
                                  self._service_group(e.service))
                return
        # the groups' cached lookups written out (every call)
        gq = self._queue_groups.get(e.queue)
        if gq is None:
            gq = self._queue_group(e.queue)
        gs = self._service_groups.get(e.service)
        if gs is None:
            gs = self._service_group(e.service)
        self._core.queue(slot, t, gq, gs)

    def _on_overflowed(self, e: CallOverflowed, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is not None:
            self._core.overflow(slot, t, self._queue_group(e.to_queue))

    def _on_answered(self, e: CallAnswered, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is None:
            return
        agent_id = e.agent_id
        if agent_id in self._wrap:
            self._end_wrap(agent_id, t)  # an agent answering again has finished the last one
        core = self._core
        sl = self._sl_seconds[core.queue_of(slot)]
        before = core.phase(slot)
        ga = self._agent_groups.get(agent_id)
        if ga is None:
            ga = self._agent_group(agent_id)
        if core.answer(slot, t, ga, sl) != before:
            self._slot_agent[slot] = agent_id  # not on a repeated answer: that agent is not on it

    def _on_requeued(self, e: CallRequeued, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is None:
            return
        part = self._core.requeue(slot, t, self._queue_group(e.queue))
        if part >= 0:  # the transferring agent's part is over: its wrap-up starts
            self._start_wrap(self._slot_agent.pop(slot), part, t)

    def _on_held(self, e: CallHeld, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is not None:
            self._core.hold(slot, t)

    def _on_unheld(self, e: CallUnheld, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is not None:
            self._core.unhold(slot, t)

    def _on_ended(self, e: CallEnded | TalkEnded, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is None:
            return
        if isinstance(e, TalkEnded) and self._slot_agent.get(slot) != e.agent_id:
            return  # not the leg connected now (e.g. the agent who transferred it)
        del self._calls[e.call_id]
        if isinstance(e, CallEnded) and e.node_failure:  # not abandoned: lost to the node
            phase = self._core.lost(slot, t)
        else:
            phase = self._core.end(slot, t, self.config.short_abandon_s)
        if phase == k.WRAP_UP:
            self._start_wrap(self._slot_agent.pop(slot), slot, t)
        else:  # abandoned, or gone while waiting after a transfer
            self._core.release(slot)

    def _on_callback(self, e: CallbackRequested, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is not None and self._core.callback(slot, t) == k.FREE:
            del self._calls[e.call_id]
            self._core.release(slot)

    def _on_failsafe(self, e: FailsafeTaken, t: float) -> None:
        slot = self._calls.get(e.call_id)
        if slot is not None:
            self._core.failsafe(slot, t)

    def _on_ring_no_answer(self, e: RingNoAnswer, t: float) -> None:
        slot = self._calls.get(e.call_id, -1)
        self._core.missed(slot, t, self._agent_group(e.agent_id))

    def _on_agent_state(self, e: AgentStateChanged, t: float) -> None:
        agent_id, new = e.agent_id, e.new
        agents = self._agents
        # _end_wrap does nothing for an agent without a wrap-up open (most changes)
        if agent_id not in self._wrap:
            agents.change(agent_id, t, new, e.reason)
            return
        was = agents.state.get(agent_id, _LOGGED_OUT)
        agents.change(agent_id, t, new, e.reason)
        if new is not _AFTER_CALL_WORK and (
            was is _AFTER_CALL_WORK or e.old is _AFTER_CALL_WORK
        ):
            self._end_wrap(agent_id, t)
        elif new is _LOGGED_OUT:
            self._end_wrap(agent_id, t)

    # ---- internals

    def _start_wrap(self, agent_id: str, slot: int, t: float) -> None:
        """The agent's part of the call in `slot` ended at t: its wrap-up runs until the
        agent leaves after_call_work."""
        state = self._agents.state.get(agent_id, _LOGGED_OUT)
        if agent_id in self._wrap:
            self._end_wrap(agent_id, t)
        self._wrap[agent_id] = slot
        if state in (_LOGGED_OUT, _READY):
            self._end_wrap(agent_id, t)  # no wrap-up will be reported for this agent

    def _end_wrap(self, agent_id: str, t: float) -> None:
        slot = self._wrap.pop(agent_id, None)
        if slot is not None:
            self._core.wrap_end(slot, t)
            self._core.release(slot)

    def _group(self, name: str) -> int:
        g = self._groups.get(name)
        if g is None:
            g = self._groups[name] = self._core.add_group()
        return g

    def _service_group(self, service: str) -> int:
        g = self._service_groups.get(service)
        if g is None:
            g = self._service_groups[service] = self._group("s:" + str(service))
        return g

    def _agent_group(self, agent_id: str) -> int:
        g = self._agent_groups.get(agent_id)
        if g is None:
            g = self._agent_groups[agent_id] = self._group("a:" + agent_id)
        return g

    def _queue_group(self, queue: str) -> int:
        g = self._queue_groups.get(queue)
        if g is not None:
            return g
        name = "q:" + queue
        g = self._groups.get(name)
        if g is None:
            g = self._group(name)
            self._queues.append(queue)
            self._sl_seconds[g] = self.config.targets_for(queue).sl_seconds
        self._queue_groups[queue] = g
        return g

    def _time(self) -> float:
        return self._now if self._now is not None else 0.0

    def _advance(self, t: float) -> float:
        """Moves the clock to t (never back), closing the intervals that ended; returns the
        time to count at."""
        if self._now is None:
            self._now = t
            self._interval = self.config.interval_index(t)
            self._next_boundary = self.config.interval_start(self._interval + 1)
            self._day = self.config.day_index(t)
        elif t <= self._now:
            return self._now
        while t >= self._next_boundary:
            self._close_interval(self._next_boundary)
            if t - self._next_boundary > DAY_S:
                self._skip_to(self.config.interval_index(t) - 1)
        self._now = t
        self._core.expire(t - self.config.window_s)
        return t

    def _skip_to(self, index: int) -> None:
        """After a silence of more than a day, jumps over the empty intervals instead of
        closing each (they are not handed out); agents' time in them is dropped too."""
        self._interval = index
        start = self.config.interval_start(index)
        self._next_boundary = self.config.interval_start(index + 1)
        self._agents.skip_to(start)

    def _close_interval(self, end: float) -> None:
        start = self.config.interval_start(self._interval)
        self._now = end
        self._agents.flush_all(end)
        self._agents.prune(end - self.config.window_s)
        closed = [
            ClosedInterval(q, start, end, self._figures_at(q, end)) for q in [None, *self._queues]
        ]
        self._closed.extend(closed)
        self._core.close_interval()
        self._agents.clear_interval()
        self._interval += 1
        self._next_boundary = self.config.interval_start(self._interval + 1)
        day = self.config.day_index(end)
        if day != self._day:
            self._day = day
            self._core.reset_today()
            self._agents.clear_today()
            self._trend = []
        else:
            self._trend.extend(closed)

    def _figures_at(self, queue: str | None, end: float) -> QueueFigures:
        if queue is None:
            return self._figures(0, k.INTERVAL, self.config.default_targets.sl_target, None)
        t = self.config.targets_for(queue)
        return self._figures(self._groups["q:" + queue], k.INTERVAL, t.sl_target, t.sl_seconds)

    def _figures(
        self, g: int | None, scope: int, sl_target: float | None, sl_seconds: float | None
    ) -> QueueFigures:
        if g is None:
            return queue_figures([0.0] * k.F, 0, 0.0, sl_target, sl_seconds)
        n, earliest = self._core.waiting(g)
        longest = self._time() - earliest if n else 0.0
        return queue_figures(self._core.read(scope, g), n, longest, sl_target, sl_seconds)

    def _centre_work(self, now: float, scope: Scope) -> tuple[float, float, float]:
        """(talk + hold + acw, ready idle, logged-in) summed over all agents."""
        self._advance(now)
        row = self._core.read(_SCOPES[scope], 0)
        work = row[k.TALK] + row[k.HOLD] + row[k.ACW]
        ready = logged_in = 0.0
        for agent_id in self._agents.ids():
            times = self._agents.times(agent_id, scope, self._time(), self.config.window_s)
            for (state, _), secs in times.items():
                logged_in += secs
                if state is AgentState.READY:
                    ready += secs
        return work, ready, logged_in


def _row(saved: Sequence[float]) -> list[float]:
    """A checkpoint's counter row at the kernel's width: a row saved before a field was
    added (fields are only ever appended, e.g. lost_node_failure) has zeros for it."""
    return [*saved, *[0.0] * (k.F - len(saved))]


__all__ = ["Metrics", "Scope"]
