"""The router replayed with a fake clock, on both selection kernels (ids c / py)."""

from __future__ import annotations

import random
from types import ModuleType

import pytest

from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallOverflowed,
    CallQueued,
    Event,
    FailsafeTaken,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState, IllegalTransition
from hotline.core.values import ServiceType
from hotline.core_ext import select as selector
from hotline.core_ext import select_agent_py
from hotline.router import (
    LEAST_CALLS,
    LONGEST_IDLE,
    MISSED,
    ROUND_ROBIN,
    AgentBusy,
    AgentConfig,
    CallbackDue,
    DuplicateAgent,
    IllegalCommand,
    Offer,
    QueueConfig,
    Router,
    RouterConfig,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from hotline.router.decisions import NOT_PREFERRED, NOT_READY, RANKED_LOWER, SKILL
from hotline.router.definitions import VIP_BOOST
from tests.helpers.router_floor import (
    GENERAL,
    Clock,
    T,
    agents,
    make,
    offers,
    queued,
    ready,
)

# --- who gets the call --------------------------------------------------------------------------


def test_longest_idle(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a1", {}), ("a2", {}), ("a3", {})))
    ready(router, "a2")
    clock.now += 5
    ready(router, "a1", "a3")
    clock.now += 5
    assert offers(router.handle(queued(clock, "c1", "general"))) == [("c1", "a2")]
    assert offers(router.handle(queued(clock, "c2", "general"))) == [("c2", "a1")]


def test_most_skilled_then_longest_idle(kernel: ModuleType) -> None:
    router, clock = make(
        kernel, agents(("low", {"billing": 2}), ("hi1", {"billing": 5}), ("hi2", {"billing": 5}))
    )
    ready(router, "low")
    clock.now += 1
    ready(router, "hi2")
    clock.now += 1
    ready(router, "hi1")
    assert offers(router.handle(queued(clock, "c1"))) == [("c1", "hi2")]
    assert offers(router.handle(queued(clock, "c2"))) == [("c2", "hi1")]
    assert offers(router.handle(queued(clock, "c3"))) == [("c3", "low")]
    assert offers(router.handle(queued(clock, "c4"))) == []


def test_billing_caller_goes_to_billing_agent(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("gen", {"business": 5}), ("bil", {"billing": 1})))
    ready(router, "gen")
    clock.now += 30
    ready(router, "bil")
    out = router.handle(queued(clock, "c1", "billing"))
    assert offers(out) == [("c1", "bil")]
    assert any(isinstance(e, CallOffered) and e.agent_id == "bil" for e in out)
    reserved = [e for e in out if isinstance(e, AgentStateChanged)]
    assert reserved == [
        AgentStateChanged(clock.now, "bil", AgentState.READY, AgentState.RESERVED, call_id="c1")
    ]


def test_least_calls_and_round_robin(kernel: ModuleType) -> None:
    queues = [
        QueueConfig("lc", ServiceType.BUSINESS, {}, policy=LEAST_CALLS),
        QueueConfig("rr", ServiceType.OPINION, {}, policy=ROUND_ROBIN),
    ]
    router, clock = make(kernel, agents(("a", {}), ("b", {}), ("c", {})), queues)
    ready(router, "a", "b", "c")
    # a and b each answer one call; c has none today
    for call_id, agent_id in (("x1", "a"), ("x2", "b")):
        out = router.handle(CallQueued(clock.now, call_id, "rr", ServiceType.OPINION))
        assert offers(out) == [(call_id, agent_id)]  # round robin from the start: a, then b
        router.handle(CallAnswered(clock.now, call_id, agent_id))
        router.handle(CallEnded(clock.now, call_id))
        router.agent_command(agent_id, T.END_WRAP_UP)
        clock.now += 1
    out = router.handle(CallQueued(clock.now, "x3", "lc", ServiceType.BUSINESS))
    assert offers(out) == [("x3", "c")]
    out = router.handle(CallQueued(clock.now, "x4", "rr", ServiceType.OPINION))
    assert offers(out) == [("x4", "a")]  # after b comes c (busy), then wraps to a


def test_fault_jumps_ahead(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 3, "fault": 3})))
    router.handle(queued(clock, "bill"))
    clock.now += 5
    router.handle(queued(clock, "fault", "fault"))
    assert [w.call_id for w in router.waiting()] == ["fault", "bill"]
    assert [w.call_id for w in router.waiting("billing")] == ["bill"]
    assert offers(ready(router, "a")) == [("fault", "a")]


