"""The replay journal (docs/replay.md): its format (round trip, version, a corrupt line
quarantined with a clear error), a recorded session replayed to the same decisions and
figures, and a changed policy's comparison listing the decisions that differ."""

from __future__ import annotations

import heapq
import itertools
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.centre.model import Centre, parse_centre
from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    DtmfReceived,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process import replay
from hotline.process.controller import Controller
from hotline.process.wiring import agent_queues, metrics_config
from hotline.realtime.metrics import Metrics
from hotline.replay import journal as jr
from hotline.replay.report import DecisionTap, FiguresTap
from hotline.replay.writer import JournalWriter
from hotline.router import Offer

CENTRE = """
[[queues]]
name = "general"
service = "general"
required = { general = 1 }
policy = "{policy}"
sl_seconds = 20

[[agents]]
id = "a1"
skills = { general = 1 }

[[agents]]
id = "a2"
skills = { general = 5 }
"""
T0 = 1_796_000_000.0  # 2026-11-29 in the centre's day
#: when each caller arrives (s after T0), how long each talks
ARRIVALS = {"c0": 10.0, "c1": 200.0, "c2": 205.0, "c3": 700.0}
TALK = {"c0": 60.0, "c1": 120.0, "c2": 50.0, "c3": 40.0}


def centre(policy: str = "longest_idle") -> Centre:
    return parse_centre(tomllib.loads(CENTRE.replace("{policy}", policy)))


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def record_session(tmp: Path) -> tuple[Path, str]:
    """A controller recording while it is driven as AMI and agents would drive it (offline:
    nothing goes to an Asterisk): callers arrive, each offer rings 1 s later and is answered
    2 s after that, talk, hang-up, 30 s of wrap-up; a tick every 5 s. Its journal and the text
    its taps saw live."""
    clock = Clock()
    settings = Settings(replay_record=True, replay_dir=tmp, wrap_up_s=0.0)
    ctl = Controller(settings, centre(), clock=clock, emit_line=lambda _l: None)
    state = ctl._state  # offline, as the replay runs it
    state.offline = state.routing = True
    decisions = DecisionTap(ctl.clock)
    metrics = Metrics(metrics_config(ctl.centre, settings))
    metrics.declare_queues(["general"])
    for agent, queues in agent_queues(ctl.centre).items():
        metrics.set_agent_queues(agent, queues)
    figures = FiguresTap(metrics)
    history = replay.history_tap(settings)
    ctl.observe(decisions)
    ctl.observe(figures)
    ctl.observe(history)
    plan: list[tuple[float, int, Callable[[], None]]] = []
    seq = itertools.count()

    def at(t: float, action: Callable[[], None]) -> None:
        heapq.heappush(plan, (T0 + t, next(seq), action))

    def on_offer(item: object) -> None:
        if not isinstance(item, Offer):
            return
        call, agent, t = item.call_id, item.agent_id, clock.t - T0
        talk = TALK[call]
        at(t + 1, lambda: ctl.handle(AgentRinging(clock.t, node="pbx1", call_id=call,
                                                  agent_id=agent)))
        at(t + 2, lambda: ctl.handle(DtmfReceived(clock.t, node="pbx1", call_id=call,
                                                  digit="5")))
        at(t + 3, lambda: ctl.handle(CallAnswered(clock.t, node="pbx1", call_id=call,
                                                  agent_id=agent)))
        at(t + 3 + talk, lambda: ctl.handle(TalkEnded(clock.t, node="pbx1", call_id=call,
                                                      agent_id=agent)))
        at(t + 4 + talk, lambda: ctl.handle(CallEnded(clock.t, node="pbx1", call_id=call)))
        at(t + 34 + talk, lambda: ctl.agent_command(agent, AgentTrigger.END_WRAP_UP))

    ctl.observe(on_offer)
    for agent in ("a1", "a2"):
        at(0, lambda agent=agent: ctl.agent_command(agent, AgentTrigger.LOGIN))
    at(1, lambda: ctl.agent_command("a2", AgentTrigger.READY))  # a2 idle the longer
    at(2, lambda: ctl.agent_command("a1", AgentTrigger.READY))
    for call, start in ARRIVALS.items():
        at(start, lambda call=call: ctl.handle(CallQueued(
            clock.t, node="pbx1", call_id=call, queue="general",
            service=ServiceType.GENERAL, caller="139", channel=f"ch-{call}")))
    for t in range(0, 1500, 5):
        at(t + 0.5, ctl.tick)
    while plan:
        clock.t, _n, action = heapq.heappop(plan)
        action()
    path = ctl.recording.writer.path  # type: ignore[union-attr]
    ctl.recording.close()  # type: ignore[union-attr]
    return path, "".join(f"{line}\n" for line in
                         [*decisions.lines, "", *figures.finish(), "", *history.lines])


