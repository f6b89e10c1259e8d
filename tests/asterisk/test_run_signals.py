"""`hotline run` as systemd and Docker stop it (#15.6): SIGTERM stops it as cleanly as Ctrl-C,
its embedded PostgreSQL and Redis with it; after a kill -9 the next start says that it adopts
the PostgreSQL the dead run left behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.core.settings import Settings
from tests.helpers import testbed

pytestmark = pytest.mark.asterisk

UP = "live socket at"  # the last line a start prints


class Run:
    """One `hotline run` subprocess on the embedded defaults, in `data_dir`."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.env = testbed.settings_env(settings)
        self.env["HOTLINE_DATABASE_URL"] = self.env["HOTLINE_REDIS_URL"] = ""
        self.env["HOTLINE_DATA_DIR"] = str(data_dir)
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None

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

    async def end(self, sig: signal.Signals, deadline_s: float = 60) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(sig)
        async with asyncio.timeout(deadline_s):
            self.lines.append((await self.proc.stdout.read()).decode())
            return await self.proc.wait()

    def kill(self) -> None:
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


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the unprivileged user PostgreSQL runs as can reach (pytest's tmp_path
    sits under a 0700 folder of root's)."""
    path = Path(tempfile.mkdtemp(prefix="hotline-run-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_sigterm_stops_run_cleanly_and_a_start_after_kill_9_says_it_adopts(
        asterisk_node: Settings, data_dir: Path) -> None:
    tmp_path = data_dir
    run = Run(asterisk_node, tmp_path)
    try:
        await run.start()
        assert postmaster_pid(tmp_path) is not None
        status = await run.end(signal.SIGTERM)
        assert status == 0, run.out  # not killed by the signal (-15)
        assert "Traceback" not in run.out, run.out
        assert postmaster_pid(tmp_path) is None, run.out  # its PostgreSQL stopped with it

        crashed = Run(asterisk_node, tmp_path)
        await crashed.start()
        orphan = postmaster_pid(tmp_path)
        assert orphan is not None
        crashed.kill()  # kill -9 of the process group: pg_ctl's server is not in it
        await crashed.proc.wait()  # type: ignore[union-attr]
        assert postmaster_pid(tmp_path) == orphan

        run = Run(asterisk_node, tmp_path)
        await run.start()
        assert f"adopted the PostgreSQL server a previous run left running (pid {orphan})" \
            in run.out, run.out
        assert await run.end(signal.SIGTERM) == 0, run.out
        assert postmaster_pid(tmp_path) is None, run.out
    finally:
        run.kill()
        if (pid := postmaster_pid(tmp_path)) is not None:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of a server a failure left
