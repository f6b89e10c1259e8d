"""A worker process for the API's CPU-bound requests (the what-if simulation).

A worker thread would not do: the simulator is pure Python, and a thread holding the GIL for
seconds slows the event loop that routes calls and holds waiting callers (a loop stalled past
the failsafe guard releases them all). One spawned process per API process, started on first
use; one job at a time (the bounds of api/limits.py keep a job to seconds), a second request
meanwhile is told to come back (429). A worker that dies is replaced on the next request.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")


class WorkerBusy(Exception):
    """A job is already running."""


class WorkerFailed(Exception):
    """The worker process died during the job."""


class Worker:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._busy = False
        self._lock = threading.Lock()  # guards the pool across event loops (tests run many)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the API process has threads (asyncpg, to_thread) whose
                # locks a forked child could inherit held
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def _reset(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in the worker process (both picklable). Raises WorkerBusy, WorkerFailed."""
        if self._busy:
            raise WorkerBusy
        self._busy = True
        try:
            pool = self._executor()
            try:
                return await asyncio.wrap_future(pool.submit(fn, *args))
            except BrokenProcessPool:
                self._reset(pool)
                raise WorkerFailed from None
        finally:
            self._busy = False

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


#: the API process's worker (the simulator's figures do not depend on who asks)
WORKER = Worker()
#: the staffing plans' solver (OR-Tools CP-SAT, bounded by its time limit): its own process,
#: so a plan being built does not turn a what-if away
SOLVER = Worker()

__all__ = ["SOLVER", "WORKER", "Worker", "WorkerBusy", "WorkerFailed"]
