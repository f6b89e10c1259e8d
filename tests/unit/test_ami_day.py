"""A small simulated day (tests/helpers/ami_day.py, the input of bench.ami), written
closed-loop against the router, replays through a fresh ingest path with exactly the same
decisions and the outcomes simulated."""

from __future__ import annotations

import re

import pytest

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallQueued,
    EndpointStatus,
    RingNoAnswer,
)
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from tests.helpers.ami_day import (
    Day,
    DayPlan,
    Ingest,
    apply_eventfilter,
    build_floor,
    generate_day,
    kernels,
    manager_eventfilter,
    replay,
)

# A crowded little floor, so that every path of a call shows up in 150 calls: waits, rings
# that run out, abandons long and short, holds, hang-ups by either side, self-service.
PLAN = DayPlan(
    calls=150,
    agents=12,
    load=1.05,
    ring_no_answer=0.08,
    short_abandon=0.08,
    patience_s=60.0,
    seed=3,
)


@pytest.fixture(scope="module")
def day() -> Day:
    return generate_day(PLAN)


def test_the_day_has_every_kind_of_call(day: Day) -> None:
    out, counts = day.outcomes, day.counts
    assert sum(out.values()) == PLAN.calls
    for outcome in ("answered", "abandoned", "short_abandoned", "self_served"):
        assert out[outcome] > 0, out
    for what in ("ring_no_answer", "waited_over_1s", "holds", "agent_hung_up"):
        assert counts[what] > 0, counts
    assert day.timers_fired["end_wrap_up"] > 0 and day.timers_fired["ready"] > 0
    assert day.router_ignored == 0
    stamps = [float(s) for s in re.findall(rb"\r\nTimestamp: ([0-9.]+)\r\n", day.data)]
    assert len(stamps) == day.messages
    assert stamps == sorted(stamps)  # a replay sees time as the generator did


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "twins"])
def test_replay_decides_as_the_generator_did(day: Day, pure: bool) -> None:
    ingest, mapper = replay(day, kernels(pure=pure), read_size=4096)
    assert not mapper.stats.malformed
    assert mapper.stats.mapped == day.typed_events
    assert ingest.offers == day.offers
    assert ingest.router.ignored == 0
    assert ingest.router.rank_mismatches == 0
    # Every call ended, as simulated, by the CallModel's account...
    assert ingest.model.ended_count == PLAN.calls and len(ingest.model) == 0
    assert ingest.model.anomaly_count == 0
    assert ingest.outcomes == day.outcomes
    # ... and by the metrics' (abandoned counts the short ones too).
    assert ingest.live is not None
    figures = ingest.live.metrics.queue_figures(None, "today", ingest.clock.now)
    out = day.outcomes
    assert figures.answered == out["answered"]
    assert figures.short_abandoned == out["short_abandoned"]
    assert figures.abandoned == out["abandoned"] + out["short_abandoned"]
    assert figures.offered == PLAN.calls - out["self_served"]
    assert figures.missed_rings == day.counts["ring_no_answer"]


def test_the_eventfilter_changes_no_decision(day: Day) -> None:
    pattern = manager_eventfilter()
    assert pattern is not None
    filtered = apply_eventfilter(day.data, pattern)
    assert len(filtered) < len(day.data)
    ingest, _ = replay(day, data=filtered, metrics=False)
    assert ingest.offers == day.offers
    assert ingest.outcomes == day.outcomes


def test_timers_fire_in_due_order_at_their_own_time() -> None:
    """Wrap-up ends and a missed agent's return fire at their due time, not at the event that
    lets them fire; what they set off (an offer) happens at that time too."""
    floor = build_floor(DayPlan(agents=2, wrap_up_s=5.0, missed_pause_s=7.0))
    ingest = Ingest(floor, kernels(), metrics=False)  # logs both agents in, ready
    timers, t0 = ingest.timers, floor.t0
    state = {a: ingest.router.agent(a).state for a in ("agent1", "agent2")}
    assert set(state.values()) == {AgentState.READY}

    def queued(t: float, call_id: str) -> CallQueued:
        return CallQueued(
            t, node="n", call_id=call_id, queue="general", service=ServiceType.GENERAL
        )

    ingest.feed([queued(t0, "c1")])
    ((_, first, _),) = ingest.offers
    ingest.feed(
        [
            AgentRinging(t0, node="n", call_id="c1", agent_id=first),
            CallAnswered(t0 + 0.5, node="n", call_id="c1", agent_id=first),
            CallEnded(t0 + 0.7, node="n", call_id="c1"),  # wrap-up until t0 + 5.7
            queued(t0 + 1, "c2"),
        ]
    )
    second = ingest.offers[1][1]
    assert second != first
    ingest.feed([RingNoAnswer(t0 + 2, node="n", call_id="c2", agent_id=second)])  # to t0 + 9
    assert len(ingest.offers) == 2  # nobody ready: c2 waits
    # any event late enough lets everything due fire
    ingest.feed([EndpointStatus(t0 + 20, node="n", endpoint="agent9", reachable=True)])
    # At t0 + 5.7 the first agent is ready and takes c2 at once; the second is back at t0 + 9.
    assert ingest.offers[2] == ("c2", first, pytest.approx(t0 + 5.7, abs=1e-6))
    assert ingest.router.agent(second).state is AgentState.READY
    assert ingest.router.agent(second).idle_since == pytest.approx(t0 + 9, abs=1e-6)
    assert timers.fired == {"tick": 100, "end_wrap_up": 1, "ready": 1}
    assert ingest.router.ignored == 0
