"""Pub/sub fan-out for live updates: one listener task feeds per-subscriber bounded queues.

The shape follows encode/broadcaster: a `Fanout` over a `Backend`: in memory for unit tests
and single-process runs; over Redis for several API nodes (`hotline.store.live.FanoutBackend`,
since the store is the one module that opens Redis connections). The backend delivers every
message of the subscribed channels once per process; the listener hands it to each local
subscriber without blocking. A subscriber whose queue is full is not allowed to grow: its
queue is emptied and it is marked `overflowed`, so its reader drops back to a fresh snapshot.

When the backend cannot take a message (Redis away), `publish` hands it to this process's own
subscribers itself, so the screens served by the node that runs the live feed keep moving
through a Redis outage; other nodes miss those messages, and resynchronise when their
subscription is back (the backend's RESYNC).

Messages are text (JSON): the same bytes travel through Redis, so the in-memory backend
carries text too and tests exercise the same parsing as production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from hotline.core.tasks import cancel_and_wait

log = logging.getLogger("hotline.realtime.fanout")


class Backend(Protocol):
    """Moves text messages between processes; one connection per Fanout."""

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def subscribe(self, channel: str) -> None: ...
    async def publish(self, channel: str, message: str) -> None: ...
    async def next_message(self) -> tuple[str, str]:
        """The next (channel, message) of a subscribed channel; waits for one."""
        ...


class MemoryBackend:
    """In-process backend: publish() hands the message straight to this process's listener."""

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._channels: set[str] = set()

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        self._channels.clear()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def publish(self, channel: str, message: str) -> None:
        if channel in self._channels:
            self._inbox.put_nowait((channel, message))

    async def next_message(self) -> tuple[str, str]:
        return await self._inbox.get()


@dataclass(eq=False)
class Subscriber:
    """One consumer's bounded queue. `overflowed` is set (and the queue emptied) when the
    consumer fell `maxsize` messages behind; the consumer clears it after resynchronising."""

    channel: str
    maxsize: int
    queue: asyncio.Queue[str] = field(init=False)
    overflowed: bool = False
    dropped: int = 0  # messages thrown away by overflows, for monitoring
    _wake: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.maxsize)

    def offer(self, message: str) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += self.queue.qsize() + 1
            while not self.queue.empty():
                self.queue.get_nowait()
            self.overflowed = True
        self._wake.set()

    async def wait(self) -> None:
        """Waits until a message is queued or an overflow happened."""
        while self.queue.empty() and not self.overflowed:
            self._wake.clear()
            await self._wake.wait()

    def drain(self) -> list[str]:
        """Every queued message, oldest first, without waiting."""
        out: list[str] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    async def get(self) -> str | None:
        """The next message, or None when an overflow requires a resync (clear `overflowed`)."""
        await self.wait()
        if self.overflowed:
            return None
        return self.queue.get_nowait()


class Fanout:
    """Publishes through the backend; delivers each received message to local subscribers."""

    def __init__(self, backend: Backend, channels: tuple[str, ...]) -> None:
        self.backend = backend
        self.channels = channels
        self._subscribers: dict[str, set[Subscriber]] = {c: set() for c in channels}
        self._listener: asyncio.Task[None] | None = None
        self.local_only = 0  # messages only this process's subscribers got (backend away)
        self._backend_away = False

    async def start(self) -> None:
        await self.backend.connect()
        for channel in self.channels:
            await self.backend.subscribe(channel)
        self._listener = asyncio.create_task(self._listen(), name="fanout-listener")

    async def stop(self) -> None:
        if self._listener is not None:
            await cancel_and_wait(self._listener)
            self._listener = None
        await self.backend.disconnect()

    async def __aenter__(self) -> Fanout:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, channel: str, message: str) -> None:
        """To every process through the backend; if the backend cannot take it, to this
        process's subscribers at least (never an error: the caller's loop goes on)."""
        try:
            await self.backend.publish(channel, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._backend_away:
                self._backend_away = True
                log.warning("fan-out cannot publish (%s); delivering to this node's "
                            "subscribers only until the backend is back", exc)
            self.local_only += 1
            self._deliver(channel, message)
            return
        if self._backend_away:
            self._backend_away = False
            log.warning("fan-out publishes through the backend again (%d messages were "
                        "delivered on this node only)", self.local_only)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, maxsize: int = 64) -> AsyncIterator[Subscriber]:
        if channel not in self._subscribers:
            raise ValueError(f"channel {channel!r} is not one of {self.channels}")
        sub = Subscriber(channel, maxsize)
        self._subscribers[channel].add(sub)
        try:
            yield sub
        finally:
            self._subscribers[channel].discard(sub)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    async def _listen(self) -> None:
        while True:
            try:
                channel, message = await self.backend.next_message()
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped Redis connection: retry rather than go deaf
                log.exception("fan-out backend failed; retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            self._deliver(channel, message)

    def _deliver(self, channel: str, message: str) -> None:
        for sub in tuple(self._subscribers.get(channel, ())):
            sub.offer(message)


__all__ = ["Backend", "Fanout", "MemoryBackend", "Subscriber"]
