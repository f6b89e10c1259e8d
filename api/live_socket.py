"""One wallboard / panel socket: a snapshot on connect, then coalesced deltas.

Each socket runs a receiver and a sender in one TaskGroup (plus a watch on its token: expiry,
and revocation, which the node's registry of live sockets reports through `revoke()`:
api/live_registry.py); whichever ends first ends the others. The sender drains everything
queued since its last send into one message (merged deltas) and then waits `min_interval_s`,
so a socket gets at most 1/min_interval_s messages and coalescing adds at most that much
delay. A socket that falls `queue_size` messages behind has its queue emptied and gets a
fresh snapshot instead: its memory never grows with its slowness. The same happens when the
bus reports a gap (`{"type": "resync"}` after a Redis reconnection).

Who may connect and what a client may say: api/live_rules.py (shared with the dedicated
live server, api/live_broadcast.py, which also shares `render` and `coalesce`).
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache

from starlette.websockets import WebSocket, WebSocketDisconnect

from hotline.api.live_registry import REVOKED
from hotline.api.live_rules import (
    BAD_REQUEST,
    FORBIDDEN,
    UNAUTHORIZED,
    MessageBudget,
    Refusal,
    Renew,
    Subscribe,
    parse_queues,
    read_client_message,
    sight_of,
)
from hotline.api.security import Claims, TokenSigner
from hotline.api.services import Services
from hotline.realtime.fanout import Subscriber
from hotline.realtime.live import LIVE_CHANNEL, encode, filter_view, is_resync, merge


class _Closed(Exception):
    """The server closed the socket (token expired or revoked, bad message)."""


@lru_cache(maxsize=256)
def render(message: str, queues: frozenset[str] | None) -> str:
    """One bus message as a client that chose `queues` sees it. Cached: every socket with
    the same choice gets the same text object, encoded once."""
    if queues is None:
        return message
    msg = json.loads(message)
    data = filter_view(msg["data"], queues)
    return encode(msg["type"], msg["seq"], msg["changed"], data, msg.get("sent"))


def coalesce(messages: list[str], queues: frozenset[str] | None) -> str:
    """Several bus messages as one: deltas merged in order, from the last snapshot on."""
    if len(messages) == 1:
        return render(messages[0], queues)
    return _merged(tuple(messages), queues)


@lru_cache(maxsize=64)
def _merged(messages: tuple[str, ...], queues: frozenset[str] | None) -> str:
    # Cached: sockets that fell equally behind (the usual case under load) share one merge.
    kind, data, changed, seq, sent = "delta", {}, None, 0, None
    for text in messages:
        msg = json.loads(text)
        if msg["type"] == "snapshot":
            kind, data, changed = "snapshot", {}, None
        merge(data, msg["data"])
        if msg["changed"] is not None:
            changed = msg["changed"] if changed is None else min(changed, msg["changed"])
        seq, sent = msg["seq"], msg.get("sent")
    return encode(kind, seq, changed, filter_view(data, queues), sent)


class LiveSession:
    def __init__(
        self,
        ws: WebSocket,
        services: Services,
        signer: TokenSigner,
        claims: Claims,
        queues: frozenset[str] | None,
    ) -> None:
        self.ws = ws
        self.services = services
        self.signer = signer
        self.claims = claims
        self.queues = queues
        self.sight = sight_of(claims)  # which agent rows it may see (live_rules)
        self.budget = MessageBudget()
        self.resyncs = 0
        self._revoked = False
        self._token_changed = asyncio.Event()  # renewed or revoked: the watch looks again

    async def revoke(self) -> None:
        """Closes the socket with UNAUTHORIZED / REVOKED (called by the registry)."""
        self._revoked = True
        self._token_changed.set()

    async def run(self) -> None:
        try:
            async with self.services.live_sockets.watch(self):
                await self._run()
        except Refusal as refusal:  # revoked already when it connected
            await self.ws.close(refusal.code, refusal.reason)

    async def _run(self) -> None:
        fanout = self.services.fanout
        async with fanout.subscribe(LIVE_CHANNEL, self.services.live_queue_size) as sub:
            # Subscribed before the snapshot is taken: nothing falls between the two; deltas
            # already in the snapshot carry seq <= its seq and clients skip them.
            try:
                await self._send_text(self.services.source.snapshot(self.queues))
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._receive(sub))
                    tg.create_task(self._send(sub))
                    tg.create_task(self._watch_token())
            except* (WebSocketDisconnect, _Closed):
                pass

    async def _send(self, sub: Subscriber) -> None:
        loop = asyncio.get_running_loop()
        last = -1e18
        while True:
            await sub.wait()
            # Too soon after the last send: let more queue up and send them as one. (Paced
            # here rather than by sleeping after every send: no timer per socket per message
            # while messages come slower than the pace, the usual case.)
            early = last + self.services.live_min_interval_s - loop.time()
            if early > 0:
                await asyncio.sleep(early)
            queued = sub.drain()
            if sub.overflowed or any(map(is_resync, queued)):
                # Fell too far behind, or the bus lost messages (a Redis reconnection):
                # start again from the present.
                sub.overflowed = False
                self.resyncs += 1
                text = self.services.source.snapshot(self.queues)
            elif queued:
                text = coalesce(queued, self.queues)
            else:  # the receiver resubscribed meanwhile and sent a snapshot
                continue
            last = loop.time()
            await self._send_text(text)

    async def _receive(self, sub: Subscriber) -> None:
        while True:
            text = await self.ws.receive_text()
            try:
                request = read_client_message(text, self.signer, self.budget,
                                              self.claims.username)
                if isinstance(request, Renew):  # a token revoked meanwhile is refused
                    await self.services.live_sockets.check(request.claims)
            except Refusal as refusal:
                await self._close(refusal.code, refusal.reason)
            if isinstance(request, Subscribe):
                self.queues = request.queues
                sub.drain()
                await self._send_text(self.services.source.snapshot(self.queues))
            elif isinstance(request, Renew):
                self.claims = request.claims
                self.sight = sight_of(request.claims)
                self._token_changed.set()

    async def _watch_token(self) -> None:
        while True:
            self._token_changed.clear()
            if self._revoked:
                await self._close(UNAUTHORIZED, REVOKED)
            left = self.claims.expires_at - self.signer.clock()
            if left <= 0:
                await self._close(UNAUTHORIZED, "token expired")
            try:
                async with asyncio.timeout(left):
                    await self._token_changed.wait()
            except TimeoutError:
                pass

    async def _send_text(self, text: str) -> None:
        # Every write: what this socket may see of the message (live_rules.Sight). The ASGI
        # send waits while the transport holds more than its high-water mark (uvicorn's
        # `writable`), so a client that reads nothing stalls its own socket's tasks (and its
        # reads: messages it sends meanwhile wait in the kernel), not the buffer's growth.
        await self.ws.send_text(self.sight.scoped(text))

    async def _close(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)
        raise _Closed(reason)


__all__ = [
    "BAD_REQUEST",
    "FORBIDDEN",
    "UNAUTHORIZED",
    "LiveSession",
    "coalesce",
    "parse_queues",
    "render",
]
