"""Deterministic replay on the real Asterisk (docs/replay.md): a controller recording its
inputs routes SIPp callers to SIPp agents (one caller waits for an agent's wrap-up timer);
its journal, replayed offline, gives the decisions and the figures the live run produced,
byte for byte."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import AgentStateChanged, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.process import replay
from hotline.process.wiring import agent_queues, metrics_config
from hotline.realtime.metrics import Metrics
from hotline.replay import journal as jr
from hotline.replay.report import DecisionTap, FiguresTap, HistoryTap
from hotline.router import Offer
from hotline.telephony.agi.server import Handler
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk

CALLERS = ("13500000901", "13500000902", "13500000903")


class Live:
    """The recording controller and what its taps saw."""

    def __init__(self, ctl: ObservedController, decisions: DecisionTap,
                 figures: FiguresTap, history: HistoryTap) -> None:
        self.ctl, self.decisions, self.figures, self.history = ctl, decisions, figures, history
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True
        await self.ctl.stop()


@pytest.fixture
async def live(asterisk_node: Settings, centre: Centre, agi_scripts: dict[str, Handler],
               tmp_path: Path, loop_errors: list[dict[str, Any]]) -> AsyncIterator[Live]:
    settings = asterisk_node.model_copy(update={
        "replay_record": True, "replay_dir": tmp_path, "wrap_up_s": 1.0})
    lines: list[str] = []
    ctl = ObservedController(settings, centre, emit_line=lines.append)
    # the taps watch from the first input on (the start's resync included)
    decisions = DecisionTap(ctl.clock)
    metrics = Metrics(metrics_config(centre, settings))
    metrics.declare_queues(q.name for q in centre.queues)
    for agent_id, queues in agent_queues(centre).items():
        metrics.set_agent_queues(agent_id, queues)
    figures = FiguresTap(metrics)
    history = replay.history_tap(settings)  # the recorder's rows, kept as lines
    ctl.observe(decisions)
    ctl.observe(figures)
    ctl.observe(history)
    agi_scripts["hold"] = ctl.holds.serve
    await ctl.start()
    bed = Live(ctl, decisions, figures, history)
    try:
        yield bed
    finally:
        if not bed.stopped:
            await ctl.stop()
        print("\n".join(lines))


async def test_a_recorded_live_session_replays_to_the_same_decisions_and_figures(
        live: Live, phones: Phones) -> None:
    ctl = live.ctl
    for n in (1, 2):
        phones.agent(n, ring_ms=300)
    ready(ctl, "agent1", "agent2")
    # three callers, two agents: the third waits for the first wrap-up timer to end
    callers = []
    for number in CALLERS:
        callers.append(phones.caller(number, talk_ms=2_500))
        await ctl.wait_for(lambda e, number=number: isinstance(e, CallQueued)
                           and e.caller == number, 10)
    ids = [e.call_id for e in ctl.history if isinstance(e, CallQueued)]
    for call_id in ids:
        await ctl.wait_for(lambda e, c=call_id: isinstance(e, CallEnded) and e.call_id == c,
                           30)
    for caller in callers:
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    # the last wrap-up timers end (an input of their own: the timer's END_WRAP_UP)
    await wait_for(lambda: all(ctl.router.agent(a).state is AgentState.READY
                               for a in ("agent1", "agent2")), 10, "both agents ready again")
    assert sum(isinstance(e, AgentStateChanged) and e.old is AgentState.AFTER_CALL_WORK
               for e in ctl.history) == len(ids)
    logout(ctl, "agent1", "agent2")
    offers = [x for x in ctl.history if isinstance(x, Offer)]
    assert {o.call_id for o in offers} == set(ids), "every caller was offered an agent"
    path = ctl.recording.writer.path  # type: ignore[union-attr]
    await live.stop()  # the journal closed, the taps saw their last item
    live_text = "".join(f"{line}\n" for line in
                        [*live.decisions.lines, "", *live.figures.finish(), "",
                         *live.history.lines])

    journals = jr.chain(path)
    assert [q for j in journals for q in j.quarantined] == []
    settings, centre = replay.recorded_setup(journals)
    outcome = replay.run(journals, settings, centre)
    assert outcome.text() == live_text  # byte for byte
    by_call: dict[str, list[str]] = {}
    for o in offers:
        by_call.setdefault(o.call_id, []).append(o.agent_id)
    assert outcome.offers == by_call
    assert outcome.failed == []
    kinds = {e.kind for j in journals for e in j.entries}
    assert {"e", "c", "t"} <= kinds  # AMI events and hold sessions, commands, ticks
    rows = [json.loads(line) for line in outcome.figures]
    assert sum(r["answered"] for r in rows if r["queue"] is None) == len(ids)
    assert any(r["occupancy"] for r in rows)
    calls = [json.loads(h)[1] for h in outcome.history if h.startswith('["CallRecord",')]
    assert sorted(c["call_id"] for c in calls) == sorted(ids)
    assert {c["outcome"] for c in calls} == {"answered"}
    # the day compared under its own configuration: nothing differs (the variant's segments
    # follow its offers, made at the live times)
    same = replay.compare(journals, settings, centre, settings, centre)
    assert (same.decisions, same.figures, same.variant.failed) == ([], [], [])
    assert same.variant.text() == live_text
    # agent1 made less skilled than agent2: the first caller (both agents free) goes to
    # agent2, the second to agent1; the report lists them
    skilled = replace(centre, agents=[
        replace(a, skills={**a.skills, "general": 1}) if a.id == "agent1" else a
        for a in centre.agents])
    changed = replay.compare(journals, settings, centre, settings, skilled)
    listed = {d.call_id: (d.before, d.after) for d in changed.decisions}
    assert listed[ids[0]] == (["agent1"], ["agent2"])
    assert listed[ids[1]] == (["agent2"], ["agent1"])
    assert changed.variant.failed == []
    assert changed.lines()[0] == f"decisions that differ: {len(changed.decisions)}"
