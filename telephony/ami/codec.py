"""Sans-I/O codec for the Asterisk Manager Interface (AMI) wire protocol.

Bytes in, `AmiMessage`s out: the codec owns no socket, no loop and no clock, so the asyncio
connection drives it from `data_received(bytes)` and tests drive it from recorded transcripts.

The wire format: after a one-line greeting (``Asterisk Call Manager/x.y.z\\r\\n``) every message
is a block of ``Key: Value\\r\\n`` lines closed by an empty line (``\\r\\n\\r\\n``). A message is a
response when it starts with ``Response:`` (matched to its action by ``ActionID``) and an event
when it carries ``Event:``. Reads split messages anywhere, so the codec keeps the unterminated
tail until the next read.

Speed matters (every channel change crosses this path): messages are cut with bytes operations,
the event name is read without parsing the headers, and the headers are parsed only when a
consumer asks for them, so events nobody consumes cost a split and a name lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType

from hotline.core_ext.select import load as load_kernel

log = logging.getLogger(__name__)

# The header search every lookup starts with (compiled unless HOTLINE_PURE_PYTHON=1).
_header_value = load_kernel("ami_parse").header_value

GREETING_PREFIX = b"Asterisk Call Manager/"
TERMINATOR = b"\r\n\r\n"
EOL = "\r\n"
DEFAULT_MAX_MESSAGE = 64 * 1024  # Asterisk's own events stay far below this


class MissingHeader(KeyError):
    """A message lacks a header its consumer requires."""

    def __init__(self, key: str, name: str = "") -> None:
        super().__init__(key)
        self.key, self.name = key, name

    def __str__(self) -> str:
        return f"header {self.key!r} missing from {self.name or 'message'}"


class BadHeader(ValueError):
    """A header is present but its value does not have the type its consumer requires."""

    def __init__(self, key: str, value: str, wanted: str) -> None:
        super().__init__(f"header {key!r}={value!r} is not {wanted}")
        self.key, self.value, self.wanted = key, value, wanted


class AmiMessage(Mapping[str, str]):
    """One AMI message: an immutable mapping of header -> value, keys matched exactly first,
    then case-insensitively.

    A header line is ``Key:Value`` split at its first colon, one space after the colon dropped;
    a line without a colon is kept in `loose_lines`. A repeated header (``ChanVariable``,
    ``Output``) maps to its first value; `getall` gives every value in order.

    Looking a header up searches the text (C speed, no dict built), and the full parse runs only
    for iteration, repeats or a case-insensitive miss: a consumer reads 5-8 headers of ~25.
    """

    __slots__ = ("_folded", "_headers", "_loose", "_lower", "_multi", "name", "text")

    def __init__(self, text: str, name: str | None = None) -> None:
        self.text = text  # the message as received, without its terminator
        self._headers: dict[str, str] | None = None
        self._multi: dict[str, list[str]] | None = None
        self._lower: dict[str, str] | None = None
        self._folded: str | None = None  # the text lower-cased, for a cheap miss
        self._loose: tuple[str, ...] = ()
        if name is None:
            name = _event_name(text)
            if name is None:
                name = self.get("Event") or ""
        self.name = name  # the Event header, "" for responses and others

    @classmethod
    def from_headers(cls, pairs: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> AmiMessage:
        """Build a message from (key, value) pairs, e.g. in tests; repeats are kept."""
        return cls(EOL.join(f"{k}: {v}" for k, v in pairs))

    # -- parsing -------------------------------------------------------------------------

    def _parse(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] | None = None
        loose: list[str] | None = None
        for line in self.text.split(EOL):
            key, sep, value = line.partition(":")
            if not sep or not key:
                if line:
                    if loose is None:
                        loose = []
                    loose.append(line)
                continue
            if value[:1] == " ":
                value = value[1:]
            if key in headers:
                if multi is None:
                    multi = {}
                multi.setdefault(key, [headers[key]]).append(value)
                continue
            headers[key] = value
        self._headers, self._multi = headers, multi
        if loose:
            self._loose = tuple(loose)
        return headers

    @property
    def headers(self) -> dict[str, str]:
        """The parsed headers (first value of each); do not mutate."""
        h = self._headers
        return h if h is not None else self._parse()

    def _key(self, key: str) -> str | None:
        """The header's spelling in this message, matched case-insensitively."""
        h = self.headers
        if key in h:
            return key
        lower = self._lower
        if lower is None:
            lower = self._lower = {k.lower(): k for k in h}
        return lower.get(key.lower())

    # -- Mapping -------------------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        value = _header_value(self.text, key)  # exact case, found by a search of the text
        if value is not None:
            return value if key else default  # "" would match a loose ":..." line
        if self._headers is None:
            # A header this message lacks (ActionID on an event, an optional field) must not
            # cost a full parse: a case-insensitive match needs "key:" in the folded text.
            folded = self._folded
            if folded is None:
                folded = self._folded = self.text.lower()
            if key.lower() + ":" not in folded:
                return default
        real = self._key(key)
        return default if real is None else self.headers[real]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise MissingHeader(key, self.name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AmiMessage):
            return self.text == other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"AmiMessage({self.text!r})"

    # -- typed access --------------------------------------------------------------------

    def get_str(self, key: str) -> str:
        """The value, which must be present and not empty; else MissingHeader."""
        value = _header_value(self.text, key)  # get's first step, inlined: the common case
        if not value:
            value = self.get(key)
            if not value:
                raise MissingHeader(key, self.name)
        return value

    def get_int(self, key: str, default: int | None = None) -> int:
        value = self.get(key)
        if not value:
            if default is None:
                raise MissingHeader(key, self.name)
            return default
        try:
            return int(value)
        except ValueError:
            raise BadHeader(key, value, "an integer") from None

    def get_float(self, key: str, default: float | None = None) -> float:
        value = self.get(key)
        if not value:
            if default is None:
                raise MissingHeader(key, self.name)
            return default
        try:
            return float(value)
        except ValueError:
            raise BadHeader(key, value, "a number") from None

    def getall(self, key: str) -> tuple[str, ...]:
        """Every value of a header that may repeat, in wire order ((), when absent)."""
        if self._headers is None and key.lower() not in self.text.lower():
            return ()  # spares the parse in the common case
        real = self._key(key)
        if real is None:
            return ()
        if self._multi is not None and real in self._multi:
            return tuple(self._multi[real])
        return (self.headers[real],)

    def variables(self, key: str = "ChanVariable") -> dict[str, str]:
        """``NAME=value`` headers (channelvars in manager.conf) as a dict."""
        out: dict[str, str] = {}
        for item in self.getall(key):
            name, _, value = item.partition("=")
            out[name] = value
        return out

    @property
    def loose_lines(self) -> tuple[str, ...]:
        """Lines without a colon, kept rather than silently dropped."""
        if self._headers is None:
            self._parse()
        return self._loose

    @property
    def is_event(self) -> bool:
        return bool(self.name) or "Event" in self

    @property
    def is_response(self) -> bool:
        return self.text.startswith("Response:") or "Response" in self

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