def test_a_recorded_session_replays_to_the_same_decisions_and_figures(tmp_path: Path) -> None:
    path, live = record_session(tmp_path)
    journals = jr.chain(path)
    settings, recorded_centre = replay.recorded_setup(journals)
    assert recorded_centre == centre()
    outcome = replay.run(journals, settings, recorded_centre)
    assert outcome.failed == []
    assert "Offer" in live and '"occupancy"' in live and '["CallRecord",' in live
    assert outcome.text() == live  # byte for byte


def test_the_format_round_trips_every_kind(tmp_path: Path) -> None:
    w = JournalWriter(tmp_path, {"centre": "", "settings": {}}, utc_offset_s=8 * 3600,
                      max_bytes=1 << 20, keep_days=3)
    queued = CallQueued(T0 + 0.1, node="n", call_id="x", queue="q",
                        service=ServiceType.BILLING, caller="1", priority=3, channel="c",
                        takes_callback_key=False)
    changed = AgentStateChanged(T0 + 0.2, agent_id="a", old=AgentState.READY,
                                new=AgentState.RESERVED, call_id="x")
    w.line(T0, [T0, "e", "CallQueued", jr.event_fields(queued)])
    w.line(T0, [T0, "e", "DtmfReceived",
                jr.event_fields(DtmfReceived(T0, call_id="x", digit="1")), 1])
    w.line(T0, [T0, "r", "AgentStateChanged", jr.event_fields(changed)])
    w.line(T0, [T0, "c", "agent_command", ["a", "ready", ""]])
    w.line(T0, [T0, "o", "13900000000", jr.event_fields(queued)])
    w.line(T0 + 1 / 3, [T0 + 1 / 3, "t"])
    w.close()
    j = jr.read(w.path)  # type: ignore[arg-type]
    assert j.header["version"] == jr.VERSION and j.header["follows"] is None
    assert j.quarantined == []
    e = j.entries
    assert e[0].event == queued and e[2].event == changed
    assert e[1].args == (1,)
    assert (e[3].what, e[3].args) == ("agent_command", ("a", "ready", ""))
    assert (e[4].what, e[4].event) == ("13900000000", queued)
    assert e[5].t == T0 + 1 / 3 and e[5].kind == "t"  # floats exactly


def test_another_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.hlr"
    path.write_text(jr.encode_line({"format": jr.FORMAT, "version": 99}))
    with pytest.raises(jr.JournalError, match="version 99; this hotline replays version 1"):
        jr.read(path)
    path.write_text("hello\n")
    with pytest.raises(jr.JournalError, match="not a replay journal header"):
        jr.read(path)


def test_a_corrupt_line_is_quarantined_with_its_number_and_reason(tmp_path: Path) -> None:
    path, _live = record_session(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if i > 0 and '"a2"' in line)
    lines[k] = lines[k].replace('"a2"', '"a9"', 1)  # a changed byte: the checksum says so
    lines[k + 2] = "0000abcd [1,2\n"  # cut short
    lines[k + 3] = lines[k + 3].split(" ", 1)[1]  # no checksum
    path.write_text("".join(lines))
    j = jr.read(path)
    assert [(q.line, q.reason) for q in j.quarantined] == [
        (k + 1, "checksum mismatch"), (k + 3, "checksum mismatch"), (k + 4, "no checksum")]
    assert len(j.entries) == len(lines) - 1 - 3
    shown: list[str] = []
    assert replay.main(path, overrides={}, out=tmp_path / "out.txt",
                       emit=lambda *a, **_k: shown.append(" ".join(map(str, a)))) == 1
    assert any(f"{path}:{k + 1}: quarantined (checksum mismatch)" in s for s in shown)


def test_a_new_day_starts_a_file_that_follows_and_old_days_go(tmp_path: Path) -> None:
    (tmp_path / "2024-09-01T000000.hlr").write_text("old")
    w = JournalWriter(tmp_path, {"centre": "c", "settings": {}}, utc_offset_s=0,
                      max_bytes=300, keep_days=3)
    day = 86_400.0 * 20_000
    w.line(day + 5, [day + 5, "t"])
    first = w.path
    w.line(day + 86_400, [day + 86_400, "t"])
    second = w.path
    assert first != second and not (tmp_path / "2024-09-01T000000.hlr").exists()
    for i in range(20):  # past the size bound: a STOPPED line, then nothing
        w.line(day + 86_401 + i, [day + 86_401 + i, "t"])
    w.close()
    j = jr.read(second)  # type: ignore[arg-type]
    assert j.header["follows"] == first.name and "centre" not in j.header  # type: ignore
    assert j.stopped and w.dropped > 0
    assert [x.path for x in jr.chain(second)] == [first, second]  # type: ignore[arg-type]


