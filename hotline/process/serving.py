"""What both kinds of process need to serve HTTP and to stop in order: uvicorn without its own
signal handlers, and a stop step with a deadline. (No controller here: `hotline api` imports
it without loading the controller.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterator

import uvicorn

log = logging.getLogger("hotline.process")

#: Open HTTP requests and sockets get this long to finish when the process stops; then
#: uvicorn cancels them and runs the lifespan's shutdown (the live feed, the fan-out).
HTTP_GRACE_S = 3.0


async def bounded(awaitable: Awaitable[object], what: str, seconds: float = 10.0) -> bool:
    """Awaits a stop step with a deadline; False (and an error logged) if it did not end."""
    try:
        await asyncio.wait_for(awaitable, seconds)
        return True
    except TimeoutError:
        log.error("stopping the %s took over %.0f s; left behind", what, seconds)
        return False


class HttpServer(uvicorn.Server):
    """uvicorn in a process that owns its signals: Ctrl-C and SIGTERM stop the whole process
    in order (its stop, which ends this server too). uvicorn's own handlers would stop the
    HTTP side alone, then raise the signal again behind the process's back."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


__all__ = ["HTTP_GRACE_S", "HttpServer", "bounded"]
