"""Repeat-call detection at IVR time: a call from a number with an open work order, or within
the repeat window (Settings.repeat_window_s, 12 or 24 h) of an earlier call from that number,
is a repeat call (docs/metrics.md, "Repeat calls"). The router then raises it, and offers it
first to the agent who created the open order.

The look-up runs while the caller walks the IVR (seconds), so it never delays routing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from hotline.store.queries import calls_by
from hotline.store.records import CallFilter
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import is_repeat_call

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepeatVerdict:
    call_id: str
    repeat: bool
    preferred_agent: str | None  # the agent who created the caller's open order
    open_order: int | None


class RepeatDetector:
    def __init__(self, pool: asyncpg.Pool,
                 mark: Callable[[str, str | None], None], window_s: float) -> None:
        """`mark(call_id, preferred_agent)` is called for each repeat call; `window_s`: the
        centre's repeat window (Settings.repeat_window_s)."""
        self.pool, self.mark, self.window_s = pool, mark, window_s

    async def check(self, call_id: str, caller: str, at: float) -> RepeatVerdict:
        if not caller:
            return RepeatVerdict(call_id, False, None, None)
        async with self.pool.acquire() as conn:
            orders = await work_orders.open_for_caller(conn, caller)
            earlier = await calls_by(conn, CallFilter(caller=caller,
                                                      since=at - self.window_s, until=at))
        times = [c.entered_at for c in earlier if c.entered_at is not None
                 and c.call_id != call_id]
        repeat = is_repeat_call(caller, at, times, orders, self.window_s)
        preferred = orders[0].created_by if orders else None
        verdict = RepeatVerdict(call_id, repeat, preferred,
                                orders[0].id if orders else None)
        if repeat:
            self.mark(call_id, preferred)
        return verdict
