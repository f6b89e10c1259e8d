"""Callback retries and transfers back to a queue, replayed on the router with an injected
clock (both selection kernels), and the call model's record of them (timeline, outcome)."""

from __future__ import annotations

from types import ModuleType

from hotline.core.events import (
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallbackAttempted,
    CallbackFailed,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallOffered,
    CallQueued,
    CallRequeued,
    Event,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState, CallOutcome
from hotline.core.values import ServiceType
from hotline.router import CallbackDue, Offer
from hotline.telephony.ami.call_model import CallModel
from tests.helpers.router_floor import T, agents, make, offers, queued, ready

NUMBER = "13800138000"


def dues(out: list) -> list[tuple[str, str, int]]:
    return [(d.call_id, d.agent_id, d.attempt) for d in out if isinstance(d, CallbackDue)]


def of(kind: type, out: list) -> list:
    return [e for e in out if isinstance(e, kind)]


def on_virtual_hold(router, clock, call_id: str = "cb") -> None:  # type: ignore[no-untyped-def]
    router.request_callback(call_id, NUMBER)
    router.handle(CallEnded(clock.now, call_id))  # the caller hangs up: the place is kept


# --- callback retries -----------------------------------------------------------------------


def test_unreached_callback_frees_the_agent_and_retries_in_its_place(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})), callback_retry_s=120.0)
    for call_id in ("cb", "later", "later2"):
        router.handle(queued(clock, call_id))
        clock.now += 1
    on_virtual_hold(router, clock)
    clock.now += 10
    assert dues(ready(router, "a")) == [("cb", "a", 1)]
    busy_at = clock.now
    out = router.handle(CallEnded(clock.now, "cb", cause=17, cause_text="User busy"))
    [tried] = of(CallbackAttempted, out)
    assert (tried.attempt, tried.agent_id, tried.cause, tried.retry_at) == (
        1, "a", 17, busy_at + 120.0)
    # The agent is not held idle for the pause: free at once, it takes the next caller.
    assert [(e.old, e.new) for e in of(AgentStateChanged, out)] == [
        (AgentState.RESERVED, AgentState.READY), (AgentState.READY, AgentState.RESERVED)]
    assert offers(out) == [("later", "a")]
    assert not of(CallbackFailed, out)
    pausing = {w.call_id: w for w in router.waiting()}
    assert (pausing["cb"].callback_attempts, pausing["cb"].retry_at) == (1, busy_at + 120.0)
    router.handle(CallEnded(clock.now, "cb"))  # a stray hang-up in the pause changes nothing
    assert router.callback_attempts("cb") == [tried]

    router.handle(AgentRinging(clock.now, "later", "a"))
    router.handle(CallAnswered(clock.now, "later", "a"))
    clock.now += 20
    router.handle(CallEnded(clock.now, "later"))
    clock.now += 100  # the pause is over: back in line, ahead of later2 (its old place)
    assert router.tick() == []
    assert [(w.call_id, w.retry_at) for w in router.waiting()] == [
        ("cb", None), ("later2", None)]
    out = router.agent_command("a", T.END_WRAP_UP)
    assert dues(out) == [("cb", "a", 2)]
    assert [w.callback_attempt for w in router.explain("cb")] == [1, 2]
    # Reached this time: the agent rings once the customer answered.
    router.handle(AgentRinging(clock.now, "cb", "a"))
    router.handle(CallAnswered(clock.now, "cb", "a"))
    out = router.handle(CallEnded(clock.now + 30, "cb"))
    assert not of(CallbackAttempted, out)
    assert router.agent("a").state == AgentState.AFTER_CALL_WORK


def test_after_the_last_attempt_the_call_fails_unreached(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})), callback_attempts=2,
                         callback_retry_s=30.0)
    router.handle(queued(clock, "cb"))
    on_virtual_hold(router, clock)
    assert dues(ready(router, "a")) == [("cb", "a", 1)]
    router.handle(CallEnded(clock.now, "cb", cause=19, cause_text="No answer"))
    assert router.knows("cb")  # between attempts: still the router's
    clock.now += 29.9
    assert dues(router.tick()) == []
    clock.now += 0.1
    assert dues(router.tick()) == [("cb", "a", 2)]
    out = router.handle(CallEnded(clock.now, "cb", cause=17))
    assert not router.knows("cb")
    [tried] = of(CallbackAttempted, out)
    assert (tried.attempt, tried.retry_at) == (2, None)
    assert of(CallbackFailed, out) == [CallbackFailed(clock.now, call_id="cb", attempts=2)]
    assert router.agent("a").state == AgentState.READY
    assert router.waiting() == []
    assert router.handle(CallEnded(clock.now, "cb")) == []


def test_callback_leg_never_reported_counts_as_an_attempt_not_a_missed_ring(
        kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("a", {"billing": 1})), ring_timeout_s=10.0)
    router.handle(queued(clock, "cb"))
    on_virtual_hold(router, clock)
    ready(router, "a")
    clock.now += 10
    out = router.tick()
    assert [t.attempt for t in of(CallbackAttempted, out)] == [1]
    assert router.agent("a").state == AgentState.READY  # not not_ready(missed)


def test_reached_callback_that_rings_out_is_offered_as_a_live_caller(kernel: ModuleType) -> None:
    """Once the customer answered the callback they are on the line: after the agent's ring
    goes unanswered the call is redirected (Offer), never originated a second time."""
    router, clock = make(kernel, agents(("a", {"billing": 1}), ("b", {"billing": 1})))
    router.handle(queued(clock, "cb"))
    on_virtual_hold(router, clock)
    ready(router, "a")
    router.handle(AgentRinging(clock.now, "cb", "a"))
    out = router.handle(RingNoAnswer(clock.now, "cb", "a"))
    assert offers(out) == [] and dues(out) == []
    out = ready(router, "b")
    assert offers(out) == [("cb", "b")] and dues(out) == []
    assert router.handle(CallEnded(clock.now, "cb")) != []  # the live caller hung up: gone
    assert router.waiting() == []


