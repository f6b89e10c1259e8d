"""A standby becoming the active controller (docs/architecture.md, "Two controllers"): its
router is rebuilt from the nodes (their live channels: the truth) and from the agents'
records the last active published (hotline.store.acd_views: states the nodes do not hold,
such as ready or not ready and its reason), in an order that books no agent twice and offers
no call twice:

1. the phones' reachability (EndpointStatus);
2. each call an agent is ringing or talking on (in hotline-connect): its start, then its agent
   logged in and made ready, so the router offers that call to that agent and no other
   (no other call waits yet), then its ring and answer: the agent is busy with it, as it is;
3. every other replayed call (waiting callers, at their HL_QUEUED_AT: their place);
4. the other agents as their records say: ready (the router then offers the oldest callers
   first), not ready with its reason; an agent whose record says ringing, talking or in
   after-call work and whose call is gone is made ready (its wrap-up is cut short).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hotline.core.events import AgentRinging, CallQueued, EndpointStatus, Event
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.process.controller.state import ControllerState

log = logging.getLogger("hotline.process.controller")

Command = Callable[[str, AgentTrigger, str], None]
_BUSY = {"ready", "reserved", "ringing", "on_call", "after_call_work"}


def replay(state: ControllerState, events: Sequence[Event], feed: Callable[[Event], None],
           command: Command) -> None:
    """One node's resync replay, fed in the take-over's order (steps 1 to 3)."""
    for event in events:
        if isinstance(event, EndpointStatus):
            feed(event)
    rest = [e for e in events if not isinstance(e, EndpointStatus)]
    ringer = {e.call_id: e.agent_id for e in rest
              if isinstance(e, AgentRinging) and e.call_id not in state.failsafe_calls}
    connected = [e for e in rest if getattr(e, "call_id", None) in ringer]
    for event in connected:
        feed(event)
        if isinstance(event, CallQueued):  # its agent, ready for it alone
            _ready(state, ringer[event.call_id], command)
    for event in rest:
        if getattr(event, "call_id", None) not in ringer:
            feed(event)


def restore_agents(state: ControllerState, records: Sequence[Mapping[str, Any]],
                   command: Command) -> int:
    """Step 4: the agents the replay left logged out, as their records say. Returns how
    many were restored."""
    restored = 0
    for record in records:
        agent_id, was = str(record.get("agent_id", "")), str(record.get("state", ""))
        try:
            if state.router.agent(agent_id).state is not AgentState.LOGGED_OUT:
                continue  # on a call the replay found, or commanded meanwhile
        except LookupError:
            continue  # not in this centre (any more)
        if was == "not_ready":
            _command(command, agent_id, AgentTrigger.LOGIN)
            _command(command, agent_id, AgentTrigger.NOT_READY, str(record.get("reason", "")))
        elif was in _BUSY:
            _ready(state, agent_id, command)
        else:
            continue
        restored += 1
    return restored


def _ready(state: ControllerState, agent_id: str, command: Command) -> None:
    with contextlib.suppress(LookupError):
        if state.router.agent(agent_id).state is AgentState.LOGGED_OUT:
            _command(command, agent_id, AgentTrigger.LOGIN)
        _command(command, agent_id, AgentTrigger.READY)


def _command(command: Command, agent_id: str, trigger: AgentTrigger, reason: str = "") -> None:
    try:
        command(agent_id, trigger, reason)
    except Exception as exc:  # an illegal move: the agent stays as the router has it
        log.warning("take-over: %s %s refused: %r", trigger, agent_id, exc)


__all__ = ["replay", "restore_agents"]
