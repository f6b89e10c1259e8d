"""Calls app_queue serves (the dialplan's failsafe, while the controller was away) and the
agents on them: such an agent is busy elsewhere, so the router must offer it nothing until
app_queue lets it go. It is put not ready (FAILSAFE_REASON) when app_queue rings it or it
answers one, made ready again when the ring goes unanswered, another agent answers, or the
call ends, and a ready command meanwhile turns into not ready."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    Event,
    FailsafeTaken,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.process.controller.state import ControllerState

FAILSAFE_REASON = "failsafe call"
Command = Callable[[str, AgentTrigger, str], None]


def command(state: ControllerState, agent_id: str, trigger: AgentTrigger,
            reason: str) -> tuple[AgentTrigger, str]:
    """An agent command as it must go to the router: ready (or the end of wrap-up) while the
    agent still talks on a call app_queue gave them is not ready, until that call ends."""
    if (trigger in (AgentTrigger.READY, AgentTrigger.END_WRAP_UP)
            and agent_id in state.busy_elsewhere):
        return AgentTrigger.NOT_READY, FAILSAFE_REASON
    return trigger, reason


def track(state: ControllerState, event: Event, agent_command: Command) -> None:
    """Follows failsafe calls and their agents (before the router sees `event`). An agent
    app_queue rings is as busy as one it connected: the router offering it a call meanwhile
    would give it two at once (#15.3)."""
    if isinstance(event, FailsafeTaken):
        state.failsafe_calls.add(event.call_id)
    elif isinstance(event, AgentRinging | CallAnswered) and event.call_id in state.failsafe_calls:
        if isinstance(event, CallAnswered):  # the others app_queue rang for it are free
            _release(state, event.call_id, agent_command, keep=event.agent_id)
        state.busy_elsewhere[event.agent_id] = event.call_id
        with contextlib.suppress(Exception):
            if state.router.agent(event.agent_id).state is AgentState.READY:
                agent_command(event.agent_id, AgentTrigger.NOT_READY, FAILSAFE_REASON)
    elif isinstance(event, RingNoAnswer) and event.call_id in state.failsafe_calls:
        if state.busy_elsewhere.get(event.agent_id) == event.call_id:
            _release(state, event.call_id, agent_command, only=event.agent_id)
    elif isinstance(event, CallEnded) and event.call_id in state.failsafe_calls:
        state.failsafe_calls.discard(event.call_id)
        _release(state, event.call_id, agent_command)


def _release(state: ControllerState, call_id: str, agent_command: Command, *,
             keep: str = "", only: str = "") -> None:
    """The agents app_queue held for `call_id` (all, or `only` one, or all but `keep`) are
    the router's again: ready, unless they chose another state meanwhile."""
    for agent_id, busy_with in list(state.busy_elsewhere.items()):
        if busy_with != call_id or agent_id == keep or (only and agent_id != only):
            continue
        del state.busy_elsewhere[agent_id]
        with contextlib.suppress(Exception):
            view = state.router.agent(agent_id)
            if view.state is AgentState.NOT_READY and view.reason == FAILSAFE_REASON:
                agent_command(agent_id, AgentTrigger.READY, "")


__all__ = ["FAILSAFE_REASON", "command", "track"]
