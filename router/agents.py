"""The router's record of one agent and the public read-only view of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.domain import AgentState


@dataclass(slots=True)
class AgentRecord:
    agent_id: str
    index: int  # the kernel's row; also the final tie-break (configuration order)
    name: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    idle_since: float = 0.0
    calls_today: int = 0
    call_id: str = ""

    def view(self) -> AgentView:
        return AgentView(
            self.agent_id,
            self.name,
            self.state,
            self.reason,
            self.idle_since,
            self.calls_today,
            self.call_id,
            dict(self.skills),
        )


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    name: str
    state: AgentState
    reason: str
    idle_since: float
    calls_today: int
    call_id: str
    skills: dict[str, int]
