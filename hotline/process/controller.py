"""The controller: the ACD process. It joins the parts and owns no logic of its own.

AMI events (typed, from telephony/) go to the router; the router's decisions go back to
Asterisk: an offer through the caller's hold session (FastAGI, hold_desk.py) when it holds
one, else as an AMI Redirect; a callback as an AMI Originate. Everything that happened is
logged one line per step of a call and handed to observers (metrics, live state, tests). A
heartbeat in AstDB tells the dialplan the controller is alive; when it stops, waiting callers
fall back to app_queue (the failsafe)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hotline.centre.model import Centre, QueueSpec
from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallbackFailed,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallQueued,
    DtmfReceived,
    Event,
    FailsafeTaken,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.core.tasks import cancel_and_wait
from hotline.core.values import ServiceType
from hotline.history.call_log import CallLog
from hotline.process.hold_desk import HoldDesk, HoldRequest
from hotline.process.resync import (
    HEARTBEAT_FAMILY,
    HEARTBEAT_KEY,
    HOLD_CONTEXT,
    KnownCall,
    QueueVars,
    endpoint_events,
    heartbeat_age,
    reconcile,
)
from hotline.router import AgentConfig, Offer, QueueConfig, Router, RouterConfig
from hotline.router.decisions import CallbackDue
from hotline.telephony.ami.link import (
    AmiActionError,
    AmiLink,
    AmiNotConnected,
    SpyMode,
)

log = logging.getLogger("hotline.process.controller")

CONNECT_CONTEXT = "hotline-connect"
FAILSAFE_REASON = "failsafe call"
# An offer decided before the caller's hold session opened (the AMI event came first) waits
# this long for it before falling back to a Redirect: the session opens within milliseconds
# of the event on a node whose callers hold over FastAGI.
HOLD_ARRIVAL_S = 0.5
Observer = Callable[[Event | Offer | CallbackDue], None]


def queue_config(q: QueueSpec) -> QueueConfig:
    return QueueConfig(name=q.name, service=ServiceType(q.service), required=dict(q.required),
                       policy=q.policy, priority=q.priority, sl_target=q.sl_target,
                       sl_seconds=q.sl_seconds, overflow_to=q.overflow_to,
                       overflow_wait_s=q.overflow_wait_s)


def router_config(centre: Centre, settings: Settings) -> RouterConfig:
    queues = [queue_config(q) for q in centre.queues]
    agents = [AgentConfig(agent_id=a.id, skills=dict(a.skills), name=a.name)
              for a in centre.agents]
    # Asterisk's Dial() ends an unanswered ring; the router's timer is the backstop.
    return RouterConfig(queues=queues, agents=agents, ring_timeout_s=settings.ring_timeout_s + 3,
                        callback_attempts=settings.callback_attempts,
                        callback_retry_s=settings.callback_retry_s)


@dataclass
class _CallLeg:
    node: str
    channel: str


@dataclass
class Controller:
    settings: Settings
    centre: Centre
    clock: Callable[[], float] = time.time
    emit_line: Callable[[str], None] = print
    router: Router = field(init=False)
    links: dict[str, AmiLink] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.router = Router(router_config(self.centre, self.settings), clock=self.clock)
        self.call_log = CallLog(self.emit_line)
        self._callers: dict[str, _CallLeg] = {}
        self._observers: list[Observer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._background: list[asyncio.Task[None]] = []
        self._wrap_up_timers: dict[str, asyncio.TimerHandle] = {}
        self._callback_nodes: dict[str, str] = {}
        self._left_for_callback: set[str] = set()
        self._outbound: dict[str, str] = {}  # queued outbound callbacks: call id -> number
        # Calls app_queue serves (the failsafe) and the agents on them: the router must not
        # offer those agents anything until their failsafe call ends.
        self._failsafe_calls: set[str] = set()
        self._busy_elsewhere: dict[str, str] = {}
        self.history: list[Event | Offer | CallbackDue] = []
        self._changed = asyncio.Condition()
        self.duplicate_queued = 0  # CallQueued for a call already queued (dropped)
        # how offers reached their callers: through the hold session, or by AMI Redirect
        self.delivered = {"hold": 0, "redirect": 0}
        # call id -> (agent, "hold" | "hold again" | "redirect"): where the call's current
        # offer was sent, until its agent's phone rings. An offer goes out once: a Redirect
        # landing on a channel already dialling would dial again. A new hold session after a
        # hold delivery means that one was lost (a lease ran out as it was written): it gets
        # the offer once more, not again and again (a dial that fails at once comes back).
        self._sent: dict[str, tuple[str, str]] = {}
        # Callers waiting in hotline-hold over FastAGI: `holds.serve` is the "hold" script
        # of the AGI server (the platform's, or a test's).
        self.holds = HoldDesk(self._on_hold)

    # -- life

    async def start(self) -> None:
        """Connects to every node (one AMI link each; the queue order spans them all)."""
        for node in self.settings.nodes():
            link = AmiLink(self.settings, clock=self.clock, node=node)
            link.on_login_hook = self._resync_hook(link)
            link.on_down_hook = self._release_hook(link.node)
            await link.connect()
            self.links[link.node] = link
            self._background.append(
                asyncio.create_task(self._pump(link), name=f"pump-{link.node}"))
        await self._beat_once()
        self.holds.start_watchdog(self.settings.failsafe_guard_s)
        self._background += [
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
            asyncio.create_task(self._ticker(), name="ticker"),
        ]
        where = ", ".join(f"{n.name} at {n.host}:{n.ami_port}" for n in self.settings.nodes())
        self.emit_line(f"controller up: AMI {where}; {len(self.centre.agents)} agents, "
                       f"{len(self.centre.queues)} queues")

    def _resync_hook(self, link: AmiLink) -> Callable[[], None]:
        return lambda: self._spawn(self._resync(link))

    def _release_hook(self, node: str) -> Callable[[], None]:
        def release() -> None:
            if released := self.holds.release_node(node):
                self.emit_line(f"AMI {node} down: {released} held callers left to the "
                               f"dialplan (failsafe after {self.settings.failsafe_guard_s}s)")
        return release

    async def stop(self) -> None:
        self.holds.close()  # held callers go back to the dialplan's loop (and the failsafe)
        for task in self._background:
            await cancel_and_wait(task)
        for task in list(self._tasks):  # offers and callbacks under way: each bounded
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for timer in self._wrap_up_timers.values():
            timer.cancel()
        for link in self.links.values():
            await link.close()

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    # -- agents (the API calls these too)

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> None:
        if (trigger in (AgentTrigger.READY, AgentTrigger.END_WRAP_UP)
                and agent_id in self._busy_elsewhere):
            # Still talking on a call app_queue gave them: ready only once it ends.
            trigger, reason = AgentTrigger.NOT_READY, FAILSAFE_REASON
        self._apply(self.router.agent_command(agent_id, trigger, reason))

    def set_skills(self, agent_id: str, skills: dict[str, int]) -> None:
        """A supervisor's skill edit: the next decision uses it (waiting calls may be offered
        at once to an agent who now qualifies)."""
        self._apply(self.router.set_skills(agent_id, skills))

    def queue_callback(self, service: ServiceType, number: str) -> str:
        """An outbound call to a customer (a work order's 回访), queued like any call of its
        service so that a qualified agent takes it in turn; when offered, the customer is
        called (Originate) and connected to that agent. Returns the new call's id."""
        node = next(iter(self.links))
        queue = next((q.name for q in self.centre.queues if q.service == service), "general")
        call_id = f"{node}-cb-{uuid.uuid4().hex[:12]}"
        self._outbound[call_id] = number
        self._callback_nodes[call_id] = node
        queued = CallQueued(self.clock(), node=node, call_id=call_id, queue=queue,
                            service=service, caller=number)
        self._feed(queued)
        return call_id

    def mark_repeat(self, call_id: str, preferred_agent: str | None) -> None:
        """A repeat caller (open work order, or called within 24 h): raised, and offered
        first to the agent who handled the open order."""
        self._apply(self.router.mark_repeat(call_id, preferred_agent))

    def add_agent(self, agent_id: str, skills: dict[str, int], name: str = "") -> None:
        """A new agent joins the router (logged out); its SIP endpoint is the caller's job."""
        self._apply(self.router.add_agent(AgentConfig(agent_id=agent_id, skills=dict(skills),
                                                      name=name)))

    def remove_agent(self, agent_id: str) -> None:
        """The agent leaves the router (refused by the router while it is on a call)."""
        self._apply(self.router.remove_agent(agent_id))

    def put_queue(self, spec: QueueSpec) -> None:
        """A new or changed queue: the router uses it at once (waiting calls included)."""
        self._apply(self.router.put_queue(queue_config(spec)))
        others = [q for q in self.centre.queues if q.name != spec.name]
        self.centre = replace(self.centre, queues=[*others, spec])  # queue_callback reads it

    def remove_queue(self, name: str) -> None:
        """Refused by the router (QueueInUse) while calls wait in or overflow to it."""
        self._apply(self.router.remove_queue(name))
        self.centre = replace(self.centre,
                              queues=[q for q in self.centre.queues if q.name != name])

    async def spy(self, supervisor_endpoint: str, agent_id: str, mode: SpyMode) -> str:
        """Listen / whisper / barge: rings the supervisor's endpoint into the agent's live
        call. Returns the call id; raises LookupError when the agent is on no call."""
        call_id = self.router.agent(agent_id).call_id
        leg = self._callers.get(call_id) if call_id else None
        if leg is None:
            raise LookupError(f"agent {agent_id} is on no call")
        await self.links[leg.node].spy(f"PJSIP/{supervisor_endpoint}", agent_id, mode)
        return call_id

    # -- the loop

    async def _pump(self, link: AmiLink) -> None:
        while True:
            self._feed(await link.events.get())

    def _feed(self, event: Event) -> None:
        """One typed event into the router, and its decisions out."""
        if isinstance(event, CallQueued) and self.router.knows(event.call_id):
            # Its hold session queued it first (or a resync did): counted once everywhere.
            self.duplicate_queued += 1
            return
        self._record(event)
        if isinstance(event, CallEntered | CallQueued):
            self._callers.setdefault(event.call_id, _CallLeg(event.node, event.channel))
        elif isinstance(event, AgentRinging):
            self._sent.pop(event.call_id, None)  # the channel acted on its offer
        elif isinstance(event, DtmfReceived):
            if event.digit == self.settings.callback_key and self.holds.callback(event.call_id):
                return  # the dialplan takes the caller to the callback key's extension
        elif isinstance(event, CallbackRequested):
            self._callback_nodes[event.call_id] = event.node
            self._left_for_callback.add(event.call_id)
        elif isinstance(event, CallEnded) and event.call_id in self._left_for_callback:
            # The caller who asked to be called back hung up: the call keeps its place (and
            # may already have its agent reserved). Only the callback leg's end ends it.
            self._left_for_callback.discard(event.call_id)
            self._callers.pop(event.call_id, None)
            return
        self._track_failsafe(event)
        try:
            if isinstance(event, CallbackRequested):
                results = self.router.request_callback(event.call_id, event.number)
            else:
                results = self.router.handle(event)
        except Exception:  # a router bug must not stop the ACD for every other call
            log.exception("router failed on %r", event)
            return
        self._apply(results)
        if isinstance(event, CallEnded):
            self._callers.pop(event.call_id, None)
            self._sent.pop(event.call_id, None)
            if not self.router.knows(event.call_id):  # a retry still needs its node
                self._callback_nodes.pop(event.call_id, None)

    def _track_failsafe(self, event: Event) -> None:
        if isinstance(event, FailsafeTaken):
            self._failsafe_calls.add(event.call_id)
        elif isinstance(event, CallAnswered) and event.call_id in self._failsafe_calls:
            self._busy_elsewhere[event.agent_id] = event.call_id
            with contextlib.suppress(Exception):
                if self.router.agent(event.agent_id).state is AgentState.READY:
                    self.agent_command(event.agent_id, AgentTrigger.NOT_READY, FAILSAFE_REASON)
        elif isinstance(event, CallEnded) and event.call_id in self._failsafe_calls:
            self._failsafe_calls.discard(event.call_id)
            for agent_id, call_id in list(self._busy_elsewhere.items()):
                if call_id != event.call_id:
                    continue
                del self._busy_elsewhere[agent_id]
                with contextlib.suppress(Exception):
                    view = self.router.agent(agent_id)
                    if view.state is AgentState.NOT_READY and view.reason == FAILSAFE_REASON:
                        self.agent_command(agent_id, AgentTrigger.READY)

    async def _resync(self, link: AmiLink) -> None:
        """On every (re)login: the heartbeat rewritten at once, then the router brought in
        line with the node's agent phones and live channels (resync.py)."""
        live: dict[str, bool] = {}
        try:
            await self._resync_heartbeat(link)
            live = await link.endpoint_reachability()
        except (AmiActionError, AmiNotConnected, TimeoutError) as exc:
            log.warning("resync of %s: heartbeat or endpoints failed: %s", link.node, exc)
        agents = [a.agent_id for a in self.router.agents()]
        for status in endpoint_events(link.node, live, self.router.reachability(link.node),
                                      agents, self.clock()):
            self._feed(status)
        try:
            channels = await link.channels()
        except (AmiActionError, AmiNotConnected, TimeoutError) as exc:
            log.warning("resync of %s failed: %s", link.node, exc)
            return
        known = self._known_calls(link.node)
        known_ids = {k.call_id for k in known}
        waiting_vars: dict[str, QueueVars] = {}
        for ch in channels:
            if (ch.is_caller_leg and ch.context == HOLD_CONTEXT
                    and ch.linkedid not in known_ids):
                qv = await self._queue_vars(link, ch.channel)
                if qv is not None:
                    waiting_vars[ch.linkedid] = qv
        events = reconcile(link.node, known, channels, waiting_vars, self.clock())
        if events:
            self.emit_line(f"resync {link.node}: {len(channels)} live channels, "
                           f"{len(events)} missed events replayed")
        for event in events:
            self._feed(event)

    async def _resync_heartbeat(self, link: AmiLink) -> None:
        """The dialplan's failsafe reads the heartbeat: stale since the link dropped, so it is
        written before anything else; its age says whether callers may have gone to app_queue
        meanwhile (reconcile finds them in hotline-failsafe)."""
        last = await link.db_get(HEARTBEAT_FAMILY, HEARTBEAT_KEY)
        now = self.clock()
        await link.db_put(HEARTBEAT_FAMILY, HEARTBEAT_KEY, str(int(now)))
        age = heartbeat_age(last, now)
        if age is not None and age > self.settings.failsafe_guard_s:
            self.emit_line(f"resync {link.node}: heartbeat was {age:.0f}s old (failsafe after "
                           f"{self.settings.failsafe_guard_s}s): app_queue may have taken "
                           f"callers meanwhile")

    async def _queue_vars(self, link: AmiLink, channel: str) -> QueueVars | None:
        queue = await link.getvar(channel, "HL_QUEUE")
        if not queue:
            return None
        service = await link.getvar(channel, "HL_SERVICE") or "general"
        priority = await link.getvar(channel, "HL_PRIORITY") or "0"
        queued_at = await link.getvar(channel, "HL_QUEUED_AT")
        try:
            return QueueVars(queue=queue, service=ServiceType(service), priority=int(priority),
                             queued_at=float(queued_at) if queued_at else None)
        except ValueError:
            log.warning("resync: channel %s has unusable queue variables", channel)
            return None

    def _known_calls(self, node: str) -> list[KnownCall]:
        on_node = {cid for cid, leg in self._callers.items() if leg.node == node}
        known = [KnownCall(w.call_id, "queued") for w in self.router.waiting()
                 if w.call_id in on_node and w.callback_number is None]
        for agent in self.router.agents():
            if agent.call_id in on_node:
                phase = "talking" if agent.state is AgentState.ON_CALL else "offered"
                if agent.state in (AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL):
                    known.append(KnownCall(agent.call_id, phase, agent.agent_id))
        return known

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self.holds.alive()
            self._apply(self.router.tick())

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_s)
            await self._beat_once()

    async def _beat_once(self) -> None:
        for link in self.links.values():
            with contextlib.suppress(AmiNotConnected, AmiActionError, TimeoutError):
                await link.db_put(HEARTBEAT_FAMILY, HEARTBEAT_KEY, str(int(self.clock())))

    def _apply(self, results: list) -> None:  # type: ignore[type-arg]
        for item in results:
            self._record(item)
            if isinstance(item, Offer) and item.call_id in self._outbound:
                due = CallbackDue(item.call_id, item.agent_id,
                                  self._outbound.pop(item.call_id), item.queue, item.wait_s,
                                  item.explanation)
                self._record(due)
                self._spawn(self._call_back(due))
            elif isinstance(item, Offer):
                self._sent.pop(item.call_id, None)  # a new offer for the call
                if not self._deliver_held(item.call_id, item.agent_id):
                    self._spawn(self._connect(item))
            elif isinstance(item, CallbackDue):
                self._spawn(self._call_back(item))
            elif isinstance(item, AgentStateChanged):
                self._on_agent_state(item)
            elif isinstance(item, CallbackFailed):
                self._callback_nodes.pop(item.call_id, None)

    def _on_agent_state(self, change: AgentStateChanged) -> None:
        timer = self._wrap_up_timers.pop(change.agent_id, None)
        if timer is not None:
            timer.cancel()
        if change.new is AgentState.AFTER_CALL_WORK and self.settings.wrap_up_s > 0:
            loop = asyncio.get_running_loop()
            self._wrap_up_timers[change.agent_id] = loop.call_later(
                self.settings.wrap_up_s, self._end_wrap_up, change.agent_id)

    def _end_wrap_up(self, agent_id: str) -> None:
        self._wrap_up_timers.pop(agent_id, None)
        with contextlib.suppress(Exception):
            self.agent_command(agent_id, AgentTrigger.END_WRAP_UP)

    async def _find_caller(self, call_id: str) -> _CallLeg | None:
        """The caller's channel of a call we saw no CallEntered for (a callback's leg)."""
        for node, link in self.links.items():
            with contextlib.suppress(AmiActionError, AmiNotConnected, TimeoutError):
                for ch in await link.channels():
                    if ch.linkedid == call_id and ch.is_caller_leg:
                        self._callers[call_id] = _CallLeg(node, ch.channel)
                        return self._callers[call_id]
        return None

    def _on_hold(self, request: HoldRequest) -> None:
        """A caller's hold session opened: queue the call if the router does not know it yet
        (an offer already made for it finds the session through `_connect`)."""
        link = self.links.get(request.node)
        if link is None or not link.logged_in.is_set():
            self.holds.release_node(request.node)  # no events from it: the heartbeat decides
            return
        self._callers.setdefault(request.call_id, _CallLeg(request.node, request.channel))
        if self.router.knows(request.call_id):
            # A requeue after no answer, a transfer, a renewed lease, or its HotlineQueued
            # came first. An offer the caller's channel has not acted on (made before this
            # session opened, or lost with a lease that ran out) goes into this session.
            agent = self.router.unrung_offer(request.call_id)
            sent = self._sent.get(request.call_id)
            if agent is not None and (sent is None or sent == (agent, "hold")):
                self._deliver_held(request.call_id, agent, "hold" if sent is None else
                                   "hold again")
            return
        # Queued when the dialplan stamped HL_QUEUED_AT (Asterisk's clock, to the
        # microsecond); a caller waiting since before we (re)started keeps that place.
        now = self.clock()
        at = now if request.queued_at is None else min(request.queued_at, now)
        try:
            service = ServiceType(request.service)
        except ValueError:
            log.warning("hold of %s: unknown service %r, queued as general",
                        request.call_id, request.service)
            service = ServiceType.GENERAL
        self._feed(CallQueued(at, node=request.node, call_id=request.call_id,
                              queue=request.queue, service=service, caller=request.caller,
                              priority=request.priority, channel=request.channel))

    def _deliver_held(self, call_id: str, agent_id: str, how: str = "hold") -> bool:
        """The offer into the caller's hold session, if it holds one: hotline-connect next."""
        if not self.holds.offer(call_id, agent_id):
            return False
        self._sent[call_id] = (agent_id, how)
        self.delivered["hold"] += 1
        return True

    async def _connect(self, offer: Offer) -> None:
        if (self._sent.get(offer.call_id, ("", ""))[0] == offer.agent_id
                or self._deliver_held(offer.call_id, offer.agent_id)):
            return  # its session opened since the offer and took it, or takes it now
        leg = self._callers.get(offer.call_id) or await self._find_caller(offer.call_id)
        if leg is not None and leg.node in self.holds.nodes_seen:
            if (await self.holds.arrival(offer.call_id, HOLD_ARRIVAL_S)
                    or self._sent.get(offer.call_id, ("", ""))[0] == offer.agent_id):
                return  # _on_hold gave the session the router's offer
            # A node whose callers stopped reaching us (its AGI address changed, say) is
            # not waited for again until one of them does.
            self.holds.nodes_seen.discard(leg.node)
        if leg is None:
            log.warning("offer for unknown call %s", offer.call_id)
            return
        if self._sent.get(offer.call_id, ("", ""))[0] == offer.agent_id:
            return  # its session opened meanwhile and took it (_on_hold)
        link = self.links[leg.node]
        self._sent[offer.call_id] = (offer.agent_id, "redirect")
        try:
            # The extension is the agent: hotline-connect records, then dials it.
            await link.redirect(leg.channel, CONNECT_CONTEXT, offer.agent_id)
            self.delivered["redirect"] += 1
        except (AmiActionError, AmiNotConnected, TimeoutError) as exc:
            # The caller hung up meanwhile (the router hears it as CallEnded) or the link
            # dropped (the dialplan's failsafe takes over); either way the router is told.
            log.warning("redirect of %s to %s failed: %s", offer.call_id, offer.agent_id, exc)

    async def _call_back(self, due: CallbackDue) -> None:
        """The caller on virtual hold reached the head and an agent is reserved: ring the
        caller; once they answer, hotline-connect records and rings the agent."""
        node = self._callback_nodes.get(due.call_id)  # kept for a retry (CallbackAttempted)
        link = self.links[node] if node in self.links else next(iter(self.links.values()))
        # The turn can come while the caller is still hearing "we will call you back": the
        # new channel takes the call id as its Uniqueid, so the old one must be gone first.
        if due.call_id in self._left_for_callback:
            with contextlib.suppress(TimeoutError):
                await self.wait_for(
                    lambda e: isinstance(e, CallEnded) and e.call_id == due.call_id, 15)
        dial = self.settings.callback_dial.format(number=due.number)
        try:
            await link.originate(
                dial, CONNECT_CONTEXT, due.agent_id, channel_id=due.call_id,
                variables={"HL_CALLID": due.call_id, "HL_QUEUE": due.queue,
                           "HL_CALLBACK": "1"},
                caller_id=f'"{self.settings.hotline_number}" <{self.settings.hotline_number}>',
                timeout_s=self.settings.ring_timeout_s)
        except (AmiActionError, AmiNotConnected, TimeoutError) as exc:
            log.warning("callback of %s to %s failed: %r", due.call_id, due.number, exc)
            self._feed(CallEnded(self.clock(), node=link.node, call_id=due.call_id, cause=0,
                                 cause_text=f"callback could not be placed: {exc}"))

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what happened

    def _record(self, item: Event | Offer | CallbackDue) -> None:
        self.history.append(item)
        if len(self.history) > 50_000:
            del self.history[:10_000]
        self.call_log.line(item)
        for observer in self._observers:
            observer(item)
        self._spawn(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Event | Offer | CallbackDue], bool],
                       deadline_s: float) -> Event | Offer | CallbackDue:
        """The first item seen (already, or within `deadline_s`) that matches `predicate`."""
        async with asyncio.timeout(deadline_s):
            async with self._changed:
                while True:
                    for item in self.history:
                        if predicate(item):
                            return item
                    await self._changed.wait()

    def answered_by(self, call_id: str) -> str | None:
        for item in self.history:
            if isinstance(item, CallAnswered) and item.call_id == call_id:
                return item.agent_id
        return None
