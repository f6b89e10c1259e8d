"""`hotline replay`: a recorded journal fed through the controller offline (docs/replay.md).

The same Controller as live (router and its kernel, the call log, the desk, the metrics as
the live feed feeds them), marked offline: nothing goes to Asterisk, no task or timer is
started; its clock reads each input's recorded time. What the live side did with its
decisions (a ring, an answer, a wrap-up timer's end) came back to it as inputs, which the
journal holds. So the same journal and configuration give the same decisions and figures.

A comparison replays the journal again under another centre file or settings. The callers
and phones did what they did for the live decisions, so a call's life after each offer (its
ring, answer, talk's end, hang-up, and its agent's next end of wrap-up) is a segment that
follows the variant's offer: moved in time by the variant's offer time less the live one, and
given to the variant's agent (the same ring, talk and wrap-up times). A call the variant does
not offer by the time its caller hung up live is abandoned then (docs/replay.md, "Limits").
"""

from __future__ import annotations

import bisect
import heapq
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hotline.centre.model import Centre, QueueSpec, load_centre, parse_centre
from hotline.core.events import CallEnded, CallRequeued, DtmfReceived, TalkEnded
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.controller.state import ControllerState
from hotline.process.wiring import agent_queues, metrics_config
from hotline.realtime.metrics import Metrics
from hotline.replay import journal as jr
from hotline.replay.report import (
    DecisionTap,
    Difference,
    FiguresTap,
    HistoryTap,
    Outcome,
    different_decisions,
    figure_changes,
)
from hotline.router import Offer
from hotline.router.decisions import CallbackDue


class _Clock:
    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def recorded_setup(journals: list[jr.Journal]) -> tuple[Settings, Centre]:
    """The settings and the centre the recording ran with."""
    first = journals[0].header
    if not first.get("centre"):
        raise jr.JournalError(f"{journals[0].path}: no centre in the chain's first header")
    centre = parse_centre(tomllib.loads(first["centre"]))
    base = Settings()
    recorded = {k: Path(v) if isinstance(getattr(base, k, None), Path) else v
                for k, v in journals[-1].header.get("settings", {}).items()}
    settings = base.model_copy(update={**recorded, "replay_record": False})
    return settings, centre


@dataclass(frozen=True, slots=True)
class LiveOffer:
    """An offer of the baseline run: to whom, when, in which input (its index)."""

    agent_id: str
    t: float
    index: int


