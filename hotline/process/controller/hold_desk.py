"""Callers waiting for an agent, each held in a FastAGI session until the router decides.

hotline-hold runs `AGI(agi://<controller>/hold,<call id>,<node>,<queue>,<service>,<priority>,
<queued at>)` once the caller hears music on hold. The session stays open while the caller
waits, and the controller ends it with what comes next:
- an offer: `HL_OFFER=<agent>`; the dialplan goes on to `hotline-connect,<agent>` at once;
- the callback key (seen as a DTMFEnd over AMI: an AGI session swallows the caller's digits):
  `HL_HOLD_END=callback`;
- nothing (released): the node's AMI link is down, the controller is stopping, or its event
  loop stalled for longer than the failsafe guard (a watchdog thread). The dialplan's own
  loop takes over: it listens for the key a second at a time and reads the heartbeat, which
  decides between asking again and app_queue (the failsafe).

Why a held session rather than an AMI event and a Redirect: the decision reaches the channel
over a socket its own thread is waiting on, with no AMI event delivery and no Redirect action
on the path from the caller's wait to the agent's ring (bench.wire, issue #5). A controller
that dies closes every session, so callers fall back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hotline.telephony.agi.server import Agi, AgiEnvironment, AgiError

log = logging.getLogger(__name__)

OFFER_VAR = "HL_OFFER"
END_VAR = "HL_HOLD_END"
CALLBACK = "callback"


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """Who waits, from the session's arguments and environment."""

    call_id: str
    node: str
    channel: str
    caller: str
    queue: str
    service: str
    priority: int
    queued_at: float | None  # HL_QUEUED_AT: epoch seconds of the first entry into the hold

    @classmethod
    def from_env(cls, env: AgiEnvironment) -> HoldRequest:
        """Raises ValueError for a session that does not say which call waits where."""
        args = env.args
        if len(args) < 4 or not args[0] or not args[1] or not args[2]:
            raise ValueError(f"hold needs call id, node, queue and service; got {args!r}")
        call_id, node, queue, service = args[:4]
        priority = int(args[4]) if len(args) > 4 and args[4] else 0
        queued_at = float(args[5]) if len(args) > 5 and args[5] else None
        return cls(call_id=call_id, node=node, channel=env.channel, caller=env.caller,
                   queue=queue, service=service or "general", priority=priority,
                   queued_at=queued_at)


class HeldSession(Protocol):
    """What the desk needs of a session's I/O (AgiStream)."""

    async def until_hangup(self) -> None: ...

    def finish(self, name: str | None = None, *args: str) -> bool: ...

    def abort(self) -> None: ...


@dataclass(eq=False)
class _Held:
    request: HoldRequest
    io: HeldSession
    done: asyncio.Future[None]  # set once we had the last word


#: After our last word, Asterisk closes the session at once; this bounds a session that
#: would stay open anyway (a broken peer).
CLOSE_WAIT_S = 10.0


