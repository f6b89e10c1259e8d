"""After the AMI link to a node comes back: what happened while we were not listening.

Asterisk's own state (its live channels) is the truth; the router's view of that node's calls
is brought in line with it by synthesising the events that were missed, so that no call is
lost (a caller who joined meanwhile is queued) and none is counted twice (a call the router
knows is never queued again; a call that ended is ended once). The same for the agents'
phones: a reachability that changed meanwhile is replayed as EndpointStatus, before the calls,
so that a caller found waiting is never offered to a phone that is gone.

AstDB holds the controller's heartbeat (hotline/heartbeat), which the holding context reads to
decide on the failsafe, and its login time (hotline/session); per-call state lives in channel
variables (HL_QUEUE, HL_QUEUED_AT, ...), read from the channels. A resync reads the heartbeat
(how long the dialplan saw no controller) and rewrites both at once. Calls that ended while
no controller listened are in the ledger (ledger.py), which gives a known call that is gone
its true end here.

Pure: channels, endpoint states and the router's view in, events out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from hotline.core import ids
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    EndpointStatus,
    Event,
    FailsafeTaken,
    RecordingStarted,
    RingNoAnswer,
)
from hotline.core.values import ServiceType

HOLD_CONTEXT = "hotline-hold"
FAILSAFE_CONTEXT = "hotline-failsafe"
CONNECT_CONTEXT = "hotline-connect"
LOST_CAUSE_TEXT = "ended while the controller was not connected"
NODE_RESTARTED_CAUSE_TEXT = ("lost to a node failure: Asterisk restarted while the controller "
                             "was not connected")
#: The AstDB key the controller beats and hotline-hold reads (${DB(hotline/heartbeat)}).
HEARTBEAT_FAMILY, HEARTBEAT_KEY = "hotline", "heartbeat"
#: The current term's epoch (the fencing token) and the active's FastAGI address, written by
#: each active at every login (hotline/epoch, hotline/agi): the dialplan refuses an offer or a
#: heartbeat of an older epoch, and tries that address first.
EPOCH_KEY, AGI_KEY = "epoch", "agi"
#: The channel variable an offer's epoch travels in (hotline-connect checks it)
EPOCH_VAR = "HL_EPOCH"


def beat_value(now: float, epoch: int) -> str:
    """The heartbeat as AstDB holds it: <time> (a controller alone) or <time>:<epoch>."""
    return f"{int(now)}:{epoch}" if epoch else str(int(now))


@dataclass(frozen=True, slots=True)
class KnownCall:
    """The router's view of one call on the node being resynced."""

    call_id: str
    phase: str  # "queued", "offered" (reserved or ringing) or "talking"
    agent_id: str = ""


@dataclass(frozen=True, slots=True)
class ChannelView:
    """What resync needs of one live channel (telephony's LiveChannel fits)."""

    channel: str
    uniqueid: str
    linkedid: str
    context: str
    caller: str
    bridged: bool
    duration_s: float


@dataclass(frozen=True, slots=True)
class QueueVars:
    queue: str
    service: ServiceType
    priority: int = 0
    queued_at: float | None = None  # HL_QUEUED_AT: when the caller first entered the hold
    failsafe_at: float | None = None  # HL_FAILSAFE_AT: when app_queue took the caller
    answered_at: float | None = None  # HL_ANSWERED_AT: when app_queue connected an agent
    recording: str = ""  # HL_RECORDING: the file the failsafe's MixMonitor writes


def node_restarted(before: str | None, now: str | None) -> bool:
    """The node's Asterisk started anew between two resyncs (its start time, CoreStatus,
    changed). Unknown on either side (the first login, a refused CoreStatus): not known to
    have restarted."""
    return bool(before) and bool(now) and before != now


