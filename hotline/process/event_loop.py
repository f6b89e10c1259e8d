"""The process's event loop (uvloop unless the settings ask for Python's own) and its share of
the machine: open files and scheduling priority.

uvloop (libuv) halves what a socket write and a read wake-up cost in Python's selector loop;
the live server writes every screen 20 times a second, the controller's AMI and FastAGI
traffic are socket-bound too. Nothing in the platform depends on which loop runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


#: Open descriptors the process asks for: every waiting caller holds a FastAGI session (one
#: socket), every wallboard and agent panel a live socket. A soft limit of 1,024 (systemd's
#: default) would refuse the 1,000th waiting caller at a national hotline's peak.
OPEN_FILES_WANTED = 65_536


def raise_open_files_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raises the soft RLIMIT_NOFILE toward `wanted` (never above the hard limit, never
    down); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def set_niceness(nice: int) -> int:
    """This process's niceness, absolute (threads and children started later inherit it);
    returns the one in force (unchanged when a higher priority is not allowed: not root)."""
    if nice != os.getpriority(os.PRIO_PROCESS, 0):
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except PermissionError:
            log.warning("niceness %d not allowed (not root): left at %d", nice,
                        os.getpriority(os.PRIO_PROCESS, 0))
    return os.getpriority(os.PRIO_PROCESS, 0)


def run(main: Coroutine[Any, Any, T], loop: Literal["uvloop", "asyncio"] = "uvloop",
        nice: int | None = None, sigterm_as_interrupt: bool = False) -> T:
    """asyncio.run(main) on the chosen loop, with room for many sockets and, given `nice`,
    that scheduling priority.

    Ctrl-C (and SIGTERM with `sigterm_as_interrupt`) cancels `main` once: its `finally` stops
    what it started, in order, each step within a deadline, while further Ctrl-Cs are ignored
    (asyncio's own second Ctrl-C would break out of the loop mid-stop and leave every task
    half-stopped). KeyboardInterrupt is raised once the loop has closed."""
    raise_open_files_limit()
    if nice is not None:
        set_niceness(nice)
    signals = (signal.SIGINT, signal.SIGTERM) if sigterm_as_interrupt else (signal.SIGINT,)
    outcome = _interruptible(main, signals)
    if loop == "uvloop":
        import uvloop

        result = uvloop.run(outcome)
    else:
        result = asyncio.run(outcome)
    if result is _INTERRUPTED:
        raise KeyboardInterrupt
    return result


_INTERRUPTED: Any = object()


async def _interruptible(main: Coroutine[Any, Any, T],
                         signals: tuple[signal.Signals, ...]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            task.cancel()

    for sig in signals:
        loop.add_signal_handler(sig, interrupt)
    try:
        return await main
    except asyncio.CancelledError:
        if interrupted:
            return _INTERRUPTED  # type: ignore[no-any-return]
        raise
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


__all__ = ["raise_open_files_limit", "run", "set_niceness"]
