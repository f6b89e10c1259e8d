"""EventMapper: every row of docs/dialplan-contract.md, and what it refuses to guess."""

from __future__ import annotations

import logging

import pytest

from hotline.core.events import (
    AgentRinging,
    AsteriskBooted,
    AsteriskShuttingDown,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallHeld,
    CallQueued,
    CallRequeued,
    CallTransferred,
    CallUnheld,
    ChannelCreated,
    ChannelHungUp,
    ChannelStateChanged,
    DtmfReceived,
    EndpointStatus,
    FailsafeTaken,
    IvrChoice,
    RecordingStarted,
    RecordingStopped,
    RingNoAnswer,
)
from hotline.core.values import ServiceType
from hotline.telephony.ami.codec import AmiMessage
from hotline.telephony.ami.mapper import MAX_NAMES, EventMapper, Malformed, endpoint_of

TS = "1700000100.250000"
CALLER = [
    ("Channel", "PJSIP/caller-00000001"),
    ("ChannelState", "6"),
    ("CallerIDNum", "13900000001"),
    ("Context", "hotline"),
    ("Exten", "95598"),
    ("Uniqueid", "1700000000.1"),
    ("Linkedid", "1700000000.1"),
]
AGENT = [
    ("Channel", "PJSIP/agent-7-0000000a"),
    ("CallerIDNum", "agent-7"),
    ("Uniqueid", "1700000010.10"),
    ("Linkedid", "1700000000.1"),
]
DEST = [("Dest" + k, v) for k, v in AGENT]


Pairs = list[tuple[str, str]]


def ami(event: str, *blocks: Pairs, ts: str | None = TS, **extra: str) -> AmiMessage:
    head = [("Event", event), ("Privilege", "call,all")]
    if ts is not None:
        head.append(("Timestamp", ts))
    pairs = head + [p for block in blocks for p in block] + list(extra.items())
    return AmiMessage.from_headers(pairs)


def user(name: str, **extra: str) -> AmiMessage:
    return ami("UserEvent", CALLER, [("UserEvent", name)], **extra)


@pytest.fixture
def mapper() -> EventMapper:
    return EventMapper("pbx1", clock=lambda: 42.0)


def test_hotline_entered(mapper: EventMapper) -> None:
    ev = mapper.map(user("HotlineEntered", Caller="13900000001", Dialed="95598"))
    assert ev == CallEntered(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        caller="13900000001",
        dialed="95598",
        channel="PJSIP/caller-00000001",
    )


def test_ivr_choice_with_and_without_service(mapper: EventMapper) -> None:
    ev = mapper.map(user("HotlineIvr", Menu="main", Digit="2", Service="billing"))
    assert ev == IvrChoice(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        menu="main",
        digit="2",
        service=ServiceType.BILLING,
    )
    ev = mapper.map(user("HotlineIvr", Menu="main", Digit="*"))
    assert isinstance(ev, IvrChoice) and ev.service is None


def test_requeued_by_a_transfer(mapper: EventMapper) -> None:
    ev = mapper.map(user("HotlineRequeued", Queue="billing", Agent="agent1"))
    assert ev == CallRequeued(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        queue="billing",
        agent_id="agent1",
        channel="PJSIP/caller-00000001",
    )
    assert mapper.map(user("HotlineRequeued")) is None  # no Queue: malformed
    assert mapper.stats.malformed["UserEvent:HotlineRequeued"] == 1


def test_queued(mapper: EventMapper) -> None:
    ev = mapper.map(user("HotlineQueued", Queue="fault", Service="fault", Priority="5"))
    assert ev == CallQueued(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        queue="fault",
        service=ServiceType.FAULT,
        caller="13900000001",
        priority=5,
        channel="PJSIP/caller-00000001",
    )


