"""The SQL of outage campaigns (migration 023): making one from an outage, claiming the next
number to call, storing each attempt's result, cancelling, and reading them back."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from hotline.campaigns.model import Bounds, CampaignError, Next, check_numbers, notice_texts
from hotline.history.queries import AuditEntry, audit
from hotline.store.queries import epoch, ts


class NoSuchOutage(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: int
    outage_id: int | None
    area_code: str
    state: str
    bounds: Bounds
    text_zh: str
    text_en: str
    truncated: bool
    created_by: str
    created_at: float
    ended_by: str
    ended_at: float | None
    #: numbers per state (waiting, calling, done, unreached, cancelled)
    numbers: dict[str, int]


@dataclass(frozen=True, slots=True)
class NumberRow:
    number: str
    state: str
    attempts: int
    next_at: float
    last_result: str


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: int
    number: str
    attempt: int
    started_at: float
    answered_at: float | None
    ended_at: float | None
    result: str
    detail: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A number claimed for an attempt: the attempt's row is written (result 'pending')."""

    attempt_id: int
    number: str
    attempt: int


_COLUMNS = ("id, outage_id, area_code, state, max_numbers, max_concurrent, calls_per_s, retries,"
            " retry_after_s, quiet_from_h, quiet_to_h, text_zh, text_en, truncated, created_by,"
            " created_at, ended_by, ended_at, (SELECT coalesce(jsonb_object_agg(s, n), '{}')"
            " FROM (SELECT state AS s, count(*) AS n FROM campaign_numbers"
            " WHERE campaign_id = c.id GROUP BY state) k) AS numbers")


def _row(r: asyncpg.Record) -> CampaignRow:
    bounds = Bounds(r["max_numbers"], r["max_concurrent"], r["calls_per_s"], r["retries"],
                    r["retry_after_s"], r["quiet_from_h"], r["quiet_to_h"])
    numbers = r["numbers"]
    if isinstance(numbers, str):  # (a connection without the jsonb codec)
        numbers = json.loads(numbers)
    return CampaignRow(r["id"], r["outage_id"], r["area_code"], r["state"], bounds,
                       r["text_zh"], r["text_en"], r["truncated"], r["created_by"],
                       epoch(r["created_at"]) or 0.0, r["ended_by"], epoch(r["ended_at"]),
                       {k: int(v) for k, v in numbers.items()})


async def create(conn: asyncpg.Connection, outage_id: int, bounds: Bounds, who: str,
                 now: float, utc_offset_h: float) -> CampaignRow:
    """A running campaign for the outage: its area's registered numbers (at most
    `bounds.max_numbers`, in number order), the notice's texts built from the outage;
    audited (`campaign.created`). NoSuchOutage when there is no such outage."""
    bounds.check()
    async with conn.transaction():
        outage = await conn.fetchrow("SELECT * FROM outages WHERE id = $1", outage_id)
        if outage is None:
            raise NoSuchOutage(outage_id)
        numbers = [r["phone"] for r in await conn.fetch(
            "SELECT DISTINCT p.phone FROM account_phones p JOIN accounts a USING (account_no)"
            " WHERE a.area_code = $1 ORDER BY p.phone LIMIT $2",
            outage["area_code"], bounds.max_numbers + 1)]
        truncated = len(numbers) > bounds.max_numbers
        numbers = check_numbers(numbers[:bounds.max_numbers])
        zh, en = notice_texts(outage["area_code"], outage["description_zh"],
                              outage["description_en"], epoch(outage["ends_at"]), utc_offset_h)
        campaign_id = await conn.fetchval(
            "INSERT INTO outage_campaigns (outage_id, area_code, state, max_numbers,"
            " max_concurrent, calls_per_s, retries, retry_after_s, quiet_from_h, quiet_to_h,"
            " text_zh, text_en, truncated, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            " RETURNING id",
            outage_id, outage["area_code"], "running" if numbers else "done",
            bounds.max_numbers, bounds.max_concurrent, bounds.calls_per_s, bounds.retries,
            bounds.retry_after_s, bounds.quiet_from_h, bounds.quiet_to_h, zh, en, truncated,
            who, ts(now))
        await conn.executemany(
            "INSERT INTO campaign_numbers (campaign_id, number, next_at) VALUES ($1, $2, $3)",
            [(campaign_id, n, ts(now)) for n in numbers])
        if not numbers:
            await conn.execute("UPDATE outage_campaigns SET ended_at = $2 WHERE id = $1",
                               campaign_id, ts(now))
        await audit(conn, AuditEntry(who, now, "campaign.created", {
            "campaign_id": campaign_id, "outage_id": outage_id,
            "area_code": outage["area_code"], "numbers": len(numbers),
            "truncated": truncated}))
        row = await get(conn, campaign_id)
        assert row is not None
        return row


