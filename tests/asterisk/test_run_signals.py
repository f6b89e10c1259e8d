"""`hotline run` as systemd and Docker stop it (#15.6): SIGTERM stops it as cleanly as Ctrl-C,
its embedded PostgreSQL and Redis with it; after a kill -9 the next start says that it adopts
the PostgreSQL the dead run left behind."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.core.settings import Settings
from tests.helpers.run import Run, postmaster_pid, run_data_dir

pytestmark = pytest.mark.asterisk


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with run_data_dir() as path:
        yield path


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
