"""The captured replies of tests/fixtures/ami/replies/ against the live Asterisk.

Each action of the captures is sent again on a raw manager session (no panoramisk, no link:
the bytes as they come), its reply assembled by telephony/ami/replies.py and compared with the
checked-in capture: status, message, the names of its list events, what closed it. So drift
between the test bed's Asterisk and the bytes test_ami_replies.py reads shows up here.

HOTLINE_RECAPTURE=1 writes the captures afresh instead (review the diff; test_ami_replies.py
states by hand what each must give):

    HOTLINE_RECAPTURE=1 HOTLINE_TEST_SLOT=0 .venv/bin/python -m pytest \
        tests/test_ami_replies_live.py
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from hotline.centre.service import FAILSAFE_QUEUE
from hotline.core.events import CallAnswered, CallEnded, CallQueued
from hotline.core.settings import Settings
from hotline.process.controller import Controller
from hotline.telephony.ami import replies
from hotline.telephony.ami.codec import AmiCodec
from hotline.telephony.ami.replies import Reply, ReplyAssembler
from tests.helpers.calls import logout, ready
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "replies"
RECAPTURE = os.environ.get("HOTLINE_RECAPTURE") == "1"
ASYNC = {"Async": "true"}
NOBODY = "PJSIP/nobody-00000000"


class RawSession:
    """One manager session on a plain socket: an action out, the bytes of its reply in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 prefix: str) -> None:
        self.reader, self.writer, self.prefix = reader, writer, prefix
        self.codec = AmiCodec()
        self.sent = 0

    async def ask(self, name: str, fields: dict[str, str] | None = None,
                  deadline_s: float = 15.0) -> tuple[Reply, bytes]:
        fields = fields or {}
        self.sent += 1
        action_id = f"{self.prefix}-{self.sent}"
        self.writer.write(replies.encode_action(name, action_id, fields))
        await self.writer.drain()
        assembler = ReplyAssembler(name, fields)
        data = b""
        reply: Reply | None = None
        async with asyncio.timeout(deadline_s):
            while reply is None:
                chunk = await self.reader.read(65536)
                assert chunk, "Asterisk closed the session"
                data += chunk
                for msg in self.codec.feed(chunk):
                    if msg.get("ActionID") == action_id:
                        reply = assembler.feed(msg) or reply
        return reply, data


@asynccontextmanager
async def raw_session(settings: Settings, prefix: str) -> AsyncIterator[RawSession]:
    node = settings.nodes()[0]
    reader, writer = await asyncio.open_connection(node.host, node.ami_port)
    session = RawSession(reader, writer, prefix)
    try:
        async with asyncio.timeout(10):
            assert (await reader.readline()).startswith(b"Asterisk Call Manager/")
        login, _ = await session.ask("Login", {"Username": node.ami_user,
                                               "Secret": node.ami_secret, "Events": "off"})
        assert login.status == "Success", login.message
        yield session
    finally:
        writer.close()


@pytest.fixture
async def session(asterisk_node: Settings) -> AsyncIterator[RawSession]:
    async with raw_session(asterisk_node, "capture") as s:
        yield s


def shape(reply: Reply) -> tuple[str, str, set[str], str | None]:
    """What must not drift (list lengths and values depend on what else the node holds)."""
    return (reply.status, reply.message, {m.name for m in reply.events},
            reply.end.name if reply.end else None)


def check(name: str, reply: Reply, data: bytes, action: str,
          fields: dict[str, str] | None = None) -> None:
    path = REPLIES / f"{name}.txt"
    if RECAPTURE:
        path.write_bytes(data)
        return
    msgs = AmiCodec().feed(path.read_bytes())
    action_id = next(m.get("ActionID") for m in msgs if m.is_response and not m.name)
    captured, _ = replies.read_reply(
        action, [m for m in msgs if m.get("ActionID") == action_id], fields)
    assert captured is not None, f"{name}: the capture holds no whole reply"
    assert shape(reply) == shape(captured), name


