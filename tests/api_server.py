"""The API served by a real uvicorn on a free loopback port, for tests that drive it over HTTP
or from Chromium (test_orders_page.py and test_qa_page.py start it the same way inline).

    async with serve(create_app(settings, services)) as base:  # "http://127.0.0.1:PORT"
        ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

#: Password hashing cheap enough for tests (the production parameters take ~0.5 s a login).
FAST_HASHER_ARGS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def fast_hasher() -> PasswordHasher:
    return PasswordHasher(**FAST_HASHER_ARGS)


@asynccontextmanager
async def serve(app: FastAPI, start_deadline_s: float = 10.0) -> AsyncIterator[str]:
    """Serves `app` (its lifespan included) until the block ends; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                           ws="websockets-sansio", log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(start_deadline_s):
            while not server.started:  # uvicorn offers no event to wait on
                if task.done():  # failed to start: raise its error
                    await task
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


__all__ = ["fast_hasher", "serve"]
