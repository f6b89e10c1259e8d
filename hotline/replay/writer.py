"""Writes the replay journal (journal.py's format): one file per centre day, append-only.

The controller calls `line(value)` once per input on its event loop, so the cost is one JSON
encode (the C encoder), a CRC32 and a buffered write; the buffer goes to the file at most once
a second (`flush_s`) and at close, so a crash loses at most that second. A new centre day
(local midnight by `utc_offset_s`) starts a new file that `follows` the last one; a file that
reaches `max_bytes` gets a STOPPED line and nothing more is recorded until the next day
(`dropped` counts what was left out); files of days older than `keep_days` are deleted when a
day's file is opened.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import IO, Any

from hotline.replay.journal import FORMAT, STOPPED, SUFFIX, VERSION

log = logging.getLogger("hotline.replay")

_DAY = 86_400
_encode: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"),
                                                 ensure_ascii=False).encode
if c_make_encoder is not None:  # the C encoder made once, not once per line as encode() does
    _chunks = c_make_encoder(None, None, encode_basestring, None, ":", ",", False, False, True)

    def _encode(value: Any) -> str:
        return "".join(_chunks(value, 0))
_crc = zlib.crc32


class JournalWriter:
    def __init__(self, directory: Path, header: dict[str, Any], *, utc_offset_s: int,
                 max_bytes: int, keep_days: int, flush_s: float = 1.0) -> None:
        """`header`: what every file's header carries besides format, version, `follows`
        and `created` (the first file's: the centre too)."""
        self.directory = Path(directory)
        self._header = header
        self._offset = utc_offset_s
        self._max = max_bytes
        self._keep_days = keep_days
        self._flush_s = flush_s
        self._file: IO[str] | None = None
        self._path: Path | None = None
        self._day_end = float("-inf")
        self._size = 0
        self._flushed = 0.0
        self._stopped = False
        self.dropped = 0  # inputs not recorded (the size bound)
        self.lines = 0

    @property
    def path(self) -> Path | None:
        """The file written now."""
        return self._path

    def line(self, t: float, value: list[Any]) -> None:
        if t >= self._day_end:
            self._open(t)
        if self._stopped:
            self.dropped += 1
            return
        text = _encode(value)
        out = f"{_crc(text.encode()):08x} {text}\n"
        self._size += len(out)
        self.lines += 1
        f = self._file
        assert f is not None
        f.write(out)
        if self._size > self._max:
            self._stop(t, "size bound")
        elif t - self._flushed >= self._flush_s:
            f.flush()
            self._flushed = t

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _stop(self, t: float, why: str) -> None:
        assert self._file is not None
        text = _encode([t, STOPPED, why])
        self._file.write(f"{_crc(text.encode()):08x} {text}\n")
        self._file.flush()
        self._stopped = True
        log.warning("replay journal %s: recording stopped (%s) until the next day",
                    self._path, why)

    def _open(self, t: float) -> None:
        """The file for t's day: the first one (a fresh start), or the next day's."""
        follows = self._path.name if self._path is not None else None
        self.close()
        local = t + self._offset
        day_start = local - local % _DAY
        self._day_end = day_start + _DAY - self._offset
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H%M%S", time.gmtime(local))
        path = self.directory / f"{stamp}{SUFFIX}"
        n = 1
        while path.exists():  # two starts within a second
            n += 1
            path = self.directory / f"{stamp}-{n}{SUFFIX}"
        header = {"format": FORMAT, "version": VERSION, "follows": follows, "created": t,
                  **self._header}
        if follows is not None:
            header.pop("centre", None)  # the chain's first file has it; commands the rest
        text = _encode(header)
        self._file = path.open("x", encoding="utf-8", buffering=1 << 16)
        self._file.write(f"{_crc(text.encode()):08x} {text}\n")
        self._file.flush()
        self._path, self._size, self._stopped, self._flushed = path, len(text), False, t
        self._prune(day_start)

    def _prune(self, day_start: float) -> None:
        oldest = time.strftime("%Y-%m-%d", time.gmtime(day_start - self._keep_days * _DAY))
        for old in self.directory.glob(f"*{SUFFIX}"):
            if old.name[:10] < oldest:
                old.unlink(missing_ok=True)


__all__ = ["JournalWriter"]