async def test_replies_of_an_idle_node(session: RawSession) -> None:
    plain: list[tuple[str, str, dict[str, str]]] = [
        ("ping", "Ping", {}),
        ("core_settings", "CoreSettings", {}),
        ("setvar_global", "Setvar", {"Variable": "HL_CAPTURE", "Value": "captured value"}),
        ("getvar_global", "Getvar", {"Variable": "HL_CAPTURE"}),
        ("getvar_no_channel", "Getvar", {"Channel": NOBODY, "Variable": "HL_QUEUE"}),
        ("dbput", "DBPut", {"Family": "hotline-capture", "Key": "answer", "Val": "42 and more"}),
        ("dbget", "DBGet", {"Family": "hotline-capture", "Key": "answer"}),
        ("dbget_missing", "DBGet", {"Family": "hotline-capture", "Key": "never-written"}),
    ]
    for name, action, fields in plain:
        reply, data = await session.ask(action, fields)
        check(name, reply, data, action, fields)
    await session.ask("DBDel", {"Family": "hotline-capture", "Key": "answer"})
    lists: list[tuple[str, str, dict[str, str]]] = [
        ("device_state_list", "DeviceStateList", {}),
        ("pjsip_show_endpoint", "PJSIPShowEndpoint", {"Endpoint": "agent1"}),
        ("pjsip_show_endpoint_missing", "PJSIPShowEndpoint", {"Endpoint": "nobody"}),
        ("pjsip_show_endpoints", "PJSIPShowEndpoints", {}),
        ("queue_status", "QueueStatus", {"Queue": FAILSAFE_QUEUE}),
        ("stop_mixmonitor_missing", "StopMixMonitor", {"Channel": NOBODY}),
        ("redirect_missing", "Redirect", {"Channel": NOBODY, "Context": "hotline-connect",
                                          "Exten": "agent1", "Priority": "1"}),
        ("command_channelstats_empty", "Command", {"Command": "pjsip show channelstats"}),
        ("core_show_channels_empty", "CoreShowChannels", {}),
    ]
    for name, action, fields in lists:
        reply, data = await session.ask(action, fields)
        check(name, reply, data, action, fields)


async def test_replies_about_a_local_channel(session: RawSession) -> None:
    """A Local pair answered by a dialplan extension added for the test (and removed)."""
    for priority, app, data in (("1", "Answer", ""), ("2", "Wait", "20")):
        added, _ = await session.ask("DialplanExtensionAdd", {
            "Context": "hl-capture", "Extension": "s", "Priority": priority,
            "Application": app, "ApplicationData": data})
        assert added.status == "Success", added.message
    try:
        await session.ask("Events", {"EventMask": "call"})  # the OriginateResponse is one
        for name, dial in (("originate_async", "Local/s@hl-capture"),
                           ("originate_async_failed", "Local/nowhere@hl-capture")):
            fields = {"Channel": dial, "Application": "Wait", "Data": "20",
                      "CallerID": "capture", "Async": "true", "Timeout": "5000"}
            reply, raw = await session.ask("Originate", fields)
            check(name, reply, raw, "Originate", fields)
        await session.ask("Events", {"EventMask": "off"})
        reply, raw = await session.ask("CoreShowChannels")
        check("core_show_channels", reply, raw, "CoreShowChannels")
        fields = {"Command": "core show channels concise"}
        reply, raw = await session.ask("Command", fields)
        check("command_core_show_channels", reply, raw, "Command", fields)
        reply, raw = await session.ask("Hangup", {"Channel": "/^Local\\/s@hl-capture-.*$/"})
        check("hangup", reply, raw, "Hangup")
    finally:
        for priority in ("2", "1"):
            await session.ask("DialplanExtensionRemove", {
                "Context": "hl-capture", "Extension": "s", "Priority": priority})


async def test_replies_during_a_call(controller: Controller, phones: Phones,
                                     asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=200)
    ready(controller, "agent1")
    caller = phones.caller("13200000001", talk_ms=5_000)
    queued = await controller.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13200000001", 10)
    await controller.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    async with raw_session(asterisk_node, "capture-call") as s:
        reply, raw = await s.ask("CoreShowChannels")
        check("in_call_core_show_channels", reply, raw, "CoreShowChannels")
        stats = {"Command": "pjsip show channelstats"}
        async with asyncio.timeout(5):  # both legs' counters once RTP has flowed
            while True:
                reply, raw = await s.ask("Command", stats)
                rows = replies.rtp_stats(reply)
                if len(rows) == 2 and all(r.rx_packets and r.tx_packets for r in rows):
                    break
                await asyncio.sleep(0.2)  # polling Asterisk's counters, bounded above
        check("in_call_command_channelstats", reply, raw, "Command", stats)
        fields = {"Channel": queued.channel, "Variable": "HL_QUEUE"}  # type: ignore[union-attr]
        reply, raw = await s.ask("Getvar", fields)
        assert replies.variable(reply) == "general"
        check("in_call_getvar", reply, raw, "Getvar", fields)
        reply, raw = await s.ask("DeviceStateList")
        assert replies.device_states(reply)["PJSIP/agent1"] == "INUSE"
        check("in_call_device_state_list", reply, raw, "DeviceStateList")
    await controller.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    logout(controller, "agent1")
