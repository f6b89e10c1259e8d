"""The real PostgreSQL and Redis of the tests (embedded packages): directories they may use and
fresh databases. The fixtures over them (pg_server, empty_db_url, conn, redis_server) are in
tests/conftest.py.

The data lives in a directory from tempfile.mkdtemp with mode 0711 rather than pytest's
tmp_path: pytest's base directory is 0700, which the unprivileged user PostgreSQL runs as
(when the tests run as root) could not traverse.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import asyncpg

from hotline.devtools.embedded import EmbeddedPostgres

_counter = itertools.count()


def store_tmpdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


async def fresh_database(server: EmbeddedPostgres) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"t{next(_counter)}"
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return server.url.rsplit("/", 1)[0] + "/" + name


__all__ = ["fresh_database", "store_tmpdir"]