def reconcile(node: str, known: list[KnownCall], channels: list[ChannelView],
              waiting_vars: dict[str, QueueVars], now: float,
              restarted: bool = False,
              ended: Mapping[str, tuple[float, int]] | None = None,
              fresh: Set[str] = frozenset()) -> list[Event]:
    """The events that bring the router's view of `node` in line with its live channels.

    A known call the node no longer has ended while we were away: lost to a node failure
    when the node restarted meanwhile (`restarted`: its Asterisk dropped every call), else
    it simply ended (the caller hung up, unheard).

    `waiting_vars` holds, for callers found in the holding context or in app_queue that the
    router does not know, the variables read from their channels. A caller found in app_queue
    with them is replayed from its start (entered, queued, taken by the failsafe, answered,
    at the times the dialplan kept), so that its history row is whole and true; the
    controller routes none of it (failsafe_found). `ended`: the calls the ledger holds (call
    id -> (end time, hangup cause)): a known call that is gone ends at its true time.
    `fresh`: known calls first heard while resyncing, left to their live events: the
    snapshot may predate them (its reply comes behind the node's event backlog), and what
    happens to them from now on is heard.
    """
    callers = {c.linkedid: c for c in channels if c.uniqueid == c.linkedid}
    legs: dict[str, list[ChannelView]] = {}
    for c in channels:
        legs.setdefault(c.linkedid, []).append(c)
    events: list[Event] = []
    known_ids = set()
    for call in known:
        known_ids.add(call.call_id)
        if call.call_id in fresh:
            continue
        caller = callers.get(call.call_id)
        if caller is None:
            if ended and call.call_id in ended:  # its end is in the ledger: heard late
                at, cause = ended[call.call_id]
                events.append(CallEnded(min(at, now), node=node, call_id=call.call_id,
                                        cause=cause, cause_text=LOST_CAUSE_TEXT))
            else:
                events.append(CallEnded(now, node=node, call_id=call.call_id, cause=0,
                                        cause_text=NODE_RESTARTED_CAUSE_TEXT if restarted
                                        else LOST_CAUSE_TEXT, node_failure=restarted))
            continue
        if call.phase != "offered":
            continue
        agent_leg = any(leg.channel.startswith(f"PJSIP/{call.agent_id}-")
                        for leg in legs.get(call.call_id, []))
        if caller.bridged and agent_leg:
            events.append(CallAnswered(now, node=node, call_id=call.call_id,
                                       agent_id=call.agent_id))
        elif caller.context == HOLD_CONTEXT:
            events.append(RingNoAnswer(now, node=node, call_id=call.call_id,
                                       agent_id=call.agent_id, cause=19))
    for call_id, caller in callers.items():
        if call_id in known_ids:
            continue
        if caller.context == FAILSAFE_CONTEXT:
            # Served by app_queue while we were away: its agent is busy, whatever we thought.
            qv = waiting_vars.get(call_id)
            if qv is not None:  # the call from its start, for its history (#15.1)
                # the channel's age is whole seconds: never after the queue's own stamp
                entered = min(now - caller.duration_s, qv.queued_at or now)
                events.append(CallEntered(entered, node=node, call_id=call_id,
                                          caller=ids.phone_or_withheld(caller.caller),
                                          dialed="", channel=caller.channel))
                events.append(CallQueued(qv.queued_at or entered, node=node, call_id=call_id,
                                         queue=qv.queue, service=qv.service,
                                         caller=ids.phone_or_withheld(caller.caller),
                                         priority=qv.priority, channel=caller.channel,
                                 takes_callback_key=False))
            events.append(FailsafeTaken(qv.failsafe_at or now if qv else now, node=node,
                                        call_id=call_id, queue=qv.queue if qv else ""))
            if qv is not None and qv.recording:  # (its row's recording)
                events.append(RecordingStarted(qv.failsafe_at or now, node=node,
                                               call_id=call_id, path=qv.recording))
            # Its agent legs: the one talking, or the ones app_queue is ringing (#15.3).
            agent_legs = [leg for leg in legs.get(call_id, [])
                          if leg is not caller and leg.channel.startswith("PJSIP/")]
            talking = {leg.channel for leg in agent_legs if leg.bridged}
            if not talking and qv and qv.answered_at is not None and len(agent_legs) == 1:
                # connected (HL_ANSWERED_AT) a moment before the two join their bridge
                talking = {agent_legs[0].channel}
            for leg in agent_legs:
                agent = leg.channel.removeprefix("PJSIP/").rsplit("-", 1)[0]
                if leg.channel in talking:  # rung, then answered (the timeline needs both)
                    at = qv.answered_at or now if qv else now
                    events.append(AgentRinging(at, node=node, call_id=call_id,
                                               agent_id=agent, channel=leg.channel))
                    events.append(CallAnswered(at, node=node, call_id=call_id,
                                               agent_id=agent, channel=leg.channel))
                else:
                    events.append(AgentRinging(now, node=node, call_id=call_id,
                                               agent_id=agent, channel=leg.channel))
            continue
        if caller.context == CONNECT_CONTEXT:
            # Put through to an agent by a controller that died (kill -9) before the call
            # ended: the call from its start, so its history row is whole (#15).
            qv = waiting_vars.get(call_id)
            if qv is not None:
                events.extend(_connected(node, call_id, caller, legs.get(call_id, []), qv,
                                         now))
            continue
        if caller.context != HOLD_CONTEXT:
            continue
        qv = waiting_vars.get(call_id)
        if qv is None:
            continue
        at = qv.queued_at if qv.queued_at is not None else now - caller.duration_s
        events.append(CallQueued(at, node=node, call_id=call_id,
                                 queue=qv.queue, service=qv.service,
                                 caller=ids.phone_or_withheld(caller.caller),
                                 priority=qv.priority, channel=caller.channel,
                                 takes_callback_key=False))
    return events


