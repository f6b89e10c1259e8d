"""LiveFeed: events to coalesced deltas on the bus; diff / merge / filter of views."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hotline.core.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.realtime import Metrics
from hotline.realtime.live import LiveFeed, diff, filter_view, merge
from tests.helpers.waiting import wait_for

T0 = 1_795_430_000.0  # inside an interval, far from its end


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder:
    """A bus that keeps what was published (the feed's only output)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def publish(self, channel: str, message: str) -> None:
        self.messages.append(json.loads(message))


def queued(call: str, queue: str = "billing", at: float = T0) -> CallQueued:
    return CallQueued(at, call_id=call, queue=queue, service=ServiceType.BILLING)


async def test_a_burst_of_events_is_one_delta_with_only_what_changed() -> None:
    bus, clock = Recorder(), Clock(T0)
    feed = LiveFeed(Metrics(), bus, clock)
    for n in range(50):
        feed.on_item(queued(f"c{n}", "billing" if n % 2 else "fault"))
    await feed.flush()
    assert len(bus.messages) == 1
    msg = bus.messages[0]
    assert msg["type"] == "delta" and msg["seq"] == 1 and msg["changed"] == T0
    q = msg["data"]["queues"]
    assert q["billing"]["waiting"] == 25 and q["fault"]["today"]["offered"] == 25
    assert msg["data"]["all"]["waiting"] == 50
    clock.t += 3
    feed.on_item(CallAnswered(T0 + 3, call_id="c1", agent_id="a1"))
    await feed.flush()
    delta = bus.messages[1]["data"]
    assert set(delta["queues"]) == {"billing"}  # fault did not change
    assert delta["queues"]["billing"]["waiting"] == 24
    assert delta["queues"]["billing"]["today"]["answered"] == 1
    assert "offered" not in delta["queues"]["billing"]["today"]  # unchanged leaves stay out


async def test_abandon_moves_the_abandon_rate() -> None:
    bus, clock = Recorder(), Clock(T0)
    feed = LiveFeed(Metrics(), bus, clock)
    feed.on_item(queued("c1"))
    feed.on_item(queued("c2"))
    await feed.flush()
    clock.t += 30
    feed.on_item(CallEnded(T0 + 30, call_id="c1"))
    await feed.flush()
    today = bus.messages[-1]["data"]["queues"]["billing"]["today"]
    assert today["abandoned"] == 1 and today["abandon_rate"] == 0.5


async def test_agent_rows_and_states_by_queue() -> None:
    bus = Recorder()
    feed = LiveFeed(Metrics(), bus, Clock(T0))
    feed.set_agent_queues("a1", ["billing"])
    feed.on_item(
        AgentStateChanged(T0, agent_id="a1", old=AgentState.LOGGED_OUT, new=AgentState.NOT_READY)
    )
    feed.on_item(
        AgentStateChanged(T0, agent_id="a1", old=AgentState.NOT_READY, new=AgentState.READY)
    )
    await feed.flush()
    data = bus.messages[0]["data"]
    assert data["agents"]["a1"] == {
        "state": "ready",
        "reason": "",
        "since": T0,
        "call_id": "",
        "queues": ["billing"],
    }
    assert data["agents_by_state"]["all"]["ready"] == 1
    assert data["agents_by_state"]["billing"]["ready"] == 1
    feed.on_item(
        AgentStateChanged(
            T0 + 1, agent_id="a1", old=AgentState.READY, new=AgentState.NOT_READY, reason="meal"
        )
    )
    await feed.flush()
    row = {
        "state": "not_ready",
        "reason": "meal",
        "since": T0 + 1,
        "call_id": "",
        "queues": ["billing"],
    }
    assert bus.messages[1]["data"]["agents"] == {"a1": row}  # whole, not only what changed
    assert feed.view()["agents"]["a1"] == row


async def test_run_publishes_at_most_every_50_ms_and_ticks_without_events() -> None:
    bus = Recorder()
    clock = Clock(T0)
    feed = LiveFeed(Metrics(), bus, clock, min_interval_s=0.05, tick_s=0.3)
    feed.start()
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while loop.time() - start < 0.5:  # an event every 2 ms for half a second
            feed.on_item(queued(f"c{n}"))
            n += 1
            await asyncio.sleep(0.002)
        published = feed.published
        assert 2 <= published <= 0.5 / 0.05 + 2, published  # coalesced, not one per event
        assert bus.messages[-1]["data"]["queues"]["billing"]["waiting"] <= n
        # no events: the tick (every 0.3 s) still publishes, time moving on
        await wait_for(lambda: feed.published >= published + 1, 2, "a tick's publication")
        assert feed.view()["queues"]["billing"]["waiting"] == n
    finally:
        await feed.stop()


async def test_interval_change_publishes_a_snapshot_and_the_trend() -> None:
    bus, clock = Recorder(), Clock(T0)
    metrics = Metrics()
    feed = LiveFeed(metrics, bus, clock)
    feed.on_item(queued("c1"))
    feed.on_item(CallAnswered(T0 + 2, call_id="c1", agent_id="a1"))
    await feed.flush()
    clock.t = metrics.config.interval_start(metrics.config.interval_index(T0) + 1) + 1
    await feed.flush(tick=True)
    snap = bus.messages[-1]
    assert snap["type"] == "snapshot"
    trend = [p for p in snap["data"]["sl_trend"] if p["queue"] == "billing"]
    assert trend and trend[-1]["service_level"] == 1.0
    assert snap["data"]["queues"]["billing"]["interval"]["answered"] == 0
    assert json.loads(feed.snapshot())["data"] == snap["data"]


async def test_snapshot_filtered_by_queue() -> None:
    feed = LiveFeed(Metrics(), Recorder(), Clock(T0))
    feed.on_item(queued("c1", "billing"))
    feed.on_item(queued("c2", "fault"))
    await feed.flush()
    data = json.loads(feed.snapshot(frozenset({"fault"})))["data"]
    assert set(data["queues"]) == {"fault"}
    assert set(data["agents_by_state"]) == {"all", "fault"}
    assert data["all"]["waiting"] == 2  # centre-wide figures stay


# ---- pure helpers

leaf = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=3))
views = st.recursive(
    leaf, lambda inner: st.dictionaries(st.sampled_from("abcq"), inner, max_size=4), max_leaves=20
).filter(lambda v: isinstance(v, dict))


