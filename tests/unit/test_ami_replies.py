"""AMI action replies read by the pure functions of telephony/ami/replies.py, on raw bytes.

The bytes are real: tests/fixtures/ami/replies/NAME.txt is what the test bed's Asterisk 22 sent
on a manager session after one action (README there). Each is fed to the codec whole, a byte at
a time and in uneven chunks, with trailing bytes after it (the next reply, an event, half a
message), as h11's tests feed its connection: the reply must be whole at its last message,
whatever the reads, and no later byte may change it. No Asterisk is needed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.core.errors import HotlineError, InvalidRequest, PeerRefused, Unavailable
from hotline.telephony.ami import replies
from hotline.telephony.ami.codec import AmiCodec, AmiMessage
from hotline.telephony.ami.errors import (
    AmiActionError,
    AmiBadAction,
    AmiError,
    AmiNotConnected,
    AmiTimeout,
)
from hotline.telephony.ami.replies import LiveChannel, QueueMember, Reply, ReplyAssembler, RtpStats

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "replies"
ASYNC = {"Async": "true"}


def whole(data: bytes) -> Iterator[bytes]:
    yield data


def bytewise(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def uneven(data: bytes) -> Iterator[bytes]:
    """Reads of 1, 2, 3, ... 13 bytes, then again: cuts inside lines, CRLFs and terminators."""
    i, size = 0, 1
    while i < len(data):
        yield data[i : i + size]
        i += size
        size = size % 13 + 1


CHUNKINGS: list[Callable[[bytes], Iterator[bytes]]] = [whole, bytewise, uneven]

#: what comes after a reply on a real session: another action's reply, an event, half a message
TRAILING = (b"Response: Success\r\nActionID: other-1\r\nPing: Pong\r\n\r\n"
            b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
            b"Event: Newchannel\r\nActionID: ")


def raw(name: str) -> bytes:
    return (REPLIES / f"{name}.txt").read_bytes()


def action_id_of(data: bytes) -> str:
    """The ActionID of the reply's response (the first Response message in the bytes)."""
    for msg in AmiCodec().feed(data):
        if msg.is_response and not msg.name:
            return msg.get_str("ActionID")
    raise AssertionError("no response in the bytes")


def assemble(action: str, data: bytes, chunks: Callable[[bytes], Iterator[bytes]],
             fields: dict[str, str] | None = None) -> tuple[Reply, int]:
    """Feeds `data` as the link would: codec, then the messages with the reply's ActionID to
    an assembler. (The reply, how many of the reply's messages came after it was whole.)"""
    action_id = action_id_of(data)
    codec, assembler = AmiCodec(), ReplyAssembler(action, fields)
    reply: Reply | None = None
    after = 0
    for chunk in chunks(data):
        for msg in codec.feed(chunk):
            if msg.get("ActionID") != action_id:
                continue
            got = assembler.feed(msg)
            if reply is not None:
                assert got is None  # whole once, never again
                after += 1
            reply = reply or got
    assert reply is not None, "the reply never became whole"
    return reply, after


def read(name: str, action: str = "Any", fields: dict[str, str] | None = None) -> Reply:
    return assemble(action, raw(name), whole, fields)[0]


# -- assembling: (file, action, fields) -> (status, list items, what closed it)

