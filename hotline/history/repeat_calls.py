"""Repeat-call detection at IVR time: a call from a number with an open work order, or within
the repeat window (Settings.repeat_window_s, 12 or 24 h) of an earlier call from that number,
or within the window of the last move of its closed order with a final answer (最终答复), is a
repeat call (docs/metrics.md, "Repeat calls"). The router then raises it, and offers it first
to the agent who created the open order (else the answered one).

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
from hotline.work_orders.model import (
    SURVEY_CREATOR,
    WorkOrder,
    answered_matter,
    is_repeat_call,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepeatVerdict:
    call_id: str
    repeat: bool
    preferred_agent: str | None  # the agent who created the caller's open order
    open_order: int | None
    answered_order: int | None = None  # the closed order with a final answer it is about


class RepeatDetector:
    def __init__(self, pool: asyncpg.Pool,
                 mark: Callable[[str, str | None], None], window_s: float) -> None:
        """`mark(call_id, preferred_agent)` is called for each repeat call; `window_s`: the
        centre's repeat window (Settings.repeat_window_s)."""
        self.pool, self.mark, self.window_s = pool, mark, window_s

    async def check(self, call_id: str, caller: str, at: float) -> RepeatVerdict:
        async with self.pool.acquire() as conn:
            verdict = await repeat_verdict(conn, call_id, caller, at, self.window_s)
        if verdict.repeat:
            self.mark(call_id, verdict.preferred_agent)
        return verdict


async def repeat_verdict(conn: asyncpg.Connection, call_id: str, caller: str, at: float,
                         window_s: float) -> RepeatVerdict:
    """Whether the call `call_id` from `caller` at `at` is a repeat call: THE rule (the
    router's raise and the caller's story both ask it here)."""
    if not caller:
        return RepeatVerdict(call_id, False, None, None)
    since = at - window_s
    orders = await work_orders.open_for_caller(conn, caller)
    answered = await work_orders.answered_for_caller(conn, caller, since=since)
    earlier = await calls_by(conn, CallFilter(caller=caller, since=since, until=at))
    times = [c.entered_at for c in earlier if c.entered_at is not None
             and c.call_id != call_id]
    matter = answered_matter(at, answered, window_s)
    repeat = is_repeat_call(caller, at, times, orders, window_s) or matter is not None
    return RepeatVerdict(call_id, repeat, _preferred([*orders, *answered]),
                         orders[0].id if orders else None,
                         matter.id if matter is not None else None)


def _preferred(orders: list[WorkOrder]) -> str | None:
    """The creator of the first order an agent created (an order the survey made has none)."""
    return next((o.created_by for o in orders if o.created_by != SURVEY_CREATOR), None)
