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

The session is a lease (the dialplan's TIMEOUT(absolute), Settings.hold_lease_s): the desk
renews it inside the open session every half lease (AGI `SET AUTOHANGUP`), so a caller keeps
one session for the whole wait, and a controller that freezes stops renewing: the lease runs
out, and the dialplan reads the stale heartbeat. (Renewing by letting it run out and
reconnecting cost every waiting caller a dialplan pass and a new connection each lease, and
left callers without a session to deliver an offer into: up to 11% of 1,000, bench.hold.)

Why a held session rather than an AMI event and a Redirect: the decision reaches the channel
over a socket its own thread is waiting on, with no AMI event delivery and no Redirect action
on the path from the caller's wait to the agent's ring (bench.wire, issue #5). A controller
that dies closes every session, so callers fall back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hotline.core import ids
from hotline.core.values import MAX_CALL_PRIORITY
from hotline.telephony.agi.server import Agi, AgiEnvironment, AgiError

log = logging.getLogger(__name__)

OFFER_VAR = "HL_OFFER"
END_VAR = "HL_HOLD_END"
CALLBACK = "callback"

# What a hold session's arguments may be (docs/security.md). They come from the dialplan of an
# authenticated node, and are still checked here: they decide a caller's place in line.
#: an Asterisk linkedid ("[system-]<epoch>.<seq>") or the controller's own callback ids
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # a node, a queue, a service
_PRIORITY = re.compile(r"-?[0-9]{1,4}")
_EPOCH = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")  # STRFTIME(,,%s.%6q): finite by its shape
_CALL_EPOCH = re.compile(r"(?:.*-)?([0-9]{9,12})\.[0-9]+")  # when an Asterisk call began
#: |priority| a session may carry: what an IVR queue target may give
MAX_HOLD_PRIORITY = MAX_CALL_PRIORITY
#: How far Asterisk's clock may be ahead of ours (HL_QUEUED_AT, the call id's epoch)
CLOCK_SKEW_S = 5.0
#: No caller waits longer than this: an older HL_QUEUED_AT is not a real one
MAX_WAIT_S = 86_400.0
_MAX_CHANNEL = 128
#: How long a hold session for a call AMI has not shown yet waits for that event: as late as
#: the AMI link itself lets events be (Settings.ami_ping_timeout_s, 3 s) before it is counted
#: dead. With 1,000 callers entering a busy node AMI lagged over a second; each session
#: refused meanwhile sent its caller round the dialplan's Wait(1) loop (bench.hold).
AMI_GRACE_S = 3.0
_MAX_CALLER = 80


class BadHold(ValueError):
    """A hold session whose arguments are out of bounds; `reason` names the counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


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
    def from_env(cls, env: AgiEnvironment, now: float) -> HoldRequest:
        """Raises BadHold for a session that does not say which call waits where, or says
        it with a value out of bounds (`now`: the controller's clock, epoch seconds)."""
        args = env.args
        if not 4 <= len(args) <= 6:
            raise BadHold("arguments", f"hold takes 4 to 6 arguments, got {len(args)}")
        call_id, node, queue, service = args[:4]
        if not ids.is_valid(ids.CALL_ID_PATTERN, call_id):
            raise BadHold("call_id", f"call_id {call_id[:80]!r}")
        for what, value in (("node", node), ("queue", queue)):
            if not _NAME.fullmatch(value):
                raise BadHold(what, f"{what} {value[:80]!r}")
        if service and not _NAME.fullmatch(service):
            raise BadHold("service", f"service {service[:80]!r}")
        raw_priority = args[4] if len(args) > 4 else ""
        if raw_priority and not _PRIORITY.fullmatch(raw_priority):
            raise BadHold("priority", f"priority {raw_priority[:80]!r}")
        priority = int(raw_priority) if raw_priority else 0
        if abs(priority) > MAX_HOLD_PRIORITY:
            raise BadHold("priority", f"priority {priority} beyond ±{MAX_HOLD_PRIORITY}")
        raw_at = args[5] if len(args) > 5 else ""
        queued_at: float | None = None
        if raw_at:
            if not _EPOCH.fullmatch(raw_at):
                raise BadHold("queued_at", f"queued_at {raw_at[:80]!r}")
            queued_at = float(raw_at)
            began = _CALL_EPOCH.fullmatch(call_id)
            earliest = max(now - MAX_WAIT_S, float(began[1]) if began else 0.0) - CLOCK_SKEW_S
            if not earliest <= queued_at <= now + CLOCK_SKEW_S:
                raise BadHold("queued_at", f"queued_at {queued_at} outside [{earliest}, now]")
        channel, caller = env.channel, env.caller
        if len(channel) > _MAX_CHANNEL or len(caller) > _MAX_CALLER:
            raise BadHold("channel", f"channel or caller id too long for {call_id}")
        return cls(call_id=call_id, node=node, channel=channel, caller=caller,
                   queue=queue, service=service or "general", priority=priority,
                   queued_at=queued_at)


class HeldSession(Protocol):
    """What the desk needs of a session's I/O (AgiStream)."""

    async def until_hangup(self) -> None: ...

    def finish(self, name: str | None = None, *args: str) -> bool: ...

    def renew(self, seconds: float) -> bool: ...

    def abort(self) -> None: ...


@dataclass(eq=False)
class _Held:
    request: HoldRequest
    io: HeldSession
    done: asyncio.Future[None]  # set once we had the last word


#: After our last word, Asterisk closes the session at once; this bounds a session that
#: would stay open anyway (a broken peer).
CLOSE_WAIT_S = 10.0


class StallJudge:
    """Whether the event loop stalled, as the watchdog thread can vouch for it. A loop blocked
    by code (a long synchronous call) misses its `alive` calls while the watchdog wakes on
    time: that is a stall. When the watchdog itself wakes far too late, the whole process got
    no CPU (an overloaded machine): the loop had no chance to run either, and cutting every
    held caller then would only send them all back at once. Only time the watchdog watched
    on time counts towards the guard."""

    def __init__(self, guard_s: float, interval_s: float, now: float) -> None:
        self.guard_s = guard_s
        self.late_s = max(1.0, 4 * interval_s)  # a wake this much after the last: starved
        self.last_wake = self.vouched_since = now

    def starved(self, now: float) -> float:
        """Called once a wake: how long the watchdog was starved (0.0: it woke on time)."""
        gap = now - self.last_wake
        self.last_wake = now
        if gap <= self.late_s:
            return 0.0
        self.vouched_since = now
        return gap

    def stalled(self, now: float, alive_at: float) -> bool:
        return now - max(alive_at, self.vouched_since) > self.guard_s


@dataclass(eq=False)
class HoldDesk:
    """The open hold sessions, by call id. `on_arrival` runs for each new session (the
    controller queues the call, or delivers an offer that was waiting for it)."""

    on_arrival: Callable[[HoldRequest], None]
    clock: Callable[[], float] = time.time  # epoch seconds: bounds HL_QUEUED_AT
    #: The session's lease (Settings.hold_lease_s), renewed in the session every half of it
    #: while the event loop runs; None: never renewed (the dialplan asks again when it ends).
    lease_s: float | None = None
    #: Whether a session is one of the controller's calls, before it takes any call's place:
    #: None, or the reason to refuse it (a phantom, a stolen call id, an unknown queue).
    vet: Callable[[HoldRequest], str | None] | None = None
    open: bool = True  # False: sessions are refused (the controller is stopping)
    #: the active's term (its fencing token): an offer is <agent>@<epoch>, which
    #: hotline-connect refuses once a newer term began; 0: a controller alone, <agent>
    epoch: int = 0
    nodes_seen: set[str] = field(default_factory=set)  # nodes whose callers hold here
    # how sessions ended on our word: with an offer, the callback, or released
    ended: dict[str, int] = field(default_factory=lambda: {"offer": 0, "callback": 0,
                                                           "released": 0})
    #: sessions refused, by reason: bad arguments (BadHold.reason), a node the connection
    #: did not prove ("node"), a call the controller does not know on that channel
    #: ("unknown_call"), ...
    refused: Counter[str] = field(default_factory=Counter)
    renewals: int = 0  # leases renewed inside their session
    _held: dict[str, _Held] = field(default_factory=dict)
    _arrivals: dict[str, asyncio.Event] = field(default_factory=dict)
    #: sessions of calls the controller did not know yet, waiting for their AMI event
    _awaited: dict[str, asyncio.Event] = field(default_factory=dict)
    _watchdog: threading.Thread | None = None
    _stop_watchdog: threading.Event = field(default_factory=threading.Event)
    _alive_at: float = field(default_factory=time.monotonic)

    # -- the AGI script

    async def serve(self, agi: Agi) -> None:
        """The `hold` FastAGI script: one waiting caller, until the decision or the end."""
        try:
            request = HoldRequest.from_env(agi.env, self.clock())
        except BadHold as exc:
            self.count_refusal(exc.reason, str(exc))
            return
        if request.node not in agi.nodes:  # AgiServer's word: where the session came from
            self.count_refusal("node", f"{request.call_id} claims node {request.node!r}, "
                               f"the connection is {sorted(agi.nodes)}")
            return
        if self.vet is not None and (reason := await self._vetted(request)) is not None:
            # before it replaces the call's open session: a phantom never takes a real
            # caller's place, nor an agent's offer
            self.count_refusal(reason, f"{request.call_id} on {request.node} "
                               f"({request.channel[:_MAX_CHANNEL]})")
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
            # Meanwhile the lease is renewed in place: a caller keeps one session however
            # long the wait, and only a controller that stops running loses it.
            renew_every = self.lease_s / 2 if self.lease_s else None
            while not (await asyncio.wait((held.done, gone), timeout=renew_every,
                                          return_when=asyncio.FIRST_COMPLETED))[0]:
                assert self.lease_s is not None
                self.renewals += held.io.renew(self.lease_s)
            if not gone.done():
                await asyncio.wait((gone,), timeout=CLOSE_WAIT_S)
        finally:
            if self._held.get(request.call_id) is held:
                del self._held[request.call_id]
            if not gone.done():
                gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, AgiError):
                await gone

    async def _vetted(self, request: HoldRequest) -> str | None:
        """The controller's word on the session. A real caller's session can reach us a moment
        before the AMI event that queued it (two sockets, no order between them): an unknown
        call waits until the controller says it saw the call (`caller_seen`) and is asked
        about again then, or is refused as a phantom once AMI_GRACE_S has passed."""
        assert self.vet is not None
        reason = self.vet(request)
        if reason != "unknown_call":
            return reason
        seen = self._awaited.setdefault(request.call_id, asyncio.Event())
        try:
            async with asyncio.timeout(AMI_GRACE_S):
                await seen.wait()
        except TimeoutError:
            return reason
        finally:
            if self._awaited.get(request.call_id) is seen:
                del self._awaited[request.call_id]
        return self.vet(request)

    def caller_seen(self, call_id: str) -> None:
        """The controller follows the call now (its AMI event came): a session of it that
        arrived first is vetted again at once."""
        seen = self._awaited.get(call_id)
        if seen is not None:
            seen.set()

    def count_refusal(self, reason: str, detail: str) -> None:
        """A session refused: counted, and logged once per reason every 100 (a flood of
        phantoms must not flood the log)."""
        self.refused[reason] += 1
        if self.refused[reason] % 100 == 1:
            log.warning("hold session refused (%s; %d so far): %s", reason,
                        self.refused[reason], detail)

    # -- the controller's side


    def offer(self, call_id: str, agent_id: str) -> bool:
        """Ends the caller's session with the agent to ring, now (the command is written
        before this returns); False when the call holds no open session."""
        return self._end(call_id, (OFFER_VAR, f"{agent_id}@{self.epoch}" if self.epoch
                                   else agent_id))

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
        interval = min(0.5, guard_s / 4)
        judge = StallJudge(guard_s, interval, time.monotonic())
        cut_since = -1.0
        while not self._stop_watchdog.wait(interval):
            stalled_at = self._alive_at
            now = time.monotonic()
            if starved := judge.starved(now):
                log.warning("the controller got no CPU for %.1f s (its watchdog woke that "
                            "late): the machine is overloaded; held callers kept", starved)
            if not judge.stalled(now, stalled_at) or stalled_at == cut_since:
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