# --- transfer back to a queue ---------------------------------------------------------------


def test_transfer_to_a_queue_requeues_the_same_call(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("gen", {"general": 5}), ("bil", {"billing": 5})))
    ready(router, "gen")
    out = router.handle(queued(clock, "c1", "general"))
    assert offers(out) == [("c1", "gen")]
    router.handle(AgentRinging(clock.now, "c1", "gen"))
    router.handle(CallAnswered(clock.now, "c1", "gen"))
    clock.now += 40
    out = router.handle(CallRequeued(clock.now, "c1", "billing", agent_id="gen"))
    assert [(e.agent_id, e.new) for e in of(AgentStateChanged, out)] == [
        ("gen", AgentState.AFTER_CALL_WORK)]
    [view] = router.waiting()
    assert (view.call_id, view.queue, view.wait_s) == ("c1", "billing", 0.0)
    clock.now += 2
    out = ready(router, "bil")
    [offer] = [d for d in out if isinstance(d, Offer)]
    assert (offer.call_id, offer.agent_id, offer.queue, offer.wait_s) == ("c1", "bil", "billing",
                                                                          2.0)
    router.handle(AgentRinging(clock.now, "c1", "bil"))
    router.handle(CallAnswered(clock.now, "c1", "bil"))
    out = router.handle(TalkEnded(clock.now, "c1", "bil"))
    assert router.agent("bil").state == AgentState.AFTER_CALL_WORK
    assert [e.queue for e in router.explain("c1")] == ["general", "billing"]


def test_transfer_goes_to_the_head_and_unknown_targets_keep_the_queue(kernel: ModuleType) -> None:
    router, clock = make(kernel, agents(("gen", {"general": 5, "billing": 1})))
    ready(router, "gen")
    router.handle(queued(clock, "c1", "general"))
    router.handle(CallAnswered(clock.now, "c1", "gen"))
    clock.now += 5
    router.handle(queued(clock, "waiting", "billing"))
    clock.now += 5
    router.handle(CallRequeued(clock.now, "c1", "nosuchqueue"))
    assert [(w.call_id, w.queue) for w in router.waiting()] == [
        ("c1", "general"), ("waiting", "billing")]
    assert router.handle(CallRequeued(clock.now, "c1", "billing")) == []  # not talking: ignored


# --- what the call's record says --------------------------------------------------------------


def _replay(events: list[Event]) -> list:
    model = CallModel()
    return [c for c in (model.apply(e) for e in events) if c is not None]


def test_call_model_records_attempts_and_the_callback_failed_outcome() -> None:
    q = CallQueued(10.0, "c", "billing", ServiceType.BILLING, caller=NUMBER)
    [call] = _replay([
        CallEntered(1.0, "c", NUMBER, "95598", "PJSIP/caller-1"), q,
        CallbackRequested(20.0, "c", "billing", NUMBER), CallEnded(22.0, "c"),
        CallOffered(50.0, "c", "a", "billing", 40.0), CallEnded(52.0, "c", cause=17),
        CallbackAttempted(52.0, "c", 1, "a", cause=17, cause_text="User busy", retry_at=172.0),
        CallOffered(172.0, "c", "a", "billing", 162.0), CallEnded(200.0, "c", cause=19),
        CallbackAttempted(200.0, "c", 2, "a", cause=19),
        CallbackFailed(200.0, "c", attempts=2),
    ])
    assert call.outcome == CallOutcome.CALLBACK_FAILED
    assert (call.callback_attempts, call.wait_s, call.ended_at) == (2, 10.0, 200.0)
    whats = [w for _, w in call.timeline]
    assert whats[-3:] == ["callback_leg_ended:19", "callback_attempt:2:cause 19",
                          "callback_failed:2"]
    assert "callback_attempt:1:User busy, retry at 172.000" in whats
    assert not call.anomalies


def test_call_model_a_reached_callback_is_a_callback_and_a_transfer_keeps_its_answer() -> None:
    q = CallQueued(10.0, "c", "billing", ServiceType.BILLING)
    [call] = _replay([
        q, CallbackRequested(15.0, "c", "billing", NUMBER), CallEnded(16.0, "c"),
        CallOffered(30.0, "c", "a", "billing", 20.0), AgentRinging(31.0, "c", "a"),
        CallAnswered(32.0, "c", "a"), CallEnded(60.0, "c"),
    ])
    assert (call.outcome, call.wait_s, call.agent_id) == (CallOutcome.CALLBACK, 5.0, "a")

    [call] = _replay([
        CallQueued(10.0, "t", "general", ServiceType.GENERAL),
        CallOffered(11.0, "t", "gen", "general", 1.0), AgentRinging(11.0, "t", "gen"),
        CallAnswered(12.0, "t", "gen"), CallRequeued(40.0, "t", "billing", agent_id="gen"),
        CallOffered(41.0, "t", "bil", "billing", 1.0), AgentRinging(41.0, "t", "bil"),
        CallAnswered(43.0, "t", "bil"), CallEnded(90.0, "t"),
    ])
    assert (call.outcome, call.wait_s, call.agent_id, call.queue, call.transfers) == (
        CallOutcome.ANSWERED, 2.0, "bil", "billing", 1)
    assert "requeued:billing" in [w for _, w in call.timeline]
    assert not call.anomalies
