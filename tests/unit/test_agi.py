"""FastAGI protocol: bytes fed whole, byte by byte and with trailing data; replies; the server."""

from __future__ import annotations

import asyncio
import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.core.settings import Settings
from hotline.telephony.agi.server import (
    NEED_DATA,
    Agi,
    AgiCommandError,
    AgiConnection,
    AgiEnvironment,
    AgiError,
    AgiHangup,
    AgiHangupNotice,
    AgiProtocolError,
    AgiReply,
    AgiServer,
    AgiStream,
    AgiUsageError,
    format_command,
    parse_reply,
    quote_arg,
)

ENV = (
    b"agi_network: yes\n"
    b"agi_network_script: ivr?lang=zh&key=hotline-dev-agi-secret\n"
    b"agi_request: agi://127.0.0.1:4573/ivr?lang=zh&key=hotline-dev-agi-secret\n"
    b"agi_channel: PJSIP/caller-00000001\n"
    b"agi_language: en\n"
    b"agi_uniqueid: 1700000000.1\n"
    b"agi_callerid: 13800000000\n"
    b"agi_context: hotline\n"
    b"agi_extension: 95598\n"
    b"agi_arg_1: first\n"
    b"agi_arg_2: second arg\n"
    b"\n"
)


def drain(conn: AgiConnection) -> list[object]:
    out: list[object] = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def feed(conn: AgiConnection, data: bytes, mode: str) -> list[object]:
    if mode == "whole":
        conn.receive_data(data)
        return drain(conn)
    events: list[object] = []
    for i in range(len(data)):
        conn.receive_data(data[i : i + 1])
        events += drain(conn)
    return events


@pytest.mark.parametrize("mode", ["whole", "bytewise"])
def test_environment_block(mode: str) -> None:
    conn = AgiConnection()
    (env,) = feed(conn, ENV, mode)
    assert isinstance(env, AgiEnvironment)
    assert env.script == "ivr"
    assert env.channel == "PJSIP/caller-00000001"
    assert env.uniqueid == "1700000000.1"
    assert env.caller == "13800000000"
    assert env.args == ("first", "second arg")


@pytest.mark.parametrize("mode", ["whole", "bytewise"])
def test_reply_after_command_with_trailing_data(mode: str) -> None:
    conn = AgiConnection()
    # the environment, a reply and the start of an unrelated line in one read
    feed(conn, ENV, mode)
    assert conn.send_command("GET DATA", "welcome", "5000", "1") == (
        b'GET DATA "welcome" "5000" "1"\n')
    events = feed(conn, b"200 result=3 (timeout)\nHANG", mode)
    assert events == [AgiReply(code=200, result="3", data="timeout", extra={},
                               text="200 result=3 (timeout)")]
    assert not conn.awaiting_reply
    assert feed(conn, b"UP\n", mode) == [AgiHangupNotice()]
    assert conn.hung_up


def test_pipelined_commands_are_answered_in_order() -> None:
    """A pipelined command (the hold session's lease renewal, its last word) may follow one
    still unanswered; a plain command may not."""
    conn = AgiConnection()
    feed(conn, ENV, "whole")
    conn.send_command("SET AUTOHANGUP", "20", pipelined=True)
    with pytest.raises(AgiUsageError):
        conn.send_command("GET VARIABLE", "X")
    conn.send_command("SET VARIABLE", "HL_OFFER", "agent1", pipelined=True)
    replies = feed(conn, b"200 result=0\n200 result=1\n", "whole")
    assert [e.result for e in replies if isinstance(e, AgiReply)] == ["0", "1"]
    assert not conn.awaiting_reply
    with pytest.raises(AgiProtocolError):
        feed(conn, b"200 result=0\n", "whole")


def test_crlf_and_endpos() -> None:
    conn = AgiConnection()
    conn.receive_data(ENV.replace(b"\n", b"\r\n"))
    assert isinstance(conn.next_event(), AgiEnvironment)
    conn.send_command("STREAM FILE", "x", "0*")
    conn.receive_data(b"200 result=48 endpos=12345\r\n")
    reply = conn.next_event()
    assert isinstance(reply, AgiReply)
    assert reply.int_result == ord("0")
    assert reply.extra == {"endpos": "12345"}