def test_vip_and_event_priority_raise_the_call(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})), vip_numbers=frozenset({"888"}))
    router.handle(queued(clock, "plain", caller="111"))
    router.handle(queued(clock, "vip", caller="888"))
    router.handle(queued(clock, "ivr-prio", caller="222", priority=1))
    assert [w.call_id for w in router.waiting()] == ["vip", "ivr-prio", "plain"]


def test_vip_numbers_changed_live_move_the_waiting_calls(kernel: ModuleType) -> None:
    """set_vip_numbers (the configuration's VIP list, live): a waiting call of a number that
    becomes VIP moves ahead; one whose number stops being VIP moves back; an offered call's
    priority moves too (a missed ring puts it back in line with it)."""
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    router.handle(queued(clock, "first", caller="111"))
    router.handle(queued(clock, "second", caller="888"))
    router.set_vip_numbers(frozenset({"888"}))
    assert [(w.call_id, w.priority) for w in router.waiting()] == [
        ("second", VIP_BOOST), ("first", 0)]
    assert router.vip_numbers == frozenset({"888"})
    router.handle(queued(clock, "third", caller="888"))
    assert [w.call_id for w in router.waiting()] == ["second", "third", "first"]
    assert offers(ready(router, "a")) == [("second", "a")]
    router.set_vip_numbers(frozenset({"111"}))
    assert [(w.call_id, w.priority) for w in router.waiting()] == [
        ("first", VIP_BOOST), ("third", 0)]
    router.set_vip_numbers(frozenset())
    assert [(w.call_id, w.priority) for w in router.waiting()] == [("first", 0), ("third", 0)]


