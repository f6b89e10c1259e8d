"""Which controller is the active one: an exclusive lease in Redis with a fencing token
(docs/architecture.md, "Two controllers").

- **Acquire**: one Lua script: `SET hl:cmd:active <name> NX PX <ttl>` and, when it was set,
  `INCR hl:cmd:epoch`: the new epoch is the fencing token of this term. Only one controller can
  set the key; every term has a greater epoch than the last.
- **Renew**: a Lua compare-and-renew (`PEXPIRE` only while the key still holds our name), every
  `ttl / 4`. A renewal that finds another name (or none) ends the term at once.
- **Locally**: `leading` is a cached boolean, true until `valid_until` (monotonic): the time the
  last successful acquire/renew was *sent* plus the ttl less a margin for clock drift. It costs
  no Redis call, so it guards each action to Asterisk (a Redirect, a hold session's last word,
  the heartbeat) without touching the hot path; and a process that was paused (SIGSTOP, a long
  stall) finds it false as soon as it runs again, before it can act on a lease it lost.
- **Redis unreachable**: renewals fail; the term goes on until `valid_until`, then ends (the
  rule of docs/deploy.md, "Two controllers"). Nobody can acquire meanwhile: the failsafe
  (app_queue) serves callers until Redis is back.
- A term once ended is never resumed by the same `Leadership`: the platform steps down (it
  starts again as a standby, with fresh state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.store.command_bus import ACTIVE_KEY, consumer_name
from hotline.store.redis_client import connect_redis

log = logging.getLogger("hotline.store.leadership")

EPOCH_KEY = "hl:cmd:epoch"  # the last term's fencing token (INCR)
_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)

_ACQUIRE = ("if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then"
            " return redis.call('incr', KEYS[2]) end return 0")
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then"
          " return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")
_RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1])"
            " end return 0")


@dataclass
class Leadership:
    """One controller's claim to be the active one. `run` acquires (polling every
    `poll_s`), renews, and returns when a term it held has ended."""

    client: aioredis.Redis | None  # None until its thread's loop connects (LeaseThread)
    name: str = field(default_factory=consumer_name)
    ttl_s: float = 2.0
    #: a standby tries to acquire this often (the takeover's granularity)
    poll_s: float = 0.2
    #: of the ttl, how much the local view keeps in hand for clock drift and the reply's way
    margin: float = 0.1
    clock: Callable[[], float] = time.monotonic
    #: the only controller the nodes know (no standby address in their dialplan): nobody
    #: else can take its callers, so a Redis outage does not end its term (docs/deploy.md,
    #: "The rule when the coordination store is down")
    sole: bool = False
    epoch: int = 0  # this term's fencing token (0: never elected)
    valid_until: float = field(default=0.0, init=False)
    ended: bool = field(default=False, init=False)
    elected: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    lost: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    why_lost: str = field(default="", init=False)

    @property
    def leading(self) -> bool:
        """This controller may act (no Redis call: a cached term and a monotonic deadline)."""
        return not self.ended and (self.sole or self.clock() < self.valid_until)

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 4

    def _keep(self, sent: float) -> None:
        self.valid_until = sent + self.ttl_s * (1 - self.margin)

    async def try_acquire(self) -> bool:
        """One attempt (raises on a lost connection). True: elected, `epoch` set."""
        if self.ended or self.epoch:
            return self.leading
        sent = self.clock()
        epoch = int(await self.client.eval(_ACQUIRE, 2, ACTIVE_KEY, EPOCH_KEY, self.name,
                                           int(self.ttl_s * 1000)))
        if not epoch:
            return False
        self.epoch = epoch
        self._keep(sent)
        self.elected.set()
        return True

    async def renew(self) -> bool:
        """One renewal (raises on a lost connection). False: the lease is another's (or
        expired and gone): the term has ended."""
        sent = self.clock()
        if not await self.client.eval(_RENEW, 1, ACTIVE_KEY, self.name, int(self.ttl_s * 1000)):
            holder = await self.holder()
            if self.sole and holder is None and await self.client.set(
                    ACTIVE_KEY, self.name, px=int(self.ttl_s * 1000), nx=True):
                # the key expired while Redis was away: the sole controller takes it again,
                # its epoch unchanged (nobody else could have acted meanwhile)
                log.warning("leadership %s (epoch %d): lease taken again after Redis was"
                            " away (the sole controller)", self.name, self.epoch)
                self._keep(sent)
                return True
            self.step_down(f"the lease is no longer ours (held by {holder or 'nobody'}, "
                           f"{sent - (self.valid_until - self.ttl_s * (1 - self.margin)):.2f} s "
                           "after the last renewal)")
            return False
        if not self.ended:
            self._keep(sent)
        return True

    def step_down(self, why: str) -> None:
        """Ends the term now (idempotent): `leading` is false from here on."""
        if self.ended:
            return
        self.ended = True
        self.valid_until = 0.0
        self.why_lost = why
        log.log(logging.INFO if why == "released" else logging.WARNING,
                "leadership %s (epoch %d) ended: %s", self.name, self.epoch, why)
        self.lost.set()

    async def holder(self) -> str | None:
        """Who holds the lease now (None: nobody, or Redis unreachable)."""
        try:
            return await self.client.get(ACTIVE_KEY)  # type: ignore[no-any-return]
        except _LOST:
            return None

    async def run(self) -> None:
        """Acquires, then renews until the term ends (then returns). Redis errors are
        retried; a term whose renewals keep failing ends at its local deadline."""
        while not self.epoch and not self.ended:
            try:
                if await self.try_acquire():
                    break
            except _LOST as exc:
                log.warning("leadership: Redis unreachable while acquiring: %r", exc)
            await asyncio.sleep(self.poll_s)
        unreachable = False  # the last renewal could not reach Redis
        while not self.ended:
            await asyncio.sleep(min(self.renew_every_s,
                                    max(self.valid_until - self.clock(), 0.0)))
            late = self.clock() - (self.valid_until - self.ttl_s * (1 - self.margin))
            if late > self.ttl_s / 2:
                log.warning("leadership: renewal %.2f s after the last one (a stalled loop?)",
                            late)
            if not self.leading:  # a stall, a pause or an outage outlived the term
                self.step_down("Redis unreachable until the lease ran out" if unreachable
                               else "the lease ran out before it could be renewed")
                break
            try:
                await self.renew()
                unreachable = False
            except _LOST as exc:
                unreachable = True
                log.warning("leadership: renewal failed (Redis unreachable): %r", exc)

    async def release(self) -> None:
        """Gives the lease up at a clean stop (only while it is still ours), so a standby
        takes over at once and API processes answer 503 at once."""
        self.step_down("released")
        try:
            await self.client.eval(_RELEASE, 1, ACTIVE_KEY, self.name)
        except _LOST as exc:  # Redis gone first: the lease expires by itself
            log.warning("leadership: lease not released: %r", exc)


class LeaseThread:
    """Keeps a `Leadership` on a thread of its own: its own event loop and Redis client, so
    the term follows the process's life (killed, paused: over), not the event loop's
    stalls (a slow start, a burst: the hold desk's watchdog releases held callers then).
    `on_elected` and `on_lost` are called on that thread: hand them to your loop with
    `call_soon_threadsafe`. `term.leading` may be read from any thread (a float and a bool)."""

    def __init__(self, url: str, term: Leadership, on_elected: Callable[[], None],
                 on_lost: Callable[[], None]) -> None:
        self.url, self.term = url, term
        self._on_elected, self._on_lost = on_elected, on_lost
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.term.client = connect_redis(self.url)
        self._main = asyncio.current_task()
        self._ready.set()

        async def elected() -> None:
            await self.term.elected.wait()
            self._on_elected()

        watcher = asyncio.create_task(elected())
        try:
            await self.term.run()
            if self.term.epoch:
                self._on_lost()
        except asyncio.CancelledError:
            pass
        finally:
            watcher.cancel()
            with contextlib.suppress(Exception):
                await self.term.client.aclose()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Releases the lease (if still ours) and ends the thread; blocking (run it in a
        worker thread from a loop)."""
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.term.release(), loop).result(timeout_s)
        main = self._main
        if main is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(main.cancel)
        self._thread.join(timeout_s)

    def __repr__(self) -> str:
        return f"LeaseThread({self.term.name!r}, epoch {self.term.epoch})"


__all__ = ["EPOCH_KEY", "Leadership", "LeaseThread"]