@pytest.mark.parametrize("mode", ["whole", "bytewise"])
def test_usage_block_520(mode: str) -> None:
    conn = AgiConnection()
    feed(conn, ENV, mode)
    conn.send_command("GET DATA")
    block = (b"520-Invalid command syntax.  Proper usage follows:\n"
             b" Usage: GET DATA <file to be streamed> [timeout] [max digits]\n"
             b"520 End of proper usage.\n")
    (reply,) = feed(conn, block, mode)
    assert isinstance(reply, AgiReply)
    assert reply.code == 520
    assert "Usage: GET DATA" in reply.text


@pytest.mark.parametrize(
    ("text", "code", "result", "data"),
    [
        ("200 result=1", 200, "1", None),
        ("200 result=", 200, "", None),
        ("200 result= (timeout)", 200, "", "timeout"),
        ("200 result=1 (SIP/1 (x) y)", 200, "1", "SIP/1 (x) y"),
        ("200 result=-1", 200, "-1", None),
        ("510 Invalid or unknown command", 510, "", None),
        ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", None),
    ],
)
def test_parse_reply(text: str, code: int, result: str, data: str | None) -> None:
    reply = parse_reply(text)
    assert (reply.code, reply.result, reply.data) == (code, result, data)


@pytest.mark.parametrize("text", ["", "HELLO", "20 result=1", "200 nothing", "200 result=1 (x"])
def test_parse_reply_rejects(text: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(text)


@given(st.text(max_size=200))
def test_parse_reply_fuzz_raises_only_its_own_errors(text: str) -> None:
    try:
        parse_reply(text)
    except AgiError:
        pass


@given(st.binary(max_size=400), st.integers(min_value=1, max_value=64))
def test_connection_fuzz_raises_only_its_own_errors(data: bytes, chunk: int) -> None:
    conn = AgiConnection()
    try:
        conn.receive_data(ENV)
        drain(conn)
        conn.send_command("ANSWER")
        for i in range(0, len(data), chunk):
            conn.receive_data(data[i : i + chunk])
            drain(conn)
    except AgiError:
        pass


def test_reply_without_command_is_the_peers_fault() -> None:
    conn = AgiConnection()
    conn.receive_data(ENV)
    drain(conn)
    with pytest.raises(AgiProtocolError, match="without a command"):
        conn.receive_data(b"200 result=1\n")


def test_bad_environment_and_long_line() -> None:
    with pytest.raises(AgiProtocolError, match="environment"):
        AgiConnection().receive_data(b"hello world\n")
    with pytest.raises(AgiProtocolError, match="longer"):
        AgiConnection().receive_data(b"agi_x: " + b"a" * 10000)


def test_local_misuse() -> None:
    conn = AgiConnection()
    with pytest.raises(AgiUsageError, match="before the environment"):
        conn.send_command("ANSWER")
    conn.receive_data(ENV)
    conn.send_command("ANSWER")
    with pytest.raises(AgiUsageError, match="awaits"):
        conn.send_command("ANSWER")
    with pytest.raises(AgiUsageError, match="line break"):
        format_command("VERBOSE", "two\nlines")
    with pytest.raises(AgiUsageError, match="command name"):
        format_command("ANSWER\nHANGUP")


def test_quoting_matches_res_agi_parse_args() -> None:
    assert quote_arg("") == '""'
    assert quote_arg('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    assert format_command("exec", "UserEvent", "HotlineIvr,Menu: main") == (
        b'EXEC "UserEvent" "HotlineIvr,Menu: main"\n')


# --- the asyncio shell, over a real TCP connection with a scripted "Asterisk" on the other end


async def fake_asterisk(port: int, script: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Connects like Asterisk, sends the environment, answers each command as scripted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV)
    seen: list[bytes] = []
    for expect_prefix, reply in script:
        line = await asyncio.wait_for(reader.readline(), 5)
        seen.append(line)
        assert line.startswith(expect_prefix), line
        writer.write(reply)
    rest = await asyncio.wait_for(reader.read(), 5)  # the server closes after the handler
    writer.close()
    await writer.wait_closed()
    return [*seen, rest]


async def test_server_runs_handler_and_closes(loop_errors: list[object]) -> None:
    got: list[object] = []

    async def handler(agi: Agi) -> None:
        got.append(agi.env.script)
        got.append(await agi.get_data("welcome", 5000, 1))
        await agi.set_variable("HL_QUEUE", "fault")
        got.append(await agi.get_variable("HL_CALLID"))
        got.append(await agi.get_variable("NOPE"))
        await agi.user_event("HotlineIvr", Menu="main", Digit="1", Service="fault")

    server = AgiServer(Settings(bind_host="127.0.0.1", agi_port=0), handler)
    async with server:
        seen = await fake_asterisk(server.port, [
            (b'GET DATA "welcome"', b"200 result=1\n"),
            (b'SET VARIABLE "HL_QUEUE" "fault"', b"200 result=1\n"),
            (b'GET VARIABLE "HL_CALLID"', b"200 result=1 (1700000000.1)\n"),
            (b'GET VARIABLE "NOPE"', b"200 result=0\n"),
            (b'EXEC "UserEvent" "HotlineIvr,Menu: main,Digit: 1,Service: fault"',
             b"200 result=0\n"),
        ])
    assert got == ["ivr", ("1", False), "1700000000.1", None]
    assert seen[-1] == b""


async def test_server_hangup_ends_session_quietly(loop_errors: list[object]) -> None:
    outcome: list[BaseException] = []

    async def handler(agi: Agi) -> None:
        try:
            await agi.stream_file("welcome")
        except AgiHangup as exc:
            outcome.append(exc)
            raise

    server = AgiServer(Settings(bind_host="127.0.0.1", agi_port=0), handler)
    async with server:
        await fake_asterisk(server.port, [
            (b'STREAM FILE "welcome" ""', b"HANGUP\n511 Command Not Permitted on a dead channel\n"),
        ])
    assert len(outcome) == 1


async def test_agi_maps_refusals() -> None:
    class Script:
        def __init__(self, replies: list[str]) -> None:
            self.replies = replies

        async def command(self, name: str, *args: str) -> AgiReply:
            return parse_reply(self.replies.pop(0))

    env = AgiEnvironment({})
    with pytest.raises(AgiCommandError) as info:
        await Agi(Script(["510 Invalid or unknown command"]), env).answer()
    assert info.value.reply.code == 510
    with pytest.raises(AgiHangup):
        await Agi(Script(["200 result=-1"]), env).get_data("x", 1000, 1)
    with pytest.raises(AgiCommandError):
        await Agi(Script(["200 result=-2"]), env).exec("NoSuchApp")
    assert await Agi(Script(["200 result=0 endpos=3"]), env).stream_file("x") == ""


async def test_closing_a_session_whose_peer_is_gone_raises_nothing() -> None:
    """uvloop reports a connection Asterisk already closed as ENOTCONN, an OSError that is not
    a ConnectionError ("Unhandled exception in client_connected_cb" in bench.hold)."""

    class GoneWriter:
        def close(self) -> None:
            pass

        async def wait_closed(self) -> None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

    stream = AgiStream(asyncio.StreamReader(), GoneWriter())  # type: ignore[arg-type]
    await stream.close()


async def test_a_session_reset_by_asterisk_is_a_hangup_not_a_handler_failure(
        loop_errors: list[object], caplog: pytest.LogCaptureFixture) -> None:
    """Asterisk resets a held session's connection (a caller gone while the channel thread
    was busy, an overloaded node): the session ends as a hangup, quietly. Before, the reset
    escaped `until_hangup` as ConnectionResetError and each one logged "AGI handler failed"
    with a traceback (858 in one bench.hold run)."""
    import socket
    import struct

    outcome: list[BaseException] = []
    waiting, ended = asyncio.Event(), asyncio.Event()

    async def handler(agi: Agi) -> None:
        waiting.set()
        try:
            await agi.io.until_hangup()  # type: ignore[attr-defined]
        except BaseException as exc:
            outcome.append(exc)
            raise
        finally:
            ended.set()

    server = AgiServer(Settings(bind_host="127.0.0.1", agi_port=0), handler)
    async with server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV)
        await writer.drain()
        await asyncio.wait_for(waiting.wait(), 5)
        sock = writer.get_extra_info("socket")
        # SO_LINGER with a zero timeout: close() sends a RST, not a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        await asyncio.wait_for(ended.wait(), 5)
    assert len(outcome) == 1 and isinstance(outcome[0], AgiHangup), outcome
    assert not [r for r in caplog.records if "handler failed" in r.getMessage()]
