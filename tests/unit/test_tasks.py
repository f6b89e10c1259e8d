"""cancel_and_wait: a task that loses its cancellation (as Python 3.11's wait_for can) is
still stopped; one that never stops is given up on after the grace time, not waited on."""

from __future__ import annotations

import asyncio
import contextlib

from hotline.core.tasks import cancel_and_wait


async def test_a_swallowed_cancellation_is_repeated() -> None:
    swallowed = 0

    async def loop_forever() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 0:  # what a racing wait_for does: carries on
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(loop_forever())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, grace_s=5)
    assert task.cancelled() and swallowed == 1


async def test_a_task_that_never_stops_is_given_up_on() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert not await cancel_and_wait(task, grace_s=0.3)
    assert not task.done()
    release.set()  # let it end, so the test leaves nothing behind
    await task


async def test_none_and_finished_tasks_are_fine() -> None:
    assert await cancel_and_wait(None)
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    assert await cancel_and_wait(done)
