"""Calls app_queue serves (the dialplan's failsafe, while the controller was away) and the
agents on them: such an agent is busy elsewhere, so the router must offer it nothing until
that call ends. It is put not ready (FAILSAFE_REASON) when it answers one, made ready again
when the call ends, and a ready command meanwhile turns into not ready."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hotline.core.events import CallAnswered, CallEnded, Event, FailsafeTaken
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
    """Follows failsafe calls and their agents (before the router sees `event`)."""
    if isinstance(event, FailsafeTaken):
        state.failsafe_calls.add(event.call_id)
    elif isinstance(event, CallAnswered) and event.call_id in state.failsafe_calls:
        state.busy_elsewhere[event.agent_id] = event.call_id
        with contextlib.suppress(Exception):
            if state.router.agent(event.agent_id).state is AgentState.READY:
                agent_command(event.agent_id, AgentTrigger.NOT_READY, FAILSAFE_REASON)
    elif isinstance(event, CallEnded) and event.call_id in state.failsafe_calls:
        state.failsafe_calls.discard(event.call_id)
        for agent_id, call_id in list(state.busy_elsewhere.items()):
            if call_id != event.call_id:
                continue
            del state.busy_elsewhere[agent_id]
            with contextlib.suppress(Exception):
                view = state.router.agent(agent_id)
                if view.state is AgentState.NOT_READY and view.reason == FAILSAFE_REASON:
                    agent_command(agent_id, AgentTrigger.READY, "")


__all__ = ["FAILSAFE_REASON", "command", "track"]
