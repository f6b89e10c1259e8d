"""Stopping background tasks for certain.

`task.cancel(); await task` can wait for ever on Python 3.11: when `asyncio.wait_for`'s inner
future completes in the same loop turn as the cancellation, wait_for returns the result and
the cancellation is lost (python/cpython#86296), so a `while True` task sleeps on. Seen here:
the AMI watchdog's Ping reply racing the controller's stop.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("hotline.core.tasks")


async def cancel_and_wait(task: asyncio.Task[object] | None, grace_s: float = 10.0) -> bool:
    """Cancels `task` and waits until it has ended, cancelling again while it runs on; True
    once it ended, False (logged) if it still ran after `grace_s`. What the task raised on
    the way out, other than its cancellation, is logged, not raised: this is a stop path."""
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    while not task.done():
        task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.error("task %s ignores cancellation; left running", task.get_name())
            return False
        await asyncio.wait({task}, timeout=min(0.5, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s ended with %r while stopping", task.get_name(), task.exception())
    return True
