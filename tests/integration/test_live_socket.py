"""The live websocket on a real uvicorn server with a real websockets client: every
behaviour on both servers, the ASGI /ws/live and the dedicated broadcaster
(api/live_broadcast.py) started next to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hotline.api import Services
from hotline.api.live_socket import LiveSession, coalesce
from hotline.api.security import Role, TokenError, TokenSigner
from hotline.core.events import CallEnded, CallQueued
from hotline.core.values import ServiceType
from hotline.realtime.live import LIVE_CHANNEL, encode
from hotline.store.live import RESYNC
from tests.helpers.live import Server, frames, recv, recv_until, serve, stuck_client
from tests.helpers.servers import fast_hasher

FAST_HASH = fast_hasher()


@pytest.fixture(params=["asgi", "broadcast"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    services = Services.build(hasher=FAST_HASH)
    services.seed_users = False
    async for s in serve(services, request.param):
        yield s


def queued(call: str, queue: str = "billing") -> CallQueued:
    import time

    return CallQueued(time.time(), call_id=call, queue=queue, service=ServiceType.BILLING)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "token missing"),
        ("?token=abc", "token malformed"),
        ("?token=v1.e30.AAAA", "token malformed"),  # the hand-rolled format before JWTs
        ("?token=" + jwt.encode({"sub": "x", "roles": ["admin"]}, "not-the-secret" * 4,
                                algorithm="HS256"), "token invalid"),
    ],
)
async def test_bad_token_closes_with_4401(server: Server, query: str, reason: str) -> None:
    async with connect(server.url + "/ws/live" + query) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401 and closed.value.rcvd.reason.startswith(reason)


async def test_snapshot_then_deltas(server: Server) -> None:
    feed = server.services.live
    feed.on_item(queued("c0"))
    await feed.flush()
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        snap = await recv(ws)
        assert snap["type"] == "snapshot" and snap["data"]["queues"]["billing"]["waiting"] == 1
        feed.on_item(queued("c1"))
        delta = await recv_until(ws, lambda m: "queues" in m["data"])
        assert delta["type"] == "delta" and delta["seq"] > snap["seq"]
        assert delta["data"]["queues"]["billing"]["waiting"] == 2
        feed.on_item(CallEnded(queued("x").at + 10, call_id="c0"))
        delta = await recv_until(ws, lambda m: "queues" in m["data"])
        assert delta["data"]["queues"]["billing"]["today"]["abandoned"] == 1


async def test_queue_choice_filters_and_can_change(server: Server) -> None:
    feed = server.services.live
    url = f"{server.url}/ws/live?token={server.token()}&queues=fault"
    async with connect(url) as ws:
        assert (await recv(ws))["data"]["queues"] == {}
        feed.on_item(queued("b1", "billing"))
        feed.on_item(queued("f1", "fault"))
        delta = await recv_until(ws, lambda m: "queues" in m["data"])
        assert set(delta["data"]["queues"]) == {"fault"}
        await ws.send(json.dumps({"type": "subscribe", "queues": ["billing"]}))
        snap = await recv_until(ws, lambda m: m["type"] == "snapshot")
        assert set(snap["data"]["queues"]) == {"billing"}


async def test_at_most_20_messages_a_second_and_nothing_lost(server: Server) -> None:
    fanout = server.services.fanout
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        snap = await recv(ws)
        base = snap["seq"] + 1000
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(200):  # 200 deltas in ~0.5 s: 400/s offered to the socket
            data = {"queues": {"q": {"waiting": n}}, f"k{n % 7}": n}
            await fanout.publish(LIVE_CHANNEL, encode("delta", base + n, 1.0 + n, data))
            await asyncio.sleep(0.0025)
        got: list[dict[str, Any]] = []
        while not got or got[-1]["seq"] != base + 199:
            got.append(await recv(ws))
        elapsed = loop.time() - start
        # n sends take at least (n - 1) x the pacing interval (45 ms: ~20/s)
        pace = server.services.live_min_interval_s
        assert 0.04 <= pace <= 0.05
        assert len(got) <= elapsed / pace + 1, (len(got), elapsed)
        assert len(got) < 100  # coalesced, not one per delta
        state: dict[str, Any] = {}
        for msg in got:
            for k, v in msg["data"].items():
                state[k] = v
        assert state["queues"]["q"]["waiting"] == 199
        assert {state[f"k{i}"] for i in range(7)} == {193 + i for i in range(7)}
        assert got[0]["changed"] is not None


async def test_token_expiry_closes_and_renewal_keeps_open(server: Server) -> None:
    server.signer.ttl_s = 0.8
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        await recv(ws)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv(ws)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "token expired")
    first = server.token()
    async with connect(f"{server.url}/ws/live?token={first}") as ws:
        await recv(ws)
        # renewed every 0.4 s until the first token has run out (0.8 s) and twice after it
        renewals_after_expiry = 0
        async with asyncio.timeout(5):
            while renewals_after_expiry < 2:
                await asyncio.sleep(0.4)  # the client's renewal pace, not a wait for a result
                await ws.send(json.dumps({"type": "token", "token": server.token()}))
                renewals_after_expiry += expired(server.signer, first)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "delta"  # still open


def expired(signer: TokenSigner, token: str) -> bool:
    try:
        signer.verify(token)
    except TokenError as exc:
        assert "expired" in str(exc), exc
        return True
    return False


async def test_bad_client_message_closes_with_4400(server: Server) -> None:
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        await recv(ws)
        await ws.send("{nope")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


# ---- the slow-client rule, on a socket whose sends block until released


class BlockedSocket:
    """Stands for a client that reads nothing: send_text waits until `gate` opens."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.attempted = asyncio.Event()  # the session subscribed and tried its first send
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send_text(self, text: str) -> None:
        self.attempted.set()
        await self.gate.wait()
        self.sent.put_nowait(json.loads(text))

    async def receive_text(self) -> str:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"closed {code} {reason}")


