"""Offer delivery: how the router's offer of a call reaches the caller's channel.

Through the caller's hold session (FastAGI, hold_desk.py) when it holds one, else as an AMI
Redirect to hotline-connect. An offer goes out once: a Redirect landing on a channel already
dialling would dial again. So each call's current offer has a delivery state, moved only
through DELIVERY_TRANSITIONS, from the moment it is sent until its agent's phone rings (the
channel acted on it), the call ends, or the router makes a new offer for the call:

- a new hold session after a hold delivery means that one was lost (a lease ran out as it was
  written): it gets the offer once more (HOLD_AGAIN), not again and again (a dial that fails
  at once comes back);
- an offer made before the caller's session opened waits HOLD_ARRIVAL_S for it, then goes
  as a Redirect; a session opening meanwhile takes it (the router's unrung offer).
"""

from __future__ import annotations

import enum
import logging

from hotline.core import ids
from hotline.core.events import AgentRinging, CallEntered, CallQueued
from hotline.core.lifecycle import IllegalTransition
from hotline.core.values import ServiceType
from hotline.process.controller.hold_desk import HoldRequest
from hotline.process.controller.reconcile import EPOCH_VAR
from hotline.process.controller.state import CallLeg, ControllerState
from hotline.router import Offer
from hotline.telephony.ami.errors import AmiError

log = logging.getLogger("hotline.process.controller")

CONNECT_CONTEXT = "hotline-connect"
# An offer decided before the caller's hold session opened (the AMI event came first) waits
# this long for it before falling back to a Redirect: the session opens within milliseconds
# of the event on a node whose callers hold over FastAGI.
HOLD_ARRIVAL_S = 0.5


class DeliveryState(enum.StrEnum):
    UNSENT = "unsent"  # the call's current offer has not gone out (or is forgotten)
    HELD = "held"  # written into the caller's hold session
    HELD_AGAIN = "held_again"  # written into a second session: the first one was lost
    REDIRECTED = "redirected"  # sent as an AMI Redirect


class DeliveryTrigger(enum.StrEnum):
    OFFER = "offer"  # the router made a new offer for the call
    HOLD = "hold"  # the offer was written into a hold session
    HOLD_AGAIN = "hold_again"  # a new session opened after a hold delivery: sent once more
    REDIRECT = "redirect"  # the offer went out as an AMI Redirect
    RING = "ring"  # the agent's phone rings: the channel acted on the offer
    END = "end"  # the call ended


D, T = DeliveryState, DeliveryTrigger
#: DELIVERY_TRANSITIONS[state][trigger] -> next state. Anything not listed is illegal: an offer
#: sent is never sent again, except once into a new session after a lost hold delivery.
DELIVERY_TRANSITIONS: dict[DeliveryState, dict[DeliveryTrigger, DeliveryState]] = {
    D.UNSENT: {
        T.OFFER: D.UNSENT,
        T.HOLD: D.HELD,
        T.REDIRECT: D.REDIRECTED,
        T.RING: D.UNSENT,
        T.END: D.UNSENT,
    },
    D.HELD: {T.OFFER: D.UNSENT, T.HOLD_AGAIN: D.HELD_AGAIN, T.RING: D.UNSENT, T.END: D.UNSENT},
    D.HELD_AGAIN: {T.OFFER: D.UNSENT, T.RING: D.UNSENT, T.END: D.UNSENT},
    D.REDIRECTED: {T.OFFER: D.UNSENT, T.RING: D.UNSENT, T.END: D.UNSENT},
}
del D, T


def next_delivery_state(state: DeliveryState, trigger: DeliveryTrigger) -> DeliveryState:
    try:
        return DELIVERY_TRANSITIONS[state][trigger]
    except KeyError:
        raise IllegalTransition("offer delivery", state, trigger) from None


