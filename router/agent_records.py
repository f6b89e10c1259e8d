"""The router's record of one agent and the public read-only view of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.core.lifecycle import AgentState

#: The not-ready reason of an agent whose phone Asterisk cannot reach (qualify failed, the
#: softphone unregistered). Set and cleared by the router alone (reachability.py).
UNREACHABLE = "unreachable"


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
    #: node -> whether the agent's SIP endpoint is reachable from there (last report)
    reach: dict[str, bool] = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        """Reachable from some node, or never reported otherwise (a phone not yet heard of
        is assumed there: Asterisk's own status arrives at the first resync)."""
        return not self.reach or any(self.reach.values())

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
