"""PostgreSQL connections and schema migrations: the only place asyncpg connects.

Migrations are plain SQL files `hotline/store/migrations/NNN_name.sql`, applied in order, each
in its own transaction, and recorded in `schema_migrations` with a checksum. Rerunning applies
nothing new; a recorded file whose text changed, or a file that fails, stops the run with a
`MigrationError` naming the file. An advisory lock keeps two processes from migrating at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import asyncpg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x686F746C696E65  # "hotline"


class MigrationError(RuntimeError):
    """A migration could not be applied; the message names the file."""

    def __init__(self, filename: str, problem: str) -> None:
        super().__init__(f"migration {filename}: {problem}")
        self.filename = filename


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, separators=(",", ":")).encode()


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])  # after the format version byte


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs, because COPY (queries.upsert_copy) speaks only the binary format.
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=_jsonb_encode,
                              decoder=_jsonb_decode, format="binary")
    await conn.set_type_codec("json", schema="pg_catalog", encoder=json.dumps,
                              decoder=json.loads, format="text")


def is_unreachable(exc: BaseException) -> bool:
    """True when PostgreSQL could not be reached or went away (a refused or lost connection,
    a server starting or shutting down, out of connections, no listed host taking writes
    yet: a standby not promoted, docs/deploy.md): its state, not the request's; False for an
    error of the statement or its data."""
    if isinstance(exc, asyncpg.exceptions.DataError):  # SQLSTATE class 22: the row is bad
        return False
    return isinstance(exc, OSError | TimeoutError | asyncpg.PostgresConnectionError
                      | asyncpg.exceptions.OperatorInterventionError
                      | asyncpg.exceptions.InsufficientResourcesError
                      | asyncpg.exceptions.TargetServerAttributeNotMatched) or (
        isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError))


async def connect(url: str, connect_timeout: float = 5.0) -> asyncpg.Connection:
    """One connection with the project's codecs (JSON as Python values)."""
    conn = await asyncpg.connect(url, timeout=connect_timeout)
    await _init_connection(conn)
    return conn


async def create_pool(url: str, min_size: int = 1, max_size: int = 10,
                      connect_timeout: float = 5.0) -> asyncpg.Pool:
    # (asyncpg's default connect timeout is 60 s: a request would hang that long on a
    # PostgreSQL that does not answer)
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                     timeout=connect_timeout,
                                     init=_init_connection)
    assert pool is not None
    return pool


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files: list[Path] = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        if not _NAME.match(path.name):
            raise MigrationError(path.name, "name must look like NNN_lower_snake.sql")
        files.append(path)
    versions = [p.name[:3] for p in files]
    duplicates = {v for v in versions if versions.count(v) > 1}
    if duplicates:
        raise MigrationError(", ".join(p.name for p in files if p.name[:3] in duplicates),
                             "two migrations share a number")
    return files


async def migrate(db: asyncpg.Pool | asyncpg.Connection,
                  directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Applies the migrations not yet applied; returns their file names, in order."""
    files = migration_files(directory)
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await _migrate(conn, files)
    return await _migrate(db, files)


async def _migrate(conn: Any, files: list[Path]) -> list[str]:
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, filename text NOT NULL, sha256 text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"]: r for r in await conn.fetch("SELECT * FROM schema_migrations")}
        applied: list[str] = []
        for path in files:
            sql = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(sql.encode()).hexdigest()
            version = path.name[:3]
            if version in done:
                if done[version]["sha256"] != digest:
                    raise MigrationError(path.name, "changed after it was applied "
                                         f"(as {done[version]['filename']}); add a new one")
                continue
            try:
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, filename, sha256)"
                        " VALUES ($1, $2, $3)", version, path.name, digest)
            except asyncpg.PostgresError as exc:
                raise MigrationError(path.name, f"{type(exc).__name__}: {exc}") from exc
            applied.append(path.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


__all__ = ["MIGRATIONS_DIR", "MigrationError", "connect", "create_pool", "is_unreachable",
           "migrate", "migration_files"]
