"""What the IVR needs from the rest of the platform: outages from PostgreSQL, and somewhere
to put survey answers (the write-behind writer)."""

from __future__ import annotations

import time

import asyncpg

from hotline.domain import Outage
from hotline.store import queries
from hotline.store.records import SurveyAnswer
from hotline.store.writer import Writer


class StoreOutages:
    """`OutageLookup` over the outages table (planned and current)."""

    def __init__(self, pool: asyncpg.Pool, horizon_s: float = 7 * 86400) -> None:
        self.pool, self.horizon_s = pool, horizon_s

    async def find(self, area_code: str, at: float) -> list[Outage]:
        async with self.pool.acquire() as conn:
            rows = await queries.outages_for_callers(conn, area_code, at, self.horizon_s)
        return [
            Outage(area_code=r.area_code, start=r.starts_at,
                   end=r.ends_at if r.ends_at is not None else r.starts_at + 86400,
                   reason=r.description_zh or r.description_en, planned=r.kind == "planned")
            for r in rows
        ]


class SurveyToStore:
    """`OnSurvey`: each answer becomes a survey_answers row, without waiting on the database."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.received = 0

    async def __call__(self, call_id: str, agent_id: str, score: int) -> None:
        self.received += 1
        self.writer.submit(SurveyAnswer(call_id=call_id, score=score, at=time.time(),
                                        agent_id=agent_id))
