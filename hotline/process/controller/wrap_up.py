"""After-call work ends by itself `settings.wrap_up_s` after it began (0: only the agent's
end-wrap-up command ends it); any other state change cancels the timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hotline.core.events import AgentStateChanged
from hotline.core.lifecycle import AgentState
from hotline.process.controller.state import ControllerState


def on_agent_state(state: ControllerState, change: AgentStateChanged,
                   end: Callable[[str], None]) -> None:
    """`end(agent_id)` runs when the agent's wrap-up time is over."""
    timer = state.wrap_up_timers.pop(change.agent_id, None)
    if timer is not None:
        timer.cancel()
    if change.new is AgentState.AFTER_CALL_WORK and state.settings.wrap_up_s > 0 \
            and not state.offline:  # a replay: the timer's end is a journaled command
        loop = asyncio.get_running_loop()
        state.wrap_up_timers[change.agent_id] = loop.call_later(
            state.settings.wrap_up_s, end, change.agent_id)


def timer_done(state: ControllerState, agent_id: str) -> None:
    state.wrap_up_timers.pop(agent_id, None)


def cancel_all(state: ControllerState) -> None:
    for timer in state.wrap_up_timers.values():
        timer.cancel()


__all__ = ["cancel_all", "on_agent_state", "timer_done"]