SHAPES: list[tuple[str, str, dict[str, str] | None, tuple[str, int, str | None]]] = [
    ("ping", "Ping", None, ("Success", 0, None)),
    ("core_settings", "CoreSettings", None, ("Success", 0, None)),
    ("setvar_global", "Setvar", None, ("Success", 0, None)),
    ("getvar_global", "Getvar", None, ("Success", 0, None)),
    ("in_call_getvar", "Getvar", None, ("Success", 0, None)),
    ("getvar_no_channel", "Getvar", None, ("Error", 0, None)),
    ("dbput", "DBPut", None, ("Success", 0, None)),
    ("dbget", "DBGet", None, ("Success", 1, "DBGetComplete")),
    ("dbget_missing", "DBGet", None, ("Error", 0, None)),
    ("device_state_list", "DeviceStateList", None, ("Success", 10, "DeviceStateListComplete")),
    ("in_call_device_state_list", "DeviceStateList", None,
     ("Success", 10, "DeviceStateListComplete")),
    ("pjsip_show_endpoint", "PJSIPShowEndpoint", None,
     ("Success", 4, "EndpointDetailComplete")),
    ("pjsip_show_endpoint_missing", "PJSIPShowEndpoint", None, ("Error", 0, None)),
    ("pjsip_show_endpoints", "PJSIPShowEndpoints", None, ("Success", 5, "EndpointListComplete")),
    ("queue_status", "QueueStatus", None, ("Success", 5, "QueueStatusComplete")),
    ("stop_mixmonitor_missing", "StopMixMonitor", None, ("Error", 0, None)),
    ("redirect_missing", "Redirect", None, ("Error", 0, None)),
    ("command_channelstats_empty", "Command", None, ("Success", 0, None)),
    ("in_call_command_channelstats", "Command", None, ("Success", 0, None)),
    ("command_core_show_channels", "Command", None, ("Success", 0, None)),
    ("core_show_channels_empty", "CoreShowChannels", None,
     ("Success", 0, "CoreShowChannelsComplete")),
    ("core_show_channels", "CoreShowChannels", None, ("Success", 2, "CoreShowChannelsComplete")),
    ("in_call_core_show_channels", "CoreShowChannels", None,
     ("Success", 2, "CoreShowChannelsComplete")),
    ("hangup", "Hangup", None, ("Success", 2, "ChannelsHungupListComplete")),
    # an async Originate: the ack, then (events of the new channels between) its result
    ("originate_async", "Originate", ASYNC, ("Success", 0, "OriginateResponse")),
    ("originate_async_failed", "Originate", ASYNC, ("Success", 0, "OriginateResponse")),
]


def test_every_captured_reply_is_covered() -> None:
    assert {p.stem for p in REPLIES.glob("*.txt")} == {name for name, *_ in SHAPES}


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(("name", "action", "fields", "shape"), SHAPES,
                         ids=[s[0] for s in SHAPES])
def test_a_reply_is_whole_at_its_last_message_however_the_bytes_come(
        name: str, action: str, fields: dict[str, str] | None,
        shape: tuple[str, int, str | None], chunks: Callable[[bytes], Iterator[bytes]]) -> None:
    data = raw(name)
    reply, after = assemble(action, data, chunks, fields)
    assert (reply.status, len(reply.events), reply.end and reply.end.name) == shape
    assert reply.action == action and after == 0
    # trailing bytes change nothing: the same reply, whole at the same message
    again, after = assemble(action, data + TRAILING, chunks, fields)
    assert (again, after) == (reply, 0)


def test_a_reply_is_not_whole_before_its_last_message() -> None:
    data = raw("device_state_list")
    action_id = action_id_of(data)
    mine = [m for m in AmiCodec().feed(data) if m.get("ActionID") == action_id]
    assembler = ReplyAssembler("DeviceStateList")
    assert [assembler.feed(m) is None for m in mine] == [True] * (len(mine) - 1) + [False]
    assert assembler.done and assembler.feed(mine[-1]) is None  # a duplicate: ignored
    # and the bytes up to (not through) the closing event's terminator give nothing whole
    cut = data.rindex(b"\r\n\r\n") + 3
    codec, assembler = AmiCodec(), ReplyAssembler("DeviceStateList")
    assert all(assembler.feed(m) is None for m in codec.feed(data[:cut]))
    assert codec.buffered > 0


def test_an_async_originate_waits_for_its_result_a_sync_one_does_not() -> None:
    ok = read("originate_async", "Originate", ASYNC)
    assert ok.message == "Originate successfully queued"
    assert ok.end is not None and ok.end.get("Response") == "Success"
    failed = read("originate_async_failed", "Originate", ASYNC)
    assert failed.end is not None and failed.end.get("Response") == "Failure"
    # the channel events in between carry no ActionID: they are the link's, not the reply's
    assert any(m.name == "Newchannel" for m in AmiCodec().feed(raw("originate_async")))
    for fields in (None, {"Async": "false"}):
        assert read("originate_async", "Originate", fields).end is None
    assert read("originate_async", "Redirect", ASYNC).end is None


def test_read_reply_counts_what_it_took() -> None:
    msgs = AmiCodec().feed(raw("dbget") + raw("ping"))
    reply, used = replies.read_reply("DBGet", msgs)
    assert reply is not None and used == 3
    assert replies.read_reply("DBGet", msgs[:2]) == (None, 2)


def test_an_event_ahead_of_its_response_is_kept_in_order() -> None:
    msgs = AmiCodec().feed(raw("dbget"))
    response, item, end = msgs
    assembler = ReplyAssembler("DBGet")
    assert assembler.feed(item) is None
    assert assembler.feed(response) is None
    reply = assembler.feed(end)
    assert reply is not None and reply.events == (item,) and reply.end == end
    # even the closing event first: whole with the response
    assembler = ReplyAssembler("DBGet")
    assert assembler.feed(item) is None and assembler.feed(end) is None
    assert assembler.feed(response) == Reply("DBGet", response, (item,), end)


