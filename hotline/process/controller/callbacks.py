"""Callbacks: a caller on virtual hold (the callback key) keeps the call's place without a
channel; when the router reserves an agent for it (CallbackDue), the caller is rung (AMI
Originate) and, once they answer, hotline-connect records and rings the agent. The same path
serves outbound calls queued for a work order (queue_callback)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from hotline.core import ids
from hotline.core.errors import InvalidRequest
from hotline.core.events import CallbackRequested, CallEnded, CallQueued, DtmfReceived, Event
from hotline.core.values import ServiceType
from hotline.process.controller.delivery import CONNECT_CONTEXT
from hotline.process.controller.reconcile import EPOCH_VAR, HOLD_CONTEXT
from hotline.process.controller.state import ControllerState
from hotline.router import Offer
from hotline.router.decisions import CallbackDue
from hotline.telephony.ami.errors import AmiError

log = logging.getLogger("hotline.process.controller")

#: How long a callback waits for the caller's first leg to end (its channel id is reused).
FIRST_LEG_WAIT_S = 15.0


def queue_outbound(state: ControllerState, service: ServiceType, number: str) -> CallQueued:
    """An outbound call to a customer, queued like any call of its service: the event to feed
    (its call id is the new call's)."""
    if not ids.is_valid(ids.PHONE_NUMBER_PATTERN, number):
        # a number goes into the Originate's dial string: nothing but digits gets there
        raise InvalidRequest(f"number {number!r} must be {ids.rule(ids.PHONE_NUMBER_PATTERN)}")
    node = next(iter(state.links))
    queue = next((q.name for q in state.centre.queues if q.service == service), "general")
    call_id = f"{node}-cb-{uuid.uuid4().hex[:12]}"
    state.outbound[call_id] = number
    state.callback_nodes[call_id] = node
    return CallQueued(state.clock(), node=node, call_id=call_id, queue=queue,
                      service=service, caller=number)


def outbound_due(state: ControllerState, offer: Offer) -> CallbackDue | None:
    """The offer of a queued outbound call is a callback to place (None: an ordinary offer)."""
    number = state.outbound.pop(offer.call_id, None)
    if number is None:
        return None
    return CallbackDue(offer.call_id, offer.agent_id, number, offer.queue, offer.wait_s,
                       offer.explanation)


def on_key(state: ControllerState, event: DtmfReceived) -> bool:
    """The callback key of a waiting caller: the dialplan takes them to the key's extension
    (True: nothing else to do). Held in a session, the session ends with it; waiting in the
    dialplan's own loop (no session: the FastAGI side is away), which is deaf to keys, the
    controller that heard it sends the caller there. A controller that is away hears nothing,
    so no key ends a call that nobody would call back (#15.2)."""
    if event.digit != state.settings.callback_key:
        return False
    if event.call_id in state.menu_keys:  # a menu's key: this caller never came by the IVR
        log.info("call %s: key %s while waiting not taken for a callback (no IVR before)",
                 event.call_id, event.digit)
        return False
    if state.holds.callback(event.call_id):
        return True
    leg = state.callers.get(event.call_id)
    if event.context != HOLD_CONTEXT or leg is None or not state.router.knows(event.call_id):
        return False
    state.spawn(_to_callback_key(state, leg.node, leg.channel, event.digit))
    return True


async def _to_callback_key(state: ControllerState, node: str, channel: str, key: str) -> None:
    link = state.links.get(node)
    if link is None:
        return
    try:
        await link.redirect(channel, HOLD_CONTEXT, key)
    except AmiError as exc:  # hung up meanwhile, or the link dropped: nothing to take
        log.warning("callback key of %s not taken: %s", channel, exc)


def on_requested(state: ControllerState, event: CallbackRequested) -> bool:
    state.callback_nodes[event.call_id] = event.node
    state.left_for_callback.add(event.call_id)
    return False


def on_first_leg_end(state: ControllerState, event: CallEnded) -> bool:
    """The caller who asked to be called back hung up: the call keeps its place (and may
    already have its agent reserved). Only the callback leg's end ends it (True: the event
    stops here)."""
    if event.call_id not in state.left_for_callback:
        return False
    state.left_for_callback.discard(event.call_id)
    state.callers.pop(event.call_id, None)
    gone = state.first_leg_gone.pop(event.call_id, None)
    if gone is not None:
        gone.set()
    return True


async def call_back(state: ControllerState, due: CallbackDue,
                    feed: Callable[[Event], None]) -> None:
    """The caller on virtual hold reached the head and an agent is reserved: ring the
    caller; once they answer, hotline-connect records and rings the agent."""
    node = state.callback_nodes.get(due.call_id)  # kept for a retry (CallbackAttempted)
    link = state.links[node] if node in state.links else next(iter(state.links.values()))
    if not ids.is_valid(ids.PHONE_NUMBER_PATTERN, due.number):
        # the number becomes the Originate's dial string: only digits get there, whatever
        # brought it (a HotlineCallback from an older dialplan, a stored order)
        log.warning("callback of %s refused: %r is not a phone number", due.call_id, due.number)
        feed(CallEnded(state.clock(), node=link.node, call_id=due.call_id, cause=0,
                       cause_text="callback refused: the number is not a phone number"))
        return
    # The turn can come while the caller is still hearing "we will call you back": the
    # new channel takes the call id as its Uniqueid, so the old one must be gone first.
    if due.call_id in state.left_for_callback:
        gone = state.first_leg_gone.setdefault(due.call_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_LEG_WAIT_S):
                await gone.wait()
    settings = state.settings
    dial = settings.callback_dial.format(number=due.number)
    try:
        await link.originate(
            dial, CONNECT_CONTEXT, due.agent_id, channel_id=due.call_id,
            variables={"HL_CALLID": due.call_id, "HL_QUEUE": due.queue, "HL_CALLBACK": "1",
                       **({EPOCH_VAR: str(state.epoch)} if state.epoch else {})},
            caller_id=f'"{settings.hotline_number}" <{settings.hotline_number}>',
            timeout_s=settings.ring_timeout_s)
    except AmiError as exc:
        log.warning("callback of %s to %s failed: %r", due.call_id, due.number, exc)
        feed(CallEnded(state.clock(), node=link.node, call_id=due.call_id, cause=0,
                       cause_text=f"callback could not be placed: {exc}"))


def forget(state: ControllerState, call_id: str) -> None:
    """The call ended (or its callbacks failed): a retry no longer needs its node."""
    state.callback_nodes.pop(call_id, None)


__all__ = ["FIRST_LEG_WAIT_S", "call_back", "forget", "on_first_leg_end", "on_key",
           "on_requested", "outbound_due", "queue_outbound"]
