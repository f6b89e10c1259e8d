"""`hotline run` as a real subprocess on the embedded defaults (PostgreSQL and Redis it starts
itself), for the tests that signal or kill it (asterisk/test_run_signals.py,
asterisk/test_kill_controller.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hotline.core.settings import Settings
from tests.helpers import testbed

UP = "live socket at"  # the last line a start prints


class Run:
    """One `hotline run` subprocess on the embedded defaults, in `data_dir`."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.env = testbed.settings_env(settings)
        self.env["HOTLINE_DATABASE_URL"] = self.env["HOTLINE_REDIS_URL"] = ""
        self.env["HOTLINE_DATA_DIR"] = str(data_dir)
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, deadline_s: float = 120) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline.process.cli", "run", env=self.env,
            start_new_session=True, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        assert self.proc.stdout is not None
        async with asyncio.timeout(deadline_s):  # initdb on the first start
            while not any(UP in line for line in self.lines):
                line = await self.proc.stdout.readline()
                assert line, "".join(self.lines)
                self.lines.append(line.decode())

    def follow(self) -> None:
        """Keeps reading its output while it runs (a full pipe would stall its logging)."""
        async def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            while line := await self.proc.stdout.readline():
                self.lines.append(line.decode())

        self._reader = asyncio.get_running_loop().create_task(read())

    async def end(self, sig: signal.Signals, deadline_s: float = 60) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(sig)
        async with asyncio.timeout(deadline_s):
            if self._reader is not None:
                await self._reader
            else:
                self.lines.append((await self.proc.stdout.read()).decode())
            return await self.proc.wait()

    def kill(self) -> None:
        """kill -9 of its process group (pg_ctl's PostgreSQL server is not in it)."""
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)

    @property
    def out(self) -> str:
        return "".join(self.lines)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of a live PostgreSQL server on the embedded cluster, if one runs."""
    try:
        pid = int((data_dir / "pg" / "cluster" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None
    return pid


@contextmanager
def run_data_dir() -> Iterator[Path]:
    """A data directory the unprivileged user PostgreSQL runs as can reach (pytest's tmp_path
    sits under a 0700 folder of root's); a PostgreSQL a failure left running is stopped."""
    path = Path(tempfile.mkdtemp(prefix="hotline-run-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        if (pid := postmaster_pid(path)) is not None:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
        shutil.rmtree(path, ignore_errors=True)
