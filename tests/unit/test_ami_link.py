"""The AMI link's life against a scripted AMI peer on loopback: backoff while nobody listens,
login, a silent peer detected by its unanswered Ping, and close() stopping every retry; actions
whose replies come (a list, a refusal), come late, never come, or whose connection drops.
(The real Asterisk's restart is in test_recovery.py; the replies' shapes in test_ami_replies.)"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.core.settings import Settings
from hotline.telephony.ami.codec import AmiMessage
from hotline.telephony.ami.link import (
    AmiActionError,
    AmiLink,
    AmiNotConnected,
    AmiTimeout,
)

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "replies"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeAsterisk:
    """Greets, accepts any login, announces FullyBooted, answers Ping while `answer_pings`;
    an action named in `script` is answered by the bytes its function returns for the ActionID
    (b"": no answer, None: the connection is dropped)."""

    port: int
    answer_pings: bool = True
    logins: int = 0
    server: asyncio.Server | None = None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    script: dict[str, Callable[[str], bytes | None]] = field(default_factory=dict)
    unanswered: list[tuple[str, asyncio.StreamWriter]] = field(default_factory=list)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                block = (await reader.readuntil(b"\r\n\r\n")).decode()
                headers = dict(line.split(": ", 1) for line in block.split("\r\n") if ": " in line)
                action, aid = headers.get("Action", ""), headers.get("ActionID", "")
                if action == "Login":
                    self.logins += 1
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n"
                                 "Message: Authentication accepted\r\n\r\n"
                                 "Event: FullyBooted\r\nPrivilege: system,all\r\n"
                                 "Status: Fully Booted\r\n\r\n".encode())
                elif action == "Ping" and self.answer_pings:
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n"
                                 .encode())
                elif action in self.script:
                    answer = self.script[action](aid)
                    if answer is None:
                        writer.close()
                        return
                    if not answer:
                        self.unanswered.append((aid, writer))
                    writer.write(answer)
                await writer.drain()


def link_settings(port: int) -> Settings:
    return Settings(ami_port=port, ami_reconnect_base_s=0.05, ami_reconnect_max_s=0.4,
                    ami_ping_interval_s=0.2, ami_ping_timeout_s=0.3)


@pytest.fixture
async def peer() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk(free_port())
    yield fake
    if fake.server is not None:
        await fake.stop()


async def wait_until(predicate, deadline_s: float) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(deadline_s):
        while not predicate():  # noqa: ASYNC110 (counters of a third-party object)
            await asyncio.sleep(0.01)  # polling a counter, bounded by the deadline


async def test_backs_off_while_nobody_listens_then_logs_in(peer: FakeAsterisk) -> None:
    link = AmiLink(link_settings(peer.port))
    connecting = asyncio.create_task(link.connect(timeout_s=10))
    try:
        await wait_until(lambda: link.attempts >= 4, 5)
        # the wait between attempts doubles up to the maximum
        assert link._manager.reconnect_timeout == pytest.approx(0.4)
        with pytest.raises(AmiNotConnected):
            await link.action("Ping")
        await peer.start()
        await connecting
        assert (link.logins, link.attempts, peer.logins) == (1, 0, 1)
        await link.action("Ping")
    finally:
        await link.close()


async def test_a_peer_that_stops_answering_pings_is_dropped_and_redialed(
        peer: FakeAsterisk) -> None:
    await peer.start()
    logins: list[int] = []
    link = AmiLink(link_settings(peer.port))
    link.on_login_hook = lambda: logins.append(link.logins)  # the controller resyncs here
    await link.connect()
    try:
        await wait_until(lambda: peer.logins >= 2, 5)  # the event and the action sessions
        peer.answer_pings = False
        await wait_until(lambda: peer.logins >= 3, 5)
        peer.answer_pings = True
        await wait_until(lambda: link.logged_in.is_set() and link.logins >= 2, 5)
        assert logins[:2] == [1, 2]
    finally:
        await link.close()


async def test_close_stops_every_retry(peer: FakeAsterisk) -> None:
    link = AmiLink(link_settings(peer.port))
    connecting = asyncio.create_task(link.connect(timeout_s=10))
    await wait_until(lambda: link.attempts >= 2, 5)
    await link.close()
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    before = link.attempts
    # A retry is still pending (panoramisk's call_later; the action session starts only after
    # a login): wait until it has come due and was turned away, rather than for a guessed
    # number of backoff periods.
    assert link.closing is True  # what every retry reads, set by close()
    refused = link.closing = Refusals()  # type: ignore[assignment]
    await peer.start()
    await wait_until(lambda: refused.count, 5)
    assert (link.attempts, peer.logins) == (before, 0)


def heard(link: AmiLink) -> list[str]:
    """Names of the messages the link takes for events from now on (its on_message)."""
    names: list[str] = []
    on_message = link.on_message

    def recording(msg: AmiMessage) -> None:
        names.append(msg.name or msg.get("Response", "?"))
        on_message(msg)

    link.on_message = recording  # type: ignore[method-assign]
    return names


def captured(name: str) -> Callable[[str], bytes]:
    """A real reply (tests/fixtures/ami/replies), its ActionID made the action's."""
    data = (REPLIES / f"{name}.txt").read_bytes()
    return lambda aid: re.sub(rb"ActionID: [^\r]*", f"ActionID: {aid}".encode(), data)


