"""`hotline controller`'s health listener: /healthz, /readyz and /metrics over a minimal
HTTP/1.1 server (GET only, one request per connection). The controller has no HTTP side and
must not grow one: this answers from booleans and counters, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from hotline.api.health import Readiness, render_metrics, render_ready

log = logging.getLogger("hotline.process.health")
_REQUEST_LIMIT = 8192
_READ_TIMEOUT_S = 5.0


class HealthListener:
    def __init__(self, host: str, port: int, readiness: Readiness,
                 registry: CollectorRegistry) -> None:
        self.host, self.port = host, port
        self.readiness, self.registry = readiness, registry
        self._server: asyncio.Server | None = None

    @property
    def bound_port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=_REQUEST_LIMIT)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path = ""
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = target.split("?", 1)[0]
            if method != "GET":
                status, ctype, body = 405, "application/json", b'{"error":"GET only"}'
            elif path == "/healthz":
                status, ctype, body = 200, "application/json", b'{"alive": true}'
            elif path == "/readyz":
                status, ready = await render_ready(self.readiness)
                ctype, body = "application/json", json.dumps(ready).encode()
            elif path == "/metrics":
                status, ctype = 200, CONTENT_TYPE_LATEST
                body = render_metrics(self.registry)
            else:
                status, ctype, body = 404, "application/json", b'{"error":"not found"}'
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, ConnectionError):
            writer.close()  # a bad or slow request gets the connection closed
            return
        except Exception:  # a collector's fault: said, and the listener goes on
            log.exception("health listener: %s failed", path)
            status, ctype, body = 500, "application/json", b'{"error":"internal"}'
        try:
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed",
                      500: "Internal Server Error", 503: "Service Unavailable"}[status]
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                         .encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


__all__ = ["HealthListener"]