def test_a_caller_no_ivr_served_is_queued_with_menu_keys(mapper: EventMapper) -> None:
    """Keys: menu (no controller answered the IVR: a take-over under way, or none there):
    the caller's keys while waiting are the menus' (1 for Mandarin), never the callback key;
    Keys: any (the IVR ran) or none (an older dialplan) leaves the key as it was."""
    ev = mapper.map(user("HotlineQueued", Queue="general", Service="general", Keys="menu"))
    assert isinstance(ev, CallQueued) and not ev.takes_callback_key
    for keys in ({"Keys": "any"}, {}):
        ev = mapper.map(user("HotlineQueued", Queue="fault", Service="fault", **keys))
        assert isinstance(ev, CallQueued) and ev.takes_callback_key


def test_user_event_headers_are_read_after_the_user_event_line(mapper: EventMapper) -> None:
    # The channel's own Priority (the dialplan step) comes first; the call's follows UserEvent.
    step = [("Priority", "2")]
    msg = ami(
        "UserEvent",
        CALLER,
        step,
        [("UserEvent", "HotlineQueued")],
        Queue="q",
        Service="fault",
        Priority="5",
    )
    assert mapper.map(msg).priority == 5  # type: ignore[union-attr]
    msg = ami(
        "UserEvent", CALLER, step, [("UserEvent", "HotlineQueued")], Queue="q", Service="fault"
    )
    assert mapper.map(msg).priority == 0  # type: ignore[union-attr]
    # A custom header given only before the UserEvent line is not the dialplan's.
    msg = ami("UserEvent", CALLER, [("Queue", "q")], [("UserEvent", "HotlineFailsafe")])
    assert mapper.map(msg) is None
    assert mapper.stats.malformed == {"UserEvent:HotlineFailsafe": 1}


def test_failsafe(mapper: EventMapper) -> None:
    ev = mapper.map(user("HotlineFailsafe", Queue="general"))
    assert ev == FailsafeTaken(1700000100.25, node="pbx1", call_id="1700000000.1", queue="general")


def test_dial_begin_rings_the_agent_named_by_the_dest_channel(mapper: EventMapper) -> None:
    ev = mapper.map(ami("DialBegin", CALLER, DEST, DialString="agent-7"))
    assert ev == AgentRinging(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        agent_id="agent-7",
        channel="PJSIP/agent-7-0000000a",
    )


def test_dial_of_an_originate_is_the_customer_not_an_agent(mapper: EventMapper) -> None:
    # A callback's Originate dials the customer with no caller channel: no agent rings yet.
    empty_caller = [(k, "") for k, _ in CALLER]
    assert mapper.map(ami("DialBegin", empty_caller, DEST)) is None
    assert mapper.map(ami("DialEnd", empty_caller, DEST, DialStatus="ANSWER")) is None
    assert mapper.stats.ignored["DialBegin:originate"] == 1
    assert mapper.stats.ignored["DialEnd:originate"] == 1


def test_dial_end_answer_and_failures(mapper: EventMapper) -> None:
    ev = mapper.map(ami("DialEnd", CALLER, DEST, DialStatus="ANSWER"))
    assert ev == CallAnswered(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        agent_id="agent-7",
        channel="PJSIP/agent-7-0000000a",
    )
    causes = {}
    for status in ("NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"):
        ev = mapper.map(ami("DialEnd", CALLER, DEST, DialStatus=status))
        assert isinstance(ev, RingNoAnswer) and ev.agent_id == "agent-7"
        causes[status] = ev.cause
    assert causes == {"NOANSWER": 19, "BUSY": 17, "CONGESTION": 34, "CHANUNAVAIL": 20}
    assert mapper.map(ami("DialEnd", CALLER, DEST, DialStatus="CANCEL")) is None
    assert mapper.stats.ignored == {"DialEnd:CANCEL": 1}


def test_recording_path_from_channel_variable_or_dialplan_directory(mapper: EventMapper) -> None:
    var = [("ChanVariable", "HL_RECORDING=/rec/x.wav")]
    assert mapper.map(ami("MixMonitorStart", CALLER, var)) == RecordingStarted(
        1700000100.25, node="pbx1", call_id="1700000000.1", path="/rec/x.wav"
    )
    assert mapper.map(ami("MixMonitorStop", CALLER)) == RecordingStopped(
        1700000100.25,
        node="pbx1",
        call_id="1700000000.1",
        path="/var/spool/asterisk/hotline/1700000000.1.wav",
    )
    strict = EventMapper("pbx1", recording_dir=None)
    assert strict.map(ami("MixMonitorStart", CALLER)) is None
    assert strict.stats.malformed == {"MixMonitorStart": 1}