class Deliveries:
    """Each call's current offer: to which agent it was sent and how (calls absent: UNSENT)."""

    def __init__(self) -> None:
        self._sent: dict[str, tuple[str, DeliveryState]] = {}

    def sent(self, call_id: str) -> tuple[str, DeliveryState] | None:
        return self._sent.get(call_id)

    def state(self, call_id: str, agent_id: str) -> DeliveryState:
        """How the call's offer to `agent_id` was sent (UNSENT: not, or it was another's)."""
        sent = self._sent.get(call_id)
        return sent[1] if sent is not None and sent[0] == agent_id else DeliveryState.UNSENT

    def check(self, call_id: str, agent_id: str, trigger: DeliveryTrigger) -> DeliveryState:
        """The state the offer would move to; raises IllegalTransition before anything is
        sent when the move is not allowed."""
        return next_delivery_state(self.state(call_id, agent_id), trigger)

    def move(self, call_id: str, agent_id: str, trigger: DeliveryTrigger) -> DeliveryState:
        new = self.check(call_id, agent_id, trigger)
        if new is DeliveryState.UNSENT:
            self._sent.pop(call_id, None)
        else:
            self._sent[call_id] = (agent_id, new)
        return new

    def forget(self, call_id: str, trigger: DeliveryTrigger) -> None:
        """A new offer, the ring or the end: whatever was sent for the call is done with."""
        sent = self._sent.get(call_id)
        if sent is not None:
            self.move(call_id, sent[0], trigger)

    def __len__(self) -> int:
        return len(self._sent)


def deliver_held(state: ControllerState, call_id: str, agent_id: str,
                 trigger: DeliveryTrigger = DeliveryTrigger.HOLD) -> bool:
    """The offer into the caller's hold session, if it holds one: hotline-connect next."""
    state.deliveries.check(call_id, agent_id, trigger)
    if not state.holds.offer(call_id, agent_id):
        return False
    state.deliveries.move(call_id, agent_id, trigger)
    state.delivered["hold"] += 1
    return True


def on_offer(state: ControllerState, offer: Offer) -> bool:
    """A new offer for the call: into its hold session now (True), or False: `connect`."""
    state.deliveries.forget(offer.call_id, DeliveryTrigger.OFFER)
    return deliver_held(state, offer.call_id, offer.agent_id)


def on_caller(state: ControllerState, event: CallEntered | CallQueued) -> bool:
    """Where the call's caller is: where its offers go. A call app_queue holds (replayed by a
    resync for its history) is not routed (True)."""
    if event.call_id in state.failsafe_calls:
        return True
    state.callers.setdefault(event.call_id, CallLeg(event.node, event.channel))
    if isinstance(event, CallQueued) and not event.takes_callback_key:
        state.menu_keys.add(event.call_id)
    state.holds.caller_seen(event.call_id)
    return False


def on_ringing(state: ControllerState, event: AgentRinging) -> bool:
    """The agent's phone rings: the caller's channel acted on its offer."""
    state.deliveries.forget(event.call_id, DeliveryTrigger.RING)
    return False


def vet_session(state: ControllerState, request: HoldRequest) -> str | None:
    """A hold session is a call the controller follows over AMI (CallEntered / CallQueued,
    or found among the node's channels), on the node and channel AMI saw it on, waiting in a
    known queue; else the reason it is refused. A refused real caller (its AMI event still on
    the way) asks again a second later from the dialplan's loop."""
    leg = state.callers.get(request.call_id)
    if leg is None:
        return "unknown_call"
    if leg.node != request.node or (leg.channel and leg.channel != request.channel):
        return "wrong_channel"
    if not state.router.has_queue(request.queue):
        return "queue"
    return None


def on_session(state: ControllerState, request: HoldRequest) -> CallQueued | None:
    """A caller's hold session opened: the call to queue if the router does not know it yet
    (an offer already made for it finds the session through `connect`), else None."""
    link = state.links.get(request.node)
    if link is None or not link.logged_in.is_set():
        state.holds.release_node(request.node)  # no events from it: the heartbeat decides
        return None
    state.callers.setdefault(request.call_id, CallLeg(request.node, request.channel))
    if state.router.knows(request.call_id):
        # A requeue after no answer, a transfer, a renewed lease, or its HotlineQueued
        # came first. An offer the caller's channel has not acted on (made before this
        # session opened, or lost with a lease that ran out) goes into this session.
        agent = state.router.unrung_offer(request.call_id)
        sent = state.deliveries.sent(request.call_id)
        if agent is not None and (sent is None or sent == (agent, DeliveryState.HELD)):
            deliver_held(state, request.call_id, agent,
                         DeliveryTrigger.HOLD if sent is None else DeliveryTrigger.HOLD_AGAIN)
        return None
    # Queued when the dialplan stamped HL_QUEUED_AT (Asterisk's clock, to the
    # microsecond); a caller waiting since before we (re)started keeps that place.
    now = state.clock()
    at = now if request.queued_at is None else min(request.queued_at, now)
    try:
        service = ServiceType(request.service)
    except ValueError:
        log.warning("hold of %s: unknown service %r, queued as general",
                    request.call_id, request.service)
        service = ServiceType.GENERAL
    return CallQueued(at, node=request.node, call_id=request.call_id, queue=request.queue,
                      service=service, caller=ids.phone_or_withheld(request.caller),
                      priority=request.priority,
                      channel=request.channel)


