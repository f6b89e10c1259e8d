"""The metrics checkpoint: one row per controller in `metrics_checkpoint` (migration 011),
written every 30 s and at stop, read once at start (hotline.process.restart)."""

from __future__ import annotations

from typing import Any

import asyncpg

from hotline.store.queries import ts


async def save(conn: asyncpg.Connection | asyncpg.Pool, name: str, at: float,
               state: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO metrics_checkpoint (name, at, state) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at, state = EXCLUDED.state",
        name, ts(at), state)


async def load(conn: asyncpg.Connection, name: str) -> dict[str, Any] | None:
    """The saved state (its "at" is the moment it describes), or None."""
    state: dict[str, Any] | None = await conn.fetchval(
        "SELECT state FROM metrics_checkpoint WHERE name = $1", name)
    return state


__all__ = ["load", "save"]