async def test_slow_client_drops_back_to_a_snapshot_with_bounded_memory() -> None:
    services = Services.build(hasher=FAST_HASH)
    services.live_queue_size = 8
    await services.fanout.start()
    ws = BlockedSocket()
    signer = TokenSigner("k" * 40, 60, lambda: 0.0)
    claims = signer.verify(signer.issue("u", [Role.AGENT])[0])
    session = LiveSession(ws, services, signer, claims, None)  # type: ignore[arg-type]
    task = asyncio.create_task(session.run())
    try:
        async with asyncio.timeout(2):
            await ws.attempted.wait()
        [sub] = services.fanout._subscribers[LIVE_CHANNEL]
        services.live.on_item(queued("c1"))
        for _ in range(100):  # the socket is stuck: 100 deltas must not pile up
            await services.live.flush()
            await asyncio.sleep(0)
            assert sub.queue.qsize() <= 8
        assert sub.overflowed and sub.dropped > 80
        ws.gate.set()  # the client reads again
        async with asyncio.timeout(2):
            sent = [await ws.sent.get(), await ws.sent.get()]
        # The connect snapshot (it was stuck too), then a fresh one instead of the backlog.
        assert [m["type"] for m in sent] == ["snapshot", "snapshot"]
        assert session.resyncs == 1
        assert sent[1]["data"]["queues"]["billing"]["waiting"] == 1
        assert sent[1]["seq"] == services.live.seq
        assert ws.sent.empty()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await services.fanout.stop()