def test_the_same_configuration_compared_changes_nothing(tmp_path: Path) -> None:
    path, _live = record_session(tmp_path)
    journals = jr.chain(path)
    settings, recorded = replay.recorded_setup(journals)
    result = replay.compare(journals, settings, recorded, settings, recorded)
    assert result.decisions == [] and result.figures == []
    assert result.variant.text() == result.base.text()


def test_a_changed_policy_lists_the_decisions_that_differ(tmp_path: Path) -> None:
    path, _live = record_session(tmp_path)
    journals = jr.chain(path)
    settings, recorded = replay.recorded_setup(journals)
    result = replay.compare(journals, settings, recorded, settings, centre("most_skilled"))
    # longest idle: c0 to a2 (idle since t+1), c1 to a1 (idle since t+2, a2 since its
    # wrap-up's end), c2 to a2; most skilled: a2 first whenever it is free
    assert result.base.offers == {"c0": ["a2"], "c1": ["a1"], "c2": ["a2"], "c3": ["a2"]}
    assert result.variant.offers == {"c0": ["a2"], "c1": ["a2"], "c2": ["a1"], "c3": ["a2"]}
    assert [(d.call_id, d.before, d.after) for d in result.decisions] == [
        ("c1", ["a1"], ["a2"]), ("c2", ["a2"], ["a1"])]
    assert result.variant.failed == []
    # the same calls, talk and wrap-up times, other agents: the centre's figures stand
    assert result.figures == []
    lines = result.lines()
    assert lines[:3] == ["decisions that differ: 2", "  c1: a1 -> a2", "  c2: a2 -> a1"]


def test_a_call_the_change_keeps_waiting_moves_the_figures(tmp_path: Path) -> None:
    """Only a2 qualifies under the change: c1 goes to a2, so c2 (live: a2 at once) waits
    for a2, which is still talking when c2's caller hung up live (after its 50 s talk): the
    caller gives up then, an abandon, and the interval's figures say so."""
    path, _live = record_session(tmp_path)
    journals = jr.chain(path)
    settings, recorded = replay.recorded_setup(journals)
    only_a2 = parse_centre(tomllib.loads(
        CENTRE.replace("{policy}", "longest_idle").replace("general = 1 }\npolicy",
                                                           "general = 2 }\npolicy")))
    result = replay.compare(journals, settings, recorded, settings, only_a2)
    assert result.variant.offers == {"c0": ["a2"], "c1": ["a2"], "c3": ["a2"]}
    assert [(d.call_id, d.before, d.after) for d in result.decisions] == [
        ("c1", ["a1"], ["a2"]), ("c2", ["a2"], [])]
    assert result.variant.failed == []
    changed = {(r["queue"], r["start"]): r for r in result.figures}
    interval = T0 + 200 - (T0 + 200 + 8 * 3600) % 900
    row = changed[(None, interval)]
    assert row["abandoned"] == (0, 1)
    assert row["answered"] == (3, 2)  # c0, c1 and c2 came in this interval
    assert row["service_level"] == (1.0, 2 / 3)
    assert result.lines()[2] == "  c2: a2 -> -"


def test_a_day_file_replays_its_chain_and_reports_its_own_day(tmp_path: Path) -> None:
    """The agents logged in the day before: the next day's file alone shows the next day's
    decisions, made from the state its predecessor built."""
    from hotline.process.controller.recording import header

    settings = Settings(wrap_up_s=0.0)
    w = JournalWriter(tmp_path, header(settings, centre()), utc_offset_s=settings.utc_offset_s,
                      max_bytes=1 << 20, keep_days=3)
    day = T0 - (T0 + settings.utc_offset_s) % 86_400 + 86_400  # the next local midnight
    w.line(day - 60, [day - 60, "c", "agent_command", ["a1", "login", ""]])
    w.line(day + 60, [day + 60, "c", "agent_command", ["a1", "ready", ""]])
    w.close()
    second = w.path
    assert second is not None and jr.read(second).header["follows"] is not None
    out = tmp_path / "out.txt"
    assert replay.main(second, overrides={}, out=out, emit=lambda *_a, **_k: None) == 0
    decisions = out.read_text().split("\n\n")[0].splitlines()
    assert [(json.loads(d)[0], json.loads(d)[5:7]) for d in decisions] == [
        (day + 60, ["not_ready", "ready"])]
