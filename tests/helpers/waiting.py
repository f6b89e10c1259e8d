"""Waiting on a condition with a deadline, for the places that have no event to await (a
counter, a table row, another process's state): polls `condition` until it holds and fails
with `what` when the deadline passes. No test sleeps a fixed time before asserting."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(condition: Callable[[], T | Awaitable[T]], deadline_s: float,
                   what: str = "", interval: float = 0.01) -> T:
    """Until `condition()` (a plain or async callable) returns something true; returns it.
    Raises TimeoutError naming `what` (or the condition) and its last value after `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            name = what or getattr(condition, "__name__", repr(condition))
            raise TimeoutError(f"not within {deadline_s} s: {name} (last: {value!r})")
        await asyncio.sleep(interval)  # polling interval, bounded by the deadline above


def wait_for_sync(condition: Callable[[], T], deadline_s: float, what: str = "",
                  interval: float = 0.01) -> T:
    """`wait_for` for code outside the event loop (a fixture's teardown, a thread)."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(condition, "__name__", repr(condition))
            raise TimeoutError(f"not within {deadline_s} s: {name} (last: {value!r})")
        time.sleep(interval)


__all__ = ["wait_for", "wait_for_sync"]
