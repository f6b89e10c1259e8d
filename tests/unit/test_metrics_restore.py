"""A checkpoint of the metrics, restored into a fresh Metrics (a restart, docs/metrics.md
"Restart"), shows the same figures at the same moment, on both kernels; replayed counts then
add as the events would have. The paper day of test_realtime_metrics.py, cut at moments
inside and between its intervals."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from hotline.core.events import AgentRinging, CallAnswered, CallEntered
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.process.controller.ledger import LedgerEntry, replay
from hotline.realtime import Metrics, MetricsConfig
from hotline.realtime.replay import Counted, StateSeen
from tests.unit.test_realtime_metrics import DAY, KERNELS, q

CONFIG = dict(interval_s=900, day_start_offset_s=0)


@pytest.fixture(params=["c", "py"])
def kernel(request: pytest.FixtureRequest) -> ModuleType:
    return KERNELS[request.param]()


def figures(m: Metrics, now: float) -> dict[str, object]:
    """Every figure but what lives only while the process does (waiting calls, the window)."""
    out: dict[str, object] = {}
    for scope in ("interval", "today"):
        for queue in (None, "billing", "fault", "service"):
            f = (m.service_figures("billing", scope, now) if queue == "service"  # type: ignore[arg-type]
                 else m.queue_figures(queue, scope, now)).as_dict()  # type: ignore[arg-type]
            del f["waiting_now"], f["longest_wait_s"]
            out[f"{queue}/{scope}"] = f
        for agent in ("a1", "a2"):
            a = m.agent_figures(agent, scope, now)  # type: ignore[arg-type]
            out[f"{agent}/{scope}"] = {k: v for k, v in a.as_dict().items() if k != "state"}
        out[f"occupancy/{scope}"] = m.occupancy(now, scope)  # type: ignore[arg-type]
    snap = m.snapshot(now)
    out["trend"], out["interval"] = snap["sl_trend"], snap["interval"]
    return out


@pytest.mark.parametrize("cut", [460.0, 905.0, 1010.0, 1850.0, 2100.0])
def test_a_checkpoint_restores_every_figure(kernel: ModuleType, cut: float) -> None:
    before = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    for e in DAY:
        if e.at <= cut:
            before.apply(e)
    saved = json.loads(json.dumps(before.checkpoint(cut)))  # as stored (jsonb)
    closed = before.close_due(cut)
    after = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    assert after.restore(saved, closed) == cut
    assert after.queues() == before.queues()
    assert figures(after, cut) == figures(before, cut)


def test_without_a_checkpoint_today_is_the_closed_intervals(kernel: ModuleType) -> None:
    before = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    for e in DAY:
        before.apply(e)
    closed = before.close_due(1800.0)  # two intervals closed
    after = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    assert after.restore(None, closed) == 1800.0
    for queue in (None, "billing", "fault"):
        restored = after.queue_figures(queue, "today", 1800.0)
        whole = [c.figures for c in closed if c.queue == queue]
        assert restored.offered == sum(f.offered for f in whole)
        assert restored.talk_s == sum(f.talk_s for f in whole)
    assert after.queue_figures(None, "interval", 1800.0).offered == 0
    assert len(after.snapshot(1800.0)["sl_trend"]) == len(closed)


def test_replayed_counts_and_states_add_as_events_would(kernel: ModuleType) -> None:
    m = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    m.restore({"version": 1, "at": 100.0, "queues": ["billing"], "groups": {},
               "agents": {}}, [])
    m.replay([
        Counted(950.0, "handled", "billing", "billing", "a1", talk_s=60, hold_s=5, acw_s=10),
        Counted(110.0, "offered", "billing", "billing"),
        Counted(130.0, "answered", "billing", "billing", "a1", wait_s=20.0),  # T: within
        Counted(200.0, "offered", "billing", "billing"),
        Counted(205.0, "abandoned", "billing", "billing", wait_s=5.0),  # short
        StateSeen(120.0, "a1", AgentState.READY),
        StateSeen(130.0, "a1", AgentState.ON_CALL),
    ])
    assert [c.figures.offered for c in m.close_due(1000.0) if c.queue == "billing"] == [2]
    today = m.queue_figures("billing", "today", 1000.0)
    assert (today.offered, today.answered, today.abandoned, today.short_abandoned,
            today.answered_within_t, today.handled) == (2, 1, 1, 1, 1, 1)
    assert today.service_level == 1.0 and today.aht == 75.0
    assert m.agent_figures("a1", "today", 1000.0).ready_idle_s == 10.0


def test_a_node_failure_replays_apart_and_an_older_checkpoint_still_restores(
        kernel: ModuleType) -> None:
    """#15.5: a row lost to a node failure replays as such (not abandoned); a checkpoint saved
    before lost_node_failure existed (rows one field shorter) restores with it at 0."""
    m = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    old_row = [2.0, 1.0, 1.0, 0.0] + [0.0] * (kernel.F - 5)  # F - 1 fields
    m.restore({"version": 1, "at": 100.0, "queues": ["billing"],
               "groups": {"q:billing": {"interval": old_row, "today": old_row}},
               "agents": {}}, [])
    m.replay([Counted(110.0, "offered", "billing", "billing"),
              Counted(140.0, "node_failure", "billing", "billing", wait_s=30.0)])
    today = m.queue_figures("billing", "today", 200.0)
    assert (today.offered, today.abandoned, today.lost_node_failure) == (3, 1, 1)
    assert today.abandon_rate == 0.5  # 1 abandoned / (3 offered - 1 lost to the node)


def test_a_history_row_lost_to_a_node_failure_counts_as_such() -> None:
    """The replay reads a `node_failure` row's end of wait as lost, not abandoned."""
    from datetime import UTC, datetime

    from hotline.history.restore import _counts

    def at(t: float) -> datetime:
        return datetime.fromtimestamp(t, UTC)

    row = {"call_id": "c1", "queue": "billing", "service": "billing", "agent_id": None,
           "outcome": "node_failure", "queued_at": at(110.0), "answered_at": None,
           "ended_at": at(140.0), "wait_s": 30.0, "talk_s": None, "hold_s": None,
           "timeline": []}
    counts = _counts(row, 100.0, {})  # type: ignore[arg-type]
    assert [(c.what, c.at, c.wait_s) for c in counts] == [("offered", 110.0, 0.0),
                                                           ("node_failure", 140.0, 30.0)]


