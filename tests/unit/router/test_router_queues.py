"""Queues changed while calls flow (Router.put_queue / remove_queue), on both kernels."""

from __future__ import annotations

from types import ModuleType

import pytest

from hotline.core.events import CallAnswered, CallEnded, RingNoAnswer
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.router import (
    LONGEST_IDLE,
    QueueConfig,
    QueueInUse,
    TooManySkills,
    UnknownQueue,
)
from tests.helpers.router_floor import BILLING, GENERAL, agents, make, offers, queued, ready


def test_a_changed_requirement_routes_a_waiting_call_at_once(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 2}), ("b", {"fault": 4})))
    ready(router, "a", "b")
    clock.now += 1
    # billing needs billing >= 3: nobody qualifies, the call waits
    router.put_queue(QueueConfig("billing", ServiceType.BILLING, {"billing": 3}))
    assert offers(router.handle(queued(clock, "c1"))) == []
    assert router.waiting()[0].requirements == {"billing": 3}
    # the queue now asks for fault: b takes the waiting call on this very change
    out = router.put_queue(QueueConfig("billing", ServiceType.BILLING, {"fault": 2}))
    assert offers(out) == [("c1", "b")]
    assert dict(router.explain("c1")[-1].requirements) == {"fault": 2}
    assert router.queue("billing").required == {"fault": 2}


def test_a_new_queue_takes_calls_and_new_skills(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"gas": 3})))
    with pytest.raises(UnknownQueue):
        router.handle(queued(clock, "c0", queue="gas"))
    out = router.put_queue(QueueConfig("gas", ServiceType.GENERAL, {"gas": 2}))
    assert out == []
    ready(router, "a")
    out = router.handle(queued(clock, "c1", queue="gas"))
    assert offers(out) == [("c1", "a")]


def test_priority_change_moves_waiting_calls_but_keeps_their_order(kernel: ModuleType) -> None:
    queues = [BILLING, GENERAL]
    router, clock = make(kernel, agents(("a", {"billing": 1})), queues)
    router.handle(queued(clock, "g1", queue="general"))
    clock.now += 1
    router.handle(queued(clock, "b1"))
    clock.now += 1
    router.handle(queued(clock, "b2"))
    assert [w.call_id for w in router.waiting()] == ["g1", "b1", "b2"]
    router.put_queue(QueueConfig("billing", ServiceType.BILLING, {"billing": 1}, priority=5))
    assert [(w.call_id, w.priority) for w in router.waiting()] == [
        ("b1", 5), ("b2", 5), ("g1", 0)]
    # the first ready agent takes the call now at the head
    assert offers(ready(router, "a")) == [("b1", "a")]


def test_policy_and_overflow_changes_apply_to_waiting_calls(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("old", {"billing": 1}), ("gen", {"general": 1})),
                         [BILLING, GENERAL])
    ready(router, "gen")
    router.handle(queued(clock, "c1"))
    with pytest.raises(UnknownQueue):
        router.put_queue(QueueConfig("billing", ServiceType.BILLING, {"billing": 1},
                                     overflow_to="nowhere", overflow_wait_s=5))
    router.put_queue(QueueConfig("billing", ServiceType.BILLING, {"billing": 1},
                                 policy=LONGEST_IDLE, overflow_to="general",
                                 overflow_wait_s=10))
    clock.now += 10
    out = router.tick()
    assert offers(out) == [("c1", "gen")]
    assert router.explain("c1")[-1].reason == "overflow"


def test_offered_calls_are_left_alone_until_a_missed_ring(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"fault": 1})))
    ready(router, "a", "b")
    assert offers(router.handle(queued(clock, "c1"))) == [("c1", "a")]
    router.put_queue(QueueConfig("billing", ServiceType.BILLING, {"fault": 1}))
    assert router.agent("a").state == AgentState.RESERVED  # the offer stands
    out = router.handle(RingNoAnswer(clock.now, "c1", "a"))
    assert offers(out) == [("c1", "b")]  # back in line under the new rules


def test_too_many_skills_changes_nothing(kernel: ModuleType) -> None:
    router, _ = make(kernel, agents(("a", {"billing": 1})))
    many = {f"s{i}": 1 for i in range(kernel.MAX_SKILLS + 1)}
    with pytest.raises(TooManySkills):
        router.put_queue(QueueConfig("billing", ServiceType.BILLING, many))
    assert router.queue("billing").required == {"billing": 1}


def test_remove_queue_is_refused_while_calls_need_it(kernel: ModuleType) -> None:
    over = QueueConfig("fault", ServiceType.FAULT, {"fault": 1}, overflow_to="billing",
                       overflow_wait_s=30)
    router, clock = make(kernel, agents(("a", {"billing": 1})), [BILLING, over, GENERAL])
    with pytest.raises(QueueInUse, match="overflow of fault"):
        router.remove_queue("billing")
    router.handle(queued(clock, "g1", queue="general"))
    with pytest.raises(QueueInUse, match="1 waiting or offered call"):
        router.remove_queue("general")
    router.handle(CallEnded(clock.now, "g1"))  # the caller gave up: the queue is free
    assert router.remove_queue("general") == []
    with pytest.raises(UnknownQueue):
        router.queue("general")
    with pytest.raises(UnknownQueue):
        router.remove_queue("general")
    # an offered call holds its queue (a missed ring brings it back there) ...
    router.remove_queue("fault")
    ready(router, "a")
    assert offers(router.handle(queued(clock, "b1"))) == [("b1", "a")]
    with pytest.raises(QueueInUse, match="b1"):
        router.remove_queue("billing")
    # ... a talking one does not (its end needs no queue)
    router.handle(CallAnswered(clock.now, "b1", "a"))
    assert router.remove_queue("billing") == []
    router.handle(CallEnded(clock.now, "b1"))
    assert router.agent("a").state == AgentState.AFTER_CALL_WORK
