"""History as the controller's ledger pass asks it (process/controller/ledger_pass.py): which
calls history holds already, and "everything recorded so far is accepted"."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from hotline.store.writer import Writer

#: how long the question waits for the outbox to reach PostgreSQL
FLUSH_S = 5.0


class StoreHistory:
    def __init__(self, writer: Writer, pool: asyncpg.Pool, flush_s: float = FLUSH_S) -> None:
        self.writer, self.pool, self.flush_s = writer, pool, flush_s

    async def recorded(self, call_ids: Sequence[str]) -> set[str]:
        """The calls among `call_ids` with a `calls` row. A record still in the outbox counts
        too, so the outbox is drained first; RuntimeError when it cannot be now (PostgreSQL
        away): the caller asks again later."""
        if not call_ids:
            return set()
        if not await self.writer.flush(self.flush_s):
            raise RuntimeError("the history outbox is not drained into PostgreSQL")
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT call_id FROM calls WHERE call_id = ANY($1::text[])",
                                    list(call_ids))
        return {r["call_id"] for r in rows}

    async def sync(self) -> None:
        await self.writer.sync()


__all__ = ["FLUSH_S", "StoreHistory"]
