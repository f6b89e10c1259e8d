"""Ctrl-C on a process run by hotline.process.event_loop: the main coroutine is cancelled once
and its way out runs to the end, a second Ctrl-C meanwhile changes nothing, and
KeyboardInterrupt comes after the loop has closed. Each case runs in a fresh interpreter (the
signals are the process's own)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import asyncio, signal, sys
from hotline.process import event_loop

async def main():
    try:
        signal.raise_signal(signal.{first})
        await asyncio.sleep(30)
        print("not interrupted", flush=True)
    finally:
        signal.raise_signal(signal.SIGINT)  # Ctrl-C again, on the way out
        await asyncio.sleep(0.05)
        print("stopped in order", flush=True)

try:
    event_loop.run(main(), "{loop}", sigterm_as_interrupt={sigterm})
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def run(first: str, loop: str, sigterm: bool) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(SCRIPT.format(first=first, loop=loop, sigterm=sigterm))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=20, check=False)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
@pytest.mark.parametrize("first", ["SIGINT", "SIGTERM"])
def test_an_interrupt_stops_main_in_order_once(loop: str, first: str) -> None:
    done = run(first, loop, sigterm=True)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "stopped in order\ninterrupted\n", "")


def test_sigterm_is_left_alone_unless_asked() -> None:
    done = run("SIGTERM", "asyncio", sigterm=False)
    assert done.returncode == -15 and "stopped in order" not in done.stdout


def test_a_run_without_interrupt_returns_mains_result() -> None:
    from hotline.process import event_loop

    async def main() -> int:
        return 7

    assert event_loop.run(main(), "asyncio") == 7
