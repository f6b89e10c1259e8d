"""The dedicated live server: /ws/live on its own port, served by the `websockets` library in
the API's process, over the same Services (LiveFeed or mirror, fan-out) and token signer.

Why a second server: through ASGI every message costs every socket its own chain of awaits
(its queue, its sender task, the ASGI send, the protocol), about 480 ms at p99 for 2,000
screens at 1,000 changes/s on two cores. Here one hub task reads the bus once for the whole
process and, per bus message, renders it once per *group* (the clients that chose the same
queues share one encoded text, and one serialised websocket frame: no compression, and server
frames are unmasked) and writes that frame synchronously to the transport of every client
ready for it: no await, no copy, no protocol call per client.

Per client, the rules of the ASGI socket (api/live_socket.py) hold: a snapshot on connect,
then deltas; at most one message per `Services.live_min_interval_s` (a client written to less
than that ago collects the bus messages, and a timer sends them merged: one timer for all the
clients of a group written at the same moment, which share the merged frame too); a client that
collected `Services.live_queue_size` messages, or whose transport holds more than
`buffer_limit` bytes unsent, gets nothing more until its buffer drains, then a fresh snapshot
(so its memory is bounded by the limit plus one message). Every write obeys that limit,
the snapshot answering a `subscribe` too. Who may connect, which agent rows each client
sees, the close codes and the client messages (and their budget): api/live_rules.py; a
client whose token an admin revokes is closed like an ASGI one, through the node's registry
of live sockets (api/live_registry.py).

Start it next to the API (`async with LiveBroadcaster.for_app(app, settings): ...`); while it
runs, GET /api/live-endpoint sends the pages here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from hotline.api.live_registry import REVOKED
from hotline.api.live_rules import (
    UNAUTHORIZED,
    MessageBudget,
    Refusal,
    Renew,
    Subscribe,
    admit,
    read_client_message,
    sight_of,
)
from hotline.api.live_socket import coalesce
from hotline.api.security import Claims, TokenSigner
from hotline.api.services import Services
from hotline.core.settings import Settings
from hotline.core.tasks import cancel_and_wait
from hotline.realtime.fanout import Subscriber
from hotline.realtime.live import LIVE_CHANNEL, is_resync

PATH = "/ws/live"
WILDCARDS = {"", "0.0.0.0", "::"}
Group = frozenset[str] | None


class _Client:
    __slots__ = (
        "budget", "claims", "conn", "due", "expiry", "last", "pending", "queues", "sight",
        "stale",
    )

    def __init__(self, conn: ServerConnection, claims: Claims, queues: Group) -> None:
        self.conn = conn
        self.claims = claims
        self.sight = sight_of(claims)  # which agent rows it may see (live_rules)
        self.budget = MessageBudget()
        self.queues = queues
        self.last = -1e18  # loop time of the last write
        self.pending: list[str] = []  # bus messages held back by the pace
        self.stale = False  # fell behind: owed a fresh snapshot once its buffer drains
        self.due: float | None = None  # when its batch's pace timer fires (None: in none)
        self.expiry: asyncio.TimerHandle | None = None

    async def revoke(self) -> None:
        """Closes the socket with UNAUTHORIZED / REVOKED (called by the registry)."""
        await self.conn.close(UNAUTHORIZED, REVOKED)


class LiveBroadcaster:
    def __init__(
        self,
        services: Services,
        signer: TokenSigner,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertised_host: str | None = None,
        buffer_limit: int = 1 << 20,
        reuse_port: bool = False,
    ) -> None:
        self.services = services
        self.signer = signer
        self.host = host
        self.advertised_host = advertised_host
        self.buffer_limit = buffer_limit
        self.reuse_port = reuse_port  # several processes on one port (SO_REUSEPORT)
        self.resyncs = 0  # snapshots sent to clients that fell behind, for tests/monitoring
        self._port = port
        self._groups: dict[Group, set[_Client]] = {}
        # Clients waiting for the pace, by group and due time: one timer per batch.
        self._batches: dict[tuple[Group, float], list[_Client]] = {}
        self._server: Server | None = None
        self._hub: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._app: FastAPI | None = None

    @classmethod
    def for_app(cls, app: FastAPI, settings: Settings, **kw: Any) -> LiveBroadcaster:
        """The server for `app` where the settings put it (live_host / live_port; by default
        the API's host and port + 1); while it runs, the app's /api/live-endpoint names it."""
        host = settings.live_host or settings.api_host
        port = settings.live_port if settings.live_port is not None else settings.api_port + 1
        advertised = settings.live_host if settings.live_host not in WILDCARDS else None
        self = cls(
            app.state.services, app.state.signer, host=host, port=port,
            advertised_host=advertised, **kw,
        )
        self._app = app
        return self

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen when it was given 0)."""
        if self._server is not None:
            return int(next(iter(self._server.sockets)).getsockname()[1])
        return self._port

    def client_count(self) -> int:
        return sum(len(clients) for clients in self._groups.values())

    async def start(self) -> None:
        # One subscriber for the whole process; deep, since a hub that falls behind sends
        # every client a snapshot.
        self._subscription = self.services.fanout.subscribe(LIVE_CHANNEL, maxsize=4096)
        sub = await self._subscription.__aenter__()
        self._hub = asyncio.create_task(self._run_hub(sub), name="live-broadcast-hub")
        self._server = await serve(
            self._handle,
            self.host,
            self._port,
            process_request=self._check_path,
            compression=None,  # per-message deflate would cost every client its own CPU
            max_size=1 << 16,  # clients only send small control messages
            max_queue=4,
            backlog=4096,  # screens reconnect in crowds
            reuse_port=self.reuse_port,
        )
        if self._app is not None:
            self._app.state.live_broadcaster = self

    async def stop(self) -> None:
        if self._app is not None:
            self._app.state.live_broadcaster = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._hub is not None:
            await cancel_and_wait(self._hub)
            await self._subscription.__aexit__(None, None, None)
            self._hub = None

    async def __aenter__(self) -> LiveBroadcaster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- connections

    def _check_path(self, conn: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != PATH:
            return conn.respond(HTTPStatus.NOT_FOUND, f"the live socket is at {PATH}\n")
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        query = parse_qs(urlsplit(conn.request.path if conn.request else "").query)
        try:
            claims, queues = admit(
                self.signer, query.get("token", [""])[0], query.get("queues", [""])[0]
            )
        except Refusal as refusal:
            await conn.close(refusal.code, refusal.reason)
            return
        client = _Client(conn, claims, queues)
        try:
            async with self.services.live_sockets.watch(client):  # Refusal: revoked already
                await self._serve(client)
        except Refusal as refusal:
            await conn.close(refusal.code, refusal.reason)

    async def _serve(self, client: _Client) -> None:
        """Until the client leaves; a Refusal (a bad message, a revoked renewal) is raised
        after the client left its group."""
        conn = client.conn
        self._join(client)
        self._arm_expiry(client)
        try:
            async for text in conn:
                request = read_client_message(text, self.signer, client.budget,
                                              client.claims.username)
                if isinstance(request, Subscribe):
                    self._leave(client)
                    client.queues = request.queues
                    self._join(client)
                elif isinstance(request, Renew):
                    await self.services.live_sockets.check(request.claims)
                    client.claims = request.claims
                    client.sight = sight_of(request.claims)
                    self._arm_expiry(client)
        except ConnectionClosed:
            pass
        finally:
            self._leave(client)
            if client.expiry is not None:
                client.expiry.cancel()

    def _join(self, client: _Client) -> None:
        """Into its group, with a snapshot written at once: no bus message can fall between
        (the hub writes synchronously too); deltas the snapshot already holds carry a seq
        not above its own, and clients skip them. Under the buffer limit only, like every
        write: a client that subscribes again and again without reading is owed one
        snapshot, written once its buffer drains."""
        client.pending.clear()
        client.stale = False
        self._groups.setdefault(client.queues, set()).add(client)
        if self._writable(client):
            self._write([client], self.services.source.snapshot(client.queues))
        else:
            self._fell_behind(client)

    def _leave(self, client: _Client) -> None:
        group = self._groups.get(client.queues)
        if group is not None:
            group.discard(client)
            if not group:
                del self._groups[client.queues]
        client.pending.clear()  # its batch, if any, finds nothing to send
        client.stale = False

    def _arm_expiry(self, client: _Client) -> None:
        if client.expiry is not None:
            client.expiry.cancel()
        left = client.claims.expires_at - self.signer.clock()
        client.expiry = asyncio.get_running_loop().call_later(
            max(0.0, left), self._expire, client
        )

    def _expire(self, client: _Client) -> None:
        task = asyncio.create_task(client.conn.close(UNAUTHORIZED, "token expired"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ---- delivery

    async def _run_hub(self, sub: Subscriber) -> None:
        while True:
            await sub.wait()
            messages = sub.drain()
            if sub.overflowed or any(map(is_resync, messages)):
                # The hub itself fell behind, or the bus lost messages (a Redis
                # reconnection): every client starts again from the present.
                sub.overflowed = False
                for clients in self._groups.values():
                    for client in clients:
                        self._fell_behind(client)
            elif messages:
                self._deliver(messages)

    def _deliver(self, messages: list[str]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        pace = self.services.live_min_interval_s
        for queues, clients in self._groups.items():
            ready: list[_Client] = []
            for client in clients:
                if client.stale or client.pending or now - client.last < pace:
                    self._hold(client, messages)
                elif self._writable(client):
                    ready.append(client)
                else:
                    self._fell_behind(client)
            if ready:  # one text for the whole group (coalesce caches the merge)
                self._write(ready, coalesce(messages, queues), now)

    def _hold(self, client: _Client, messages: list[str]) -> None:
        if client.stale:
            return  # owed a snapshot: collecting would only cost memory
        client.pending.extend(messages)
        if len(client.pending) > self.services.live_queue_size:
            self._fell_behind(client)
        elif client.due is None:
            self._schedule(client, client.last + self.services.live_min_interval_s)

    def _fell_behind(self, client: _Client) -> None:
        client.pending.clear()
        client.stale = True
        if client.due is None:
            now = asyncio.get_running_loop().time()
            self._schedule(client, max(now, client.last + self.services.live_min_interval_s))

    def _schedule(self, client: _Client, when: float) -> None:
        client.due = when
        key = (client.queues, when)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = []
            asyncio.get_running_loop().call_at(when, self._flush, key)
        batch.append(client)

    def _flush(self, key: tuple[Group, float]) -> None:
        """A pace timer: to each client of the batch its held messages merged, or its owed
        snapshot once its buffer drained. Clients held since the same moment hold the same
        messages: they share one text and one frame."""
        out: dict[tuple[Group, tuple[str, ...] | None], list[_Client]] = {}
        for client in self._batches.pop(key):
            client.due = None
            if client.conn.protocol.state is not State.OPEN:
                continue
            if client.stale:
                if not self._writable(client):  # still stuck: look again a period later
                    now = asyncio.get_running_loop().time()
                    self._schedule(client, now + self.services.live_min_interval_s)
                    continue
                client.stale = False
                self.resyncs += 1
                out.setdefault((client.queues, None), []).append(client)
            elif not self._writable(client):
                self._fell_behind(client)
            elif client.pending:
                out.setdefault((client.queues, tuple(client.pending)), []).append(client)
                client.pending = []
        for (queues, held), clients in out.items():
            if held is None:
                self._write(clients, self.services.source.snapshot(queues))
            else:
                self._write(clients, coalesce(list(held), queues))

    def _writable(self, client: _Client) -> bool:
        transport = client.conn.transport
        return transport is not None and transport.get_write_buffer_size() <= self.buffer_limit

    def _write(self, clients: Iterable[_Client], text: str, now: float | None = None) -> None:
        # Callers checked the buffer limit (_writable) of every client. Each client gets
        # what its sight lets it see of `text` (live_rules.Sight: the same text object for
        # the same sight), and one frame per distinct text: what protocol.send_text would
        # serialise for each of them. Safe beside the library's own writes (pings, close): it
        # writes each of those whole and at once, and nothing here sends fragments.
        if now is None:
            now = asyncio.get_running_loop().time()
        frames: dict[str, bytes] = {}
        for client in clients:
            conn = client.conn
            if conn.protocol.state is State.OPEN and conn.transport is not None:
                seen = client.sight.scoped(text)
                frame = frames.get(seen)  # (a str caches its hash: a cheap lookup)
                if frame is None:
                    frame = frames[seen] = Frame(Opcode.TEXT, seen.encode()).serialize(
                        mask=False
                    )
                conn.transport.write(frame)
                client.last = now


__all__ = ["PATH", "LiveBroadcaster"]
