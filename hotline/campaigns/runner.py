"""The campaign job (issue #18.6): in the platform process, it runs every running campaign
(hotline/campaigns/queries.py) through a spoken-call channel (telephony/spoken_call.py
SpokenCalls): each campaign's numbers are called at most `max_concurrent` at a time, their
starts at least 1/`calls_per_s` apart (model.Pacer), none in the quiet hours; each attempt's
result is stored, and a number not reached is called again after `retry_after_s`, `retries`
times (model.after_attempt). A cancelled campaign starts no call more; the calls in flight
end as they end. The job also caps the calls in flight over all campaigns (`max_calls`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from hotline.campaigns import queries
from hotline.campaigns.model import Pacer, after_attempt, quiet_until
from hotline.campaigns.queries import CampaignRow, Claim
from hotline.core.errors import HotlineError

log = logging.getLogger("hotline.campaigns")
_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class CallResult(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def detail(self) -> str: ...

    @property
    def answered_at(self) -> float | None: ...


class Caller(Protocol):
    """Rings a number and speaks (lang, text) parts (SpokenCalls); `key` names the call."""

    async def call(self, key: str, number: str,
                   parts: Sequence[tuple[str, str]]) -> CallResult: ...


@dataclass(frozen=True, slots=True)
class Attempted:
    """One attempt's end, as the job tells `on_attempt`."""

    campaign_id: int
    number: str
    attempt: int
    result: str
    detail: str
    next_state: str


@dataclass
class CampaignJob:
    pool: asyncpg.Pool
    caller: Caller
    clock: Callable[[], float]
    #: how often running campaigns are looked for (and a waiting campaign looks again)
    every_s: float = 2.0
    #: the centre's offset from UTC, for the quiet hours and the spoken restore time
    utc_offset_h: float = 8.0
    #: calls in flight over every campaign
    max_calls: int = 10
    on_attempt: Callable[[Attempted], None] | None = None
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None

    async def run(self) -> None:
        """Forever: starts a task for each running campaign this process does not run yet."""
        try:
            while True:
                try:
                    await self.start_running()
                except _DB_ERRORS as exc:
                    log.warning("campaign job: %r (tried again in %g s)", exc, self.every_s)
                await asyncio.sleep(self.every_s)
        finally:  # the platform stops: so do the campaigns (calls in flight: interrupted)
            await self.stop()

    async def start_running(self) -> list[int]:
        """Starts the campaigns found running; their ids."""
        async with self.pool.acquire() as conn:
            found = await queries.running(conn)
        self._tasks = {k: t for k, t in self._tasks.items() if not t.done()}
        for campaign_id in found:
            task = self._tasks.get(campaign_id)
            if task is None or task.done():
                self._tasks[campaign_id] = asyncio.create_task(
                    self.run_campaign(campaign_id), name=f"campaign {campaign_id}")
        return found

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def run_campaign(self, campaign_id: int) -> None:
        """Runs one campaign until it is done or cancelled (a PostgreSQL outage: retried)."""
        while True:
            try:
                await self._run(campaign_id)
                return
            except _DB_ERRORS as exc:
                log.warning("campaign %d: %r (again in %g s)", campaign_id, exc, self.every_s)
                await asyncio.sleep(self.every_s)

    async def _run(self, campaign_id: int) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_calls)
        async with self.pool.acquire() as conn:
            campaign = await queries.get(conn, campaign_id)
            if campaign is None or campaign.state != "running":
                return
            if (gone := await queries.interrupt(conn, campaign_id, self.clock())):
                log.warning("campaign %d: %d calls interrupted by a stop", campaign_id, gone)
        bounds = campaign.bounds
        pacer = Pacer(bounds.calls_per_s)
        slots = asyncio.Semaphore(bounds.max_concurrent)
        changed = asyncio.Event()  # a call ended
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                changed.clear()  # (a call that ends from here on wakes the wait below)
                now = self.clock()
                async with self.pool.acquire() as conn:
                    if await queries.state_of(conn, campaign_id) != "running":
                        break
                quiet = quiet_until(now, bounds, self.utc_offset_h)
                if quiet is not None:
                    await asyncio.sleep(min(quiet - now, self.every_s))
                    continue
                await slots.acquire()
                await self._slots.acquire()
                claimed = None
                try:
                    await asyncio.sleep(pacer.wait_s(self.clock()))
                    async with self.pool.acquire() as conn:
                        claimed = await queries.claim_next(conn, campaign_id, self.clock())
                        due, calling = ((None, 0) if claimed is not None
                                        else await queries.next_due(conn, campaign_id))
                        if claimed is None and due is None and not calling and not in_flight:
                            await queries.finish_if_done(conn, campaign_id, self.clock())
                            break
                finally:
                    if claimed is None:
                        slots.release()
                        self._slots.release()
                if claimed is None:  # nothing due: until the next is, or a call ends
                    wait = self.every_s if due is None else due - self.clock()
                    try:
                        await asyncio.wait_for(changed.wait(), max(0.0, min(wait, self.every_s)))
                    except TimeoutError:
                        pass
                    continue
                pacer.started(self.clock())
                task = asyncio.create_task(self._attempt(campaign, claimed, slots, changed))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        except asyncio.CancelledError:
            for task in in_flight:
                task.cancel()
            raise
        finally:
            if in_flight:  # the calls placed end as they end, their results stored
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _attempt(self, campaign: CampaignRow, claim: Claim, slots: asyncio.Semaphore,
                       changed: asyncio.Event) -> None:
        assert self._slots is not None
        try:
            try:
                got = await self.caller.call(f"c{claim.attempt_id}", claim.number,
                                             [("zh", campaign.text_zh), ("en", campaign.text_en)])
                result, detail, answered_at = str(got.status), got.detail, got.answered_at
            except (OSError, ValueError, RuntimeError, HotlineError) as exc:
                result, detail, answered_at = "failed", f"not placed: {exc!r}", None
            ended = self.clock()
            nxt = after_attempt(result, claim.attempt, campaign.bounds, ended)
            for delay in (0.0, 1.0, 5.0):  # the result is worth a short wait for PostgreSQL
                await asyncio.sleep(delay)
                try:
                    async with self.pool.acquire() as conn:
                        await queries.record(conn, campaign.id, claim, result, detail,
                                             answered_at, ended, nxt)
                    break
                except _DB_ERRORS as exc:
                    log.warning("campaign %d: result of %s not stored: %r", campaign.id,
                                claim.number, exc)
            if self.on_attempt is not None:
                self.on_attempt(Attempted(campaign.id, claim.number, claim.attempt, result,
                                          detail, nxt.state))
        finally:
            slots.release()
            self._slots.release()
            changed.set()


__all__ = ["Attempted", "Caller", "CampaignJob"]
