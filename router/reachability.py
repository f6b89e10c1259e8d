"""Agents' phones coming and going: Asterisk's reachability of each agent's SIP endpoint
(EndpointStatus, live or found at a resync) decides whether the router may offer them calls.

A ready agent whose phone turns unreachable goes to not_ready(unreachable); roster.move keeps
any later move to ready there while it lasts. When the phone is reachable again, only an agent
still in not_ready(unreachable) turns ready: one who chose another not-ready reason meanwhile
(or was not ready to begin with) stays as they chose. Reachability is kept per node: a phone
registered to one node is reachable if any node reaches it.
"""

from __future__ import annotations

from hotline.core.events import EndpointStatus
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.router import dispatch, roster
from hotline.router.agent_records import UNREACHABLE
from hotline.router.state import Output, RouterState


def on_endpoint(state: RouterState, ev: EndpointStatus, now: float) -> Output:
    agent = state.agents.get(ev.endpoint)
    if agent is None:
        return []  # the callers' trunk, a supervisor's phone: not the router's
    was = agent.reachable
    agent.reach[ev.node] = ev.reachable
    if agent.reachable == was:
        return []
    if not agent.reachable:
        if agent.state != AgentState.READY:
            return []  # reserved / ringing: the ring fails on its own; on_call: left alone
        return [roster.move(state, agent, AgentTrigger.NOT_READY, now, reason=UNREACHABLE)]
    if agent.state == AgentState.NOT_READY and agent.reason == UNREACHABLE:
        out: Output = [roster.move(state, agent, AgentTrigger.READY, now)]
        return out + dispatch.agent_takes(state, agent, now)
    return []


def known(state: RouterState, node: str) -> dict[str, bool]:
    """agent id -> the reachability last reported from `node` (agents never reported from it
    are left out)."""
    return {a.agent_id: a.reach[node] for a in state.agents.values() if node in a.reach}


def unreachable(state: RouterState) -> list[str]:
    return [a.agent_id for a in state.agents.values() if not a.reachable]


__all__ = ["UNREACHABLE", "known", "on_endpoint", "unreachable"]
