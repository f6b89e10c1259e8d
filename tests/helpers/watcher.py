"""An AMI link of the test's own on the node: what happened, whatever the controller does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hotline.core.events import Event
from hotline.telephony.ami.link import AmiLink


class Watcher:
    """Every event the link has delivered so far (`seen`), and waits for the next ones."""

    def __init__(self, link: AmiLink) -> None:
        self.link = link
        self.seen: list[Event] = []

    async def next(self, pred: Callable[[Event], bool], deadline_s: float) -> Event:
        """The first event matching `pred`, already seen or within `deadline_s`."""
        for event in self.seen:
            if pred(event):
                return event
        async with asyncio.timeout(deadline_s):
            while True:
                event = await self.link.events.get()
                self.seen.append(event)
                if pred(event):
                    return event
