"""The deadline job (issue #18.5): in the platform process (the one that runs the periodic
jobs), every `Settings.work_order_deadline_job_s`, it escalates overdue orders level by level
(escalation.py) and tells customers of a reply deadline that will be missed (notices.py).
Several processes may run it at once: each escalation and each notice happens once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from hotline.work_orders import notices
from hotline.work_orders.escalation import Escalation, escalate_overdue
from hotline.work_orders.notices import NoticeChannel

log = logging.getLogger("hotline.work_orders.deadline_job")


@dataclass
class RunResult:
    escalated: list[Escalation] = field(default_factory=list)
    #: (order id, notice id, delivered, detail) of the notices this run sent
    notices: list[tuple[int, int, bool, str]] = field(default_factory=list)


@dataclass
class DeadlineJob:
    pool: asyncpg.Pool
    clock: Callable[[], float]
    every_s: float = 30.0
    notice_before_s: float = 3600.0
    channel: NoticeChannel | None = None  # None: no customer notices (no telephony here)
    lang: str = "zh"
    #: told of each run that did something (the platform prints a line)
    on_run: Callable[[RunResult], None] | None = None

    async def run_once(self) -> RunResult:
        result = RunResult()
        now = self.clock()
        async with self.pool.acquire() as conn:
            result.escalated = await escalate_overdue(conn, now)
            due = (await notices.due(conn, now, self.notice_before_s)
                   if self.channel is not None else [])
        for order_id, caller in due:
            assert self.channel is not None
            async with self.pool.acquire() as conn:
                notice_id = await notices.claim(conn, order_id, self.channel.name, caller, now)
            if notice_id is None:  # another process tells this customer
                continue
            try:  # no connection is held during the call
                outcome = await self.channel.send(notice_id, caller,
                                                  notices.notice_text(order_id, self.lang),
                                                  self.lang)
                delivered, detail = outcome.delivered, outcome.detail
            except (OSError, ValueError, RuntimeError) as exc:
                delivered, detail = False, f"not sent: {exc!r}"
            async with self.pool.acquire() as conn:
                await notices.record(conn, notice_id, delivered, detail, self.clock())
            result.notices.append((order_id, notice_id, delivered, detail))
        if (result.escalated or result.notices) and self.on_run is not None:
            self.on_run(result)
        return result

    async def run(self) -> None:
        """Forever: a run, then a pause; a failed run (PostgreSQL away) is tried again."""
        while True:
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("deadline job failed (tried again in %g s): %r", self.every_s, exc)
            await asyncio.sleep(self.every_s)
