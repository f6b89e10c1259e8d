"""Calls the router knows and the ordered line of waiting calls."""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field
from itertools import count

from hotline.core.events import CallbackAttempted
from hotline.core.lifecycle import CallPhase
from hotline.core.values import ServiceType

_seq = count()


@dataclass(slots=True)
class RoutedCall:
    call_id: str
    queue: str
    service: ServiceType
    caller: str
    enqueued_at: float  # kept across ring-no-answer: the caller's wait never restarts
    priority: int
    node: str = ""
    phase: CallPhase = CallPhase.QUEUED
    repeat: bool = False
    at_head: bool = False  # came back after a ring with no answer
    preferred_agent: str | None = None
    preferred_until: float = 0.0
    overflowed: bool = False
    callback_number: str | None = None
    callback_reached: bool = False  # the callback leg was answered: the caller is live again
    callback_tries: list[CallbackAttempted] = field(default_factory=list)  # the failed ones
    retry_at: float | None = None  # waiting out the pause before the next callback attempt
    transfers: int = 0  # times an agent transferred the call back to a queue
    agent_id: str | None = None  # the agent offered / talking
    offered_at: float = 0.0
    offer_due: float = 0.0  # when the router gives up the offer (offered, then rung: lifecycle)
    stage: tuple[int, bool, bool] = (0, False, False)  # what routing last saw (see Router)
    seq: int = field(default_factory=_seq.__next__)

    @property
    def on_hold(self) -> bool:
        """On virtual hold: to be called back and not reached yet (no live caller)."""
        return self.callback_number is not None and not self.callback_reached

    def wait_s(self, now: float) -> float:
        wait = now - self.enqueued_at  # max(0.0, wait) without the builtin's call: on every event
        return wait if wait > 0.0 else 0.0

    def sort_key(self) -> tuple[int, int, float, int]:
        """Higher priority first; a call back from a missed ring at the head; then FIFO by
        enqueue time, whichever Asterisk node it came from."""
        return (-self.priority, 0 if self.at_head else 1, self.enqueued_at, self.seq)


class WaitingLine:
    """Waiting calls of every queue in one order (priority, head, enqueue time)."""

    def __init__(self) -> None:
        self._keys: list[tuple[tuple[int, int, float, int], str]] = []
        self._calls: dict[str, RoutedCall] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    def add(self, call: RoutedCall) -> None:
        insort(self._keys, (call.sort_key(), call.call_id))
        self._calls[call.call_id] = call

    def remove(self, call: RoutedCall) -> None:
        key = (call.sort_key(), call.call_id)
        i = bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            raise KeyError(call.call_id)
        del self._keys[i]
        del self._calls[call.call_id]

    def calls(self) -> list[RoutedCall]:
        """A snapshot in order (safe to iterate while offering)."""
        return [self._calls[cid] for _, cid in self._keys]


@dataclass(frozen=True, slots=True)
class WaitingView:
    call_id: str
    queue: str
    service: str
    caller: str
    priority: int
    enqueued_at: float
    wait_s: float
    requirements: dict[str, int]
    callback_number: str | None
    preferred_agent: str | None
    overflowed: bool
    callback_attempts: int = 0  # failed callback attempts so far
    retry_at: float | None = None  # set while waiting out the pause before the next one
