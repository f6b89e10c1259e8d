"""The call model, alone and at the end of the ingest path (replayed AMI transcripts).

Adding a transcript is adding two files to tests/fixtures/ami/: NAME.txt (raw AMI wire bytes,
as captured from the socket, greeting optional) and NAME.json with the expected calls:
{"calls": [{"call_id", "outcome", "agent_id", "queue", "wait_s", "recording",
"timeline": [[seconds since entered, what], ...]}], "responses": N (optional)}.

Every transcript is a real capture from the test bed's Asterisk (tests/fixtures/ami/README.md;
tests/asterisk/test_ami_capture.py re-captures them with HOTLINE_RECAPTURE=1), except the ones in
SYNTHETIC, whose JSON says why. Beside each JSON file,
REAL below states by hand what each one must give, so a re-capture cannot quietly change the
expectation.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallHeld,
    CallOffered,
    CallQueued,
    CallUnheld,
    EndpointStatus,
    Event,
    IvrChoice,
    RingNoAnswer,
)
from hotline.core.lifecycle import CallOutcome, CallPhase
from hotline.core.values import ServiceType
from hotline.telephony.ami.call_model import Call, CallModel
from hotline.telephony.ami.replay import Replay, replay, replay_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ami"
TRANSCRIPTS = sorted(FIXTURES.glob("*.txt"))
TOL = 0.011  # expected times are written to 0.01 s


def summary(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "outcome": str(call.outcome),
        "agent_id": call.agent_id,
        "queue": call.queue,
        "wait_s": call.wait_s,
        "recording": call.recording,
        "timeline": [[at - call.entered_at, what] for at, what in call.timeline],
    }


def check_against(r: Replay, expected: dict[str, Any]) -> None:
    got = [summary(c) for c in r.ended]
    want = expected["calls"]
    assert [g["call_id"] for g in got] == [w["call_id"] for w in want]
    for g, w in zip(got, want, strict=True):
        for key in ("outcome", "agent_id", "queue", "recording"):
            assert g[key] == w[key], (g["call_id"], key)
        if w["wait_s"] is None:
            assert g["wait_s"] is None
        else:
            assert g["wait_s"] == pytest.approx(w["wait_s"], abs=TOL)
        assert [x[1] for x in g["timeline"]] == [x[1] for x in w["timeline"]]
        assert [x[0] for x in g["timeline"]] == pytest.approx(
            [x[0] for x in w["timeline"]], abs=TOL
        )
    assert len(r.model) == 0, "every call in the transcript ended"
    assert r.model.anomaly_count == 0 and r.model.orphan_events == 0
    assert not r.mapper.stats.malformed
    assert len(r.responses) == expected.get("responses", 0)


A = "agent"  # app_queue picks the failsafe member (leastrecent): any agent
#: name -> (outcome, queue, timeline kinds); agent ids written as A match any agent
REAL: dict[str, tuple[str, str, list[str]]] = {
    "real_answered_agent_hangs_up": ("answered", "general", [
        "entered", "queued:general", "recording", "offered:agent1", "ringing:agent1",
        "answered:agent1", "talk_ended:agent1", "ended"]),
    "real_abandoned_in_queue": ("short_abandoned", "general", [
        "entered", "queued:general", "ended"]),
    "real_abandoned_long": ("abandoned", "general", ["entered", "queued:general", "ended"]),
    "real_ring_no_answer_then_answer": ("answered", "general", [
        "entered", "queued:general", "recording", "offered:agent1", "ringing:agent1",
        "ring_no_answer:agent1", "offered:agent2", "ringing:agent2", "answered:agent2",
        "ended"]),
    "real_ivr_billing_answered": ("answered", "billing", [
        "entered", "ivr:language=2", "ivr:main=3", "queued:billing", "recording",
        "offered:agent2", "ringing:agent2", "answered:agent2", "talk_ended:agent2", "ended"]),
    "real_self_served_outage": ("self_served", "", [
        "entered", "ivr:language=2", "ivr:main=2", "ended"]),
    "real_hold_unhold": ("answered", "general", [
        "entered", "queued:general", "recording", "offered:agent1", "ringing:agent1",
        "answered:agent1", "held", "unheld", "talk_ended:agent1", "ended"]),
    "real_failsafe_app_queue": ("failsafe", "complaint", [
        "entered", "ivr:language=2", "ivr:main=5", "queued:complaint", "failsafe:complaint",
        f"offered:{A}", f"ringing:{A}", f"answered:{A}", "recording", "ended"]),
    "real_transfer_to_queue": ("answered", "billing", [
        "entered", "queued:general", "recording", "offered:agent1", "ringing:agent1",
        "answered:agent1", "transferred:*8billing@hotline-agent", "requeued:billing",
        "offered:agent2", "ringing:agent2", "answered:agent2", "talk_ended:agent2", "ended"]),
    "real_callback": ("callback", "general", [
        "entered", "queued:general", "callback_requested", "left_for_callback:16", "recording",
        "offered:agent1", "ringing:agent1", "answered:agent1", "talk_ended:agent1", "ended"]),
}


#: synthetic transcripts kept, each saying why in its JSON comment
SYNTHETIC = {"answered"}  # the greeting + login bytes test_ami_codec.py reads


def test_every_transcript_is_a_real_capture_with_its_expectation() -> None:
    names = {p.stem for p in TRANSCRIPTS}
    assert names == set(REAL) | SYNTHETIC, names ^ (set(REAL) | SYNTHETIC)
    assert all(p.with_suffix(".json").exists() for p in TRANSCRIPTS)
    for name in SYNTHETIC:
        assert "SYNTHETIC" in json.loads((FIXTURES / f"{name}.json").read_text())["comment"]
    for path in (FIXTURES / f"{n}.txt" for n in REAL):  # test-bed linkedids, not made up
        for call in json.loads(path.with_suffix(".json").read_text())["calls"]:
            assert re.fullmatch(r"[a-z0-9]+-\d{10}\.\d+", call["call_id"]), call["call_id"]


def _kind(label: str) -> str:
    return re.sub(r":agent\d+", ":" + A, label)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_capture_gives_the_stated_outcome_and_timeline(name: str) -> None:
    outcome, queue, timeline = REAL[name]
    [call] = replay_file(FIXTURES / f"{name}.txt").ended
    assert (str(call.outcome), call.queue) == (outcome, queue)
    got = [w for _, w in call.timeline]
    any_agent = any(f":{A}" in w and not re.search(r":agent\d", w) for w in timeline)
    assert ([_kind(w) for w in got] if any_agent else got) == timeline
    times = [at for at, _ in call.timeline]
    assert times == sorted(times) and call.ended_at is not None


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
@pytest.mark.parametrize("reads", ["whole", "bytewise", "random"])
def test_replayed_transcript_gives_expected_calls(path: Path, reads: str) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    if reads == "whole":
        r = replay_file(path)
    elif reads == "bytewise":
        r = replay(path.read_bytes(), read_size=1)
    else:
        data, rng = path.read_bytes(), random.Random(path.stem)
        r = replay(b"")
        i = 0
        while i < len(data):
            n = rng.randint(1, 700)
            r.feed(data[i : i + n])
            i += n
    check_against(r, expected)


def test_transcript_saved_with_lf_line_ends_is_accepted(tmp_path: Path) -> None:
    src = FIXTURES / "real_hold_unhold.txt"
    lf = tmp_path / "lf.txt"
    lf.write_bytes(src.read_bytes().replace(b"\r\n", b"\n"))
    check_against(replay_file(lf), json.loads(src.with_suffix(".json").read_text()))


def test_short_abandon_threshold_is_a_constructor_argument() -> None:
    path = FIXTURES / "real_abandoned_in_queue.txt"  # waited 3.007 s
    assert replay_file(path).ended[0].outcome is CallOutcome.SHORT_ABANDONED
    assert replay_file(path, short_abandon_s=3.0).ended[0].outcome is CallOutcome.ABANDONED
    assert CallModel().short_abandon_s == 5.0
    with pytest.raises(ValueError):
        CallModel(short_abandon_s=-1)


# -- the model on hand-made event sequences ---------------------------------------------------

CID = "1700000000.1"


def entered(at: float, node: str = "pbx1", cid: str = CID) -> CallEntered:
    return CallEntered(
        at, node=node, call_id=cid, caller="139", dialed="95598", channel="PJSIP/c-1"
    )


def queued(at: float, node: str = "pbx1", cid: str = CID) -> CallQueued:
    return CallQueued(at, node=node, call_id=cid, queue="billing", service=ServiceType.BILLING)


def ended(at: float, node: str = "pbx1", cid: str = CID) -> CallEnded:
    return CallEnded(at, node=node, call_id=cid)


def run(events: list[Event], model: CallModel | None = None) -> tuple[CallModel, list[Call]]:
    model = model or CallModel()
    return model, model.apply_all(events)


@pytest.mark.parametrize(
    ("hangup_at", "outcome"),
    [(14.99, "short_abandoned"), (15.0, "short_abandoned"), (15.01, "abandoned")],
)
def test_short_abandon_boundary_is_inclusive(hangup_at: float, outcome: str) -> None:
    _, calls = run([entered(0.0), queued(10.0), ended(hangup_at)])
    assert calls[0].outcome == outcome
    assert calls[0].wait_s == pytest.approx(hangup_at - 10.0)


def test_ended_calls_are_handed_out_once_and_forgotten() -> None:
    model, calls = run([entered(0.0), queued(1.0)])
    assert calls == [] and len(model) == 1 and model.get(CID, "pbx1") is not None
    done = model.apply(ended(2.0))
    assert done is not None and done.phase is CallPhase.ENDED and done.ended_at == 2.0
    assert len(model) == 0 and model.get(CID, "pbx1") is None and model.ended_count == 1


def test_memory_stays_bounded_over_many_calls() -> None:
    model = CallModel()
    for i in range(2000):
        cid = f"{i}.1"
        model.apply_all([entered(i, cid=cid), queued(i + 1, cid=cid), ended(i + 30, cid=cid)])
        assert len(model) <= 1
    assert model.ended_count == 2000


def test_router_offer_then_ring_is_one_offer() -> None:
    events: list[Event] = [
        entered(0.0),
        queued(1.0),
        CallOffered(2.0, node="pbx1", call_id=CID, agent_id="a1", queue="billing", wait_s=1.0),
        AgentRinging(2.1, node="pbx1", call_id=CID, agent_id="a1"),
        CallAnswered(5.0, node="pbx1", call_id=CID, agent_id="a1"),
        ended(9.0),
    ]
    model, calls = run(events)
    assert [w for _, w in calls[0].timeline] == [
        "entered",
        "queued:billing",
        "offered:a1",
        "ringing:a1",
        "answered:a1",
        "ended",
    ]
    assert calls[0].wait_s == pytest.approx(4.0) and model.anomaly_count == 0


def test_two_agents_rung_at_once_one_fails_the_other_answers() -> None:
    def ring(at: float, agent: str) -> AgentRinging:
        return AgentRinging(at, node="pbx1", call_id=CID, agent_id=agent)

    events: list[Event] = [
        entered(0.0),
        queued(1.0),
        ring(2.0, "a1"),
        ring(2.0, "a2"),
        RingNoAnswer(17.0, node="pbx1", call_id=CID, agent_id="a1", cause=19),
        CallAnswered(18.0, node="pbx1", call_id=CID, agent_id="a2"),
        ended(30.0),
    ]
    model, calls = run(events)
    assert model.anomaly_count == 0 and calls[0].agent_id == "a2"
    assert [w for _, w in calls[0].timeline][-3:] == [
        "ring_no_answer:a1",
        "answered:a2",
        "ended",
    ]


def test_ring_no_answer_of_the_only_agent_requeues() -> None:
    model, _ = run(
        [
            entered(0.0),
            queued(1.0),
            AgentRinging(2.0, node="pbx1", call_id=CID, agent_id="a1"),
            RingNoAnswer(17.0, node="pbx1", call_id=CID, agent_id="a1"),
        ]
    )
    call = model.get(CID, "pbx1")
    assert call is not None and call.phase is CallPhase.QUEUED and not call.ringing


def test_ivr_path_and_self_service() -> None:
    events: list[Event] = [
        entered(0.0),
        IvrChoice(
            1.0, node="pbx1", call_id=CID, menu="main", digit="4", service=ServiceType.OUTAGE_INFO
        ),
        IvrChoice(2.0, node="pbx1", call_id=CID, menu="outage", digit="1"),
        ended(20.0),
    ]
    _, calls = run(events)
    assert calls[0].ivr_path == [("main", "4"), ("outage", "1")]
    assert calls[0].outcome is CallOutcome.SELF_SERVED and calls[0].wait_s is None


def test_duplicate_hold_from_both_legs_is_not_an_anomaly() -> None:
    answered = CallAnswered(3.0, node="pbx1", call_id=CID, agent_id="a1")
    events: list[Event] = [
        entered(0.0),
        queued(1.0),
        AgentRinging(2.0, node="pbx1", call_id=CID, agent_id="a1"),
        answered,
        CallHeld(4.0, node="pbx1", call_id=CID),
        CallHeld(4.0, node="pbx1", call_id=CID),
        CallUnheld(6.0, node="pbx1", call_id=CID),
        CallUnheld(6.0, node="pbx1", call_id=CID),
        ended(9.0),
    ]
    model, calls = run(events)
    assert [w for _, w in calls[0].timeline].count("held") == 1
    assert model.anomaly_count == 0 and calls[0].outcome is CallOutcome.ANSWERED


def test_illegal_moves_are_recorded_as_anomalies_not_raised() -> None:
    events: list[Event] = [
        entered(0.0),
        CallAnswered(1.0, node="pbx1", call_id=CID, agent_id="a1"),  # never queued nor rung
        RingNoAnswer(1.5, node="pbx1", call_id=CID, agent_id="a1"),
        entered(1.7),
        ended(2.0),
    ]
    model, calls = run(events)
    assert model.anomaly_count == 3 and len(calls[0].anomalies) == 3
    assert "ivr" in calls[0].anomalies[0] and "answer" in calls[0].anomalies[0]
    assert calls[0].outcome is CallOutcome.SELF_SERVED


def test_call_seen_mid_way_is_flagged() -> None:
    model, _ = run([queued(5.0)])
    call = model.live()[0]
    assert not call.seen_start and call.entered_at == 5.0 and call.phase is CallPhase.QUEUED


def test_events_of_unknown_calls_open_nothing() -> None:
    # e.g. an agent's own call from hotline-agent: its Hangup must not become a phantom call.
    model, calls = run(
        [
            ended(1.0, cid="agent-call"),
            CallHeld(2.0, node="pbx1", call_id="other"),
            AgentRinging(3.0, node="pbx1", call_id="third", agent_id="a1"),
        ]
    )
    assert calls == [] and len(model) == 0 and model.orphan_events == 3


def test_same_linkedid_on_two_nodes_are_two_calls() -> None:
    model, calls = run([entered(0.0, "a"), entered(0.5, "b"), queued(1.0, "a"), ended(2.0, "b")])
    assert [c.node for c in calls] == ["b"] and len(model) == 1
    assert model.get(CID, "a") is not None


def test_non_call_events_are_passed_over() -> None:
    model, calls = run([EndpointStatus(1.0, node="pbx1", endpoint="a1", reachable=True)])
    assert calls == [] and len(model) == 0


def test_expire_evicts_calls_whose_hangup_was_lost() -> None:
    model, _ = run([entered(0.0, cid="old"), entered(100.0, cid="new")])
    stale = model.expire(before=50.0)
    assert [c.call_id for c in stale] == ["old"] and [c.call_id for c in model.live()] == ["new"]