def test_coalesce_merges_from_the_last_snapshot() -> None:
    msgs = [
        encode("delta", 1, 5.0, {"queues": {"a": {"waiting": 1}}}),
        encode("snapshot", 2, None, {"queues": {"b": {"waiting": 2}}}),
        encode("delta", 3, 7.0, {"queues": {"b": {"waiting": 3}, "c": {"waiting": 1}}}),
        encode("delta", 4, 6.0, {"now": 9}, 9.5),
    ]
    out = json.loads(coalesce(msgs, None))
    assert out == {
        "type": "snapshot",
        "seq": 4,
        "changed": 6.0,
        "sent": 9.5,
        "data": {"queues": {"b": {"waiting": 3}, "c": {"waiting": 1}}, "now": 9},
    }
    assert json.loads(coalesce(msgs, frozenset({"c"})))["data"]["queues"] == {"c": {"waiting": 1}}


async def test_a_client_that_leaves_is_unsubscribed(server: Server) -> None:
    for _ in range(5):
        async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
            await recv(ws)
            assert server.clients() >= 1
            server.services.live.on_item(queued("c"))
        # gone without reading the delta
    async with asyncio.timeout(3):
        while server.clients():  # noqa: ASYNC110 (a count, no event)
            await asyncio.sleep(0.02)


async def test_a_bus_resync_notice_sends_a_fresh_snapshot(server: Server) -> None:
    async with connect(f"{server.url}/ws/live?token={server.token()}") as ws:
        first = await recv(ws)
        await server.services.fanout.publish(LIVE_CHANNEL, json.dumps(RESYNC))
        again = await recv(ws)
        assert again["type"] == "snapshot" and again["data"] == first["data"]


# ---- the dedicated server: its own rules for slow clients, its path, its place in the API


@pytest.mark.parametrize("server", ["broadcast"], indirect=True)
async def test_broadcast_slow_client_bounded_then_a_fresh_snapshot(server: Server) -> None:
    b = server.broadcaster
    assert b is not None
    sock = stuck_client(b.port, server.token())
    try:
        async with asyncio.timeout(3):
            while not b.client_count():  # noqa: ASYNC110 (a count, no event)
                await asyncio.sleep(0.01)
        [client] = [c for group in b._groups.values() for c in group]
        transport = client.conn.transport
        big = "x" * 200_000  # each delta far larger than the 16 KiB buffer limit
        publish = server.services.fanout.publish
        for n in range(400):  # up to 80 MB offered to a client that reads nothing
            data = {"queues": {"q": {"waiting": n}}, "pad": big}
            await publish(LIVE_CHANNEL, encode("delta", 10**6 + n, 1.0, data))
            await asyncio.sleep(0.005)
            assert transport.get_write_buffer_size() <= b.buffer_limit + 201_000
            if client.stale:  # the kernel's buffers are full and so is the limit
                break
        assert client.stale and b.resyncs == 0
        server.services.live.on_item(queued("c1"))
        await server.services.live.flush()
        changed_at = server.services.live.seq
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        buf = bytearray()
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(3):  # the client reads again: then a snapshot of the present
            while b"\r\n\r\n" not in buf:
                buf += await loop.sock_recv(sock, 65536)
            del buf[: buf.find(b"\r\n\r\n") + 4]  # the handshake's answer
            while len(got) < 2 or got[-1]["type"] != "snapshot":
                got += frames(buf)
                if len(got) < 2 or got[-1]["type"] != "snapshot":
                    buf += await loop.sock_recv(sock, 65536)
        assert b.resyncs == 1
        assert got[-1]["data"]["queues"]["billing"]["waiting"] == 1
        # of the present: at least as new as the change (the feed may have moved on since)
        assert changed_at <= got[-1]["seq"] <= server.services.live.seq
        assert len(got) < 20  # most of the 60 big deltas were never queued
    finally:
        sock.close()


@pytest.mark.parametrize("server", ["broadcast"], indirect=True)
async def test_broadcast_serves_only_its_path(server: Server) -> None:
    with pytest.raises(Exception, match="404"):
        async with connect(f"{server.url}/elsewhere?token={server.token()}"):
            pass
