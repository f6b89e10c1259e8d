"""The live socket's servers for tests: the API under uvicorn (its ASGI /ws/live), or with its
dedicated live server (api/live_broadcast.py) started next to it; and a raw client that reads
nothing (to fill the server's side of a socket) with the parser of what it finally reads."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection

from hotline.api import Services, create_app
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import Role, TokenSigner
from hotline.core.settings import Settings
from hotline.realtime.live import LIVE_CHANNEL
from tests.helpers.servers import serve_app_server


@dataclass
class Server:
    url: str
    services: Services
    signer: TokenSigner
    clients: Callable[[], int]  # sockets the server holds open
    broadcaster: LiveBroadcaster | None = None
    uvicorn: uvicorn.Server | None = None

    def token(self, *roles: Role, user: str = "tester") -> str:
        return self.signer.issue(user, roles or (Role.AGENT,))[0]

    def buffered(self) -> list[int]:
        """The bytes each open live socket's transport holds unsent, on the server's side."""
        if self.broadcaster is not None:
            return [
                c.conn.transport.get_write_buffer_size()
                for group in self.broadcaster._groups.values()
                for c in group
                if c.conn.transport is not None
            ]
        assert self.uvicorn is not None
        return [
            conn.transport.get_write_buffer_size()
            for conn in self.uvicorn.server_state.connections
            if "WebSocket" in type(conn).__name__ and conn.transport is not None
        ]


async def serve(
    services: Services, impl: str = "asgi", buffer_limit: int = 16_384
) -> AsyncIterator[Server]:
    """The API under uvicorn; with impl="broadcast" also its dedicated live server, and the
    Server's url is that one's."""
    app = create_app(Settings(), services)
    async with serve_app_server(app) as (base, server):
        if impl == "asgi":
            yield Server(
                base.replace("http://", "ws://", 1),
                services,
                app.state.signer,
                lambda: services.fanout.subscriber_count(LIVE_CHANNEL),
                uvicorn=server,
            )
        else:
            settings = Settings(live_port=0)
            async with LiveBroadcaster.for_app(app, settings, buffer_limit=buffer_limit) as b:
                yield Server(
                    f"ws://127.0.0.1:{b.port}", services, app.state.signer, b.client_count, b,
                    uvicorn=server,
                )


async def recv(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(3):
        return json.loads(await ws.recv())  # type: ignore[no-any-return]


async def recv_until(ws: ClientConnection, pred) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(3):
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg  # type: ignore[no-any-return]


def stuck_client(port: int, token: str) -> socket.socket:
    """A client that completes the handshake and then reads nothing, with a tiny receive
    buffer so the server's side fills at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /ws/live?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def client_frame(text: str) -> bytes:
    """A masked text frame, as a client sends it (the mask: zeros, which changes nothing)."""
    data = text.encode()
    assert len(data) < 126
    return bytes([0x81, 0x80 | len(data), 0, 0, 0, 0]) + data


def frames(buf: bytearray) -> list[dict[str, Any]]:
    """The complete text frames at the start of `buf` (consumed), parsed as JSON; a close
    frame as {"close": code, "reason": text}."""
    out = []
    while len(buf) >= 2:
        n, head = buf[1] & 0x7F, 2
        if n == 126:
            n, head = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < head + n:
            break
        payload = bytes(buf[head : head + n])
        if buf[0] & 0x0F == 1:
            out.append(json.loads(payload))
        elif buf[0] & 0x0F == 8:
            out.append({"close": int.from_bytes(payload[:2], "big"),
                        "reason": payload[2:].decode()})
        del buf[: head + n]
    return out


__all__ = [
    "Server",
    "client_frame",
    "frames",
    "recv",
    "recv_until",
    "serve",
    "stuck_client",
]
