"""The caller's local unit (属地, issue #18.5): which unit answers for a service type in an
area (table area_units, migration 020; areas are the accounts' area codes, migration 009).
A row for the type wins over the area's row for every type (service ""). The caller's area is
the order's area, else its account's."""

from __future__ import annotations

import asyncpg


async def area_of(conn: asyncpg.Connection, area: str, account: str) -> str:
    """The order's area: given, else the account's area code ("" when neither is known)."""
    if area or not account:
        return area
    return await conn.fetchval("SELECT area_code FROM accounts WHERE account_no = $1",
                               account) or ""


async def local_unit(conn: asyncpg.Connection, area: str, service: str) -> str | None:
    if not area:
        return None
    return await conn.fetchval(
        "SELECT unit FROM area_units WHERE area_code = $1 AND service IN ($2, '')"
        " ORDER BY service DESC LIMIT 1", area, service)
