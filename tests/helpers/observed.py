"""The controller as tests drive it: a real Controller watched from its first recorded item by
a ControllerObserver (hotline/devtools/observer.py), whose history and waits the tests read.
The production controller keeps no history and wakes no waiters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotline.devtools.observer import ControllerObserver
from hotline.process.controller import Controller


class ObservedController(Controller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen = ControllerObserver(self)

    @property
    def history(self) -> list[Any]:
        """Every item recorded since the controller was made, oldest first."""
        return self.seen.history

    async def wait_for(self, predicate: Callable[[Any], bool], deadline_s: float) -> Any:
        return await self.seen.wait_for(predicate, deadline_s)

    def answered_by(self, call_id: str) -> str | None:
        return self.seen.answered_by(call_id)


__all__ = ["ObservedController"]
