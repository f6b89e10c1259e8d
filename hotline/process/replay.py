"""`hotline replay`: a recorded journal fed through the controller offline (docs/replay.md).

The same Controller as live (router and its kernel, the call log, the desk, the metrics as
the live feed feeds them), marked offline: nothing goes to Asterisk, no task or timer is
started; its clock reads each input's recorded time. What the live side did with its
decisions (a ring, an answer, a wrap-up timer's end) came back to it as inputs, which the
journal holds. So the same journal and configuration give the same decisions and figures.

A comparison replays the journal again under another centre file or settings. The callers
and phones did what they did for the live decisions, so where the variant offers a call to
another agent, the rest of that call (its ring, answer, talk's end, and the live agent's
next end of wrap-up) is given to the variant's agent: the same call, talk and wrap-up times,
another agent. A call the variant leaves waiting longer is not moved in time (docs/replay.md,
"Limits").
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hotline.centre.model import Centre, QueueSpec, load_centre, parse_centre
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallRequeued,
    DtmfReceived,
    Event,
    RingNoAnswer,
    TalkEnded,
)
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
    Outcome,
    different_decisions,
    figure_changes,
)

_AGENT_EVENTS = (AgentRinging, CallAnswered, RingNoAnswer, TalkEnded, CallRequeued)


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
    settings = Settings().model_copy(update={**journals[-1].header.get("settings", {}),
                                             "replay_record": False})
    return settings, centre


@dataclass
class _Remap:
    """The variant's offers against the baseline's: a call given to another agent, and
    that agent's next end of wrap-up."""

    base: Mapping[str, list[str]]
    agent_of: dict[str, tuple[str, str]] = field(default_factory=dict)  # call: live -> new
    wrap_of: dict[str, str] = field(default_factory=dict)  # live agent -> new agent
    seen: dict[str, int] = field(default_factory=dict)

    def offered(self, call_id: str, agent_id: str) -> None:
        n = self.seen.get(call_id, 0)
        self.seen[call_id] = n + 1
        live = self.base.get(call_id, [])
        if n < len(live) and live[n] != agent_id:
            self.agent_of[call_id] = (live[n], agent_id)
        else:
            self.agent_of.pop(call_id, None)

    def event(self, event: Event) -> Event:
        if not isinstance(event, _AGENT_EVENTS):
            return event
        pair = self.agent_of.get(event.call_id)
        if pair is None or event.agent_id != pair[0]:
            return event
        if isinstance(event, TalkEnded | CallRequeued):
            self.wrap_of[pair[0]] = pair[1]
        return replace(event, agent_id=pair[1])

    def agent(self, agent_id: str, trigger: str) -> str:
        if trigger in (AgentTrigger.END_WRAP_UP, AgentTrigger.READY):
            return self.wrap_of.pop(agent_id, agent_id)
        return agent_id


def run(journals: list[jr.Journal], settings: Settings, centre: Centre,
        base: Mapping[str, list[str]] | None = None) -> Outcome:
    """Every input of the chain through an offline controller. `base` (a comparison): the
    baseline's offers, the variant's calls given to its agents (_Remap)."""
    clock = _Clock()
    ctl = Controller(settings.model_copy(update={"replay_record": False}), centre,
                     clock=clock, emit_line=lambda _line: None)
    state: ControllerState = ctl._state
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
    remap = _Remap(base) if base is not None else None
    if remap is not None:
        ctl.observe(lambda item: remap.offered(item.call_id, item.agent_id)
                    if type(item).__name__ in ("Offer", "CallbackDue") else None)
    ctl.observe(decisions)
    ctl.observe(figures)
    failed: list[str] = []
    for _index, entry in jr.entries(journals):
        clock.now = entry.t
        try:
            _feed(ctl, state, entry, remap, recorded_key)
        except Exception as exc:  # as live: the input raised (an illegal command...)
            failed.append(f"{entry.t!r} {entry.kind} {entry.what}: {exc!r}")
    return Outcome(decisions.lines, figures.finish(), decisions.offers, failed)


def _feed(ctl: Controller, state: ControllerState, entry: jr.Entry, remap: _Remap | None,
          recorded_key: list[int]) -> None:
    kind = entry.kind
    if kind == jr.EVENT:
        assert entry.event is not None
        recorded_key[0] = int(bool(entry.args[0])) if entry.args else 0
        ctl.handle(remap.event(entry.event) if remap is not None else entry.event)
    elif kind == jr.TICK:
        ctl.tick()
    elif kind == jr.COMMAND:
        _command(ctl, entry.what, list(entry.args), remap)
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


def _command(ctl: Controller, name: str, args: list[Any], remap: _Remap | None) -> None:
    if name == "agent_command":
        agent_id, trigger, reason = args
        if remap is not None:
            agent_id = remap.agent(agent_id, trigger)
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
        return out


def compare(journals: list[jr.Journal], settings: Settings, centre: Centre,
            variant_settings: Settings, variant_centre: Centre) -> Comparison:
    base = run(journals, settings, centre)
    variant = run(journals, variant_settings, variant_centre, base=base.offers)
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


__all__ = ["Comparison", "compare", "main", "recorded_setup", "run"]
