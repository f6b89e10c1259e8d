"""What the IVR needs from the rest of the platform: outages from PostgreSQL, somewhere to
put survey answers (the write-behind writer), and the live menu tree the configuration API
changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from hotline.core.values import Outage
from hotline.ivr_menu.model import IvrMenu
from hotline.store import queries
from hotline.store.records import SurveyAnswer
from hotline.store.writer import Writer
from hotline.survey.model import callback_order, unit_of
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp, SurveyResponse
from hotline.work_orders import queries as work_orders

log = logging.getLogger("hotline.ivr")


class LiveMenu:
    """The menu tree the running IVR uses (`hotline.centre.service.LiveIvr`). A new tree's
    prompts are spoken into the PromptStore first (`prepare`), then the IvrApp takes it
    (`go_live`): the next caller walks the new tree, a caller already in the menus keeps the
    tree they started with, and every prompt either plays is on disk (cached by text hash,
    never removed)."""

    def __init__(self, app: IvrApp, prompts: PromptStore, version: int) -> None:
        self.app, self.prompts, self.version = app, prompts, version

    @property
    def menu(self) -> IvrMenu:
        return self.app.menu

    def used_queues(self) -> set[str]:
        """The queues the live tree sends callers to (the queue-removal guard)."""
        return self.app.menu.used_queues()

    async def prepare(self, menu: IvrMenu) -> int:
        """Speaks the prompts of `menu` not on disk yet; how many were made."""
        return len(await asyncio.to_thread(self.prompts.build, menu))

    def go_live(self, menu: IvrMenu, version: int) -> None:
        self.app.menu, self.version = menu, version
        log.info("IVR menu tree version %d live for the next caller", version)


class StoreOutages:
    """`OutageLookup` over the outages table (planned and current), and `AccountAreas` over
    the accounts table (an account number typed in the IVR stands for its area)."""

    def __init__(self, pool: asyncpg.Pool, horizon_s: float = 7 * 86400) -> None:
        self.pool, self.horizon_s = pool, horizon_s

    async def find(self, area_code: str, at: float) -> list[Outage]:
        async with self.pool.acquire() as conn:
            rows = await queries.outages_for_callers(conn, area_code, at, self.horizon_s)
        return [r.for_callers() for r in rows]

    async def area_of_account(self, account_no: str) -> str | None:
        async with self.pool.acquire() as conn:
            return await queries.area_of_account(conn, account_no)


class SurveyToStore:
    """`OnSurvey`: each answer becomes a survey_answers row, without waiting on the database
    (the write-behind writer), with the responsible unit of its service type. A low answer
    (SurveyConfig.is_low) also becomes a callback order (回访, due the survey's
    callback_within_s later) and an alert on the supervisor page (`alert`: the live feed's
    survey_alert), in a task of its own: the caller hears the thanks at once. Every answer
    also reaches `counted` (the live feed's survey_answer: today's satisfaction and NPS)."""

    def __init__(self, writer: Writer, pool: asyncpg.Pool | None = None,
                 alert: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 counted: Callable[[str, int | None, int | None, int, int, float], None]
                 | None = None) -> None:
        self.writer, self.pool, self.alert, self.clock = writer, pool, alert, clock
        self.counted = counted
        self.received = 0
        self.pending: set[asyncio.Task[int | None]] = set()

    async def __call__(self, response: SurveyResponse) -> None:
        self.received += 1
        at = self.clock()
        self.writer.submit(SurveyAnswer(
            call_id=response.call_id, at=at, agent_id=response.agent_id,
            satisfaction=response.satisfaction,
            scale=response.scale if response.satisfaction is not None else None,
            nps=response.nps, queue=response.queue, service=response.service,
            unit=unit_of(response.service)))
        if self.counted is not None:
            self.counted(response.queue, response.satisfaction, response.nps,
                         response.satisfied_to, response.dissatisfied_from, at)
        if response.low:
            task = asyncio.create_task(self._low(response, at), name="survey callback order")
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def _low(self, r: SurveyResponse, at: float) -> int | None:
        """Makes the callback order (its id; None without a store or when it failed), then
        alerts the supervisor page either way."""
        order_id: int | None = None
        if self.pool is not None:
            order = callback_order(r.call_id, r.caller, r.agent_id, r.service, r.satisfaction,
                                   r.scale, r.nps, at, r.callback_within_s)
            try:
                async with self.pool.acquire() as conn:
                    order_id = (await work_orders.save(conn, order)).id
            except (OSError, asyncpg.PostgresError) as exc:
                log.error("survey of %s: no callback order (%r)", r.call_id, exc)
        if self.alert is not None:
            self.alert({"at": at, "call_id": r.call_id, "agent_id": r.agent_id,
                        "queue": r.queue, "service": r.service,
                        "satisfaction": r.satisfaction, "scale": r.scale, "nps": r.nps,
                        "order_id": order_id})
        return order_id
