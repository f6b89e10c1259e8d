"""The ledger (issue #15.10): entries as the dialplan writes them, parsed (bad input never
raises anything but LedgerError), replayed into the call model with the right outcome, and
sorted by the resync pass into replays and deletions."""

from __future__ import annotations

import pytest

from hotline.core.events import CallEnded
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.controller.ledger import (
    CAUSE_TEXT,
    LedgerEntry,
    LedgerError,
    ledger_line,
    parse,
    replay,
)
from hotline.process.controller.ledger_pass import replays, sort
from hotline.process.controller.reconcile import KnownCall, reconcile
from hotline.telephony.ami import replies
from hotline.telephony.ami.call_model import CallModel
from hotline.telephony.ami.codec import AmiMessage
from tests.helpers import testbed

T = 1_765_000_000.0
REC = "/var/spool/asterisk/hotline/t1-1765000000.7.wav"


def line(*, entered: float = T, queued: float | str = T + 1, queue: str = "general",
         service: str = "general", caller: str = "13800000001", failsafe: float | str = "",
         answered: float | str = "", agent: str = "", talk_ms: str = "",
         talk_ended: float | str = "", ended: float = T + 20, cause: str = "16",
         recording: str = "") -> str:
    def t(x: float | str) -> str:
        return x if isinstance(x, str) else f"{x:.6f}"
    return "|".join(["1", t(entered), t(queued), queue, service, caller, t(failsafe),
                     t(answered), agent, talk_ms, t(talk_ended), t(ended), cause, recording])


def outcome(entry: LedgerEntry) -> tuple[str, float | None, str]:
    model = CallModel(short_abandon_s=5.0)
    [call] = model.apply_all(replay(entry, "t1", "95598"))
    assert not call.anomalies, call.anomalies
    return str(call.outcome), call.answered_at, call.agent_id


def test_a_failsafe_call_answered_by_app_queue() -> None:
    entry = parse("t1-1765000000.7", line(failsafe=T + 5, answered=T + 6.5, agent="agent2",
                                          recording=REC))
    assert (entry.failsafe_at, entry.answered_at, entry.agent) == (T + 5, T + 6.5, "agent2")
    assert entry.service is ServiceType.GENERAL and entry.recording == REC
    assert outcome(entry) == ("failsafe", T + 6.5, "agent2")
    events = replay(entry, "t1")
    assert events[-1] == CallEnded(T + 20, node="t1", call_id="t1-1765000000.7", cause=16,
                                   cause_text=CAUSE_TEXT)
    assert [e.at for e in events] == sorted(e.at for e in events)  # true times, in order


def test_abandoned_and_short_abandoned_by_their_wait() -> None:
    assert outcome(parse("a", line(ended=T + 3)))[0] == "short_abandoned"
    assert outcome(parse("a", line(ended=T + 30)))[0] == "abandoned"
    # app_queue took it, nobody answered: abandoned, not failsafe
    assert outcome(parse("a", line(failsafe=T + 5, ended=T + 30, recording=REC)))[0] == (
        "abandoned")
    # never queued (left in the IVR)
    assert outcome(parse("a", line(queued="", ended=T + 8)))[0] == "self_served"


def test_a_routed_call_answered_before_the_controller_went() -> None:
    """hotline-connect's Dial: the answer is its end minus ANSWEREDTIME_MS."""
    entry = parse("a", line(agent="agent1", talk_ms="12500", talk_ended=T + 18.5,
                            ended=T + 20, recording=REC))
    assert entry.answered_at == pytest.approx(T + 6.0)
    assert entry.talk_ended_at == T + 18.5
    assert outcome(entry)[:2] == ("answered", pytest.approx(T + 6.0))
    # the caller hung up on the agent: no talk end, the Dial ended with the call
    entry = parse("a", line(agent="agent1", talk_ms="4000", ended=T + 20))
    assert entry.answered_at == pytest.approx(T + 16.0)


def test_an_agent_rung_but_not_answering_is_no_answer() -> None:
    entry = parse("a", line(agent="agent1", ended=T + 30))  # HL_AGENT of a ring, no talk
    assert (entry.agent, entry.answered_at) == ("", None)
    assert outcome(entry)[0] == "abandoned"


