"""#16.6: /healthz, /readyz and /metrics on the real stores. An API process as `hotline api`
builds it (hotline.process.api_node.ApiNode, over uvicorn) is ready only while PostgreSQL and
Redis answer and some controller holds the command bus's lease; the controller's own health
listener exposes the Prometheus series read from the controller's counters."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from hotline.api.health import Readiness
from hotline.core.events import CallQueued
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.embedded import EmbeddedPostgres, EmbeddedRedis
from hotline.process import prom, readiness
from hotline.process.acd_server import AcdServer
from hotline.process.api_node import ApiNode
from hotline.process.controller import Controller
from hotline.process.health_listener import HealthListener
from hotline.store import db
from hotline.store.live import connect_redis
from hotline.store.writer import Writer
from tests.helpers import testbed
from tests.helpers.desk import NODE, RecordingLink
from tests.helpers.store import store_tmpdir
from tests.helpers.waiting import wait_for

API_PORT = testbed.API_PORT + 6  # and its live socket on the next port


@pytest.fixture
def own_pg() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to be stopped."""
    base = store_tmpdir("hotline-pg-ready-")
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def api_node(own_pg: EmbeddedPostgres, redis_server: EmbeddedRedis,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    conn = await db.connect(own_pg.url)
    await db.migrate(conn)
    await conn.close()
    settings = Settings(database_url=own_pg.url, redis_url=redis_server.url,
                        api_port=API_PORT, live_port=API_PORT + 1)
    node = ApiNode(settings, emit_line=lambda _: None)
    await node.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{API_PORT}") as client:
            yield client
    finally:
        await node.stop()


def controller() -> Controller:
    ctl = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    link = RecordingLink()
    link.logged_in = asyncio.Event()  # type: ignore[attr-defined]  # the stand-in is up
    link.logged_in.set()  # type: ignore[attr-defined]
    ctl.links[NODE] = link  # type: ignore[assignment]
    return ctl


async def test_an_api_process_is_ready_only_with_a_controller_and_postgres(
        api_node: httpx.AsyncClient, own_pg: EmbeddedPostgres,
        redis_server: EmbeddedRedis) -> None:
    assert (await api_node.get("/healthz")).status_code == 200
    r = await api_node.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["not_ready"] == {"controller": "no controller holds the lease"}
    assert r.json()["checks"] == {"postgres": True, "redis": True, "controller": False}

    redis = connect_redis(redis_server.url)
    server = AcdServer(controller(), redis)
    await server.start()  # a controller serving the bus: it holds the lease
    try:
        async def ready() -> httpx.Response | None:
            got = await api_node.get("/readyz")
            return got if got.status_code == 200 else None
        r = await wait_for(ready, 5, "the API process ready once a controller holds the lease")
        assert r.json() == {"ready": True,
                            "checks": {"postgres": True, "redis": True, "controller": True}}

        await asyncio.to_thread(own_pg.stop, "immediate")  # the database dies
        r = await api_node.get("/readyz")
        assert r.status_code == 503, r.text
        assert list(r.json()["not_ready"]) == ["postgres"]
        assert (await api_node.get("/healthz")).status_code == 200  # alive all the same
    finally:
        await server.stop()
        await redis.aclose()


async def test_the_controllers_listener_exposes_its_series(
        pg_server: EmbeddedPostgres, redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    ctl = controller()
    redis = connect_redis(redis_server.url)
    server = AcdServer(ctl, redis)
    await server.start()
    pool = await db.create_pool(pg_server.url, min_size=1, max_size=2)
    writer = Writer(pg_server.url, tmp_path / "writer")
    checks = Readiness({"postgres": readiness.postgres_or_outbox(pool, writer),
                        "redis": readiness.redis(redis),
                        "lease": readiness.lease_held(redis, lambda: server.server.name)})
    listener = HealthListener("127.0.0.1", 0, checks,
                              prom.registry(prom.PlatformCollector(ctl, writer, server.server)))
    await listener.start()
    try:
        base = f"http://127.0.0.1:{listener.bound_port}"
        async with httpx.AsyncClient(base_url=base) as client:
            r = await client.get("/readyz")
            assert r.status_code == 200 and r.json()["ready"] is True, r.text
            for trigger in (AgentTrigger.LOGIN, AgentTrigger.READY):
                ctl.agent_command("agent1", trigger)
            ctl.handle(CallQueued(time.time(), node=NODE, call_id="c1", queue="general",
                                  service=ServiceType.GENERAL, caller="13800000001"))
            text = (await client.get("/metrics")).text
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/nothing")).status_code == 404

            await server.stop()  # the lease given up: this controller is not ready
            r = await client.get("/readyz")
            assert r.status_code == 503 and list(r.json()["not_ready"]) == ["lease"], r.text
    finally:
        await listener.stop()
        await pool.close()
        await redis.aclose()
    series = {line.split("{")[0].split(" ")[0]: line for line in text.splitlines()
              if line and not line.startswith("#")}
    assert series["hotline_calls_in_system"].endswith(" 1.0")
    assert series["hotline_offers_total"].endswith(" 1.0")  # agent1 was offered c1
    assert float(series["hotline_decision_seconds_count"].split()[-1]) >= 1
    assert series["hotline_writer_backlog"].endswith(" 0.0")
    assert series["hotline_lease_held"].endswith(" 1.0")
    assert series["hotline_ami_link_up"] == 'hotline_ami_link_up{node="n1"} 1.0'
    assert "# TYPE hotline_ami_lag_seconds gauge" in text
    assert "process_resident_memory_bytes" in series
