"""The process's event loop: uvloop unless the settings ask for Python's own.

uvloop (libuv) halves what a socket write and a read wake-up cost in Python's selector loop;
the live server writes every screen 20 times a second, the controller's AMI and FastAGI
traffic are socket-bound too. Nothing in the platform depends on which loop runs it.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")


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


def run(main: Coroutine[Any, Any, T], loop: Literal["uvloop", "asyncio"] = "uvloop") -> T:
    """asyncio.run(main) on the chosen loop, with room for many sockets."""
    raise_open_files_limit()
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


__all__ = ["raise_open_files_limit", "run"]