def test_hold_unhold_on_any_leg(mapper: EventMapper) -> None:
    assert mapper.map(ami("Hold", AGENT, MusicClass="default")) == CallHeld(
        1700000100.25, node="pbx1", call_id="1700000000.1"
    )
    assert mapper.map(ami("Unhold", CALLER)) == CallUnheld(
        1700000100.25, node="pbx1", call_id="1700000000.1"
    )


def test_transfers(mapper: EventMapper) -> None:
    transferer = [("Transferer" + k, v) for k, v in AGENT]
    ev = mapper.map(
        ami(
            "BlindTransfer",
            transferer,
            Result="Success",
            IsExternal="No",
            Context="hotline-agent",
            Extension="2001",
        )
    )
    assert ev == CallTransferred(
        1700000100.25, node="pbx1", call_id="1700000000.1", target="2001@hotline-agent"
    )
    orig = [("OrigTransferer" + k, v) for k, v in AGENT]
    second = [("SecondTransfererChannel", "PJSIP/agent-8-0000000c")]
    ev = mapper.map(ami("AttendedTransfer", orig, second, Result="Success", DestType="Bridge"))
    assert isinstance(ev, CallTransferred) and ev.target == "PJSIP/agent-8-0000000c"
    assert mapper.map(ami("BlindTransfer", transferer, Result="Fail", Extension="1")) is None
    assert mapper.stats.ignored == {"BlindTransfer:failed": 1}


def test_dtmf_only_received_on_the_caller_leg(mapper: EventMapper) -> None:
    ev = mapper.map(ami("DTMFEnd", CALLER, Digit="5", DurationMs="120", Direction="Received"))
    assert ev == DtmfReceived(1700000100.25, node="pbx1", call_id="1700000000.1", digit="5",
                             context="hotline")
    assert mapper.map(ami("DTMFEnd", CALLER, Digit="5", Direction="Sent")) is None
    assert mapper.map(ami("DTMFEnd", AGENT, Digit="5", Direction="Received")) is None
    assert mapper.stats.ignored == {"DTMFEnd:not-caller": 2}


def test_hangup_of_the_caller_ends_the_call_other_legs_do_not(mapper: EventMapper) -> None:
    ev = mapper.map(ami("Hangup", CALLER, **{"Cause": "17", "Cause-txt": "User busy"}))
    assert ev == CallEnded(
        1700000100.25, node="pbx1", call_id="1700000000.1", cause=17, cause_text="User busy"
    )
    leg = mapper.map(ami("Hangup", AGENT, Cause="16"))
    assert leg == ChannelHungUp(1700000100.25, node="pbx1", call_id="1700000000.1",
                                channel="PJSIP/agent-7-0000000a", cause=16)


def test_channel_created_and_state_changes(mapper: EventMapper) -> None:
    ev = mapper.map(ami("Newchannel", CALLER, Exten="95598"))
    assert ev == ChannelCreated(1700000100.25, node="pbx1", call_id="1700000000.1",
                                channel="PJSIP/caller-00000001", caller="13900000001",
                                exten="95598")
    ev = mapper.map(ami("Newstate", AGENT, ChannelStateDesc="Ringing"))
    assert ev == ChannelStateChanged(1700000100.25, node="pbx1", call_id="1700000000.1",
                                     channel="PJSIP/agent-7-0000000a", state="Ringing")
    assert mapper.map(ami("Newstate", AGENT)) is None  # no state: malformed, counted
    assert mapper.stats.malformed == {"Newstate": 1}


