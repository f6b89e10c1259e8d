"""FastAGI: a sans-I/O protocol object and a thin asyncio server around it.

Asterisk's `AGI(agi://host:port/script)` opens a TCP connection, sends the `agi_*` environment
block (`name: value` lines ended by an empty line), then waits for one command at a time and
answers each with one reply line (`200 result=1 (data) endpos=42`, `510 ...`, `511 ...`) or a
`520-` block. When the caller hangs up it may also send a bare `HANGUP` line.

`AgiConnection` turns bytes into events (`AgiEnvironment`, `AgiReply`, `AgiHangupNotice`) and
commands into bytes; it owns no socket and no loop. `AgiStream` drives it over asyncio streams,
`Agi` adds the typed commands the IVR uses, `AgiServer` accepts connections and hands each to
a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from hotline.core.settings import DEV_AGI_SECRET, Settings

log = logging.getLogger(__name__)

MAX_LINE: Final = 8192  # Asterisk's own AGI buffer is 2 KiB; longer lines mean a broken peer
MAX_ENV_LINES: Final = 256
# Every waiting caller opens a session (the hold), and every menu and survey another: a full
# accept queue drops the SYN and Asterisk's connect retries a second later (asyncio's default
# backlog is 100: a loop busy for a moment at 50 calls/s came close).
ACCEPT_BACKLOG: Final = 1024


# --------------------------------------------------------------------------------------------
# Errors: whose fault it was


class AgiError(Exception):
    """Base of every error this module raises."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not FastAGI (RemoteProtocolError)."""


class AgiUsageError(AgiError):
    """We asked for something the protocol cannot carry (LocalProtocolError)."""


class AgiCommandError(AgiError):
    """Asterisk refused a command: 510 unknown, 511 dead channel, 520 bad usage."""

    def __init__(self, reply: AgiReply) -> None:
        super().__init__(f"AGI {reply.code}: {reply.text}")
        self.reply = reply


class AgiHangup(AgiError):
    """The channel is gone: a HANGUP notice, a 511, result=-1, or the connection closed."""


class InsecureAgiSecret(AgiError):
    """A node's FastAGI secret is empty, short or the development default outside
    development: the server refuses to start."""