def test_a_call_connected_at_the_checkpoint_replayed_from_the_ledger_counts_once(
        kernel: ModuleType) -> None:
    """Issue #15.10: a call answered before the crash that ended while no controller was
    there comes back from the node's ledger as its events at their true times; the
    checkpoint counted its offer and answer already."""
    before = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    for e in (CallEntered(100.0, call_id="c1", caller="", dialed="", channel=""),
              q(101.0, "c1"),
              AgentRinging(105.0, call_id="c1", agent_id="a1"),
              CallAnswered(106.0, call_id="c1", agent_id="a1"),
              q(110.0, "c2")):  # waiting at the checkpoint: resumes, as before
        before.apply(e)
    saved = json.loads(json.dumps(before.checkpoint(120.0)))
    after = Metrics(MetricsConfig(**CONFIG), kernel=kernel)  # type: ignore[arg-type]
    after.restore(saved, [])
    c1 = LedgerEntry(call_id="c1", entered_at=100.0, ended_at=300.0, cause=16,
                     queued_at=101.0, queue="billing", service=ServiceType.BILLING,
                     answered_at=106.0, agent="a1")
    c2 = LedgerEntry(call_id="c2", entered_at=109.0, ended_at=150.0, cause=16,
                     queued_at=110.0, queue="billing", service=ServiceType.BILLING)
    for e in [*replay(c1, ""), *replay(c2, "")]:
        after.apply(e)
    today = after.queue_figures("billing", "today", 400.0)
    assert (today.offered, today.answered, today.abandoned) == (2, 1, 1)
    # a call the checkpoint never saw counts in full
    for e in replay(LedgerEntry(call_id="c3", entered_at=200.0, ended_at=260.0, cause=16,
                                queued_at=201.0, queue="billing",
                                service=ServiceType.BILLING, answered_at=210.0,
                                agent="a2"), ""):
        after.apply(e)
    today = after.queue_figures("billing", "today", 400.0)
    assert (today.offered, today.answered) == (3, 2)
