"""The write-behind's on-disk outbox: every record is in a file before it counts as accepted.

Layout, in the writer's data directory (docs/outbox.md):
- `outbox-<P>.jsonl`: segments of one append-only log of JSON lines, one record a line. Every
  byte of the log has a position that never repeats (not across segments, not across
  restarts); <P> (20 digits) is the position of the segment's first byte.
- `drained`: one decimal position; every line before it is committed to PostgreSQL. Replaced
  atomically (write, fsync, rename), and only ever after the commit, so it may lag (a replay
  then writes a few rows again, which the upserts make harmless) but never runs ahead.
- `quarantine.jsonl`: lines that could not be decoded, and records PostgreSQL refused for
  good, each with its error, for an operator to read; they are never retried.

Durability (group commit): `append` only buffers. The buffer is written to the segment with
one write(2) at the end of the event-loop turn, and a background thread fsyncs the segment
at most every `sync_interval_s`. A record is therefore durable within one loop turn plus
`sync_interval_s` plus one fsync of its submission; a kill -9 loses at most what was not yet
written (the page cache survives a process crash), a power cut what was not yet fsynced.
`sync()` makes everything appended so far durable at once.

At open, a torn last line (a crash mid-write) is cut off and counted; segments wholly before
`drained` are deleted (also whenever `drained` moves on past them).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("hotline.store.outbox")

_SEGMENT = re.compile(r"^outbox-(\d{20})\.jsonl$")


class OutboxBusy(RuntimeError):
    """Another writer (in this process or another) holds the directory."""


@dataclass(frozen=True)
class Line:
    data: bytes  # with its newline
    end: int  # the position right after it


class Outbox:
    def __init__(self, directory: Path, *, sync_interval_s: float = 0.005,
                 segment_bytes: int = 16 << 20) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        # one writer per directory: a second one would interleave positions and drain twice
        self._lock = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise OutboxBusy(f"the outbox in {directory} is in use by another writer "
                             "(another hotline run on the same data directory?)") from None
        self.quarantine_path = directory / "quarantine.jsonl"
        self._drained_path = directory / "drained"
        self.sync_interval_s = sync_interval_s
        self.segment_bytes = segment_bytes
        self.torn = 0  # torn lines cut off at open
        self.drained = self._read_drained()  # committed to PostgreSQL up to here
        self._segments = self._recover()  # first positions, oldest first (the last: current)
        last = self._segments[-1] if self._segments else 0
        self.end = max(self.drained, last + self._size(last) if self._segments else 0)
        self.written = self.end  # handed to write(2) up to here
        self.synced = self.end  # fsynced up to here
        self._persisted = self.drained
        self._buffer: list[bytes] = []
        self._scheduled = False
        self._closing = False  # sealed: nothing more is accepted
        self._closed = False
        self._cond = threading.Condition()
        self._retired: list[int] = []  # fds of full segments, to fsync and close (the thread)
        self._new_entry = False
        self._urgent = False
        self._open_segment(self.end)
        self._drop_drained(self.drained)
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- recovery

    def _read_drained(self) -> int:
        try:
            return int(self._drained_path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:  # not ours to guess: replay everything (the upserts are idempotent)
            log.error("%s is unreadable; replaying the whole outbox", self._drained_path)
            return 0

    def _path(self, start: int) -> Path:
        return self.directory / f"outbox-{start:020d}.jsonl"

    def _size(self, start: int) -> int:
        try:
            return self._path(start).stat().st_size
        except FileNotFoundError:
            return 0

    def _recover(self) -> list[int]:
        starts = sorted(int(m.group(1)) for p in self.directory.iterdir()
                        if (m := _SEGMENT.match(p.name)))
        for start in starts:
            path = self._path(start)
            with path.open("r+b") as f:
                size = f.seek(0, os.SEEK_END)
                if size == 0 or (f.seek(size - 1), f.read(1))[1] == b"\n":
                    continue
                f.seek(0)
                keep = f.read().rfind(b"\n") + 1
                f.truncate(keep)
                os.fsync(f.fileno())
            self.torn += 1
            log.warning("outbox %s: a torn last line (%d bytes) dropped", path.name,
                        size - keep)
        return starts

    def undrained_lines(self) -> int:
        """How many lines wait after `drained` (read once, at start)."""
        return sum(1 for _ in self._lines(self.drained, self.written))

    # ---------------------------------------------------------------- appending (the loop)

    def append(self, line: bytes) -> int:
        """Buffers one line (ending in a newline); returns the position after it. Written at
        the end of this loop turn (at once when no loop runs), fsynced soon after."""
        if self._closing:
            raise RuntimeError("the outbox is closed: nothing more is accepted")
        self._buffer.append(line)
        self.end += len(line)
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self.write_out)
            except RuntimeError:
                self.write_out()
        return self.end

    def write_out(self) -> None:
        """One write(2) of the buffer; a full segment is handed to the thread to close."""
        self._scheduled = False
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        with self._cond:
            self.written += len(data)
            if self.written - self._segments[-1] >= self.segment_bytes:
                self._retired.append(self._fd)
                self._open_segment(self.written)
            self._cond.notify()
        self._ensure_thread()

    def _open_segment(self, start: int) -> None:
        self._fd = os.open(self._path(start), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if not self._segments or self._segments[-1] != start:
            self._segments.append(start)
        self._new_entry = True  # the directory is fsynced too, for the new file's name

    async def sync(self) -> None:
        """Everything appended so far is durable when this returns."""
        self.write_out()
        target = self.written
        if self.synced < target:
            await asyncio.to_thread(self._wait_synced, target)

    def _wait_synced(self, target: int) -> None:
        with self._cond:
            self._urgent = True  # someone waits: the thread skips its group-commit pause
            self._cond.notify_all()
            while self.synced < target and self._thread is not None:
                self._cond.wait()

    # ---------------------------------------------------------------- reading and draining

    def read(self, start: int, until: int, max_lines: int) -> list[Line]:
        """Up to `max_lines` whole lines from `start` (a line boundary) before `until`."""
        if self.written < until:
            self.write_out()
        out: list[Line] = []
        for chunk in self._lines(start, until):
            out.append(chunk)
            if len(out) >= max_lines:
                break
        return out

    def _lines(self, start: int, until: int) -> Iterator[Line]:
        segments = list(self._segments)
        for i, first in enumerate(segments):
            stop = segments[i + 1] if i + 1 < len(segments) else until
            if stop <= start or first >= until:
                continue
            try:
                f = self._path(first).open("rb")
            except FileNotFoundError:
                continue
            with f:
                pos = max(start, first)
                f.seek(pos - first)
                while pos < min(stop, until):
                    data = f.readline()
                    if not data:
                        break  # the rest of this segment was torn off: the next one follows
                    pos += len(data)
                    yield Line(data, pos)

    def mark_drained(self, position: int) -> None:
        """Everything before `position` is committed; persisted by the thread, lazily."""
        with self._cond:
            self.drained = max(self.drained, position)
            self._cond.notify()
        self._ensure_thread()

    def quarantine(self, entry: bytes) -> None:
        """One line kept aside for good (durable before it counts as drained)."""
        fd = os.open(self.quarantine_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, entry)
            os.fsync(fd)
        finally:
            os.close(fd)

    # ---------------------------------------------------------------- the sync thread

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closing:
            self._thread = threading.Thread(target=self._sync_loop, name="outbox-sync",
                                            daemon=True)
            self._thread.start()

    def _sync_loop(self) -> None:
        while True:
            with self._cond:
                while not (self._closing or self._retired or self.written > self.synced
                           or self.drained > self._persisted):
                    self._cond.wait()
                closing = self._closing
                fd, target, retired = self._fd, self.written, self._retired
                self._retired = []
                drained = self.drained
                new_entry, self._new_entry = self._new_entry, False
            started = time.monotonic()
            try:
                while retired:  # full segments: all in them durable, then closed
                    os.fsync(retired[0])
                    os.close(retired.pop(0))
                if target > self.synced:
                    os.fdatasync(fd)
                if new_entry:
                    _fsync_directory(self.directory)
                with self._cond:
                    self.synced = max(self.synced, target)
                    self._cond.notify_all()
                if drained > self._persisted:
                    self._persist_drained(drained)
            except OSError:  # a full or failing disk: said loudly, tried again
                log.exception("outbox: fsync failed; retrying in 1 s")
                with self._cond:
                    self._retired[:0] = retired
                    self._new_entry = self._new_entry or new_entry
                if not closing:
                    time.sleep(1.0)
                    continue
            if closing:
                return
            # group commit: whatever arrives meanwhile shares the next fsync (unless a
            # sync() waits for it)
            pause = self.sync_interval_s - (time.monotonic() - started)
            with self._cond:
                if pause > 0 and not self._urgent:
                    self._cond.wait_for(lambda: self._urgent or self._closing, pause)
                self._urgent = False

    def _persist_drained(self, drained: int) -> None:
        tmp = self._drained_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f"{drained}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self._drained_path)  # not fsynced: a lagging `drained` is harmless
        self._persisted = drained
        self._drop_drained(drained)

    def _drop_drained(self, drained: int) -> None:
        """Deletes the segments wholly before `drained` (never the current one)."""
        with self._cond:
            segments = list(self._segments)
        for i, first in enumerate(segments[:-1]):
            if segments[i + 1] <= drained:
                with contextlib.suppress(FileNotFoundError):
                    self._path(first).unlink()
                with self._cond:
                    self._segments.remove(first)

    # ---------------------------------------------------------------- closing

    def seal(self) -> None:
        """Accepts nothing more and writes what is buffered. Call it on the loop's thread
        (like append and write_out) before `close`, which may then run in another thread."""
        if self._closing:
            return
        self.write_out()
        with self._cond:
            self._closing = True  # the thread's last pass fsyncs all that was written
            self._cond.notify_all()

    def close(self) -> None:
        """Seals, fsyncs what was written, persists `drained`, stops the thread (blocks
        for up to one fsync)."""
        self.seal()
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            thread.join()
        else:  # nothing was ever written or drained through the thread
            os.fsync(self._fd)
            if self._new_entry:
                _fsync_directory(self.directory)
            if self.drained > self._persisted:
                self._persist_drained(self.drained)
        with self._cond:
            self._thread = None
            self._cond.notify_all()
        for fd in (*self._retired, self._fd, self._lock):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._retired = []


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["Line", "Outbox", "OutboxBusy"]