@given(views, views)
def test_merging_the_diff_equals_merging_the_whole(old: dict, new: dict) -> None:
    a, b = copy.deepcopy(old), copy.deepcopy(old)
    assert merge(a, diff(old, new)) == merge(b, copy.deepcopy(new))


@given(views)
def test_no_change_no_diff(view: dict) -> None:
    assert diff(view, copy.deepcopy(view)) == {}


def test_filter_keeps_agents_of_chosen_or_unknown_queues() -> None:
    view = {
        "agents": {
            "a": {"queues": ["billing"]},
            "b": {"queues": ["fault"]},
            "c": {"queues": []},
        },
        "sl_trend": [{"queue": None}, {"queue": "fault"}, {"queue": "billing"}],
    }
    out = filter_view(view, {"billing"})
    assert set(out["agents"]) == {"a", "c"}
    assert out["sl_trend"] == [{"queue": None}, {"queue": "billing"}]
    assert filter_view(view, None) is view


async def test_a_low_survey_answer_is_published_newest_first_and_kept_in_snapshots() -> None:
    bus, clock = Recorder(), Clock(T0)
    feed = LiveFeed(Metrics(), bus, clock)
    assert feed.view()["survey_alerts"] == []
    feed.survey_alert({"call_id": "c1", "agent_id": "a1", "nps": 3, "order_id": 7})
    await feed.flush()
    assert bus.messages[-1]["data"]["survey_alerts"] == [
        {"call_id": "c1", "agent_id": "a1", "nps": 3, "order_id": 7}]
    feed.survey_alert({"call_id": "c2", "agent_id": "a2", "nps": 0, "order_id": 8})
    await feed.flush()
    assert [a["call_id"] for a in bus.messages[-1]["data"]["survey_alerts"]] == ["c2", "c1"]
    await feed.flush()  # nothing new: not sent again
    assert "survey_alerts" not in bus.messages[-1]["data"]
    assert [a["call_id"] for a in json.loads(feed.snapshot())["data"]["survey_alerts"]] == [
        "c2", "c1"]
    for n in range(30):
        feed.survey_alert({"call_id": f"x{n}"})
    await feed.flush()
    assert len(feed.view()["survey_alerts"]) == 20  # the latest SURVEY_ALERTS_KEPT
