"""The process's event loop: uvloop unless the settings ask for Python's own.

uvloop (libuv) halves what a socket write and a read wake-up cost in Python's selector loop;
the live server writes every screen 20 times a second, the controller's AMI and FastAGI
traffic are socket-bound too. Nothing in the platform depends on which loop runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], loop: Literal["uvloop", "asyncio"] = "uvloop") -> T:
    """asyncio.run(main) on the chosen loop."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


__all__ = ["run"]
