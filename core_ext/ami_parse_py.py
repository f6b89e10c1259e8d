"""AMI parsing kernel, pure-Python twin: the readable specification of ami_parse.pyx.

Two hot loops of the AMI codec (hotline.telephony.ami.codec), which owns the greeting, the
unterminated tail and the limits across reads:
- `split_messages` cuts the complete messages (each closed by an empty line) out of a read,
  decodes them and reads the event name when it comes first, as Asterisk sends it;
- `header_value` finds one header in a message's text without parsing the rest: the mapper
  reads 5-8 headers of the ~25 in each event it consumes.
The compiled kernel must return exactly what this module returns.
"""

from __future__ import annotations

TERMINATOR = b"\r\n\r\n"

# Indexes into the counts list.
EVENTS = 0  # messages whose first header is Event
RESPONSES = 1  # messages whose first header is Response
DECODE_ERRORS = 2  # messages that were not valid UTF-8 (decoded with U+FFFD)
EMPTY_BLOCKS = 3  # empty lines between messages
OVERSIZE = 4  # messages longer than max_message, dropped
OVERSIZE_BYTES = 5
N_COUNTS = 6


def split_messages(
    buf: bytes, max_message: int
) -> tuple[list[tuple[str | None, str]], int, list[int]]:
    """(messages, consumed, counts) for the complete messages in `buf`.

    messages: (name, text) per message, text without its terminator; name is the Event
    header's value when Event is the first header, "" when Response is, else None (the caller
    looks further). A message starting with a stray CRLF has it removed; one left empty counts
    as an empty block. consumed: bytes used; ``buf[consumed:]`` is the unterminated tail.
    counts: see the indexes above.
    """
    counts = [0] * N_COUNTS
    out: list[tuple[str | None, str]] = []
    pos = 0
    while True:
        end = buf.find(TERMINATOR, pos)
        if end < 0:
            break
        start, pos = pos, end + 4
        size = end - start
        if size == 0:
            counts[EMPTY_BLOCKS] += 1
            continue
        if size > max_message:
            counts[OVERSIZE] += 1
            counts[OVERSIZE_BYTES] += size
            continue
        if buf[start : start + 2] == b"\r\n":  # Asterisk sometimes doubles a line end
            while start < end and buf[start] in b"\r\n":
                start += 1
            if start == end:
                counts[EMPTY_BLOCKS] += 1
                continue
        chunk = buf[start:end]
        try:
            text = chunk.decode()
        except UnicodeDecodeError:
            counts[DECODE_ERRORS] += 1
            text = chunk.decode("utf-8", "replace")
        name: str | None = None
        if text.startswith("Event: "):
            eol = text.find("\r\n", 7)
            name = text[7:eol] if eol >= 0 else text[7:]
            counts[EVENTS] += 1
        elif text.startswith("Response:"):
            name = ""
            counts[RESPONSES] += 1
        out.append((name, text))
    return out, pos, counts


def header_value(text: str, key: str) -> str | None:
    """The value of the first header line ``key:value`` in a message's text (exact case, one
    space after the colon dropped), or None when no line starts with ``key:``.

    A header line splits at its first colon, so a key holding a colon or a line end never
    matches: None, and the caller falls back to a full parse.
    """
    if ":" in key or "\n" in key or "\r" in key:
        return None
    pattern = key + ":"
    if text.startswith(pattern):
        start = len(pattern)
    else:
        start = text.find("\r\n" + pattern)
        if start < 0:
            return None
        start += len(pattern) + 2
    end = text.find("\r\n", start)
    value = text[start:end] if end >= 0 else text[start:]
    return value[1:] if value[:1] == " " else value


__all__ = [
    "DECODE_ERRORS",
    "EMPTY_BLOCKS",
    "EVENTS",
    "N_COUNTS",
    "OVERSIZE",
    "OVERSIZE_BYTES",
    "RESPONSES",
    "header_value",
    "split_messages",
]
