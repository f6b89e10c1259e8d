"""A node lost for good: its machine died, or its network is cut (docs/deploy.md, "Several
machines"). Its AMI link went down and did not come back within `Settings.node_lost_s`.

A node that restarts comes back within seconds and its resync tells what it dropped
(reconcile.py: lost to a node failure when its start time changed). A machine that is gone
tells nothing, ever: without this, its calls would stay in the router for good (its waiting
callers at the head of the queue, its agents on calls that no longer exist). So once the
link has been down for `node_lost_s`, every call the controller knew on that node ends as
lost to a node failure (`CallEnded.node_failure`: outcome `node_failure` for a caller not yet
answered, the cause text in history), its agents go to after-call work as after any call,
and what the node last said of the agents' phones no longer counts: they are offered calls
that reach them through the other nodes (a phone registered to the lost node only is
unreachable until it registers elsewhere).

If the node comes back later (the network healed), its resync leaves the calls declared
lost alone: they are history already (recorded once), and what is left of them on the node
(app_queue took them when the heartbeat went stale) is not routed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hotline.core.events import CallEnded, EndpointStatus, Event
from hotline.process.controller.resync import known_calls
from hotline.process.controller.state import ControllerState

NODE_LOST_CAUSE_TEXT = "lost to a node failure: the node's link was down for {s:g} s"


def arm(state: ControllerState, node: str, feed: Callable[[Event], None]) -> None:
    """The node's link is down: declared lost unless it logs in within node_lost_s."""
    if not state.routing or node in state.lost_timers:
        return  # a standby routes nothing; its take-over resyncs what it finds
    loop = asyncio.get_running_loop()
    state.lost_timers[node] = loop.call_later(
        state.settings.node_lost_s, lambda: _fire(state, node, feed))


def disarm(state: ControllerState, node: str) -> None:
    """The node's link is back (a login): not lost."""
    timer = state.lost_timers.pop(node, None)
    if timer is not None:
        timer.cancel()


def disarm_all(state: ControllerState) -> None:
    for node in list(state.lost_timers):
        disarm(state, node)


def _fire(state: ControllerState, node: str, feed: Callable[[Event], None]) -> None:
    state.lost_timers.pop(node, None)
    link = state.links.get(node)
    if link is None or link.logged_in.is_set() or not state.routing:
        return
    declare(state, node, feed)


def declare(state: ControllerState, node: str, feed: Callable[[Event], None]) -> list[str]:
    """Ends every call known on `node` as lost to a node failure and forgets the node's word
    on the agents' phones; returns the calls ended."""
    now = state.clock()
    text = NODE_LOST_CAUSE_TEXT.format(s=state.settings.node_lost_s)
    calls = {cid for cid, leg in state.callers.items() if leg.node == node}
    calls.update(k.call_id for k in known_calls(state, node))
    for call_id in sorted(calls):
        feed(CallEnded(now, node=node, call_id=call_id, cause=0, cause_text=text,
                       node_failure=True))
        state.lost_calls.add(call_id)  # (after: handle() drops the events of lost calls)
    # "unreachable from the lost node": an agent counts as reachable if another node says so
    for agent_id, reachable in state.router.reachability(node).items():
        if reachable:
            feed(EndpointStatus(now, node=node, endpoint=agent_id, reachable=False))
    state.nodes_lost += 1
    state.emit_line(f"node {node} lost: its AMI link down for {state.settings.node_lost_s:g}s; "
                    f"{len(calls)} calls ended as lost to a node failure")
    return sorted(calls)


__all__ = ["NODE_LOST_CAUSE_TEXT", "arm", "declare", "disarm", "disarm_all"]