def test_endpoint_status(mapper: EventMapper) -> None:
    ev = mapper.map(
        ami(
            "ContactStatus",
            URI="sip:agent1@10.0.0.5",
            ContactStatus="Reachable",
            AOR="agent1",
            EndpointName="agent1",
        )
    )
    assert ev == EndpointStatus(1700000100.25, node="pbx1", endpoint="agent1", reachable=True)
    ev = mapper.map(ami("ContactStatus", ContactStatus="Removed", AOR="agent1"))
    assert isinstance(ev, EndpointStatus) and not ev.reachable
    ev = mapper.map(
        ami("PeerStatus", ChannelType="PJSIP", Peer="PJSIP/agent2", PeerStatus="Unreachable")
    )
    assert ev == EndpointStatus(1700000100.25, node="pbx1", endpoint="agent2", reachable=False)
    assert mapper.map(ami("ContactStatus", ContactStatus="Unknown", AOR="agent1")) is None


def test_a_hangup_for_shutdown_is_a_node_failure(mapper: EventMapper) -> None:
    """#15.5: `core stop now` soft-hangs-up every channel (cause 4, before each Hangup and a
    second before the Shutdown event): the call's end is the node's failure. Another soft
    hangup (a Redirect's, 2) or a plain Hangup is not."""
    assert mapper.map(ami("SoftHangupRequest", AGENT, Cause="4")) is None  # the agent's leg
    assert mapper.map(ami("SoftHangupRequest", CALLER, Cause="4")) is None
    ended = mapper.map(ami("Hangup", CALLER, **{"Cause": "0", "Cause-txt": "Unknown"}))
    assert isinstance(ended, CallEnded) and ended.node_failure and ended.cause == 0
    assert "node failure" in ended.cause_text
    # the mark lasts until that call's Hangup only
    again = mapper.map(ami("Hangup", CALLER, Cause="16"))
    assert isinstance(again, CallEnded) and not again.node_failure
    assert mapper.map(ami("SoftHangupRequest", CALLER, Cause="2")) is None
    other = mapper.map(ami("Hangup", CALLER, Cause="16"))
    assert isinstance(other, CallEnded) and not other.node_failure
    assert mapper.stats.ignored["SoftHangupRequest:shutdown"] == 2
    # a boot forgets marks whose Hangup the dropped link never brought
    mapper.map(ami("SoftHangupRequest", CALLER, Cause="4"))
    mapper.map(ami("FullyBooted", Status="Fully Booted"))
    late = mapper.map(ami("Hangup", CALLER, Cause="16"))
    assert isinstance(late, CallEnded) and not late.node_failure


def test_boot_and_shutdown(mapper: EventMapper) -> None:
    assert mapper.map(ami("FullyBooted", Status="Fully Booted", Uptime="5")) == AsteriskBooted(
        1700000100.25, node="pbx1"
    )
    ev = mapper.map(ami("Shutdown", Shutdown="Cleanly", Restart="False"))
    assert ev == AsteriskShuttingDown(1700000100.25, node="pbx1")


# -- time ------------------------------------------------------------------------------------


def test_time_from_timestamp_else_the_callers_now_else_the_clock(mapper: EventMapper) -> None:
    hold = [("Linkedid", "1.1")]
    assert mapper.map(ami("Hold", hold)).at == 1700000100.25  # type: ignore[union-attr]
    assert mapper.map(ami("Hold", hold, ts=None), now=7.5).at == 7.5  # type: ignore[union-attr]
    assert mapper.map(ami("Hold", hold, ts=None)).at == 42.0  # type: ignore[union-attr]
    assert mapper.map(ami("Hold", hold, ts="yesterday")) is None
    assert mapper.map(ami("Hold", hold, ts="nan")) is None
    assert mapper.stats.malformed == {"Hold": 2}


def test_every_event_is_tagged_with_the_node() -> None:
    m = EventMapper("node-b", clock=lambda: 0.0)
    events = m.map_all([user("HotlineFailsafe", Queue="q"), ami("FullyBooted")])
    assert [e.node for e in events] == ["node-b", "node-b"]


@pytest.mark.parametrize("caller", ["", "anonymous", "<unknown>", "1390,0001",
                                    "1/sip:900@evil.example"])