async def test_replies_reach_their_actions_typed(peer: FakeAsterisk) -> None:
    peer.script = {"DBGet": captured("dbget"), "Redirect": captured("redirect_missing"),
                   "CoreShowChannels": captured("in_call_core_show_channels")}
    await peer.start()
    link = AmiLink(link_settings(peer.port))
    events = heard(link)
    await link.connect()
    try:
        await wait_until(lambda: peer.logins >= 2, 5)  # the action session is up too
        assert await link.db_get("hotline-test", "answer") == "42 and more"
        assert [c.channel for c in await link.channels()] == [
            "PJSIP/caller-00000000", "PJSIP/agent1-00000001"]
        with pytest.raises(AmiActionError) as info:
            await link.redirect("PJSIP/nobody-00000000", "hotline-connect", "agent1")
        assert info.value.reason == "Channel does not exist: PJSIP/nobody-00000000"
        assert set(events) == {"FullyBooted"}  # the list events were the action's
    finally:
        await link.close()


async def test_an_action_whose_connection_drops_fails_at_once(peer: FakeAsterisk) -> None:
    peer.script = {"Hangup": lambda aid: None}
    await peer.start()
    link = AmiLink(link_settings(peer.port))
    await link.connect()
    try:
        async with asyncio.timeout(2):  # well before the action's own 5 s timeout
            with pytest.raises(AmiNotConnected):
                await link.hangup("PJSIP/agent1-00000001")
    finally:
        await link.close()


async def test_an_unanswered_action_times_out_and_its_late_reply_is_dropped(
        peer: FakeAsterisk) -> None:
    peer.script = {"CoreShowChannels": lambda aid: b""}
    await peer.start()
    link = AmiLink(link_settings(peer.port))
    events = heard(link)
    await link.connect()
    try:
        with pytest.raises(AmiTimeout) as info:
            await link.action("CoreShowChannels", timeout_s=0.2)
        assert isinstance(info.value, TimeoutError)  # what older callers catch
        [(aid, writer)] = peer.unanswered
        protocol = link._manager.protocol
        assert aid in protocol.pending  # kept, so its late messages are not taken for events
        writer.write(captured("in_call_core_show_channels")(aid))
        await wait_until(lambda: aid not in protocol.pending, 5)
        assert set(events) == {"FullyBooted"}
    finally:
        await link.close()


class Refusals:
    """Stands for a link's `closing = True` and counts how often a retry that came due read
    it (and so did nothing)."""

    def __init__(self) -> None:
        self.count = 0

    def __bool__(self) -> bool:
        self.count += 1
        return True


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return False


@pytest.mark.parametrize("secret", ["pw\r\nAction: Originate", "pw\x00x", "pw\nx"])
async def test_panoramisk_own_writes_pass_the_same_check(secret: str) -> None:
    """Issue #14.4: panoramisk writes its Login (and Ping) itself, past encode_action: the
    link's protocol checks those too, so a secret with CR, LF or NUL writes nothing."""
    from hotline.telephony.ami.errors import AmiBadAction
    from hotline.telephony.ami.link import _CodecProtocol

    protocol = _CodecProtocol()
    transport = _Transport()
    protocol.connection_made(transport)
    with pytest.raises(AmiBadAction):
        protocol.send({"Action": "Login", "Username": "hl", "Secret": secret})
    with pytest.raises(AmiBadAction):
        protocol.send_ours("Setvar", {"Variable": "X", "Value": secret})
    assert transport.written == b""
    protocol.send({"Action": "Ping"})
    assert transport.written.startswith(b"Action: Ping") or b"Action: Ping" in transport.written


async def test_a_peer_slow_to_answer_pings_but_still_talking_keeps_its_link(
        peer: FakeAsterisk) -> None:
    """An overloaded node answers its Ping late while its events keep coming: dropping the
    link would release every caller held on it and feed the overload. The link goes only when
    the node says nothing at all through a Ping's wait, or misses `ami_ping_misses` in a row."""
    await peer.start()
    link = AmiLink(link_settings(peer.port).model_copy(update={"ami_ping_misses": 3}))
    await link.connect()
    talking = True

    async def stream_events() -> None:
        while talking:
            for writer in list(peer.writers):
                with contextlib.suppress(ConnectionError):
                    writer.write(b"Event: VarSet\r\nPrivilege: dialplan,all\r\n"
                                 b"Variable: load\r\nValue: high\r\n\r\n")
            await asyncio.sleep(0.05)

    streaming = asyncio.create_task(stream_events())
    try:
        await wait_until(lambda: peer.logins >= 2, 5)  # the event and the action sessions
        logins = peer.logins
        peer.answer_pings = False
        await wait_until(lambda: link.late_pings >= 2, 5)
        assert peer.logins == logins  # two late Pings while the node talks: kept
        await wait_until(lambda: peer.logins > logins, 5)  # the third in a row: dropped
        peer.answer_pings = True
        await wait_until(lambda: link.logged_in.is_set(), 5)
    finally:
        talking = False
        streaming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await streaming
        await link.close()