def test_a_withheld_or_odd_caller_is_kept_as_withheld() -> None:
    assert parse("a", line(caller="")).caller == ""
    assert parse("a", line(caller="+8613800000001")).caller == "+8613800000001"
    assert parse("a", line(caller="12ab")).caller == ""


@pytest.mark.parametrize("key,value", [
    ("a", ""),
    ("a", "2|" + line()[2:]),  # another version
    ("a", line() + "|extra"),
    ("a", line().rsplit("|", 1)[0]),
    ("a b", line()),  # key is no call id
    ("a/b", line()),
    ("", line()),
    ("a", line(cause="1x")),
    ("a", line(cause="12345")),
    ("a", line(service="nonsense")),
    ("a", line(queue="gen eral")),
    ("a", line(agent="agent;1", answered=T + 5)),
    ("a", line(recording="relative/path.wav")),
    ("a", line(recording="/a b.wav")),
    ("a", line(queued="soon")),
    ("a", line(queued="nan")),
    ("a", line(queued="inf")),
    ("a", line(queued="-5")),
    ("a", line(queued=T + 100)),  # queued long after it ended
    ("a", line(entered=T + 100)),  # ended long before it entered
    ("a", line(answered=T - 50, agent="agent1")),
    ("a", line(talk_ms="12.5", agent="agent1")),
    ("a", line(talk_ms="99999999", agent="agent1")),  # answered before the call began
    ("a", "1|" + "|" * 12),
    ("a", "\x00" * 20),
])
def test_malformed_entries_raise_ledger_error_only(key: str, value: str) -> None:
    with pytest.raises(LedgerError):
        parse(key, value)


def test_small_disorder_between_stamps_is_clamped() -> None:
    entry = parse("a", line(queued=T - 0.2, failsafe=T + 20.5, ended=T + 20))
    assert entry.queued_at == T and entry.failsafe_at == T + 20


def test_a_line_round_trips() -> None:
    entry = parse("t1-1.2", line(failsafe=T + 5, answered=T + 6, agent="agent3",
                                 talk_ended=T + 19, recording=REC))
    assert parse("t1-1.2", ledger_line(entry)) == entry


def test_sort_sets_bad_entries_aside_and_replays_only_unrecorded_calls() -> None:
    ctl = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    state = ctl._state
    ledger = sort({"mine": line(), "stored": line(), "new": line(failsafe=T + 5),
                   "bad": "1|junk"})
    assert set(ledger.entries) == {"mine", "stored", "new"} and set(ledger.bad) == {"bad"}
    state.ended("mine")  # this controller recorded it from start to end
    events, delete = replays(state, "t1", ledger, recorded={"stored"})
    assert {e.call_id for e in events} == {"new"}  # type: ignore[attr-defined]
    assert sorted(delete) == ["mine", "new", "stored"]


def test_a_known_call_gone_meanwhile_ends_at_its_true_time() -> None:
    known = [KnownCall("a", "talking", "agent1"), KnownCall("b", "queued")]
    events = reconcile("n1", known, [], {}, T + 100, ended={"a": (T + 40, 16)})
    assert events == [
        CallEnded(T + 40, node="n1", call_id="a", cause=16,
                  cause_text="ended while the controller was not connected"),
        CallEnded(T + 100, node="n1", call_id="b", cause=0,
                  cause_text="ended while the controller was not connected")]


def test_db_get_tree_reply() -> None:
    reply = replies.Reply("DBGetTree", AmiMessage(
        "Response: Success\r\nEventList: start\r\nMessage: Result will follow"), (
        AmiMessage("Event: DBGetTreeResponse\r\nKey: /hotline-ledger/t1-1.2"
                                     "\r\nVal: 1|a"),
        AmiMessage("Event: DBGetTreeResponse\r\nKey: /hotline-ledger/x/y"
                                     "\r\nVal: deeper"),
    ), None)
    assert replies.db_tree(reply, "hotline-ledger") == {"t1-1.2": "1|a"}