# --------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The `agi_*` block, names without the prefix (`channel`, `uniqueid`, `arg_1`, ...)."""

    values: Mapping[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def script(self) -> str:
        """`ivr` for agi://host:port/ivr?x (agi_network_script, without the query)."""
        return self.get("network_script").split("?", 1)[0].strip("/")

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def caller(self) -> str:
        return self.get("callerid")

    @property
    def args(self) -> tuple[str, ...]:
        out: list[str] = []
        while f"arg_{len(out) + 1}" in self.values:
            out.append(self.values[f"arg_{len(out) + 1}"])
        return tuple(out)


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply. `result` is the text after `result=`, `data` the parenthesised part,
    `extra` the `key=value` pairs after it (endpos=...), `text` the whole reply text."""

    code: int
    result: str = ""
    data: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def int_result(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(f"AGI result is not a number: {self.result!r}") from None


@dataclass(frozen=True, slots=True)
class AgiHangupNotice:
    """Asterisk's unsolicited `HANGUP` line: the caller left; the next command gets a 511."""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
AgiEvent = AgiEnvironment | AgiReply | AgiHangupNotice

# --------------------------------------------------------------------------------------------
# Parsing and formatting (pure functions)

_REPLY = re.compile(r"^(?P<code>[1-9][0-9]{2})(?P<sep>[ -])(?P<rest>.*)$", re.S)
_RESULT = re.compile(r"^result=(?P<result>\S*)(?P<tail>.*)$", re.S)
_PAIR = re.compile(r"(\w+)=(\S*)")
_COMMAND = re.compile(r"[A-Za-z]+( [A-Za-z]+)*")


def parse_reply(text: str) -> AgiReply:
    """One complete reply (a 520 block joined with newlines) -> AgiReply.

    Raises AgiProtocolError for anything that is not a reply; never anything else.
    """
    match = _REPLY.match(text)
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {text[:80]!r}")
    code, rest = int(match["code"]), match["rest"]
    if code != 200:
        return AgiReply(code=code, text=text)
    result = _RESULT.match(rest)
    if result is None:
        raise AgiProtocolError(f"AGI 200 without result=: {text[:80]!r}")
    tail = result["tail"].strip()
    data: str | None = None
    if tail.startswith("("):
        end = tail.rfind(")")
        if end < 0:
            raise AgiProtocolError(f"unclosed '(' in AGI reply: {text[:80]!r}")
        data, tail = tail[1:end], tail[end + 1 :]
    return AgiReply(code=200, result=result["result"], data=data,
                    extra=dict(_PAIR.findall(tail)), text=text)


def quote_arg(arg: str) -> str:
    """One command argument as res_agi's parse_args reads it: quoted, `\\` and `"` escaped."""
    if "\n" in arg or "\r" in arg or "\0" in arg:
        raise AgiUsageError(f"an AGI argument cannot hold a line break or NUL: {arg!r}")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(name: str, *args: str) -> bytes:
    """`STREAM FILE`, ("welcome", "12") -> b'STREAM FILE "welcome" "12"\\n'."""
    if not _COMMAND.fullmatch(name):
        raise AgiUsageError(f"not an AGI command name: {name!r}")
    line = " ".join([name.upper(), *(quote_arg(a) for a in args)])
    data = (line + "\n").encode()
    if len(data) > MAX_LINE:
        raise AgiUsageError(f"AGI command longer than {MAX_LINE} bytes")
    return data


# --------------------------------------------------------------------------------------------
# The sans-I/O connection


class AgiConnection:
    """Bytes in, events out; commands in, bytes out. One command may be in flight at a time,
    except pipelined ones (written without waiting for their replies: Asterisk answers them
    in order)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._events: deque[AgiEvent] = deque()
        self._env: dict[str, str] | None = {}  # None once the block is complete
        self._usage: list[str] = []  # lines of a 520- block in progress
        self._in_flight = 0  # commands sent whose replies have not come yet
        self.hung_up = False

    @property
    def awaiting_reply(self) -> bool:
        return self._in_flight > 0

    def receive_data(self, data: bytes) -> None:
        self._buf += data
        while (end := self._buf.find(b"\n")) >= 0:
            raw = bytes(self._buf[:end])
            del self._buf[: end + 1]
            self._line(raw.rstrip(b"\r").decode("utf-8", errors="replace"))
        if len(self._buf) > MAX_LINE:
            raise AgiProtocolError(f"AGI line longer than {MAX_LINE} bytes")

    def next_event(self) -> AgiEvent | _NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def send_command(self, name: str, *args: str, pipelined: bool = False) -> bytes:
        if self._env is not None:
            raise AgiUsageError("AGI command before the environment block was read")
        if self.awaiting_reply and not pipelined:
            raise AgiUsageError("AGI command while another one awaits its reply")
        data = format_command(name, *args)
        self._in_flight += 1
        return data

    def _line(self, line: str) -> None:
        if self._env is not None:
            self._env_line(line)
        elif line == "HANGUP":
            self.hung_up = True
            self._events.append(AgiHangupNotice())
        elif self._usage:
            self._usage.append(line)
            if line.startswith("520 "):
                self._reply("\n".join(self._usage))
                self._usage = []
        elif line.startswith("520-"):
            self._usage = [line]
        elif line == "" and not self.awaiting_reply:
            return  # stray blank line between replies: harmless
        else:
            self._reply(line)

    def _env_line(self, line: str) -> None:
        assert self._env is not None
        if line == "":
            self._events.append(AgiEnvironment(self._env))
            self._env = None
            return
        name, sep, value = line.partition(":")
        if not sep or not name.startswith("agi_"):
            raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
        if len(self._env) >= MAX_ENV_LINES:
            raise AgiProtocolError("AGI environment block too long")
        self._env[name[4:]] = value.strip()

    def _reply(self, text: str) -> None:
        if not self.awaiting_reply:
            raise AgiProtocolError(f"AGI reply without a command: {text[:80]!r}")
        self._in_flight -= 1
        self._events.append(parse_reply(text))


# --------------------------------------------------------------------------------------------
# asyncio: one session


class AgiCommands(Protocol):
    """What `Agi` needs: send one command, get its reply. Tests script this."""

    async def command(self, name: str, *args: str) -> AgiReply: ...


class AgiStream:
    """AgiConnection over an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._conn = AgiConnection()

    async def _next(self) -> AgiEvent:
        while True:
            event = self._conn.next_event()
            if not isinstance(event, _NeedData):
                return event
            try:
                data = await self._reader.read(4096)
            except ConnectionError as exc:  # reset by Asterisk: the session is over
                raise AgiHangup(f"AGI connection lost: {exc}") from exc
            if not data:
                raise AgiHangup("AGI connection closed by Asterisk")
            self._conn.receive_data(data)

    async def read_environment(self) -> AgiEnvironment:
        event = await self._next()
        if not isinstance(event, AgiEnvironment):
            raise AgiProtocolError(f"expected the AGI environment, got {event!r}")
        return event

    async def command(self, name: str, *args: str) -> AgiReply:
        self._writer.write(self._conn.send_command(name, *args))
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise AgiHangup(f"AGI connection lost: {exc}") from exc
        while True:
            event = await self._next()
            if isinstance(event, AgiReply):
                return event
            # a HANGUP notice: the reply (a 511 or result=-1) still follows

    async def until_hangup(self) -> None:
        """Waits, with no command in flight but pipelined ones (whose replies it reads and
        drops), until Asterisk ends the session: a HANGUP notice (the caller left, or an AMI
        Redirect took the channel elsewhere) or the connection closing. Cancelling it leaves
        the session usable for the next command."""
        while True:
            event = await self._next()
            if isinstance(event, AgiHangupNotice):
                return

    def finish(self, name: str | None = None, *args: str) -> bool:
        """Sends a last command (or none) and closes our side for writing, without waiting
        for a reply: Asterisk runs the command, replies, reads the end of the session and goes
        on with the dialplan at once. Keep reading (`until_hangup`) until Asterisk closes.
        False when the session is already over (nothing sent)."""
        if self._conn.hung_up or self._writer.transport.is_closing():
            return False
        if name is not None:
            self._writer.write(self._conn.send_command(name, *args, pipelined=True))
        if self._writer.can_write_eof():
            self._writer.write_eof()
        return True

    def renew(self, seconds: float) -> bool:
        """Moves the channel's absolute timeout (its lease) to `seconds` from now, without
        waiting for the reply (`until_hangup` reads it): `SET AUTOHANGUP`, what the dialplan's
        TIMEOUT(absolute) set. False when the session is already over (nothing sent)."""
        if self._conn.hung_up or self._writer.transport.is_closing():
            return False
        self._writer.write(self._conn.send_command("SET AUTOHANGUP", f"{seconds:g}",
                                                   pipelined=True))
        return True

    def abort(self) -> None:
        """Ends the session at once from any thread (a watchdog's last resort): Asterisk reads
        the connection's end and goes on with the dialplan."""
        sock = self._writer.get_extra_info("socket")
        if sock is None:
            return
        # uvloop's transport sockets refuse shutdown(): shut down a duplicate of the
        # descriptor instead (shutdown acts on the connection, whichever descriptor names it)
        with contextlib.suppress(OSError, ValueError):
            with socket.fromfd(sock.fileno(), sock.family, sock.type) as dup:
                dup.shutdown(socket.SHUT_RDWR)

    async def close(self) -> None:
        self._writer.close()
        # OSError, not only ConnectionError: uvloop reports a peer already gone as ENOTCONN
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def _digit(code: int) -> str:
    """STREAM FILE / WAIT FOR DIGIT answer with the digit's character code, 0 for none."""
    return chr(code) if code > 0 else ""


class Agi:
    """The commands the IVR uses, typed. Errors: AgiHangup when the channel is gone,
    AgiCommandError when Asterisk refused the command."""

    def __init__(self, io: AgiCommands, env: AgiEnvironment,
                 nodes: frozenset[str] = frozenset()) -> None:
        #: the nodes this session proved to come from (address and secret): AgiServer's word
        self.io, self.env, self.nodes = io, env, nodes

    async def command(self, name: str, *args: str) -> AgiReply:
        reply = await self.io.command(name, *args)
        if reply.code == 511:
            raise AgiHangup(reply.text)
        if not reply.ok:
            raise AgiCommandError(reply)
        return reply

    async def _checked(self, name: str, *args: str) -> AgiReply:
        reply = await self.command(name, *args)
        if reply.result == "-1":
            raise AgiHangup(f"{name} failed (result=-1): the channel hung up or the file is "
                            f"missing ({' '.join(args)})")
        return reply

    async def answer(self) -> None:
        await self._checked("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        """Plays a file; returns the digit that interrupted it, or ''."""
        reply = await self._checked("STREAM FILE", name, escape_digits)
        return _digit(reply.int_result)

    async def get_data(self, name: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Plays a prompt and collects up to max_digits ('#' ends early): (digits, timed_out)."""
        reply = await self._checked("GET DATA", name, str(timeout_ms), str(max_digits))
        return reply.result, reply.data == "timeout"

    async def wait_for_digit(self, timeout_ms: int) -> str:
        reply = await self._checked("WAIT FOR DIGIT", str(timeout_ms))
        return _digit(reply.int_result)

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def set_autohangup(self, seconds: float) -> None:
        """Moves the channel's absolute timeout to `seconds` from now (0: none): what the
        dialplan's TIMEOUT(absolute) set, such as the answer lease of a session."""
        await self.command("SET AUTOHANGUP", f"{seconds:g}")

    async def get_variable(self, name: str) -> str | None:
        """None when the variable is not set (result=0)."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def exec(self, app: str, options: str = "") -> int:
        reply = await self.command("EXEC", app, options)
        if reply.result == "-2":
            raise AgiCommandError(reply)  # no such application
        return reply.int_result

    async def user_event(self, name: str, **fields: str) -> None:
        """UserEvent(name,Key: value,...): how the controller sees what happened in the IVR."""
        for key, value in fields.items():
            if "," in value or "|" in value:
                raise AgiUsageError(f"UserEvent field {key} cannot hold ',' or '|': {value!r}")
        await self.exec("UserEvent", ",".join([name, *(f"{k}: {v}" for k, v in fields.items())]))

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        reply = await self._checked("SAY DIGITS", digits, escape_digits)
        return _digit(reply.int_result)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, str(level))

    async def hangup(self) -> None:
        await self.command("HANGUP")


# --------------------------------------------------------------------------------------------
# The server

Handler = Callable[[Agi], Awaitable[None]]


def by_script(scripts: Mapping[str, Handler]) -> Handler:
    """One handler that runs `scripts[agi.env.script]`; an unknown script is logged and
    returned from at once (the dialplan goes on with its next priority)."""

    async def run(agi: Agi) -> None:
        handler = scripts.get(agi.env.script)
        if handler is None:
            log.warning("AGI request for unknown script %r", agi.env.script)
            return
        await handler(agi)

    return run


#: The query parameter of the AGI URL that carries the node's secret:
#: `AGI(agi://host:port/hold?key=<secret>,args...)` (asterisk-config/extensions.conf).
KEY_PARAM: Final = "key"
MIN_AGI_SECRET_LEN: Final = 16
DEVELOPMENT: Final = "development"
#: At most one log line per refusal reason this often (a flood is counted, not echoed).
REFUSAL_LOG_EVERY_S: Final = 5.0

_SECRET_SHAPE = re.compile(r"[A-Za-z0-9._~-]*")
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def secret_of(env: AgiEnvironment) -> str:
    """The `key=` parameter of the AGI URL's query ('' when absent)."""
    _, _, query = env.get("network_script").partition("?")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == KEY_PARAM:
            return value
    return ""


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@dataclass(frozen=True, slots=True)
class AgiPeer:
    """One Asterisk node as FastAGI sees it: where it connects from, what it must say."""

    node: str
    networks: tuple[_Network, ...]
    secret: bytes


class AgiGate:
    """Who may hold a FastAGI session: a connection from a configured node's address that
    sends that node's secret (docs/security.md). Built once from the settings; every check
    is a few comparisons (the hold session is on every waiting caller's path)."""

    def __init__(self, settings: Settings) -> None:
        peers = []
        for node in settings.nodes():
            if not _SECRET_SHAPE.fullmatch(node.agi_secret):
                # it goes into the AGI URL: a ',' or '&' would cut it, or the arguments
                raise InsecureAgiSecret(f"node {node.name}: a FastAGI secret holds letters, "
                                        "digits and - _ . ~ only")
            if settings.environment != DEVELOPMENT and (
                    not node.agi_secret or node.agi_secret == DEV_AGI_SECRET
                    or len(node.agi_secret) < MIN_AGI_SECRET_LEN):
                raise InsecureAgiSecret(
                    f"node {node.name}: its FastAGI secret (HOTLINE_AGI_SECRET, or agi_secret "
                    f"in HOTLINE_OTHER_NODES) must be a random string of at least "
                    f"{MIN_AGI_SECRET_LEN} characters outside development (environment is "
                    f"{settings.environment!r})")
            networks = []
            for source in node.agi_peers:
                try:
                    networks.append(ipaddress.ip_network(source, strict=False))
                except ValueError:  # a host name: what it resolves to now
                    for info in socket.getaddrinfo(source, None, proto=socket.IPPROTO_TCP):
                        networks.append(ipaddress.ip_network(info[4][0]))
            peers.append(AgiPeer(node.name, tuple(networks), node.agi_secret.encode()))
        self.peers = tuple(peers)

    def candidates(self, host: str) -> tuple[AgiPeer, ...]:
        """The nodes a connection from `host` may belong to (none: refused at once)."""
        addr = _address(host)
        if addr is None:
            return ()
        return tuple(p for p in self.peers
                     if any(addr.version == n.version and addr in n for n in p.networks))

    @staticmethod
    def nodes(candidates: tuple[AgiPeer, ...], secret: str) -> frozenset[str]:
        """Those of `candidates` whose secret is `secret`, compared in constant time (each
        one compared, so the time does not say which matched)."""
        given = secret.encode("utf-8", "surrogateescape")
        matched = [p.node for p in candidates if hmac.compare_digest(given, p.secret)]
        return frozenset(matched) if secret else frozenset()


class AgiServer:
    """Listens on Settings.agi_listen_host:agi_port; runs `handler(agi)` for each AGI request.

    The handler picks what to do from `agi.env.script` ("ivr", "survey"). When it returns,
    the connection closes and the dialplan goes on with the next priority. Errors in a handler
    are logged, never raised into the loop; a hangup is the normal end of a session.

    Only the configured nodes get a session (AgiGate): a connection from another address is
    closed at once, one over the caps (overall, per address) too, one that does not send its
    environment within agi_env_timeout_s or sends a wrong or no secret is closed after it.
    Each refusal is counted in `refused` by reason and logged (at most once per reason every
    REFUSAL_LOG_EVERY_S).
    """

    def __init__(self, settings: Settings, handler: Handler) -> None:
        self.settings, self.handler = settings, handler
        self.gate = AgiGate(settings)  # raises InsecureAgiSecret before anything listens
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._per_peer: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._logged_at: dict[str, float] = {}

    @property
    def port(self) -> int:
        """The bound port (useful with agi_port=0 in tests)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def listening(self) -> bool:
        """Whether the server accepts FastAGI connections (/readyz)."""
        return self._server is not None and self._server.is_serving()

    @property
    def open_connections(self) -> int:
        return self._per_peer.total()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.settings.agi_listen_host, self.settings.agi_port,
            backlog=ACCEPT_BACKLOG)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _refuse(self, reason: str, host: str, detail: str = "") -> None:
        self.refused[reason] += 1
        now = time.monotonic()
        if now - self._logged_at.get(reason, -REFUSAL_LOG_EVERY_S) >= REFUSAL_LOG_EVERY_S:
            self._logged_at[reason] = now
            log.warning("FastAGI connection from %s refused (%s%s); %d refused so far for this "
                        "reason", host, reason, f": {detail}" if detail else "",
                        self.refused[reason])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if peer else ""
        candidates = self.gate.candidates(host)
        settings = self.settings
        if not candidates:
            self._refuse("address", host)
            writer.transport.abort()
            return
        if self._per_peer.total() >= settings.agi_max_connections:
            self._refuse("connections", host, f"{settings.agi_max_connections} open")
            writer.transport.abort()
            return
        if self._per_peer[host] >= settings.agi_max_connections_per_peer:
            self._refuse("connections_per_peer", host,
                         f"{settings.agi_max_connections_per_peer} open from it")
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        self._per_peer[host] += 1
        stream = AgiStream(reader, writer)
        try:
            try:
                async with asyncio.timeout(settings.agi_env_timeout_s):
                    env = await stream.read_environment()
            except TimeoutError:
                self._refuse("environment_timeout", host,
                             f"no environment within {settings.agi_env_timeout_s:g} s")
                return
            except AgiProtocolError as exc:
                self._refuse("protocol", host, str(exc))
                return
            nodes = self.gate.nodes(candidates, secret_of(env))
            if not nodes:
                self._refuse("secret", host, f"script {env.script!r}")
                return
            await self.handler(Agi(stream, env, nodes))
        except AgiHangup:
            pass
        except AgiError as exc:
            log.warning("AGI session ended on an error: %s", exc)
        except asyncio.CancelledError:
            # stop() (or the loop's shutdown) ended the session: closing the connection is its
            # normal end, Asterisk goes on with the dialplan. The task is the connection's own
            # and nothing awaits it; ending it cancelled would make asyncio's stream server
            # log the CancelledError as an error (Python 3.11 asks a cancelled task for its
            # exception()).
            pass
        except Exception:
            log.exception("AGI handler failed")
        finally:
            self._sessions.discard(task)
            self._per_peer[host] -= 1
            if self._per_peer[host] <= 0:
                del self._per_peer[host]
            await stream.close()
