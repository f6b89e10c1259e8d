"""What the IVR needs from the rest of the platform: outages from PostgreSQL, somewhere to
put survey answers (the write-behind writer), and the live menu tree the configuration API
changes."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from hotline.core.values import Outage
from hotline.ivr_menu.model import IvrMenu
from hotline.store import queries
from hotline.store.records import SurveyAnswer
from hotline.store.writer import Writer
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp

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
    """`OnSurvey`: each answer becomes a survey_answers row, without waiting on the database."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.received = 0

    async def __call__(self, call_id: str, agent_id: str, score: int) -> None:
        self.received += 1
        self.writer.submit(SurveyAnswer(call_id=call_id, score=score, at=time.time(),
                                        agent_id=agent_id))