# -- readers: a whole reply -> the typed value


def test_refusals_are_typed() -> None:
    for name, reason in [("getvar_no_channel", "No such channel"),
                         ("stop_mixmonitor_missing", "No such channel"),
                         ("redirect_missing", "Channel does not exist: PJSIP/nobody-00000000"),
                         ("dbget_missing", "Database entry not found")]:
        reply = read(name, "Act")
        assert reply.refused
        with pytest.raises(AmiActionError) as info:
            replies.checked(reply)
        assert (info.value.action, info.value.reason) == ("Act", reason)
        assert isinstance(info.value, PeerRefused) and info.value.error_id == "ami-action-refused"
    assert replies.checked(read("ping")) == read("ping")


def test_db_value() -> None:
    assert replies.db_value(read("dbget")) == "42 and more"
    assert replies.db_value(read("dbget_missing")) is None  # no such key: Asterisk says Error
    assert replies.db_value(read("dbput")) is None  # no DBGetResponse in it


def test_getvar() -> None:
    assert replies.variable(read("in_call_getvar")) == "general"
    assert replies.variable(read("getvar_global")) == "captured value"
    assert replies.variable(read("getvar_no_channel")) is None


def test_device_states() -> None:
    idle = replies.device_states(read("device_state_list"))
    busy = replies.device_states(read("in_call_device_state_list"))
    assert (idle["PJSIP/agent1"], busy["PJSIP/agent1"]) == ("NOT_INUSE", "INUSE")
    assert (idle["PJSIP/caller"], busy["PJSIP/caller"]) == ("UNAVAILABLE", "INUSE")
    assert len(idle) == 10
    with pytest.raises(AmiActionError):
        replies.device_states(read("getvar_no_channel"))


def test_endpoints() -> None:
    detail = replies.endpoint_detail(read("pjsip_show_endpoint"))
    assert detail is not None
    assert (detail["ObjectName"], detail["Context"]) == ("agent1", "hotline-agent")
    assert replies.endpoint_detail(read("pjsip_show_endpoint_missing")) is None
    reachable = replies.endpoint_reachability(read("pjsip_show_endpoints"))
    assert reachable == {"agent1": True, "agent2": True, "agent3": True, "agent4": True,
                         "caller": False}
    assert replies.endpoint_reachability(read("pjsip_show_endpoint_missing")) == {}


def test_queue_members() -> None:
    members = replies.queue_members(read("queue_status"))
    assert members == [QueueMember("hotline-failsafe", f"PJSIP/agent{n}", f"Agent {n}", False)
                       for n in (1, 2, 3, 4)]


def test_live_channels() -> None:
    assert replies.live_channels(read("core_show_channels_empty")) == []
    caller, agent = replies.live_channels(read("in_call_core_show_channels"))
    assert caller == LiveChannel(
        channel="PJSIP/caller-00000000", uniqueid="t4-1796592285.0",
        linkedid="t4-1796592285.0", context="hotline-connect", exten="agent1",
        caller="13200000001", application="Dial", bridged=True, duration_s=1.0)
    assert caller.is_caller_leg and not agent.is_caller_leg
    assert (agent.channel, agent.application, agent.bridged) == (
        "PJSIP/agent1-00000001", "AppDial", True)
    local = replies.live_channels(read("core_show_channels"))
    assert [c.bridged for c in local] == [False, False]  # BridgeId present but empty
    assert [c.linkedid for c in local] == ["t4-1796592265.0"] * 2


def test_hms() -> None:
    assert replies._hms("01:02:03") == 3723.0
    assert replies._hms("42") == 42.0


def test_command_output_and_rtp_stats() -> None:
    assert replies.command_output(read("command_channelstats_empty")) == ["No objects found.", ""]
    assert replies.rtp_stats(read("command_channelstats_empty")) == []
    assert replies.rtp_stats(read("in_call_command_channelstats")) == [
        RtpStats("agent1-00000001", 33, 33), RtpStats("caller-00000000", 41, 43)]
    lines = replies.command_output(read("command_core_show_channels"))
    assert [line.split("!")[0] for line in lines] == [
        "Local/s@hl-capture-00000000;2", "Local/s@hl-capture-00000000;1"]