def _event_name(text: str) -> str | None:
    """The Event header's value when it comes first, as Asterisk sends it; None: parse."""
    if text.startswith("Event: "):
        end = text.find(EOL, 7)
        return text[7:end] if end >= 0 else text[7:]
    if text.startswith("Response:"):
        return ""
    return None


@dataclass(slots=True)
class CodecStats:
    """What the codec saw; the counters only grow."""

    messages: int = 0
    events: int = 0
    responses: int = 0
    others: int = 0  # neither Event nor Response: counted and still handed out
    decode_errors: int = 0  # messages that were not valid UTF-8 (decoded with U+FFFD)
    oversize: int = 0  # messages dropped for exceeding max_message bytes
    oversize_bytes: int = 0
    empty_blocks: int = 0  # stray blank lines between messages


class AmiCodec:
    """Turns the bytes of an AMI connection into `AmiMessage`s.

    `feed` returns every complete message in wire order; `feed_split` separates events from
    responses for a caller that matches ActionIDs. `version` holds the greeting's version once
    seen. Never raises on input: whatever it cannot use is counted in `stats`.
    """

    def __init__(
        self, max_message: int = DEFAULT_MAX_MESSAGE, kernel: ModuleType | None = None
    ) -> None:
        """`kernel`: the splitter (hotline.core_ext.ami_parse or its twin ami_parse_py);
        by default the compiled one when it is available."""
        self.max_message = max_message
        self.kernel = kernel if kernel is not None else load_kernel("ami_parse")
        self._split = self.kernel.split_messages
        self.version: str | None = None
        self.stats = CodecStats()
        self._buf = b""
        self._greeting_pending = True
        self._discarding = False  # inside an oversize message: drop until its terminator
        self._skip_line = False  # inside an oversize greeting line: drop until its CRLF

    @property
    def buffered(self) -> int:
        """Bytes held back, waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._buf + data if self._buf else data
        if self._greeting_pending:
            buf = self._take_greeting(buf)
            if self._greeting_pending:
                self._buf = buf
                return []
        if self._discarding:
            buf = self._skip_oversize(buf)
            if self._discarding:
                self._buf = buf
                return []
        items, consumed, counts = self._split(buf, self.max_message)
        self._buf = self._keep_tail(buf[consumed:] if consumed else buf)
        if not items and not consumed:
            return []
        msgs = [AmiMessage(text, name) for name, text in items]
        self._count(msgs, items, counts)
        return msgs

    def feed_split(self, data: bytes) -> tuple[list[AmiMessage], list[AmiMessage]]:
        """(events, responses) from `data`; messages that are neither go with the events."""
        events: list[AmiMessage] = []
        responses: list[AmiMessage] = []
        for msg in self.feed(data):
            (events if msg.name or not msg.is_response else responses).append(msg)
        return events, responses

    # -- internals -----------------------------------------------------------------------

    def _count(
        self, msgs: list[AmiMessage], items: list[tuple[str | None, str]], counts: list[int]
    ) -> None:
        k, stats = self.kernel, self.stats
        events, responses, others = counts[k.EVENTS], counts[k.RESPONSES], 0
        if events + responses < len(msgs):
            # Messages whose first header was neither Event nor Response: look further.
            for msg, (name, _) in zip(msgs, items, strict=True):
                if name is None:
                    if msg.name:
                        events += 1
                    elif msg.is_response:
                        responses += 1
                    else:
                        others += 1
        stats.messages += len(msgs)
        stats.events += events
        stats.responses += responses
        stats.others += others
        stats.decode_errors += counts[k.DECODE_ERRORS]
        stats.empty_blocks += counts[k.EMPTY_BLOCKS]
        if counts[k.OVERSIZE]:
            stats.oversize += counts[k.OVERSIZE]
            stats.oversize_bytes += counts[k.OVERSIZE_BYTES]
            log.debug("AMI message over %d bytes dropped", self.max_message)

    def _take_greeting(self, buf: bytes) -> bytes:
        if self._skip_line:
            return self._skip_long_greeting(buf)
        probe = buf[: len(GREETING_PREFIX)]
        if not GREETING_PREFIX.startswith(probe):
            self._greeting_pending = False  # no greeting (a transcript): messages right away
            return buf
        end = buf.find(b"\r\n")
        # (+ 1: an unterminated line may end with the CR of its CRLF)
        if end > self.max_message or (end < 0 and len(buf) > self.max_message + 1):
            # An absurd greeting: drop it like an oversize message, through its line end.
            self._count_oversize(end if end >= 0 else len(buf))
            self._skip_line = True
            return self._skip_long_greeting(buf)
        if end < 0:
            return buf
        line = buf[:end].decode("utf-8", "replace")
        self.version = line.partition("/")[2].strip()
        self._greeting_pending = False
        log.debug("AMI greeting: version %s", self.version)
        return buf[end + 2 :]

    def _skip_long_greeting(self, buf: bytes) -> bytes:
        end = buf.find(b"\r\n")
        if end < 0:
            return buf[-1:]  # a CR here may begin the CRLF
        self._skip_line = self._greeting_pending = False
        return buf[end + 2 :]

    def _keep_tail(self, tail: bytes) -> bytes:
        # + 3: the tail may end with the first bytes of the message's terminator.
        if len(tail) <= self.max_message + 3:
            return tail
        # No terminator within the limit: drop it all, then skip to the end of this message.
        self._count_oversize(len(tail))
        self._discarding = True
        return tail[-3:]  # a terminator may straddle this read and the next

    def _skip_oversize(self, buf: bytes) -> bytes:
        end = buf.find(TERMINATOR)
        if end < 0:
            self.stats.oversize_bytes += max(0, len(buf) - 3)
            return buf[-3:]
        self.stats.oversize_bytes += end
        self._discarding = False
        return buf[end + len(TERMINATOR) :]

    def _count_oversize(self, size: int) -> None:
        self.stats.oversize += 1
        self.stats.oversize_bytes += size
        log.debug("AMI message over %d bytes dropped (%d bytes)", self.max_message, size)


__all__ = [
    "AmiCodec",
    "AmiMessage",
    "BadHeader",
    "CodecStats",
    "MissingHeader",
]
