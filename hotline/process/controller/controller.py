"""The controller: the ACD process. It joins the parts and owns no logic of its own.

AMI events go to the router; its decisions go back to Asterisk: an offer through the caller's
hold session or as an AMI Redirect (delivery.py), a callback as an AMI Originate
(callbacks.py). What happened is logged, projected for the agent desk and handed to observers
(metrics, live state). The heartbeat in AstDB keeps callers from the failsafe (failsafe.py);
resync.py replays what a dropped link missed. As in router/, the Controller coordinates and
each concern is a module of functions over one ControllerState (state.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from time import perf_counter
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
from hotline.process.controller import (
    callbacks,
    config,
    delivery,
    failsafe,
    ledger_pass,
    left_on_line,
    node_lost,
    resync,
    takeover,
    wrap_up,
)
from hotline.process.controller.delivery import Deliveries
from hotline.process.controller.hold_desk import HoldDesk, HoldRequest
from hotline.process.controller.recording import Recording, recording_for
from hotline.process.controller.state import ControllerState, HistoryGate, Item, Observer
from hotline.router import AgentConfig, Offer, Router
from hotline.router.decisions import CallbackDue
from hotline.store.leadership import Leadership
from hotline.store.records import CallRecord
from hotline.telephony.ami.link import AmiLink, SpyMode

log = logging.getLogger("hotline.process.controller")

#: What each event type does here before the router sees it; True: the event stops here.
_ARRIVING: dict[type[Event], Callable[[ControllerState, Any], bool]] = {
    CallEntered: delivery.on_caller,
    CallQueued: delivery.on_caller,
    AgentRinging: delivery.on_ringing,
    DtmfReceived: callbacks.on_key,  # the callback key while held
    CallbackRequested: callbacks.on_requested,
    CallEnded: callbacks.on_first_leg_end,  # of a caller who asked for a callback
}


class Controller:
    def __init__(self, settings: Settings, centre: Centre, clock: Callable[[], float] = time.time,
                 emit_line: Callable[[str], None] = print,
                 term: Leadership | None = None) -> None:
        """`term`: this controller's leadership (a hot-standby pair); None: it alone, always
        the active one."""
        #: the replay journal's (settings.replay_record): its clock is frozen per input
        self._rec: Recording | None = recording_for(settings, centre, clock)
        if self._rec is not None:
            clock = self._rec.clock
        router = Router(config.router_config(centre, settings), clock=clock)
        self._state = ControllerState(
            settings=settings, centre=centre, clock=clock, emit_line=emit_line, router=router,
            call_log=CallLog(emit_line, settings.short_abandon_s),
            holds=HoldDesk(self._on_hold, clock=clock, lease_s=settings.hold_lease_s),
            deliveries=Deliveries(), term=term)
        self._state.holds.vet = lambda request: delivery.vet_session(self._state, request)
        self._background: list[asyncio.Task[None]] = []
        self._state.recording = self._rec
        self._arriving = dict(_ARRIVING)
        if self._rec is not None:
            self._arriving[DtmfReceived] = self._key_recorded
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
    centre = property(lambda self: self._state.centre)
    router = property(lambda self: self._state.router)
    links = property(lambda self: self._state.links)  # node -> its AMI link
    holds = property(lambda self: self._state.holds)  # the hold desk: its serve is an AGI script
    #: the agent desk's read model: each agent's last state change and recent calls
    desk = property(lambda self: self._state.desk)
    #: how offers reached their callers: {"hold": n, "redirect": n}
    delivered = property(lambda self: self._state.delivered)
    offers = property(lambda self: self._state.offers)  # Offers the router made
    decide = property(lambda self: self._state.decide)  # the router's time per event
    ami_lag_s = property(lambda self: self._state.ami_lag_s)  # node -> last event's lag
    #: CallQueued for a call already queued (its hold session queued it first): dropped
    duplicate_queued = property(lambda self: self._state.duplicate_queued)
    #: resyncs finished; calls written from the nodes' ledgers; malformed entries set aside
    resyncs = property(lambda self: self._state.resyncs)
    ledger_replayed = property(lambda self: self._state.ledger_replayed)
    ledger_bad = property(lambda self: self._state.ledger_bad)
    nodes_lost = property(lambda self: self._state.nodes_lost)  # node_lost.py

    # -- life

    async def start(self) -> None:
        """Connects to every node (one AMI link each; the queue order spans them all) and
        routes."""
        await self.connect()
        await self.take_over()

    async def connect(self) -> None:
        """The AMI links, connected and followed: a standby's warm part. Their events are
        read (and counted) but routed only once this controller takes over; under a term,
        every action that would change Asterisk is refused while the term is not held."""
        s = self._state
        term = s.term
        for node in s.settings.nodes():
            link = AmiLink(s.settings, clock=s.clock, node=node)
            link.on_login_hook = lambda link=link: self._logged_in(link)
            link.on_down_hook = lambda node=link.node: self._link_down(node)
            if term is not None:
                link.may_act = lambda: term.leading
            await link.connect()
            s.links[link.node] = link
            self._background.append(
                asyncio.create_task(self._pump(link), name=f"pump-{link.node}"))

    async def take_over(self, records: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Routes from now on: every node resynced (its live channels are the truth), then
        the heartbeat, the hold desk's watchdog, the ticker. With `records` (a standby taking
        over: the agents' records the last active published), the replay and the agents go
        in takeover.py's order: waiting callers keep their place, calls put through keep
        their agent, no agent is booked twice."""
        s = self._state
        s.holds.epoch = s.epoch
        s.routing = True
        for link in list(s.links.values()):
            if not link.logged_in.is_set():
                continue  # resynced at its login
            if records is None:
                await resync.resync(s, link, self.handle)
                continue
            await resync.resync(s, link, self.handle, replay=lambda events: takeover.replay(
                s, events, self.handle, self.agent_command))
        if records is not None:
            restored = takeover.restore_agents(s, records, self.agent_command)
            s.emit_line(f"take-over: {restored} agents restored from their records")
        await resync.beat_once(s)
        s.holds.start_watchdog(s.settings.failsafe_guard_s)
        self._background += [
            asyncio.create_task(resync.heartbeat(s), name="heartbeat"),
            asyncio.create_task(self._ticker(), name="ticker"),
        ]
        where = ", ".join(f"{n.name} at {n.host}:{n.ami_port}" for n in s.settings.nodes())
        s.emit_line(f"controller up: AMI {where}; {len(s.centre.agents)} agents, "
                    f"{len(s.centre.queues)} queues")

    async def stop(self) -> None:
        s = self._state
        s.holds.close()  # held callers go back to the dialplan's loop (and the failsafe)
        node_lost.disarm_all(s)
        for task in self._background:
            await cancel_and_wait(task)
        for task in list(s.tasks):  # offers and callbacks under way: each bounded
            with contextlib.suppress(asyncio.CancelledError):
                await task
        wrap_up.cancel_all(s)
        for link in s.links.values():
            await link.close()
        if self._rec is not None:
            self._rec.close()

    def use_history(self, history: HistoryGate) -> None:
        """History as the ledger pass asks it (calls recorded already; accepted), from the
        next resync on; without one, only the calls this controller recorded count."""
        self._state.history = history

    async def settle_left_on_line(self, calls: list[CallRecord]) -> list[str]:
        """The calls the last run left on the line (history/unfinished.py) that neither a
        resync nor a ledger accounted for, written now (left_on_line.py); their ids."""
        return await left_on_line.settle(self._state, calls)

    def observe(self, observer: Observer) -> None:
        """`observer` receives every item recorded from now on, as it is recorded."""
        self._state.observers.append(observer)

    # -- commands (the API calls these too)

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> None:
        rec = self._rec
        if rec is None or rec.inside:
            trigger, reason = failsafe.command(self._state, agent_id, trigger, reason)
            self._apply(self.router.agent_command(agent_id, trigger, reason))
            return
        rec.command("agent_command", agent_id, trigger, reason)
        try:
            trigger, reason = failsafe.command(self._state, agent_id, trigger, reason)
            self._apply(self.router.agent_command(agent_id, trigger, reason))
        finally:
            rec.end()

    def _input(self, name: str, args: tuple[Any, ...], results: Callable[[], list[Item]]
               ) -> None:
        """A command's results applied, the command journaled as an input when recording."""
        rec = self._rec
        if rec is None or rec.inside:
            self._apply(results())
            return
        rec.command(name, *args)
        try:
            self._apply(results())
        finally:
            rec.end()

    def set_skills(self, agent_id: str, skills: dict[str, int]) -> None:
        """A supervisor's skill edit: the next decision uses it (waiting calls may be offered
        at once to an agent who now qualifies)."""
        self._input("set_skills", (agent_id, skills),
                    lambda: self.router.set_skills(agent_id, skills))

    def queue_callback(self, service: ServiceType, number: str) -> str:
        """An outbound call to a customer (a work order's 回访), queued like any call of its
        service; when offered, the customer is called (Originate) and connected to that
        agent (callbacks.py). Returns the new call's id."""
        rec = self._rec
        if rec is None or rec.inside:
            self.handle(queued := callbacks.queue_outbound(self._state, service, number))
            return queued.call_id
        rec.outbound(number)
        try:
            queued = callbacks.queue_outbound(self._state, service, number)
            rec.made(queued)
            self.handle(queued)
        finally:
            rec.end()
        return queued.call_id

    def mark_repeat(self, call_id: str, preferred_agent: str | None) -> None:
        """A repeat caller (open work order, or called within 24 h): raised, and offered
        first to the agent who handled the open order."""
        self._input("mark_repeat", (call_id, preferred_agent),
                    lambda: self.router.mark_repeat(call_id, preferred_agent))

    def add_agent(self, agent_id: str, skills: dict[str, int], name: str = "") -> None:
        """A new agent joins the router (logged out); its SIP endpoint is the caller's job."""
        self._input("add_agent", (agent_id, skills, name),
                    lambda: self.router.add_agent(AgentConfig(agent_id=agent_id,
                                                              skills=dict(skills), name=name)))

    def remove_agent(self, agent_id: str) -> None:
        """The agent leaves the router (refused by the router while it is on a call)."""
        self._input("remove_agent", (agent_id,), lambda: self.router.remove_agent(agent_id))

    def put_queue(self, spec: QueueSpec) -> None:
        """A new or changed queue: the router uses it at once (waiting calls included)."""
        self._input("put_queue", (spec,),
                    lambda: self.router.put_queue(config.queue_config(spec)))
        self._state.centre = config.with_queue(self._state.centre, spec)  # queue_callback reads it

    def set_vip_numbers(self, numbers: Iterable[str]) -> None:
        """The VIP numbers, replaced: the router raises their calls from now on (waiting ones
        included); the centre keeps them for a rebuilt router."""
        chosen = sorted(set(numbers))
        self._input("set_vip_numbers", (chosen,),
                    lambda: self.router.set_vip_numbers(frozenset(chosen)))
        self._state.centre = replace(self._state.centre, vip_numbers=chosen)

    def remove_queue(self, name: str) -> None:
        """Refused by the router (QueueInUse) while calls wait in or overflow to it."""
        self._input("remove_queue", (name,), lambda: self.router.remove_queue(name))
        self._state.centre = config.without_queue(self._state.centre, name)

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
        rec = self._rec
        if rec is None or rec.inside:
            self._handle(event)
            return
        rec.begin_event(event)
        try:
            self._handle(event)
        finally:
            rec.end()

    def _handle(self, event: Event) -> None:
        s = self._state
        if s.lost_calls and getattr(event, "call_id", "") in s.lost_calls:
            return  # ended with its lost node (node_lost.py): history has it already
        if isinstance(event, CallQueued) and s.router.knows(event.call_id):
            # Its hold session queued it first (or a resync did): counted once everywhere.
            s.duplicate_queued += 1
            return
        if (heard := s.heard_while_resyncing.get(event.node)) is not None \
                and getattr(event, "call_id", ""):
            heard.append(event)
        if isinstance(event, CallEnded):
            if event.call_id in s.callers or event.call_id in s.failsafe_calls:
                s.ended(event.call_id)  # its start was recorded too: a ledger entry is ours
            elif not s.router.knows(event.call_id) and event.node in s.links:
                # begun before this controller: its ledger entry, if the dialplan wrote one
                s.spawn(ledger_pass.on_unknown_end(s, s.links[event.node], event.call_id))
        s.record(event)
        arriving = self._arriving.get(type(event))
        if arriving is not None and arriving(s, event):
            return
        failsafe.track(s, event, self.agent_command)
        try:
            if isinstance(event, CallbackRequested):
                results = s.router.request_callback(event.call_id, event.number)
            else:
                started = perf_counter()
                results = s.router.handle(event)
                s.decide.observe(perf_counter() - started)
        except Exception:  # a router bug must not stop the ACD for every other call
            log.exception("router failed on %r", event)
            return
        self._apply(results)
        if isinstance(event, CallEnded):
            s.callers.pop(event.call_id, None)
            s.menu_keys.discard(event.call_id)
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
        s.offers += 1
        due = callbacks.outbound_due(s, offer)
        if due is not None:  # a queued outbound call: the customer is called first
            s.record(due)
            s.spawn(callbacks.call_back(s, due, self.handle))
        elif not delivery.on_offer(s, offer):
            s.spawn(delivery.connect(s, offer))

    def _logged_in(self, link: AmiLink) -> None:
        node_lost.disarm(self._state, link.node)
        if self._state.routing:
            self._state.spawn(resync.resync(self._state, link, self.handle))

    def _link_down(self, node: str) -> None:
        resync.release_node(self._state, node)
        node_lost.arm(self._state, node, self.handle)

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
        s = self._state
        lag, node = s.ami_lag_s, link.node
        while True:
            event = await link.events.get()
            lag[node] = time.time() - event.at  # the node's clock vs ours, plus the queue
            if s.routing:
                self.handle(event)
            else:  # a standby: the take-over's resync reads what matters from the node
                s.followed += 1

    def tick(self) -> None:
        """Let time pass for the router (ring timeouts, bullseye steps, overflow...)."""
        rec = self._rec
        if rec is None or rec.inside:
            self._apply(self.router.tick())
            return
        rec.tick()
        try:
            self._apply(self.router.tick())
        finally:
            rec.end()

    def _key_recorded(self, state: ControllerState, event: DtmfReceived) -> bool:
        """callbacks.on_key, its verdict journaled (it reads the hold desk's sessions)."""
        taken = callbacks.on_key(state, event)
        assert self._rec is not None
        self._rec.key_taken = int(taken)
        return taken

    @property
    def recording(self) -> Recording | None:
        """The replay journal being written (None: settings.replay_record is off)."""
        return self._rec

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self._state.holds.alive()
            self.tick()


__all__ = ["Controller"]
