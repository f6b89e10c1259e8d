"""Queries of the caller's story: the accounts registered to a phone number (migration 019's
account_phones), the VIP mark of a number, and the survey answers of a number's calls."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from hotline.store.queries import epoch, ts


@dataclass(frozen=True, slots=True)
class Account:
    account_no: str
    holder: str
    address: str
    area_code: str
    sensitive: bool  # 敏感客户: marked by the centre
    sensitive_note: str


@dataclass(frozen=True, slots=True)
class SurveyScore:
    call_id: str
    at: float
    agent_id: str
    satisfaction: int | None  # 1 very satisfied .. scale very dissatisfied
    scale: int | None
    nps: int | None  # 0-10
    score: int | None  # the one-question survey before migration 015 (0-10)


@dataclass(frozen=True, slots=True)
class VipMark:
    number: str
    note: str


async def accounts_of(conn: asyncpg.Connection, phone: str, *,
                      limit: int = 50) -> list[Account]:
    """The accounts registered to the number, by account number (the first `limit`)."""
    rows = await conn.fetch(
        "SELECT a.* FROM account_phones p JOIN accounts a USING (account_no)"
        " WHERE p.phone = $1 ORDER BY a.account_no LIMIT $2", phone, limit)
    return [Account(r["account_no"], r["holder"], r["address"], r["area_code"], r["sensitive"],
                    r["sensitive_note"]) for r in rows]


async def link_phone(conn: asyncpg.Connection, phone: str, account_no: str) -> None:
    """Registers the number to the account (the customer system's import, and tests)."""
    await conn.execute("INSERT INTO account_phones (phone, account_no) VALUES ($1, $2)"
                       " ON CONFLICT DO NOTHING", phone, account_no)


async def vip_mark(conn: asyncpg.Connection, number: str) -> VipMark | None:
    row = await conn.fetchrow("SELECT number, note FROM vip_numbers WHERE number = $1", number)
    return VipMark(row["number"], row["note"]) if row is not None else None


async def surveys_of(conn: asyncpg.Connection, caller: str, *, until: float | None = None,
                     limit: int = 50) -> list[SurveyScore]:
    """The survey answers given on the number's calls, newest first."""
    rows = await conn.fetch(
        "SELECT s.* FROM survey_answers s JOIN calls c ON c.call_id = s.call_id"
        " WHERE c.caller = $1 AND ($2::timestamptz IS NULL OR s.at <= $2)"
        " ORDER BY s.at DESC, s.call_id LIMIT $3", caller, ts(until), limit)
    return [SurveyScore(r["call_id"], epoch(r["at"]) or 0.0, r["agent_id"], r["satisfaction"],
                        r["scale"], r["nps"], r["score"]) for r in rows]