def _connected(node: str, call_id: str, caller: ChannelView, legs: list[ChannelView],
               qv: QueueVars, now: float) -> list[Event]:
    """A caller the router does not know, found in hotline-connect (ringing or talking to
    the agent a dead controller chose): entered, queued, rung and, if the agent answered
    (HL_ANSWERED_AT, or the two bridged), answered, at the times the dialplan kept."""
    agent_legs = [leg for leg in legs
                  if leg is not caller and leg.channel.startswith("PJSIP/")]
    if not agent_legs and qv.answered_at is not None:
        # answered, and the agent has left (the caller is in the survey): not a caller to
        # queue again; its end comes through the ledger (the call began before this login)
        return []
    entered = min(now - caller.duration_s, qv.queued_at or now)
    who = ids.phone_or_withheld(caller.caller)
    events: list[Event] = [
        CallEntered(entered, node=node, call_id=call_id, caller=who, dialed="",
                    channel=caller.channel),
        CallQueued(qv.queued_at or entered, node=node, call_id=call_id, queue=qv.queue,
                   service=qv.service, caller=who, priority=qv.priority,
                   channel=caller.channel)]
    if qv.recording:  # hotline-connect starts MixMonitor before it dials the agent
        rung_at = max([now - leg.duration_s for leg in agent_legs[:1]] or [now])
        events.append(RecordingStarted(max(rung_at, qv.queued_at or entered), node=node,
                                       call_id=call_id, path=qv.recording))
    for leg in agent_legs[:1]:  # Dial rings one agent
        agent = leg.channel.removeprefix("PJSIP/").rsplit("-", 1)[0]
        rung = max(now - leg.duration_s, qv.queued_at or entered)
        answered = qv.answered_at if qv.answered_at is not None else (
            now if leg.bridged else None)
        events.append(AgentRinging(min(rung, answered or rung), node=node, call_id=call_id,
                                   agent_id=agent, channel=leg.channel))
        if answered is not None:
            events.append(CallAnswered(answered, node=node, call_id=call_id, agent_id=agent,
                                       channel=leg.channel))
    return events


def failsafe_found(node: str, known: list[KnownCall],
                   channels: list[ChannelView]) -> set[str]:
    """The calls on `node` app_queue holds that the router does not know: the controller
    must route none of the events that replay them."""
    known_ids = {k.call_id for k in known}
    return {c.linkedid for c in channels if c.uniqueid == c.linkedid
            and c.context == FAILSAFE_CONTEXT and c.linkedid not in known_ids}


def endpoint_events(node: str, live: Mapping[str, bool], known: Mapping[str, bool],
                    agents: Iterable[str], now: float) -> list[EndpointStatus]:
    """EndpointStatus for each agent whose phone's reachability from `node` (Asterisk's view,
    `live`) differs from what the router last heard from that node (`known`); agents the node
    does not report are left as they are."""
    return [EndpointStatus(now, node=node, endpoint=agent, reachable=live[agent])
            for agent in agents if agent in live and known.get(agent) != live[agent]]


def heartbeat_age(value: str | None, now: float) -> float | None:
    """Seconds since the heartbeat the node holds was written (None: no usable value)."""
    try:
        return now - float(value.split(":", 1)[0]) if value else None
    except ValueError:
        return None
