"""Agents' phones coming and going (EndpointStatus), with a fake clock, on both kernels: an
unreachable phone is never offered a call, the explanation says why, and reachability back
restores what the agent was, never more."""

from __future__ import annotations

from types import ModuleType

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    EndpointStatus,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState
from hotline.router import UNREACHABLE, Offer
from hotline.router.decisions import NOT_READY
from tests.helpers.router_floor import Clock, T, agents, make, offers, queued, ready


def phone(clock: Clock, agent_id: str, reachable: bool, node: str = "n1") -> EndpointStatus:
    return EndpointStatus(clock.now, node=node, endpoint=agent_id, reachable=reachable)


def changes(out: list) -> list[tuple[str, AgentState, AgentState, str]]:
    return [(e.agent_id, e.old, e.new, e.reason) for e in out if isinstance(e, AgentStateChanged)]


def test_unreachable_agent_is_passed_over_and_explained(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("best", {"billing": 5}), ("other", {"billing": 1})))
    ready(router, "best", "other")
    clock.now += 1
    out = router.handle(phone(clock, "best", False))
    assert changes(out) == [("best", AgentState.READY, AgentState.NOT_READY, UNREACHABLE)]
    assert router.unreachable() == ["best"]

    out = router.handle(queued(clock, "c1"))
    assert offers(out) == [("c1", "other")]  # "best" would have won on skill
    why = next(d for d in out if isinstance(d, Offer)).explanation
    verdict = why.verdict("best")
    assert verdict is not None and verdict.verdict == NOT_READY
    assert verdict.detail == "not_ready (unreachable)"


def test_reachable_again_turns_ready_and_takes_the_waiting_call(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    ready(router, "a")
    router.handle(phone(clock, "a", False))
    assert offers(router.handle(queued(clock, "c1"))) == []  # waits: nobody reachable
    clock.now += 7
    out = router.handle(phone(clock, "a", True))
    assert changes(out)[0] == ("a", AgentState.NOT_READY, AgentState.READY, "")
    assert offers(out) == [("c1", "a")]
    assert router.agent("a").idle_since == clock.now
    assert router.unreachable() == []


def test_an_agent_who_chose_not_ready_stays_so(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    router.agent_command("a", T.LOGIN, "break")  # not ready by choice
    assert router.handle(phone(clock, "a", False)) == []
    assert router.handle(phone(clock, "a", True)) == []
    assert (router.agent("a").state, router.agent("a").reason) == (AgentState.NOT_READY, "break")

    # made not ready by the phone, then chose a reason of their own: that choice stands
    ready(router, "b")
    router.handle(phone(clock, "b", False))
    router.agent_command("b", T.NOT_READY, "meal")
    assert router.handle(phone(clock, "b", True)) == []
    assert (router.agent("b").state, router.agent("b").reason) == (AgentState.NOT_READY, "meal")


def test_no_way_to_ready_while_unreachable(kernel: ModuleType) -> None:
    """A ready command, the end of wrap-up and a cancelled offer all leave the agent in
    not_ready(unreachable), and none offers a call; reachable again, the agent is ready."""
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    router.agent_command("a", T.LOGIN)
    router.handle(phone(clock, "a", False))
    out = router.agent_command("a", T.READY)
    assert changes(out) == [("a", AgentState.NOT_READY, AgentState.NOT_READY, UNREACHABLE)]
    router.handle(phone(clock, "a", True))
    assert router.agent("a").state == AgentState.READY

    # on a call when the phone goes: the call is left alone; wrap-up ends in not_ready
    router.handle(queued(clock, "c1"))
    router.handle(CallAnswered(clock.now, "c1", "a"))
    assert router.handle(phone(clock, "a", False)) == []
    router.handle(TalkEnded(clock.now, "c1", "a"))
    router.handle(CallEnded(clock.now, "c1"))
    router.handle(queued(clock, "c2"))
    out = router.agent_command("a", T.END_WRAP_UP)
    assert changes(out) == [("a", AgentState.AFTER_CALL_WORK, AgentState.NOT_READY, UNREACHABLE)]
    assert offers(out) == []

    # offered when the phone goes, then the caller hangs up: not ready, no next offer
    out = router.handle(phone(clock, "a", True))
    assert offers(out) == [("c2", "a")]
    router.handle(phone(clock, "a", False))
    router.handle(queued(clock, "c3"))
    out = router.handle(CallEnded(clock.now, "c2"))
    assert changes(out) == [("a", AgentState.RESERVED, AgentState.NOT_READY, UNREACHABLE)]
    assert offers(out) == []
    assert offers(router.handle(phone(clock, "a", True))) == [("c3", "a")]


def test_reachable_from_any_node_is_reachable(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    ready(router, "a")
    assert router.handle(phone(clock, "a", True, node="n1")) == []
    assert router.handle(phone(clock, "a", False, node="n2")) == []  # n1 still reaches it
    assert router.agent("a").state == AgentState.READY
    assert router.reachability("n2") == {"a": False}
    out = router.handle(phone(clock, "a", False, node="n1"))
    assert changes(out) == [("a", AgentState.READY, AgentState.NOT_READY, UNREACHABLE)]
    assert router.handle(phone(clock, "a", False, node="n1")) == []  # repeated: no change
    assert changes(router.handle(phone(clock, "a", True, node="n2")))[0][2] == AgentState.READY


def test_endpoints_that_are_no_agent_are_ignored(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    assert router.handle(phone(clock, "caller", False)) == []
    assert router.reachability("n1") == {}