class _Variant:
    """The recorded day under a change (see the module's doc). Each call's life after an
    offer (its events from that offer to the next, and its agent's end of wrap-up after the
    talk) is a segment: fed when the variant makes that offer, moved by the variant's offer
    time less the live one and given to the variant's agent. A segment whose offer the
    variant has not made is held back; the caller's hang-up in it comes at its recorded
    time (the caller gave up waiting)."""

    def __init__(self, entries: list[jr.Entry], base: Mapping[str, list[LiveOffer]]) -> None:
        self.entries = entries
        self.base = base
        self.made: dict[str, int] = {}  # call id -> offers the variant made
        self.moved: set[int] = set()  # inputs scheduled on the heap (skipped in the stream)
        self.heap: list[tuple[float, int, jr.Entry]] = []
        self.events_of: dict[str, list[int]] = {}
        self.wraps_of: dict[str, list[int]] = {}  # agent -> its END_WRAP_UP / READY inputs
        for i, e in enumerate(entries):
            call_id = getattr(e.event, "call_id", None) if e.kind == jr.EVENT else None
            if call_id is not None and call_id in base:
                self.events_of.setdefault(call_id, []).append(i)
            elif e.kind == jr.COMMAND and e.what == "agent_command" \
                    and e.args[1] in (AgentTrigger.END_WRAP_UP, AgentTrigger.READY):
                self.wraps_of.setdefault(e.args[0], []).append(i)
        #: where an agent's part of a call ends, and the live agent: TalkEnded or a
        #: transfer, else (the caller hung up first) the call's end
        self.talk_ends: dict[int, str] = {}
        for call_id, indices in self.events_of.items():
            parts = {i: e.agent_id for i in indices
                     if isinstance(e := entries[i].event, TalkEnded | CallRequeued)}
            if not parts:
                for i in indices:
                    n = self.segment_of(call_id, i)
                    if isinstance(entries[i].event, CallEnded) and n >= 0:
                        parts[i] = base[call_id][n].agent_id
            self.talk_ends.update(parts)
        #: an agent's end of wrap-up -> the talk's end it follows (held with its segment)
        self.wrap_after: dict[int, tuple[str, int]] = {}
        for i, agent_id in self.talk_ends.items():
            wraps = self.wraps_of.get(agent_id, [])
            k = bisect.bisect_right(wraps, i)
            if k < len(wraps):
                call_id = getattr(entries[i].event, "call_id", "")
                self.wrap_after[wraps[k]] = (call_id, i)

    def segment_of(self, call_id: str, index: int) -> int:
        """Which of the call's live offers the input follows (-1: none yet)."""
        n = -1
        for k, offer in enumerate(self.base[call_id]):
            if offer.index < index:
                n = k
        return n

    def offered(self, call_id: str, agent_id: str, now: float) -> None:
        n = self.made.get(call_id, 0)
        self.made[call_id] = n + 1
        live = self.base.get(call_id, [])
        if n >= len(live):
            return
        offer = live[n]
        until = live[n + 1].index if n + 1 < len(live) else len(self.entries)
        shift = now - offer.t
        for i in self.events_of.get(call_id, []):
            if not offer.index < i <= until or i in self.moved:
                continue
            e = self.entries[i]
            event: Any = e.event
            if getattr(event, "agent_id", None) == offer.agent_id:
                event = replace(event, agent_id=agent_id)
            self._schedule(i, replace(e, t=e.t + shift, event=replace(event,
                                                                      at=event.at + shift)))
            if i in self.talk_ends:
                self._wrap(self.talk_ends[i], agent_id, i, shift)

    def _wrap(self, live_agent: str, agent_id: str, after: int, shift: float) -> None:
        wraps = self.wraps_of.get(live_agent, [])
        k = bisect.bisect_right(wraps, after)
        if k < len(wraps) and wraps[k] not in self.moved:
            e = self.entries[wraps[k]]
            self._schedule(wraps[k], replace(e, t=e.t + shift,
                                             args=(agent_id, *e.args[1:])))

    def _schedule(self, index: int, entry: jr.Entry) -> None:
        self.moved.add(index)
        heapq.heappush(self.heap, (entry.t, index, entry))

    def held(self, index: int, entry: jr.Entry) -> bool:
        """Whether the stream's input waits for the variant's offer (or is on the heap)."""
        if index in self.moved:
            return True
        if index in self.wrap_after:  # the end of a wrap-up: its talk's segment decides
            call_id, index = self.wrap_after[index]
            return self.made.get(call_id, 0) <= self.segment_of(call_id, index)
        call_id = getattr(entry.event, "call_id", None) if entry.kind == jr.EVENT else None
        if call_id is None or call_id not in self.base:
            return False
        n = self.segment_of(call_id, index)
        if n < 0 or self.made.get(call_id, 0) > n:
            return False
        # the variant keeps the caller waiting: only the hang-up comes, as recorded
        if isinstance(entry.event, CallEnded):
            self.moved.add(index)  # fed now, never again with an offer made later
            return False
        return True

    def due(self, t: float, index: int) -> list[tuple[int, jr.Entry]]:
        """The scheduled inputs that come before the stream's input `index` at `t`."""
        out = []
        while self.heap and (self.heap[0][0], self.heap[0][1]) < (t, index):
            _t, i, e = heapq.heappop(self.heap)
            out.append((i, e))
        return out


def run(journals: list[jr.Journal], settings: Settings, centre: Centre,
        base: Mapping[str, list[LiveOffer]] | None = None) -> Outcome:
    """Every input of the chain through an offline controller. `base` (a comparison): the
    baseline's offers, the recorded day played under this configuration (_Variant)."""
    clock = _Clock()
    ctl = Controller(settings.model_copy(update={"replay_record": False}), centre,
                     clock=clock, emit_line=lambda _line: None)
    state: ControllerState = ctl._state  # the replay is the controller's twin
    state.offline = state.routing = True
    recorded_key = [0]
    # the callback key: taken or not as live (it read the hold desk's sessions)
    ctl._arriving[DtmfReceived] = lambda _s, _e: bool(recorded_key[0])
    decisions = DecisionTap(clock)
    metrics = Metrics(metrics_config(centre, settings))
    metrics.declare_queues(q.name for q in centre.queues)
    for agent_id, queues in agent_queues(centre).items():
        metrics.set_agent_queues(agent_id, queues)
    figures = FiguresTap(metrics)
    entries = [e for _i, e in jr.entries(journals)]
    variant = _Variant(entries, base) if base is not None else None
    current = [0]
    live_offers: dict[str, list[LiveOffer]] = {}

    def offered(item: object) -> None:
        if isinstance(item, Offer | CallbackDue):
            live_offers.setdefault(item.call_id, []).append(
                LiveOffer(item.agent_id, clock.now, current[0]))
            if variant is not None:
                variant.offered(item.call_id, item.agent_id, clock.now)

    history = history_tap(settings)
    ctl.observe(offered)
    ctl.observe(decisions)
    ctl.observe(figures)
    ctl.observe(history)
    failed: list[str] = []

    def feed(index: int, entry: jr.Entry) -> None:
        current[0] = index
        clock.now = entry.t
        try:
            _feed(ctl, state, entry, recorded_key)
        except Exception as exc:  # as live: the input raised (an illegal command...)
            failed.append(f"{entry.t!r} {entry.kind} {entry.what}: {exc!r}")

    for index, entry in enumerate(entries):
        if variant is not None:
            for i, due in variant.due(entry.t, index):
                feed(i, due)
            if variant.held(index, entry):
                continue
        feed(index, entry)
    if variant is not None:
        for i, due in variant.due(float("inf"), len(entries)):
            feed(i, due)
    return Outcome(decisions.lines, figures.finish(), decisions.offers, failed,
                   live_offers=live_offers, history=history.lines)


