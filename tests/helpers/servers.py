"""Every HTTP server a test starts, through one place: uvicorn on a free loopback port, waited
for with a deadline, stopped when the block ends. A server that does not come up fails the test
at once, saying what it saw, instead of spinning until pytest's timeout.

    async with serve_app(create_app(settings, services)) as base:  # "http://127.0.0.1:PORT"
        ...
    with serve_app_in_thread(app) as base:  # for synchronous clients (schemathesis)
        ...
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

#: Password hashing cheap enough for tests (the production parameters take ~0.5 s a login).
FAST_HASHER_ARGS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
START_DEADLINE_S = 10.0


def fast_hasher() -> PasswordHasher:
    return PasswordHasher(**FAST_HASHER_ARGS)


def _config(app: FastAPI) -> uvicorn.Config:
    return uvicorn.Config(app, host="127.0.0.1", port=0, ws="websockets-sansio",
                          log_level="warning", lifespan="on")


def _base_url(server: uvicorn.Server) -> str:
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


@asynccontextmanager
async def serve_app(app: FastAPI, start_deadline_s: float = START_DEADLINE_S
                    ) -> AsyncIterator[str]:
    """Serves `app` (its lifespan included) on this event loop until the block ends; yields
    the base URL. Raises the server's own error if it stopped while starting, or TimeoutError
    naming the app if it was not listening within `start_deadline_s`."""
    async with serve_app_server(app, start_deadline_s) as (base, _):
        yield base


@asynccontextmanager
async def serve_app_server(app: FastAPI, start_deadline_s: float = START_DEADLINE_S
                           ) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """`serve_app` that also yields the uvicorn server (its connections: a test reads the
    server side of a socket, e.g. its transport's write buffer)."""
    server = uvicorn.Server(_config(app))
    task = asyncio.create_task(server.serve(), name="uvicorn")
    try:
        try:
            async with asyncio.timeout(start_deadline_s):
                while not server.started:  # uvicorn offers no event to wait on
                    if task.done():
                        await task  # its own error, if it raised one
                        raise RuntimeError(f"uvicorn stopped before listening ({app.title})")
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise TimeoutError(f"uvicorn serving {app.title!r} was not listening after "
                               f"{start_deadline_s} s") from None
        yield _base_url(server), server
    finally:
        server.should_exit = True
        if not task.done():
            async with asyncio.timeout(start_deadline_s):
                await task
        elif not task.cancelled() and task.exception() is not None:
            task.exception()  # retrieved: reported above, not again by the loop


@contextmanager
def serve_app_in_thread(app: FastAPI, start_deadline_s: float = START_DEADLINE_S
                        ) -> Iterator[str]:
    """`serve_app` for tests whose client blocks (schemathesis): uvicorn runs its own event
    loop in a thread. Fails with what it saw if that thread dies or the deadline passes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + start_deadline_s
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn serving {app.title!r} stopped before listening "
                                   "(its error is in the captured log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn serving {app.title!r} was not listening after "
                                   f"{start_deadline_s} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(start_deadline_s)
        sock.close()


__all__ = [
    "FAST_HASHER_ARGS",
    "fast_hasher",
    "serve_app",
    "serve_app_in_thread",
    "serve_app_server",
]
