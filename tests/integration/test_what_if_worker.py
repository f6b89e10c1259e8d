"""The API's worker process for the what-if (api/workers.py): one job at a time (a second is
refused while the first runs), and a worker that dies is replaced."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from typing import Any

import pytest

from hotline.api.workers import Worker, WorkerBusy, WorkerFailed


def wait_then_pid(event: Any) -> int:
    event.wait(30)
    return os.getpid()


def die() -> None:
    os._exit(3)


async def test_one_job_at_a_time_and_a_dead_worker_is_replaced() -> None:
    worker = Worker()
    manager = multiprocessing.get_context("spawn").Manager()
    try:
        go = manager.Event()
        first = asyncio.create_task(worker.run(wait_then_pid, go))
        await asyncio.sleep(0)  # the first job takes the worker
        with pytest.raises(WorkerBusy):
            await worker.run(os.getpid)
        go.set()
        pid = await asyncio.wait_for(first, 60)
        assert pid != os.getpid()  # another process
        assert await asyncio.wait_for(worker.run(os.getpid), 30) == pid  # kept for the next
        with pytest.raises(WorkerFailed):
            await asyncio.wait_for(worker.run(die), 30)
        again = await asyncio.wait_for(worker.run(os.getpid), 60)
        assert again not in (pid, os.getpid())
    finally:
        worker.close()
        manager.shutdown()