@dataclass(eq=False)
class HoldDesk:
    """The open hold sessions, by call id. `on_arrival` runs for each new session (the
    controller queues the call, or delivers an offer that was waiting for it)."""

    on_arrival: Callable[[HoldRequest], None]
    open: bool = True  # False: sessions are refused (the controller is stopping)
    nodes_seen: set[str] = field(default_factory=set)  # nodes whose callers hold here
    # how sessions ended on our word: with an offer, the callback, or released
    ended: dict[str, int] = field(default_factory=lambda: {"offer": 0, "callback": 0,
                                                           "released": 0})
    _held: dict[str, _Held] = field(default_factory=dict)
    _arrivals: dict[str, asyncio.Event] = field(default_factory=dict)
    _watchdog: threading.Thread | None = None
    _stop_watchdog: threading.Event = field(default_factory=threading.Event)
    _alive_at: float = field(default_factory=time.monotonic)

    # -- the AGI script

    async def serve(self, agi: Agi) -> None:
        """The `hold` FastAGI script: one waiting caller, until the decision or the end."""
        try:
            request = HoldRequest.from_env(agi.env)
        except ValueError as exc:
            log.warning("hold session refused: %s", exc)
            return
        io = agi.io
        if not self.open or not hasattr(io, "until_hangup"):
            return  # the dialplan's own loop takes over
        held = _Held(request, io, asyncio.get_running_loop().create_future())  # type: ignore[arg-type]
        stale = self._held.pop(request.call_id, None)
        if stale is not None:  # the channel left that session without our noticing yet
            self._settle(stale, None)
        self._held[request.call_id] = held
        self.nodes_seen.add(request.node)
        waiter = self._arrivals.pop(request.call_id, None)
        if waiter is not None:
            waiter.set()
        gone = asyncio.ensure_future(held.io.until_hangup())
        try:
            self.on_arrival(request)  # may settle it at once
            # Until Asterisk ends the session: right after our last word (an offer, the
            # callback, a release), or when the caller leaves or is redirected meanwhile.
            await asyncio.wait((held.done, gone), return_when=asyncio.FIRST_COMPLETED)
            if not gone.done():
                await asyncio.wait((gone,), timeout=CLOSE_WAIT_S)
        finally:
            if self._held.get(request.call_id) is held:
                del self._held[request.call_id]
            if not gone.done():
                gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, AgiError):
                await gone

    # -- the controller's side

    def offer(self, call_id: str, agent_id: str) -> bool:
        """Ends the caller's session with the agent to ring, now (the command is written
        before this returns); False when the call holds no open session."""
        return self._end(call_id, (OFFER_VAR, agent_id))

    def callback(self, call_id: str) -> bool:
        """The caller pressed the callback key: the dialplan takes them to it."""
        return self._end(call_id, (END_VAR, CALLBACK))

    def release_node(self, node: str) -> int:
        """Every session from `node` ends with no decision (its AMI link is down: without
        events from it the router cannot route its callers; the heartbeat decides)."""
        ids = [cid for cid, held in self._held.items() if held.request.node == node]
        for call_id in ids:
            self._end(call_id, None)
        return len(ids)

    def close(self) -> None:
        """Refuses new sessions and releases the open ones."""
        self.open = False
        for call_id in list(self._held):
            self._end(call_id, None)
        self.stop_watchdog()

    def holds(self, call_id: str) -> bool:
        return call_id in self._held

    def __len__(self) -> int:
        return len(self._held)

    async def arrival(self, call_id: str, deadline_s: float) -> bool:
        """Whether the call's session is open now or opens within `deadline_s` (and may have
        been ended at once by `on_arrival`)."""
        if call_id in self._held:
            return True
        event = self._arrivals.setdefault(call_id, asyncio.Event())
        try:
            async with asyncio.timeout(deadline_s):
                await event.wait()
        except TimeoutError:
            return False
        finally:
            if self._arrivals.get(call_id) is event:
                del self._arrivals[call_id]
        return True

    def _end(self, call_id: str, word: tuple[str, str] | None) -> bool:
        held = self._held.pop(call_id, None)
        if held is None or not self._settle(held, word):
            return False
        kind = "released" if word is None else "offer" if word[0] == OFFER_VAR else "callback"
        self.ended[kind] += 1
        return True

    @staticmethod
    def _settle(held: _Held, word: tuple[str, str] | None) -> bool:
        """Our last word to the session (a variable to set, or none), written at once: no
        loop turn between the router's decision and the bytes on their way to Asterisk."""
        if held.done.done():
            return False
        held.done.set_result(None)
        if word is None:
            return held.io.finish()
        return held.io.finish("SET VARIABLE", *word)

    # -- the watchdog: a stalled event loop must not keep callers from the failsafe

    def alive(self) -> None:
        """Called from the event loop, often (the controller's ticker)."""
        self._alive_at = time.monotonic()

    def start_watchdog(self, guard_s: float) -> None:
        """A thread that, when the event loop has not called `alive` for `guard_s`, cuts
        every open session: their callers go back to the dialplan's loop, whose heartbeat
        (written by the same stalled loop) sends them to app_queue."""
        self._stop_watchdog.clear()
        self._alive_at = time.monotonic()
        self._watchdog = threading.Thread(target=self._watch, args=(guard_s,),
                                          name="hold-watchdog", daemon=True)
        self._watchdog.start()

    def stop_watchdog(self) -> None:
        self._stop_watchdog.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=2)
            self._watchdog = None

    def _watch(self, guard_s: float) -> None:
        cut_since = -1.0
        while not self._stop_watchdog.wait(min(0.5, guard_s / 4)):
            stalled_at = self._alive_at
            if time.monotonic() - stalled_at <= guard_s or stalled_at == cut_since:
                continue
            try:
                sessions = [held.io for held in list(self._held.values())]
            except RuntimeError:  # the loop woke up and changed the dict meanwhile
                continue
            for io in sessions:
                io.abort()
            cut_since = stalled_at
            log.error("event loop stalled for over %.0f s: %d held callers released to "
                      "the dialplan", guard_s, len(sessions))