def test_a_withheld_or_unusable_caller_id_enters_as_withheld(
        mapper: EventMapper, caller: str) -> None:
    """Issue #14.4: a caller with no usable number still enters (it is not a malformed
    event); its caller is "", never the raw text (a callback or a dial string would take
    it)."""
    fields = {"Dialed": "95598"} if caller == "" else {"Caller": caller, "Dialed": "95598"}
    ev = mapper.map(user("HotlineEntered", **fields))
    assert isinstance(ev, CallEntered) and ev.caller == ""


# -- what it will not guess ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "label"),
    [
        (user("HotlineEntered", Caller="1390"), "UserEvent:HotlineEntered"),  # no Dialed
        (user("HotlineEntered", Caller="1390", Dialed=""), "UserEvent:HotlineEntered"),
        (user("HotlineQueued", Queue="fault"), "UserEvent:HotlineQueued"),  # no Service
        (user("HotlineQueued", Queue="q", Service="gas"), "UserEvent:HotlineQueued"),
        (
            user("HotlineQueued", Queue="q", Service="fault", Priority="hi"),
            "UserEvent:HotlineQueued",
        ),
        (ami("Hangup", CALLER), "Hangup"),  # no Cause
        (ami("Hangup", CALLER, Cause="sixteen"), "Hangup"),
        (ami("DialBegin", CALLER), "DialBegin"),  # no DestChannel
        (ami("DialBegin", CALLER, DestChannel="agent7"), "DialBegin"),  # not a channel name
        (ami("DialEnd", CALLER, DEST), "DialEnd"),  # no DialStatus
        (ami("Hold"), "Hold"),  # no Linkedid
        (ami("UserEvent", CALLER), "UserEvent:"),  # no UserEvent name
    ],
)
def test_malformed_messages_are_counted_per_name_not_raised(
    mapper: EventMapper, msg: AmiMessage, label: str
) -> None:
    assert mapper.map(msg) is None
    assert mapper.stats.malformed == {label: 1}
    assert mapper.stats.mapped == 0


def test_unknown_events_are_counted_per_name_and_logged_once(
    mapper: EventMapper, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hotline.telephony.ami.mapper")
    msgs = [ami("VarSet", CALLER)] * 3 + [ami("RTCPSent", CALLER), user("Survey", Score="9")]
    msgs.append(AmiMessage("Response: Success\r\nActionID: 1"))
    assert mapper.map_all(msgs) == []
    assert mapper.stats.unknown == {
        "VarSet": 3,
        "RTCPSent": 1,
        "UserEvent:Survey": 1,
        "<no event>": 1,
    }
    assert sum("VarSet" in r.getMessage() for r in caplog.records) == 1
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_distinct_names_counted_are_bounded(mapper: EventMapper) -> None:
    mapper.map_all([ami(f"Junk{i}") for i in range(MAX_NAMES + 10)])
    assert len(mapper.stats.unknown) == MAX_NAMES + 1  # and "<other>" for the rest
    assert mapper.stats.unknown["<other>"] == 10 and mapper.stats.seen == MAX_NAMES + 10


def test_every_message_lands_in_exactly_one_counter(mapper: EventMapper) -> None:
    msgs = [
        user("HotlineFailsafe", Queue="q"),
        user("HotlineFailsafe"),
        ami("VarSet"),
        ami("DTMFEnd", AGENT, Digit="5", Direction="Received"),  # not the caller's: ignored
    ]
    mapper.map_all(msgs)
    s = mapper.stats
    assert (s.mapped, s.malformed.total(), s.unknown.total(), s.ignored.total()) == (1, 1, 1, 1)
    assert s.seen == len(msgs)


@pytest.mark.parametrize(
    ("channel", "endpoint"),
    [
        ("PJSIP/agent1-0000000a", "agent1"),
        ("PJSIP/agent-7-0000000a", "agent-7"),
        ("PJSIP/agent1", "agent1"),
        ("SIP/1001-00000001", "1001"),
    ],
)
def test_endpoint_of(channel: str, endpoint: str) -> None:
    assert endpoint_of(channel) == endpoint


@pytest.mark.parametrize("channel", ["agent1", "PJSIP/", "/agent1-01", ""])
def test_endpoint_of_rejects_non_channels(channel: str) -> None:
    with pytest.raises(Malformed):
        endpoint_of(channel)
