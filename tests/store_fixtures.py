"""Fixtures for the store tests: a real PostgreSQL (one per session, a fresh database per test)
and real Redis servers, from the embedded packages. Import the fixtures into a test module with
`pytest_plugins` in tests/conftest.py (one server of each per session).

The data lives in a directory from tempfile.mkdtemp with mode 0711 rather than pytest's
tmp_path: pytest's base directory is 0700, which the unprivileged user PostgreSQL runs as
(when the tests run as root) could not traverse.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from hotline.devtools.embedded import EmbeddedPostgres, EmbeddedRedis
from hotline.store import db

_counter = itertools.count()


def store_tmpdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    base = store_tmpdir("hotline-pg-")
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


async def fresh_database(server: EmbeddedPostgres) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"t{next(_counter)}"
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
async def empty_db_url(pg_server: EmbeddedPostgres) -> str:
    return await fresh_database(pg_server)


@pytest.fixture
async def conn(empty_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh, migrated database."""
    c = await db.connect(empty_db_url)
    await db.migrate(c)
    yield c
    await c.close()


@pytest.fixture
def redis_server() -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own, so a test may stop and restart it."""
    base = store_tmpdir("hotline-redis-")
    server = EmbeddedRedis(base / "redis")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


__all__ = ["conn", "empty_db_url", "fresh_database", "pg_server", "redis_server",
           "store_tmpdir"]