def history_tap(settings: Settings) -> HistoryTap:
    """The history recorder as the platform makes it, its records kept as lines."""
    return HistoryTap(settings.short_abandon_s, settings.recordings_dir,
                      settings.recordings_dir_in_root)


def _feed(ctl: Controller, state: ControllerState, entry: jr.Entry,
          recorded_key: list[int]) -> None:
    kind = entry.kind
    if kind == jr.EVENT:
        assert entry.event is not None
        recorded_key[0] = int(bool(entry.args[0])) if entry.args else 0
        ctl.handle(entry.event)
    elif kind == jr.TICK:
        ctl.tick()
    elif kind == jr.COMMAND:
        _command(ctl, entry.what, list(entry.args))
    elif kind == jr.OUTBOUND:
        queued = entry.event
        assert queued is not None
        state.outbound[queued.call_id] = entry.what  # type: ignore[attr-defined]
        state.callback_nodes[queued.call_id] = queued.node
        ctl.handle(queued)
    elif kind == jr.RECORDED:
        assert entry.event is not None
        state.record(entry.event)
        if isinstance(entry.event, CallEnded):
            state.ended(entry.event.call_id)


def _command(ctl: Controller, name: str, args: list[Any]) -> None:
    if name == "agent_command":
        agent_id, trigger, reason = args
        ctl.agent_command(agent_id, AgentTrigger(trigger), reason)
    elif name == "set_skills":
        ctl.set_skills(args[0], dict(args[1]))
    elif name == "mark_repeat":
        ctl.mark_repeat(args[0], args[1])
    elif name == "add_agent":
        ctl.add_agent(args[0], dict(args[1]), args[2])
    elif name == "remove_agent":
        ctl.remove_agent(args[0])
    elif name == "put_queue":
        spec = dict(args[0])
        spec["service"] = ServiceType(spec["service"])
        ctl.put_queue(QueueSpec(**spec))
    elif name == "set_vip_numbers":
        ctl.set_vip_numbers(args[0])
    elif name == "remove_queue":
        ctl.remove_queue(args[0])


@dataclass(frozen=True)
class Comparison:
    base: Outcome
    variant: Outcome
    decisions: list[Difference]
    figures: list[dict[str, Any]]

    def lines(self) -> list[str]:
        out = [f"decisions that differ: {len(self.decisions)}"]
        out += [f"  {d.call_id}: {','.join(d.before) or '-'} -> {','.join(d.after) or '-'}"
                for d in self.decisions]
        out.append(f"intervals whose figures differ: {len(self.figures)}")
        out += ["  " + json.dumps(r, sort_keys=True) for r in self.figures]
        if self.variant.failed:  # the change's state refused inputs of the recorded day
            out.append(f"inputs the change refused: {len(self.variant.failed)}")
            out += [f"  {f}" for f in self.variant.failed]
        return out


def compare(journals: list[jr.Journal], settings: Settings, centre: Centre,
            variant_settings: Settings, variant_centre: Centre) -> Comparison:
    base = run(journals, settings, centre)
    variant = run(journals, variant_settings, variant_centre, base=base.live_offers)
    return Comparison(base, variant, different_decisions(base.offers, variant.offers),
                      figure_changes(base.figures, variant.figures))


def main(path: Path, *, centre_file: Path | None = None, overrides: Mapping[str, str],
         out: Path | None, emit: Any = print) -> int:
    """The CLI's `hotline replay`. Exit 0: replayed (and compared); 1: lines quarantined
    (the replay went on without them: not the live run's decisions)."""
    journals = jr.chain(path)
    settings, centre = recorded_setup(journals)
    quarantined = [q for j in journals for q in j.quarantined]
    for q in quarantined:
        emit(f"replay: {q}")
    if centre_file is None and not overrides:
        outcome = run(journals, settings, centre)
        if len(journals) > 1 and journals[-1].entries:  # the files before: the state only
            outcome = outcome.since(journals[-1].entries[0].t)
        text = outcome.text()
        if out is not None:
            out.write_text(text)
        else:
            emit(text, end="")
        for f in outcome.failed:
            emit(f"replay: input raised (as live): {f}")
        emit(f"replay: {sum(len(j.entries) for j in journals)} inputs from {len(journals)} "
             f"file(s): {len(outcome.decisions)} decisions, {len(outcome.figures)} interval "
             "rows")
        return 1 if quarantined else 0
    variant_centre = load_centre(centre_file) if centre_file is not None else centre
    variant_settings = settings.model_copy(update={
        k: type(getattr(settings, k))(v) for k, v in overrides.items()})
    result = compare(journals, settings, centre, variant_settings, variant_centre)
    report = "\n".join(result.lines()) + "\n"
    if out is not None:
        out.write_text(report)
    else:
        emit(report, end="")
    return 1 if quarantined else 0


__all__ = ["Comparison", "compare", "history_tap", "main", "recorded_setup", "run"]