def test_rtp_stats_of_a_channel_in_no_bridge() -> None:
    # a supervisor's ChanSpy leg is in no bridge: its row has no BridgeId column
    text = ("Response: Success\r\nActionID: a\r\nMessage: Command output follows\r\n"
            "Output:  ab12cd34 agent1-00000001    00:00:09 alaw      450       0    0   0.000"
            "    451       0    0   0.000   0.000\r\n"
            "Output:           agent4-0000000a    00:00:04 alaw      200       0    0   0.000"
            "    198       0    0   0.000   0.000")
    reply = Reply("Command", AmiMessage(text))
    assert replies.rtp_stats(reply) == [RtpStats("agent1-00000001", 450, 451),
                                        RtpStats("agent4-0000000a", 200, 198)]


def test_legacy_follows_body() -> None:
    text = ("Response: Follows\r\nPrivilege: Command\r\nActionID: a\r\n"
            "Name: value looks like a header\r\nsecond line\r\n--END COMMAND--")
    reply = Reply("Command", AmiMessage(text))
    assert replies.command_output(reply) == ["Name: value looks like a header", "second line"]


# -- actions out


def test_encode_action() -> None:
    data = replies.encode_action("Getvar", "hl-7", {"Channel": "PJSIP/a-1", "Variable": "X"})
    assert data == (b"Action: Getvar\r\nActionID: hl-7\r\nChannel: PJSIP/a-1\r\n"
                    b"Variable: X\r\n\r\n")
    [msg] = AmiCodec().feed(data)  # our own codec reads it back
    assert dict(msg) == {"Action": "Getvar", "ActionID": "hl-7", "Channel": "PJSIP/a-1",
                         "Variable": "X"}
    assert replies.encode_action("Ping", "1", {}) == b"Action: Ping\r\nActionID: 1\r\n\r\n"
    assert "Ω".encode() in replies.encode_action("Setvar", "2", {"Value": "Ω"})


@pytest.mark.parametrize("value", ["x\r\nAction: Hangup", "x\nChannel: y", "x\r", "x\x00y",
                                   "\x00"])
def test_a_line_break_or_nul_cannot_smuggle_headers(value: str) -> None:
    """CR and LF end a header early; a NUL ends Asterisk's C string there (the rest of the
    value is dropped, or read as something else): all refused, in names, values, the action
    and its ActionID."""
    with pytest.raises(AmiBadAction) as info:
        replies.encode_action("Setvar", "1", {"Value": value})
    assert isinstance(info.value, InvalidRequest)
    with pytest.raises(AmiBadAction):
        replies.encode_action("Setvar", "1", {value: "v"})
    with pytest.raises(AmiBadAction):
        replies.encode_action(f"Set{value}", "1", {})
    with pytest.raises(AmiBadAction):
        replies.encode_action("Setvar", f"1{value}", {})


def test_action_ids_are_unique() -> None:
    ids = replies.action_ids("t")
    assert [next(ids) for _ in range(3)] == ["t-1", "t-2", "t-3"]


# -- one error root


def test_one_error_root_with_the_kinds_an_edge_answers_by() -> None:
    refused = AmiActionError("Redirect", "No such channel")
    down = AmiNotConnected("AMI t3 is not connected")
    late = AmiTimeout("Ping", 0.5)
    bad = AmiBadAction("CR in a value")
    for exc in (refused, down, late, bad):
        assert isinstance(exc, AmiError) and isinstance(exc, HotlineError)
    assert isinstance(refused, PeerRefused) and not isinstance(refused, Unavailable)
    assert isinstance(down, Unavailable) and isinstance(down, ConnectionError)
    assert isinstance(late, Unavailable) and isinstance(late, TimeoutError)
    assert str(late) == "AMI Ping: no reply within 0.5s"
    assert late.details == {"action": "Ping", "timeout_s": 0.5}
    assert str(refused) == "AMI Redirect refused: No such channel"
    assert refused.details == {"action": "Redirect", "message": "No such channel"}


def test_started_is_the_nodes_start_time() -> None:
    """CoreStatus (Asterisk 22's headers): what tells a restarted node at the resync."""
    response = AmiMessage.from_headers([
        ("Response", "Success"), ("ActionID", "hl-1"), ("CoreStartupDate", "2026-12-07"),
        ("CoreStartupTime", "03:19:32"), ("CoreReloadDate", "2026-12-07"),
        ("CoreReloadTime", "03:19:32"), ("CoreCurrentCalls", "0")])
    assert replies.started(Reply("CoreStatus", response)) == "2026-12-07 03:19:32"
    refused = AmiMessage.from_headers([("Response", "Error"), ("Message", "Permission denied")])
    with pytest.raises(AmiActionError):
        replies.started(Reply("CoreStatus", refused))
