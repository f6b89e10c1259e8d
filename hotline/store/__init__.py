"""Persistence (PostgreSQL through asyncpg) and live state (Redis through redis.asyncio).

The only package that opens database or Redis connections:
- `db`: connections, pools, SQL migrations (`migrations/NNN_name.sql`);
- `records`: the typed, validated rows; `queries`: typed queries over them;
- `writer`: write-behind so the call path never waits for PostgreSQL, through `outbox`, the
  on-disk log every record is in before it counts as accepted (docs/outbox.md);
- `checkpoint`: the metrics checkpoint a restarted controller starts from;
- `live`: per-queue / per-agent hashes and the `hl:live` pub/sub bus;
- `embedded`: a local PostgreSQL and Redis when Settings leaves their URLs empty.
"""
