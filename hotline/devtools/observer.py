"""Watching a controller from outside (tests, benches, the demo): everything it records, kept
in order, and waits for the first item that matches.

    seen = ControllerObserver(controller)      # from now on
    offer = await seen.wait_for(lambda e: isinstance(e, Offer), deadline_s=10)

A waiter is checked against each item as it is recorded (no task per item); the history is
the observer's, so the controller keeps none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from hotline.core.events import CallAnswered

Predicate = Callable[[Any], bool]


class Observable(Protocol):
    def observe(self, observer: Callable[[Any], None]) -> None: ...


class ControllerObserver:
    def __init__(self, controller: Observable) -> None:
        #: every item the controller recorded since, oldest first
        self.history: list[Any] = []
        self._waiters: list[tuple[Predicate, asyncio.Future[Any]]] = []
        controller.observe(self.record)

    def record(self, item: Any) -> None:
        self.history.append(item)
        if not self._waiters:
            return
        waiting = []
        for predicate, future in self._waiters:
            if future.done():
                continue  # its waiter timed out or was cancelled
            if predicate(item):
                future.set_result(item)
            else:
                waiting.append((predicate, future))
        self._waiters = waiting

    async def wait_for(self, predicate: Predicate, deadline_s: float) -> Any:
        """The first item seen (already, or within `deadline_s`: TimeoutError after) that
        matches `predicate`."""
        for item in self.history:
            if predicate(item):
                return item
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            async with asyncio.timeout(deadline_s):
                return await future
        finally:
            future.cancel()  # no-op once it has its result

    def answered_by(self, call_id: str) -> str | None:
        """The agent who answered the call, if one did."""
        for item in self.history:
            if isinstance(item, CallAnswered) and item.call_id == call_id:
                return item.agent_id
        return None


__all__ = ["ControllerObserver", "Observable"]
