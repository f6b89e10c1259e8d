"""A subprocess whose output lines are kept with the time each came, for tests and benches
that judge a process from outside: wait for a line, signal its process group, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path


@dataclass
class WatchedProcess:
    """Started in a session of its own (`signal` reaches its whole group); stdout and stderr
    merged into `lines`."""

    name: str
    _: KW_ONLY
    lines: list[tuple[float, str]] = field(default_factory=list)
    proc: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def launch(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=cwd, start_new_session=True, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append((time.time(), line.decode(errors="replace")))
            self._changed.set()
        await self.proc.wait()  # (its end, for wait_line)
        self._changed.set()

    async def wait_line(self, text: str, deadline_s: float, after: int = 0) -> float:
        """When the first line holding `text` (from line `after` on) came."""
        try:
            async with asyncio.timeout(deadline_s):
                while True:
                    for at, line in self.lines[after:]:
                        if text in line:
                            return at
                    self._changed.clear()
                    if self.proc is not None and self.proc.returncode is not None:
                        raise RuntimeError(f"{self.name} ended:\n{self.out}")
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"{self.name}: no {text!r} within {deadline_s} s:\n"
                               f"{self.out}") from None

    def signal(self, sig: signal.Signals) -> None:
        """To its process group (kill -9, SIGSTOP, SIGCONT)."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    async def stop(self, deadline_s: float = 30) -> None:
        """SIGTERM (after a SIGCONT: a stopped process must hear it), SIGKILL after
        `deadline_s`."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(deadline_s):
                await self.proc.wait()
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()

    @property
    def out(self) -> str:
        return "".join(line for _, line in self.lines)


__all__ = ["WatchedProcess"]