async def get(conn: asyncpg.Connection, campaign_id: int) -> CampaignRow | None:
    r = await conn.fetchrow(f"SELECT {_COLUMNS} FROM outage_campaigns c WHERE id = $1",
                            campaign_id)
    return None if r is None else _row(r)


async def list_campaigns(conn: asyncpg.Connection, state: str | None, limit: int,
                         offset: int) -> list[CampaignRow]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM outage_campaigns c WHERE ($1::text IS NULL OR state = $1)"
        " ORDER BY id DESC LIMIT $2 OFFSET $3", state, limit, offset)
    return [_row(r) for r in rows]


async def numbers(conn: asyncpg.Connection, campaign_id: int, limit: int,
                  offset: int) -> list[NumberRow]:
    rows = await conn.fetch(
        "SELECT * FROM campaign_numbers WHERE campaign_id = $1 ORDER BY number"
        " LIMIT $2 OFFSET $3", campaign_id, limit, offset)
    return [NumberRow(r["number"], r["state"], r["attempts"], epoch(r["next_at"]) or 0.0,
                      r["last_result"]) for r in rows]


async def attempts(conn: asyncpg.Connection, campaign_id: int, limit: int = 100_000,
                   offset: int = 0) -> list[AttemptRow]:
    rows = await conn.fetch(
        "SELECT * FROM campaign_attempts WHERE campaign_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
        campaign_id, limit, offset)
    return [AttemptRow(r["id"], r["number"], r["attempt"], epoch(r["started_at"]) or 0.0,
                       epoch(r["answered_at"]), epoch(r["ended_at"]), r["result"], r["detail"])
            for r in rows]


async def cancel(conn: asyncpg.Connection, campaign_id: int, who: str, now: float) -> bool:
    """Cancels a running campaign: numbers not called yet or waiting for a retry are not
    called (a call in flight ends as it ends); audited (`campaign.cancelled`). False when it
    was not running."""
    async with conn.transaction():
        done = await conn.fetchval(
            "UPDATE outage_campaigns SET state = 'cancelled', ended_by = $2, ended_at = $3"
            " WHERE id = $1 AND state = 'running' RETURNING id", campaign_id, who, ts(now))
        if done is None:
            return False
        left = await conn.fetchval(
            "WITH c AS (UPDATE campaign_numbers SET state = 'cancelled' WHERE campaign_id = $1"
            " AND state = 'waiting' RETURNING 1) SELECT count(*) FROM c", campaign_id)
        await audit(conn, AuditEntry(who, now, "campaign.cancelled", {
            "campaign_id": campaign_id, "not_called": int(left)}))
        return True


async def running(conn: asyncpg.Connection) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM outage_campaigns WHERE state = 'running' ORDER BY id")]


async def state_of(conn: asyncpg.Connection, campaign_id: int) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT state FROM outage_campaigns WHERE id = $1", campaign_id)
    return value