def test_cross_node_fifo_by_enqueue_time(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    # node-b's event is delivered later but its caller queued first
    router.handle(CallQueued(1000.5, "from-a", "billing", ServiceType.BILLING, node="ast-a"))
    router.handle(CallQueued(1000.2, "from-b", "billing", ServiceType.BILLING, node="ast-b"))
    clock.now = 1001.0
    assert [w.call_id for w in router.waiting()] == ["from-b", "from-a"]
    assert offers(ready(router, "a")) == [("from-b", "a")]


# --- the ring and its outcomes ------------------------------------------------------------------


def test_ring_no_answer_back_to_head_with_original_wait(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    router.handle(queued(clock, "c1"))
    clock.now += 1
    router.handle(queued(clock, "c2"))
    clock.now += 1
    assert offers(ready(router, "a")) == [("c1", "a")]
    router.handle(AgentRinging(clock.now, "c1", "a"))
    assert router.agent("a").state == AgentState.RINGING
    clock.now += 8
    out = router.handle(RingNoAnswer(clock.now, "c1", "a"))
    change = next(e for e in out if isinstance(e, AgentStateChanged))
    assert (change.old, change.new, change.reason) == (
        AgentState.RINGING,
        AgentState.NOT_READY,
        MISSED,
    )
    assert router.agent("a").reason == MISSED
    line = router.waiting()
    assert [w.call_id for w in line] == ["c1", "c2"]
    assert line[0].enqueued_at == 1000.0 and line[0].wait_s == 10.0
    out = ready(router, "b")
    assert offers(out) == [("c1", "b")]
    assert next(d for d in out if isinstance(d, Offer)).wait_s == 10.0


def test_requeued_call_goes_ahead_of_older_calls(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    ready(router, "a")
    clock.now += 1
    router.handle(queued(clock, "young"))  # offered to a at once
    router.agent_command("b", T.LOGIN)
    router.handle(CallQueued(clock.now - 10, "old", "billing", ServiceType.BILLING))
    router.handle(RingNoAnswer(clock.now, "young", "a"))
    assert [w.call_id for w in router.waiting()] == ["young", "old"]


def test_ring_timeout_on_tick(kernel: ModuleType) -> None:
    """A phone that rings and is not answered: the agent missed it, ring_timeout_s after the
    ring began (not after the offer)."""
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    ready(router, "a")
    router.handle(queued(clock, "c1"))
    clock.now += 2.0
    router.handle(AgentRinging(clock.now, "c1", "a"))  # the node took 2 s to dial
    clock.now += 14.9
    assert router.tick() == []
    ready(router, "b")  # b turns ready while c1 still rings at a
    clock.now += 0.1
    out = router.tick()
    assert router.agent("a").state == AgentState.NOT_READY
    assert router.agent("a").reason == MISSED
    assert offers(out) == [("c1", "b")]


def test_an_offer_the_node_is_slow_to_ring_is_not_the_agents_miss(kernel: ModuleType) -> None:
    """An overloaded node took up to 51 s from an offer to the ring (bench.hold, 1,000 callers
    with media on 2 cores). Counted from the offer, every such offer set its agent not ready
    "missed" and the line stopped: the phone not ringing yet waits offer_reach_s, and rings
    for ring_timeout_s from then; one never rung is given up after offer_reach_s."""
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    reach = RouterConfig(queues=[], agents=[]).offer_reach_s
    ready(router, "a")
    router.handle(queued(clock, "c1"))
    router.handle(queued(clock, "c2"))  # waits: a is reserved for c1
    clock.now += 30.0
    assert router.tick() == [] and router.agent("a").state == AgentState.RESERVED
    router.handle(AgentRinging(clock.now, "c1", "a"))
    clock.now += 1.0
    router.handle(CallAnswered(clock.now, "c1", "a"))
    assert router.agent("a").state == AgentState.ON_CALL
    ready(router, "b")  # takes c2, and its phone never rings (the node lost the offer)
    assert router.agent("b").state == AgentState.RESERVED
    clock.now += reach - 0.1
    assert router.tick() == []
    clock.now += 0.1
    router.tick()
    assert router.agent("b").state == AgentState.NOT_READY
    assert [w.call_id for w in router.waiting()] == ["c2"]


def test_never_two_offers_to_one_agent(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    ready(router, "a")
    first = router.handle(queued(clock, "c1"))
    second = router.handle(queued(clock, "c2"))
    assert offers(first) == [("c1", "a")] and offers(second) == []
    router.handle(CallAnswered(clock.now, "c1", "a"))
    assert router.agent("a").calls_today == 1
    assert offers(router.handle(CallEnded(clock.now, "c1"))) == []
    assert router.agent("a").state == AgentState.AFTER_CALL_WORK
    assert offers(router.agent_command("a", T.END_WRAP_UP)) == [("c2", "a")]


def test_caller_hangs_up_while_ringing(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    ready(router, "a")
    clock.now += 3
    ready(router, "b")
    router.handle(queued(clock, "c1"))
    router.handle(AgentRinging(clock.now, "c1", "a"))
    router.handle(queued(clock, "c2"))  # goes to b
    router.handle(queued(clock, "c3"))  # waits
    clock.now += 2
    out = router.handle(CallEnded(clock.now, "c1"))
    change = next(e for e in out if isinstance(e, AgentStateChanged))
    assert (change.old, change.new) == (AgentState.RINGING, AgentState.READY)
    assert offers(out) == [("c3", "a")]
    assert router.agent("a").idle_since == 1000.0  # a cancelled offer keeps the agent's rank


def test_abandon_and_failsafe_leave_the_line(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    router.handle(queued(clock, "gone"))
    router.handle(queued(clock, "failsafe"))
    router.handle(CallEnded(clock.now, "gone"))
    router.handle(FailsafeTaken(clock.now, "failsafe", "billing"))
    assert router.waiting() == []
    assert offers(ready(router, "a")) == []


def test_events_that_do_not_match_are_ignored(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    ready(router, "a", "b")
    router.handle(queued(clock, "c1"))  # offered to a
    assert router.handle(AgentRinging(clock.now, "c1", "b")) == []
    assert router.handle(CallAnswered(clock.now, "unknown", "b")) == []
    assert router.ignored == 2
    assert router.agent("b").state == AgentState.READY


# --- time-driven routing ------------------------------------------------------------------------


def test_bullseye_expands_requirements(kernel: ModuleType) -> None:
    q = QueueConfig(
        "billing",
        ServiceType.BILLING,
        {"billing": 4},
        expand_after=[(10.0, {"billing": 2}), (20.0, {"billing": 1})],
    )
    router, clock = make(kernel, agents(("junior", {"billing": 2})), [q])
    ready(router, "junior")
    assert offers(router.handle(queued(clock, "c1"))) == []
    assert router.waiting()[0].requirements == {"billing": 4}
    clock.now += 9.9
    assert offers(router.tick()) == []
    clock.now += 0.1
    out = router.tick()
    assert offers(out) == [("c1", "junior")]
    why = next(d for d in out if isinstance(d, Offer)).explanation
    assert why.requirements == (("billing", 2),)


def test_overflow_to_named_queue(kernel: ModuleType) -> None:
    q = QueueConfig(
        "billing", ServiceType.BILLING, {"billing": 1}, overflow_to="general", overflow_wait_s=30
    )
    router, clock = make(kernel, agents(("gen", {"general": 1})), [q, GENERAL])
    ready(router, "gen")
    assert offers(router.handle(queued(clock, "c1"))) == []
    clock.now += 29
    assert router.tick() == []
    clock.now += 1
    out = router.tick()
    assert CallOverflowed(clock.now, "c1", "billing", "general") in out
    offer = next(d for d in out if isinstance(d, Offer))
    assert (offer.agent_id, offer.queue, offer.wait_s) == ("gen", "billing", 30.0)
    assert (offer.explanation.queue, offer.explanation.reason) == ("general", "overflow")


def test_preferred_agent_then_anyone(kernel: ModuleType) -> None:
    router, clock = make(
        kernel, agents(("other", {"billing": 5}), ("owner", {"billing": 1}), ("x", {}))
    )
    router.mark_repeat("c1", preferred_agent_id="owner")  # before the call is queued
    ready(router, "other")
    router.agent_command("owner", T.LOGIN)
    out = router.handle(queued(clock, "c1"))
    assert offers(out) == []
    assert router.waiting()[0].preferred_agent == "owner"
    clock.now += 3
    out = router.agent_command("owner", T.READY)
    assert offers(out) == [("c1", "owner")]
    why = router.explain("c1")[0]
    assert why.reason == "preferred_agent"
    assert why.verdict("other") is not None and why.verdict("other").verdict == NOT_PREFERRED

    router.mark_repeat("c2", preferred_agent_id="x")
    router.agent_command("x", T.LOGIN)
    router.handle(queued(clock, "c2"))
    clock.now += 9.9
    assert offers(router.tick()) == []
    clock.now += 0.1
    assert offers(router.tick()) == [("c2", "other")]  # the preference expired


def test_repeat_caller_priority_and_logged_out_preference(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("gone", {"billing": 1})))
    router.handle(queued(clock, "first"))
    clock.now += 1
    router.handle(queued(clock, "repeat"))
    router.mark_repeat("repeat", preferred_agent_id="gone")  # logged out: no waiting for them
    assert [w.call_id for w in router.waiting()] == ["repeat", "first"]
    assert offers(ready(router, "a")) == [("repeat", "a")]


def test_callback_keeps_place_and_comes_due(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    router.handle(queued(clock, "cb"))
    clock.now += 1
    router.handle(queued(clock, "later"))
    assert router.request_callback("cb", "13800138000") == []
    router.handle(CallEnded(clock.now, "cb"))  # the controller hangs the caller up
    assert [w.call_id for w in router.waiting()] == ["cb", "later"]
    assert router.waiting()[0].callback_number == "13800138000"
    clock.now += 60
    out = ready(router, "a")
    due = [d for d in out if isinstance(d, CallbackDue)]
    assert [(d.call_id, d.agent_id, d.number, d.wait_s) for d in due] == [
        ("cb", "a", "13800138000", 61.0)
    ]
    assert offers(out) == []
    assert router.agent("a").state == AgentState.RESERVED
    with pytest.raises(UnknownCall):
        router.request_callback("nope", "1")


# --- supervisor edits -----------------------------------------------------------------------------


def test_skill_edit_takes_effect_for_next_decision(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"business": 3})))
    ready(router, "a")
    assert offers(router.handle(queued(clock, "c1"))) == []
    assert offers(router.set_skills("a", {"business": 3, "billing": 2})) == [("c1", "a")]
    assert router.agent("a").skills == {"business": 3, "billing": 2}


def test_add_and_remove_agents(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    router.handle(queued(clock, "c1"))
    router.add_agent(AgentConfig("new", {"billing": 2}, name="New One"))
    with pytest.raises(DuplicateAgent):
        router.add_agent(AgentConfig("new"))
    assert offers(ready(router, "new")) == [("c1", "new")]
    with pytest.raises(AgentBusy):
        router.remove_agent("new")
    ready(router, "a")
    out = router.remove_agent("a")
    assert [(e.old, e.new) for e in out] == [(AgentState.READY, AgentState.LOGGED_OUT)]
    assert offers(router.handle(queued(clock, "c2"))) == []
    with pytest.raises(UnknownAgent):
        router.agent("a")


# --- explanations and errors --------------------------------------------------------------------


def test_explanation_content(kernel: ModuleType) -> None:
    q = QueueConfig("billing", ServiceType.BILLING, {"billing": 2})
    router, clock = make(
        kernel,
        agents(
            ("best", {"billing": 5}),
            ("second", {"billing": 3}),
            ("weak", {"billing": 1}),
            ("busy", {"billing": 5}),
            ("none", {"fault": 5}),
        ),
        [q],
    )
    ready(router, "second", "weak", "best")
    router.agent_command("busy", T.LOGIN, "training")
    out = router.handle(queued(clock, "c1"))
    offer = next(d for d in out if isinstance(d, Offer))
    why = offer.explanation
    assert router.explain("c1") == [why]
    assert (why.chosen, why.policy, why.reason) == ("best", "most_skilled", "policy")
    assert why.eligible == ("best", "second")
    assert why.requirements == (("billing", 2),)
    verdicts = {c.agent_id: (c.verdict, c.detail) for c in why.passed_over}
    assert verdicts["second"][0] == RANKED_LOWER and "rank 2" in verdicts["second"][1]
    second = next(c for c in why.passed_over if c.agent_id == "second")
    # every field where it belongs (explain.py builds them positionally)
    assert (second.rank, second.policy, second.skill, second.level, second.calls_today) == (
        2, "most_skilled", "billing", 3, 0
    )
    assert second.idle_since == router.agent("second").idle_since
    assert verdicts["weak"] == (SKILL, "billing level 1 < 2")
    assert verdicts["busy"] == (NOT_READY, "not_ready (training)")
    assert "none" not in verdicts  # only the holders of the primary skill are looked at
    assert router.explain("unknown") == []


def test_explanations_kept_per_decision(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    ready(router, "a")
    router.handle(queued(clock, "c1"))
    router.handle(RingNoAnswer(clock.now, "c1", "a"))
    ready(router, "b")
    assert [w.chosen for w in router.explain("c1")] == ["a", "b"]
    verdict = router.explain("c1")[1].verdict("a")
    assert verdict is not None and verdict.detail == "not_ready (missed)"


def test_illegal_commands_raise_named_errors(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    with pytest.raises(IllegalTransition) as err:
        router.agent_command("a", T.READY)
    assert (err.value.state, err.value.trigger) == (AgentState.LOGGED_OUT, T.READY)
    with pytest.raises(UnknownAgent):
        router.agent_command("ghost", T.LOGIN)
    with pytest.raises(KeyError):  # UnknownAgent is KeyError-like
        router.agent("ghost")
    with pytest.raises(IllegalCommand):
        router.agent_command("a", T.RESERVE)
    ready(router, "a")
    router.handle(queued(clock, "c1"))
    router.handle(CallAnswered(clock.now, "c1", "a"))
    with pytest.raises(IllegalTransition):
        router.agent_command("a", T.LOGOUT)
    with pytest.raises(UnknownQueue):
        router.handle(queued(clock, "c2", "nowhere"))
    with pytest.raises(ValueError):
        QueueConfig("bad", ServiceType.BILLING, policy="fastest")
    with pytest.raises(ValueError):
        router.set_skills("a", {"billing": 9})


# --- a replayed random day: invariants ------------------------------------------------------------


def test_random_replay_keeps_invariants(kernel: ModuleType) -> None:
    rng = random.Random(7)
    skills = ["billing", "fault", "business"]
    queues = [
        QueueConfig(
            "billing", ServiceType.BILLING, {"billing": 2}, expand_after=[(20, {"billing": 1})]
        ),
        QueueConfig("fault", ServiceType.FAULT, {"fault": 1}, priority=10, policy=LEAST_CALLS),
        QueueConfig(
            "business",
            ServiceType.BUSINESS,
            {"business": 1},
            policy=ROUND_ROBIN,
            overflow_to="general",
            overflow_wait_s=40,
        ),
        GENERAL,
    ]
    crew = [
        AgentConfig(f"a{i}", {s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(1, 3))})
        for i in range(12)
    ]
    router, clock = make(kernel, crew, queues)
    holding: dict[str, str] = {}  # agent -> call offered or talking
    live: set[str] = set()
    for n in range(1500):
        clock.now += rng.random() * 2
        roll = rng.random()
        out: list[Event | Offer | CallbackDue] = []
        agent_id = f"a{rng.randrange(12)}"
        state = router.agent(agent_id).state
        if roll < 0.25:
            call_id = f"c{n}"
            live.add(call_id)
            out = router.handle(queued(clock, call_id, rng.choice([q.name for q in queues])))
        elif roll < 0.45 and state in (AgentState.LOGGED_OUT, AgentState.NOT_READY):
            out = ready(router, agent_id)
        elif roll < 0.5 and state in (AgentState.READY, AgentState.AFTER_CALL_WORK):
            out = router.agent_command(agent_id, T.NOT_READY, "break")
        elif roll < 0.65 and state == AgentState.AFTER_CALL_WORK:
            out = router.agent_command(agent_id, T.END_WRAP_UP)
        elif roll < 0.8 and state in (AgentState.RESERVED, AgentState.RINGING):
            event = rng.choice([CallAnswered, RingNoAnswer])
            out = router.handle(event(clock.now, holding[agent_id], agent_id))
        elif roll < 0.83 and live:
            call_id = rng.choice(sorted(live))
            out = router.mark_repeat(call_id, rng.choice([None, agent_id]))
        elif roll < 0.85:
            new_skills = {s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(0, 3))}
            out = router.set_skills(agent_id, new_skills)
        elif roll < 0.9 and live:
            call_id = rng.choice(sorted(live))
            live.discard(call_id)
            out = router.handle(CallEnded(clock.now, call_id))
        else:
            out = router.tick()
        for item in out:
            if isinstance(item, AgentStateChanged):
                if item.new == AgentState.RESERVED:
                    assert item.old == AgentState.READY  # offers only to ready agents
                    assert item.agent_id not in holding  # never two calls at once
                    holding[item.agent_id] = item.call_id
                elif item.new in (AgentState.READY, AgentState.NOT_READY):
                    holding.pop(item.agent_id, None)
            elif isinstance(item, Offer):
                why = item.explanation
                assert why.eligible[0] == why.chosen == item.agent_id
                assert holding[item.agent_id] == item.call_id
        assert router.rank_mismatches == 0
        if n % 10:
            continue
        # whatever is left waiting has no ready agent able to take it (the router's invariant)
        free = [v for v in router.agents() if v.state == AgentState.READY]
        for w in router.waiting():
            if w.preferred_agent is None:
                for view in free:
                    meets = (view.skills.get(s, 0) >= max(m, 1) for s, m in w.requirements.items())
                    assert not all(meets)


def test_router_uses_the_selected_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(selector.PURE_ENV, raising=False)
    config = RouterConfig([GENERAL], agents(("a", {})))
    assert selector.is_compiled(Router(config, Clock()).kernel)
    monkeypatch.setenv(selector.PURE_ENV, "1")
    assert Router(config, Clock()).kernel is select_agent_py


def test_explanation_is_bounded(kernel: ModuleType) -> None:
    crew = agents(*((f"e{i}", {"billing": 3}) for i in range(6)), ("low", {"billing": 1}))
    q = QueueConfig("billing", ServiceType.BILLING, {"billing": 2}, policy=LONGEST_IDLE)
    router, clock = make(kernel, crew, [q], explain_limit=2)
    for i in range(6):
        ready(router, f"e{i}")
        clock.now += 1
    offer = next(d for d in router.handle(queued(clock, "c1")) if isinstance(d, Offer))
    why = offer.explanation
    assert why.eligible == ("e0", "e1")
    assert [c.agent_id for c in why.passed_over] == ["e1", "low"]
    assert why.omitted == 4  # e2..e5: eligible, ranked beyond the limit


def test_failsafe_while_offered_frees_the_agent(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})))
    ready(router, "a")
    router.handle(queued(clock, "c1"))
    router.handle(queued(clock, "c2"))
    out = router.handle(FailsafeTaken(clock.now, "c1", "billing"))
    assert offers(out) == [("c2", "a")]
    router.mark_repeat("c2", "a")  # already offered: nothing to route any more
    assert router.waiting() == []


def test_reset_daily_for_least_calls(kernel: ModuleType) -> None:
    q = QueueConfig("lc", ServiceType.BUSINESS, {}, policy=LEAST_CALLS)
    router, clock = make(kernel, agents(("a", {}), ("b", {})), [q])
    ready(router, "a")
    router.handle(CallQueued(clock.now, "x", "lc", ServiceType.BUSINESS))
    router.handle(CallAnswered(clock.now, "x", "a"))
    router.handle(CallEnded(clock.now, "x"))
    router.agent_command("a", T.END_WRAP_UP)
    clock.now += 1
    ready(router, "b")  # b idles less but has no calls today
    assert router.agent("a").calls_today == 1
    router.reset_daily()
    assert router.agent("a").calls_today == 0
    out = router.handle(CallQueued(clock.now, "y", "lc", ServiceType.BUSINESS))
    assert offers(out) == [("y", "a")]  # calls equal again: a has waited longest


def test_unrung_offer_is_the_offer_the_callers_channel_has_not_acted_on(
        kernel: ModuleType) -> None:
    """What the controller gives a hold session that opens after the offer was made (the
    AMI event came first, or a lease ran out with the offer unread)."""
    router, clock = make(kernel, agents(("bil", {"billing": 1})))
    assert router.unrung_offer("c1") is None  # unknown
    router.handle(queued(clock, "c1"))
    assert router.unrung_offer("c1") is None  # waiting: nobody ready
    ready(router, "bil")
    assert router.unrung_offer("c1") == "bil"  # offered, the agent reserved
    router.handle(AgentRinging(clock.now, call_id="c1", agent_id="bil"))
    assert router.unrung_offer("c1") is None  # the channel dialled: it acted on it
    router.handle(CallAnswered(clock.now, call_id="c1", agent_id="bil"))
    assert router.unrung_offer("c1") is None
