"""After the AMI link to a node comes back (every login): the heartbeat rewritten at once,
then the router brought in line with the node's agent phones and live channels by replaying
the events missed meanwhile (reconcile.py decides which, from what is read here), then the
calls that ended meanwhile written from the node's ledger (ledger_pass.py). Also the
heartbeat itself: the dialplan's failsafe reads it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from hotline.core.events import CallEntered, CallQueued, Event
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.process.controller import ledger_pass
from hotline.process.controller.ledger import SESSION_KEY
from hotline.process.controller.reconcile import (
    AGI_KEY,
    CONNECT_CONTEXT,
    EPOCH_KEY,
    FAILSAFE_CONTEXT,
    HEARTBEAT_FAMILY,
    HEARTBEAT_KEY,
    HOLD_CONTEXT,
    KnownCall,
    QueueVars,
    beat_value,
    endpoint_events,
    failsafe_found,
    heartbeat_age,
    node_restarted,
    reconcile,
)
from hotline.process.controller.state import ControllerState
from hotline.telephony.ami.errors import AmiError
from hotline.telephony.ami.link import AmiLink

log = logging.getLogger("hotline.process.controller")


async def resync(state: ControllerState, link: AmiLink, feed: Callable[[Event], None],
                 replay: Callable[[list[Event]], None] | None = None) -> None:
    """On every (re)login of `link`: the missed events, fed in order (phones, then calls).
    With `replay` (a take-over: takeover.replay's order), the whole list goes to it instead,
    at the same moment: before anything else is awaited, so that no event of a replayed call
    heard from then on reaches the router before the call does (one that did was lost: an
    answer app_queue made while the ledger was settled left the call "abandoned", with no
    recording)."""
    live: dict[str, bool] = {}
    try:
        await resync_heartbeat(state, link)
        live = await link.endpoint_reachability()
    except AmiError as exc:
        log.warning("resync of %s: heartbeat or endpoints failed: %s", link.node, exc)
    agents = [a.agent_id for a in state.router.agents()]
    statuses = list(endpoint_events(link.node, live, state.router.reachability(link.node),
                                    agents, state.clock()))
    if replay is None:
        for status in statuses:
            feed(status)
    # Events of a call keep coming while the ledger, the channels and their variables are
    # read (an answer, a hang-up): they reach the router before the replay that opens the
    # call, for a call it does not know yet, so they are fed again after it.
    heard = state.heard_while_resyncing[link.node] = []
    try:
        count, events, ledger = await _missed(state, link)
    finally:
        del state.heard_while_resyncing[link.node]
    if events:
        state.emit_line(f"resync {link.node}: {count} live channels, {len(events)} missed "
                        "events replayed")
    if replay is not None:
        replay([*statuses, *events, *heard_after(events, heard)])
    else:
        for event in [*events, *heard_after(events, heard)]:
            feed(event)
    if ledger is not None:
        await ledger_pass.settle(state, link, ledger)
    state.resyncs += 1


def heard_after(replay: list[Event], heard: list[Event]) -> list[Event]:
    """Of the events heard during a resync, those to feed after its `replay`: of the calls
    it opens, each one the replay does not hold already (same kind, call and agent)."""
    opened = {e.call_id for e in replay if isinstance(e, CallEntered | CallQueued)}
    def kind(e: Event) -> tuple[type, str, str]:
        return type(e), getattr(e, "call_id", ""), getattr(e, "agent_id", "")

    held = {kind(e) for e in replay}
    return [e for e in heard if kind(e)[1] in opened and kind(e) not in held]


async def _missed(state: ControllerState,
                  link: AmiLink) -> tuple[int, list[Event], ledger_pass.Ledger | None]:
    """The node's ledger and live channels against the router's view: how many channels,
    the events to replay, and the ledger to settle after them."""
    # the ledger first: a call that ends from now on is in it or heard live
    ledger: ledger_pass.Ledger | None = None
    try:
        ledger = await ledger_pass.read(link)
    except AmiError as exc:  # the live calls are resynced all the same
        log.warning("resync of %s: its ledger could not be read (read again at the next "
                    "login): %s", link.node, exc)
    try:
        started = await link.started()
    except AmiError as exc:  # unknown: calls found gone count as ended, not lost to the node
        log.warning("resync of %s: no start time (CoreStatus): %s", link.node, exc)
        started = ""
    try:
        channels = await link.channels()
    except AmiError as exc:
        log.warning("resync of %s failed: %s", link.node, exc)
        return 0, [], ledger
    if state.lost_calls:  # ended with the node when it was lost (node_lost.py): history
        channels = [c for c in channels if c.linkedid not in state.lost_calls]
    restarted = node_restarted(state.node_started.get(link.node), started)
    if started:
        state.node_started[link.node] = started
    if restarted:
        state.emit_line(f"resync {link.node}: Asterisk restarted (up since {started}): the "
                        f"calls it dropped are lost to a node failure")
    known = known_calls(state, link.node)
    known_ids = {k.call_id for k in known}
    fresh = {e.call_id for e in state.heard_while_resyncing.get(link.node, ())
             if isinstance(e, CallEntered | CallQueued)}
    waiting_vars: dict[str, QueueVars] = {}
    for ch in channels:
        if (ch.is_caller_leg and ch.context in (HOLD_CONTEXT, FAILSAFE_CONTEXT, CONNECT_CONTEXT)
                and ch.linkedid not in known_ids):
            qv = await queue_vars(link, ch.channel, failsafe=ch.context != HOLD_CONTEXT)
            if qv is not None:
                waiting_vars[ch.linkedid] = qv
    # app_queue's calls are replayed from their start for history, routed by nobody
    state.failsafe_calls.update(failsafe_found(link.node, known, channels))
    ended = {cid: (e.ended_at, e.cause) for cid, e in (ledger.entries if ledger else {}).items()}
    events = reconcile(link.node, known, channels, waiting_vars, state.clock(), restarted,
                       ended, fresh)
    return len(channels), events, ledger


async def resync_heartbeat(state: ControllerState, link: AmiLink) -> None:
    """The dialplan's failsafe reads the heartbeat: stale since the link dropped, so it is
    written before anything else; its age says whether callers may have gone to app_queue
    meanwhile (reconcile finds them in hotline-failsafe)."""
    last = await link.db_get(HEARTBEAT_FAMILY, HEARTBEAT_KEY)
    now = state.clock()
    # this term's epoch before its first beat: the dialplan counts only beats of the current
    # epoch, and refuses the offers of older ones; and where this active's FastAGI listens
    await link.db_put(HEARTBEAT_FAMILY, EPOCH_KEY, str(state.epoch))
    await link.db_put(HEARTBEAT_FAMILY, AGI_KEY, state.settings.agi_address)
    await link.db_put(HEARTBEAT_FAMILY, HEARTBEAT_KEY, beat_value(now, state.epoch))
    # a call that entered before this puts itself in the ledger at its end (hotline-hangup)
    await link.db_put(HEARTBEAT_FAMILY, SESSION_KEY, f"{now:.6f}")
    age = heartbeat_age(last, now)
    guard = state.settings.failsafe_guard_s
    if age is not None and age > guard:
        state.emit_line(f"resync {link.node}: heartbeat was {age:.0f}s old (failsafe after "
                        f"{guard}s): app_queue may have taken callers meanwhile")


async def queue_vars(link: AmiLink, channel: str, failsafe: bool = False) -> QueueVars | None:
    """The call's variables the dialplan keeps on the caller's channel (with `failsafe`,
    also when app_queue took it, and when an agent answered: app_queue's or the
    controller's Dial in hotline-connect)."""
    queue = await link.getvar(channel, "HL_QUEUE")
    if not queue:
        return None
    service = await link.getvar(channel, "HL_SERVICE") or "general"
    priority = await link.getvar(channel, "HL_PRIORITY") or "0"
    times = ["HL_QUEUED_AT", *(("HL_FAILSAFE_AT", "HL_ANSWERED_AT") if failsafe else ())]
    stamps = [await link.getvar(channel, name) for name in times] + ["", ""]
    recording = await link.getvar(channel, "HL_RECORDING") if failsafe else ""
    try:
        at = [float(v) if v else None for v in stamps[:3]]
        return QueueVars(queue=queue, service=ServiceType(service), priority=int(priority),
                         queued_at=at[0], failsafe_at=at[1], answered_at=at[2],
                         recording=recording or "")
    except ValueError:
        log.warning("resync: channel %s has unusable queue variables", channel)
        return None


def known_calls(state: ControllerState, node: str) -> list[KnownCall]:
    """The router's view of the calls on `node`: waiting, offered or talking."""
    on_node = {cid for cid, leg in state.callers.items() if leg.node == node}
    router = state.router
    known = [KnownCall(w.call_id, "queued") for w in router.waiting()
             if w.call_id in on_node and w.callback_number is None]
    for agent in router.agents():
        if agent.call_id in on_node:
            phase = "talking" if agent.state is AgentState.ON_CALL else "offered"
            if agent.state in (AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL):
                known.append(KnownCall(agent.call_id, phase, agent.agent_id))
    return known


async def beat_once(state: ControllerState) -> None:
    """The heartbeat into every node's AstDB (a node that cannot take it now is skipped)."""
    for link in state.links.values():
        with contextlib.suppress(AmiError):
            await link.db_put(HEARTBEAT_FAMILY, HEARTBEAT_KEY,
                              beat_value(state.clock(), state.epoch))


async def heartbeat(state: ControllerState) -> None:
    """Beats every heartbeat_interval_s, until cancelled."""
    while True:
        await asyncio.sleep(state.settings.heartbeat_interval_s)
        await beat_once(state)


def release_node(state: ControllerState, node: str) -> None:
    """The node's AMI link is down: its held callers go back to the dialplan."""
    if released := state.holds.release_node(node):
        state.emit_line(f"AMI {node} down: {released} held callers left to the dialplan "
                        f"(failsafe after {state.settings.failsafe_guard_s}s)")


__all__ = ["beat_once", "heard_after", "heartbeat", "known_calls", "queue_vars", "release_node",
           "resync", "resync_heartbeat"]