async def interrupt(conn: asyncpg.Connection, campaign_id: int, now: float) -> int:
    """Attempts a stopped process left in flight: ended 'failed', their numbers not called
    again (a customer rung twice for one notice is worse than one not told). Their count."""
    async with conn.transaction():
        gone = await conn.fetch(
            "UPDATE campaign_attempts SET result = 'failed', ended_at = $2,"
            " detail = 'interrupted: the platform stopped during the call'"
            " WHERE campaign_id = $1 AND result = 'pending' RETURNING number",
            campaign_id, ts(now))
        await conn.execute(
            "UPDATE campaign_numbers SET state = 'unreached', last_result = 'failed'"
            " WHERE campaign_id = $1 AND state = 'calling'", campaign_id)
        return len(gone)


async def claim_next(conn: asyncpg.Connection, campaign_id: int, now: float) -> Claim | None:
    """The next number due in a running campaign, marked 'calling' with its attempt row
    written (started now), or None when none is due."""
    async with conn.transaction():
        r = await conn.fetchrow(
            "UPDATE campaign_numbers n SET state = 'calling', attempts = attempts + 1"
            " FROM outage_campaigns c WHERE c.id = n.campaign_id AND c.state = 'running'"
            " AND (n.campaign_id, n.number) = (SELECT campaign_id, number FROM campaign_numbers"
            " WHERE campaign_id = $1 AND state = 'waiting' AND next_at <= $2"
            " ORDER BY next_at, number LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING n.number, n.attempts", campaign_id, ts(now))
        if r is None:
            return None
        attempt_id = await conn.fetchval(
            "INSERT INTO campaign_attempts (campaign_id, number, attempt, started_at)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            campaign_id, r["number"], r["attempts"], ts(now))
        return Claim(attempt_id, r["number"], r["attempts"])


async def record(conn: asyncpg.Connection, campaign_id: int, claim: Claim, result: str,
                 detail: str, answered_at: float | None, ended_at: float, nxt: Next) -> None:
    """Stores an attempt's result and what becomes of its number (a campaign cancelled
    meanwhile calls it no more)."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE campaign_attempts SET result = $2, detail = $3, answered_at = $4,"
            " ended_at = $5 WHERE id = $1", claim.attempt_id, result, detail[:500],
            ts(answered_at), ts(ended_at))
        await conn.execute(
            "UPDATE campaign_numbers n SET last_result = $3, next_at = coalesce($5, n.next_at),"
            " state = CASE WHEN $4 = 'waiting' AND (SELECT state FROM outage_campaigns"
            " WHERE id = $1) <> 'running' THEN 'cancelled' ELSE $4 END"
            " WHERE campaign_id = $1 AND number = $2",
            campaign_id, claim.number, result, nxt.state, ts(nxt.at))


async def next_due(conn: asyncpg.Connection, campaign_id: int) -> tuple[float | None, int]:
    """(The earliest next_at of a waiting number, the count of numbers in flight)."""
    r = await conn.fetchrow(
        "SELECT min(next_at) FILTER (WHERE state = 'waiting') AS due,"
        " count(*) FILTER (WHERE state = 'calling') AS calling"
        " FROM campaign_numbers WHERE campaign_id = $1", campaign_id)
    return epoch(r["due"]), int(r["calling"])


async def finish_if_done(conn: asyncpg.Connection, campaign_id: int, now: float) -> bool:
    """Marks a running campaign done once no number waits or is in flight."""
    value = await conn.fetchval(
        "UPDATE outage_campaigns SET state = 'done', ended_at = $2 WHERE id = $1"
        " AND state = 'running' AND NOT EXISTS (SELECT 1 FROM campaign_numbers"
        " WHERE campaign_id = $1 AND state IN ('waiting', 'calling')) RETURNING id",
        campaign_id, ts(now))
    return value is not None


__all__ = ["AttemptRow", "CampaignError", "CampaignRow", "Claim", "NoSuchOutage", "NumberRow",
           "attempts", "cancel", "claim_next", "create", "finish_if_done", "get", "interrupt",
           "list_campaigns", "next_due", "numbers", "record", "running", "state_of"]
