"""The controller: the ACD process. It joins the parts and owns no logic of its own.

AMI events (typed, from telephony/) go to the router; the router's decisions go back to
Asterisk: an offer through the caller's hold session (FastAGI, hold_desk.py) when it holds
one, else as an AMI Redirect (delivery.py); a callback as an AMI Originate (callbacks.py).
Everything that happened is logged one line per step of a call, projected for the agent desk
and handed to observers (metrics, live state, tests). A heartbeat in AstDB tells the dialplan
the controller is alive; when it stops, waiting callers fall back to app_queue (the failsafe:
failsafe.py). After a link comes back, resync.py replays what was missed.

The Controller coordinates; each concern is a module of functions over one ControllerState
(state.py), as in router/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hotline.centre.model import Centre, QueueSpec
from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallbackFailed,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallQueued,
    DtmfReceived,
    Event,
)
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.tasks import cancel_and_wait
from hotline.core.values import ServiceType
from hotline.history.call_log import CallLog
from hotline.history.desk import DeskProjection
from hotline.process.controller import callbacks, delivery, failsafe, resync, wrap_up
from hotline.process.controller.config import queue_config, router_config
from hotline.process.controller.delivery import Deliveries
from hotline.process.controller.hold_desk import HoldDesk, HoldRequest
from hotline.process.controller.state import CallLeg, ControllerState, Item, Observer
from hotline.router import AgentConfig, Offer, Router
from hotline.router.decisions import CallbackDue
from hotline.telephony.ami.link import AmiLink, SpyMode

log = logging.getLogger("hotline.process.controller")


def _note_caller(state: ControllerState, event: CallEntered | CallQueued) -> bool:
    state.callers.setdefault(event.call_id, CallLeg(event.node, event.channel))
    return False


#: What each event type does here before the router sees it; True: the event stops here.
_ARRIVING: dict[type[Event], Callable[[ControllerState, Any], bool]] = {
    CallEntered: _note_caller,
    CallQueued: _note_caller,
    AgentRinging: delivery.on_ringing,
    DtmfReceived: callbacks.on_key,  # the callback key while held
    CallbackRequested: callbacks.on_requested,
    CallEnded: callbacks.on_first_leg_end,  # of a caller who asked for a callback
}


class Controller:
    def __init__(self, settings: Settings, centre: Centre, clock: Callable[[], float] = time.time,
                 emit_line: Callable[[str], None] = print) -> None:
        router = Router(router_config(centre, settings), clock=clock)
        self._state = ControllerState(
            settings=settings, centre=centre, clock=clock, emit_line=emit_line, router=router,
            call_log=CallLog(emit_line), holds=HoldDesk(self._on_hold), deliveries=Deliveries())
        self._background: list[asyncio.Task[None]] = []
        #: What each of the router's outputs sets going (after it is recorded).
        self._outputs: dict[type, Callable[[Any], None]] = {
            Offer: self._offer,
            CallbackDue: lambda due: self._state.spawn(
                callbacks.call_back(self._state, due, self.handle)),
            AgentStateChanged: lambda change: wrap_up.on_agent_state(
                self._state, change, self._end_wrap_up),
            CallbackFailed: lambda failed: callbacks.forget(self._state, failed.call_id),
        }

    # -- views

    settings = property(lambda self: self._state.settings)
    clock = property(lambda self: self._state.clock)
    emit_line = property(lambda self: self._state.emit_line)
    router: Router = property(lambda self: self._state.router)  # type: ignore[assignment]
    links: dict[str, AmiLink] = property(lambda self: self._state.links)  # type: ignore[assignment]
    holds: HoldDesk = property(lambda self: self._state.holds)  # type: ignore[assignment]
    #: the agent desk's read model: each agent's last state change and recent calls
    desk: DeskProjection = property(lambda self: self._state.desk)  # type: ignore[assignment]

    @property
    def centre(self) -> Centre:
        return self._state.centre

    @property
    def delivered(self) -> dict[str, int]:
        """How offers reached their callers: {"hold": n, "redirect": n}."""
        return self._state.delivered

    @property
    def duplicate_queued(self) -> int:
        """CallQueued for a call already queued (its hold session queued it first): dropped."""
        return self._state.duplicate_queued

    # -- life

    async def start(self) -> None:
        """Connects to every node (one AMI link each; the queue order spans them all)."""
        s = self._state
        for node in s.settings.nodes():
            link = AmiLink(s.settings, clock=s.clock, node=node)
            link.on_login_hook = self._resync_hook(link)
            link.on_down_hook = lambda node=link.node: resync.release_node(s, node)
            await link.connect()
            s.links[link.node] = link
            self._background.append(
                asyncio.create_task(self._pump(link), name=f"pump-{link.node}"))
        await resync.beat_once(s)
        s.holds.start_watchdog(s.settings.failsafe_guard_s)
        self._background += [
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
            asyncio.create_task(self._ticker(), name="ticker"),
        ]
        where = ", ".join(f"{n.name} at {n.host}:{n.ami_port}" for n in s.settings.nodes())
        s.emit_line(f"controller up: AMI {where}; {len(s.centre.agents)} agents, "
                    f"{len(s.centre.queues)} queues")

    def _resync_hook(self, link: AmiLink) -> Callable[[], None]:
        return lambda: self._state.spawn(resync.resync(self._state, link, self.handle))

    async def stop(self) -> None:
        s = self._state
        s.holds.close()  # held callers go back to the dialplan's loop (and the failsafe)
        for task in self._background:
            await cancel_and_wait(task)
        for task in list(s.tasks):  # offers and callbacks under way: each bounded
            with contextlib.suppress(asyncio.CancelledError):
                await task
        wrap_up.cancel_all(s)
        for link in s.links.values():
            await link.close()

    def observe(self, observer: Observer) -> None:
        """`observer` receives every item recorded from now on, as it is recorded."""
        self._state.observers.append(observer)

    # -- commands (the API calls these too)

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> None:
        trigger, reason = failsafe.command(self._state, agent_id, trigger, reason)
        self._apply(self.router.agent_command(agent_id, trigger, reason))

    def set_skills(self, agent_id: str, skills: dict[str, int]) -> None:
        """A supervisor's skill edit: the next decision uses it (waiting calls may be offered
        at once to an agent who now qualifies)."""
        self._apply(self.router.set_skills(agent_id, skills))

    def queue_callback(self, service: ServiceType, number: str) -> str:
        """An outbound call to a customer (a work order's 回访), queued like any call of its
        service so that a qualified agent takes it in turn; when offered, the customer is
        called (Originate) and connected to that agent. Returns the new call's id."""
        queued = callbacks.queue_outbound(self._state, service, number)
        self.handle(queued)
        return queued.call_id

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
        s = self._state
        others = [q for q in s.centre.queues if q.name != spec.name]
        s.centre = replace(s.centre, queues=[*others, spec])  # queue_callback reads it

    def remove_queue(self, name: str) -> None:
        """Refused by the router (QueueInUse) while calls wait in or overflow to it."""
        self._apply(self.router.remove_queue(name))
        s = self._state
        s.centre = replace(s.centre, queues=[q for q in s.centre.queues if q.name != name])

    async def spy(self, supervisor_endpoint: str, agent_id: str, mode: SpyMode) -> str:
        """Listen / whisper / barge: rings the supervisor's endpoint into the agent's live
        call. Returns the call id; raises LookupError when the agent is on no call."""
        call_id = self.router.agent(agent_id).call_id
        leg = self._state.callers.get(call_id) if call_id else None
        if leg is None:
            raise LookupError(f"agent {agent_id} is on no call")
        await self.links[leg.node].spy(f"PJSIP/{supervisor_endpoint}", agent_id, mode)
        return call_id

    # -- the loop

    def handle(self, event: Event) -> None:
        """One typed event into the router, and its decisions out."""
        s = self._state
        if isinstance(event, CallQueued) and s.router.knows(event.call_id):
            # Its hold session queued it first (or a resync did): counted once everywhere.
            s.duplicate_queued += 1
            return
        s.record(event)
        arriving = _ARRIVING.get(type(event))
        if arriving is not None and arriving(s, event):
            return
        failsafe.track(s, event, self.agent_command)
        try:
            if isinstance(event, CallbackRequested):
                results = s.router.request_callback(event.call_id, event.number)
            else:
                results = s.router.handle(event)
        except Exception:  # a router bug must not stop the ACD for every other call
            log.exception("router failed on %r", event)
            return
        self._apply(results)
        if isinstance(event, CallEnded):
            s.callers.pop(event.call_id, None)
            delivery.on_end(s, event.call_id)
            if not s.router.knows(event.call_id):  # a retry still needs its node
                callbacks.forget(s, event.call_id)

    def _apply(self, results: list[Item]) -> None:
        record, outputs = self._state.record, self._outputs
        for item in results:
            record(item)
            then = outputs.get(type(item))
            if then is not None:
                then(item)

    def _offer(self, offer: Offer) -> None:
        s = self._state
        due = callbacks.outbound_due(s, offer)
        if due is not None:  # a queued outbound call: the customer is called first
            s.record(due)
            s.spawn(callbacks.call_back(s, due, self.handle))
        elif not delivery.on_offer(s, offer):
            s.spawn(delivery.connect(s, offer))

    def _on_hold(self, request: HoldRequest) -> None:
        """A caller's hold session opened (the hold desk's on_arrival)."""
        queued = delivery.on_session(self._state, request)
        if queued is not None:
            self.handle(queued)

    def _end_wrap_up(self, agent_id: str) -> None:
        wrap_up.timer_done(self._state, agent_id)
        with contextlib.suppress(Exception):
            self.agent_command(agent_id, AgentTrigger.END_WRAP_UP)

    async def _pump(self, link: AmiLink) -> None:
        while True:
            self.handle(await link.events.get())

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self._state.holds.alive()
            self._apply(self.router.tick())

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._state.settings.heartbeat_interval_s)
            await resync.beat_once(self._state)


__all__ = ["Controller"]