def on_end(state: ControllerState, call_id: str) -> None:
    state.deliveries.forget(call_id, DeliveryTrigger.END)


def still_unrung(state: ControllerState, offer: Offer) -> bool:
    """Whether the offer is still the router's for its call with the agent's phone not ringing
    yet (the agent reserved for it): only such an offer may still have to reach the caller.
    One whose ring was heard meanwhile (a take-over replays a call found ringing or talking as
    an offer at once rung and answered), withdrawn or replaced is never sent: a Redirect would
    pull the caller from its ringing or talking agent and ring it again (#16.2)."""
    return state.router.unrung_offer(offer.call_id) == offer.agent_id


async def connect(state: ControllerState, offer: Offer) -> None:
    """An offer its call's hold session did not take at once: the session if it opens soon
    (or opened meanwhile), else an AMI Redirect to hotline-connect; nothing once the offer
    is no longer the router's unrung one."""
    deliveries = state.deliveries
    unsent = DeliveryState.UNSENT
    if not still_unrung(state, offer):
        return
    if (deliveries.state(offer.call_id, offer.agent_id) is not unsent
            or deliver_held(state, offer.call_id, offer.agent_id)):
        return  # its session opened since the offer and took it, or takes it now
    leg = state.callers.get(offer.call_id) or await find_caller(state, offer.call_id)
    if leg is not None and leg.node in state.holds.nodes_seen:
        if (await state.holds.arrival(offer.call_id, HOLD_ARRIVAL_S)
                or deliveries.state(offer.call_id, offer.agent_id) is not unsent):
            return  # on_session gave the session the router's offer
        # A node whose callers stopped reaching us (its AGI address changed, say) is
        # not waited for again until one of them does.
        state.holds.nodes_seen.discard(leg.node)
    if leg is None:
        log.warning("offer for unknown call %s", offer.call_id)
        return
    if deliveries.state(offer.call_id, offer.agent_id) is not unsent:
        return  # its session opened meanwhile and took it (on_session)
    if not still_unrung(state, offer):
        return  # rung, withdrawn or replaced while we waited
    link = state.links[leg.node]
    deliveries.move(offer.call_id, offer.agent_id, DeliveryTrigger.REDIRECT)
    try:
        # The extension is the agent: hotline-connect records, then dials it (and first
        # refuses an offer of a former active: the term's epoch, set on the channel)
        if state.epoch:
            await link.setvar(leg.channel, EPOCH_VAR, str(state.epoch))
        await link.redirect(leg.channel, CONNECT_CONTEXT, offer.agent_id)
        state.delivered["redirect"] += 1
    except AmiError as exc:
        # The caller hung up meanwhile (the router hears it as CallEnded) or the link
        # dropped (the dialplan's failsafe takes over); either way the router is told.
        log.warning("redirect of %s to %s failed: %s", offer.call_id, offer.agent_id, exc)


async def find_caller(state: ControllerState, call_id: str) -> CallLeg | None:
    """The caller's channel of a call we saw no CallEntered for (a callback's leg)."""
    for node, link in state.links.items():
        try:
            channels = await link.channels()
        except AmiError:
            continue
        for ch in channels:
            if ch.linkedid == call_id and ch.is_caller_leg:
                state.callers[call_id] = CallLeg(node, ch.channel)
                state.holds.caller_seen(call_id)
                return state.callers[call_id]
    return None


__all__ = [
    "CONNECT_CONTEXT",
    "DELIVERY_TRANSITIONS",
    "HOLD_ARRIVAL_S",
    "Deliveries",
    "DeliveryState",
    "DeliveryTrigger",
    "connect",
    "deliver_held",
    "find_caller",
    "next_delivery_state",
    "on_caller",
    "on_end",
    "on_offer",
    "on_ringing",
    "on_session",
    "vet_session",
]
