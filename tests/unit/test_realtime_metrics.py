"""Realtime metrics over a small day worked out on paper, plus edge cases, on both kernels.

The day (interval_s = 900, UTC, queue "billing" unless said, service billing):

| t    | event                                              | note                             |
|------|----------------------------------------------------|----------------------------------|
| 0    | a1 logged_out -> not_ready; a2 logged_out -> ready |                                  |
| 50   | a1 -> ready                                        |                                  |
| 100  | c1 queued                                          | I0 offered                       |
| 110  | c1 answered by a1 (a1 -> on_call)                  | wait 10, within 20               |
| 200  | c2 queued                                          |                                  |
| 205  | c2 hangs up                                        | wait 5.0: short abandon          |
| 300  | c3 queued                                          |                                  |
| 330  | c3 hangs up                                        | wait 30: abandon, in SL          |
| 400  | c1 ends (a1 -> after_call_work)                    | talk 290                         |
| 460  | a1 -> ready                                        | c1 handled in I0, acw 60         |
| 850  | c4 queued                                          | I0 offered (spans three ivls)    |
| 860  | a2 -> ringing                                      |                                  |
| 870  | c4 ring-no-answer by a2 (a2 -> not_ready missed)   | missed ring; wait goes on        |
| 900  | c5 queued; a2 -> ready                             | boundary: I1                     |
| 920  | c5 answered by a2 (a2 -> on_call)                  | wait 20.0: within T              |
| 930  | c4 answered by a1 (a1 -> on_call)                  | I1, wait 80                      |
| 1000 | c4 held; c5 ends (a2 -> after_call_work)           |                                  |
| 1010 | a2 -> not_ready(break)                             | c5 handled I1: talk 80, acw 10   |
| 1100 | c4 unheld                                          | hold 100                         |
| 1200 | c6 queued                                          |                                  |
| 1300 | c6 asks for a callback                             | callbacks, not in SL             |
| 1400 | c7 queued                                          |                                  |
| 1430 | c7 overflows billing -> fault                      | overflowed billing, offered fault|
| 1500 | c7 hangs up                                        | fault abandon, wait 100          |
| 1700 | c4 ends (a1 -> after_call_work)                    | talk 770 - 100 = 670             |
| 1850 | a1 -> ready                                        | c4 handled in I2, acw 150        |
| 2000 | a2 -> logged_out                                   |                                  |
"""

from __future__ import annotations

from types import ModuleType

import pytest

from hotline.core.events import (
    AgentStateChanged,
    AsteriskBooted,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallHeld,
    CallOverflowed,
    CallQueued,
    CallRequeued,
    CallUnheld,
    Event,
    FailsafeTaken,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.core_ext import metrics_py
from hotline.core_ext.select import load_compiled
from hotline.realtime import Metrics, MetricsConfig, QueueTargets

S = AgentState
KERNELS = {"c": lambda: load_compiled("metrics"), "py": lambda: metrics_py}


@pytest.fixture(params=["c", "py"])
def kernel(request: pytest.FixtureRequest) -> ModuleType:
    return KERNELS[request.param]()


def q(t: float, call: str, queue: str = "billing") -> CallQueued:
    return CallQueued(at=t, call_id=call, queue=queue, service=ServiceType.BILLING)


def st(t: float, agent: str, old: AgentState, new: AgentState, reason: str = "") -> Event:
    return AgentStateChanged(at=t, agent_id=agent, old=old, new=new, reason=reason)


DAY: list[Event] = [
    st(0, "a1", S.LOGGED_OUT, S.NOT_READY, "login"),
    st(0, "a2", S.LOGGED_OUT, S.READY),
    st(50, "a1", S.NOT_READY, S.READY),
    q(100, "c1"),
    CallAnswered(at=110, call_id="c1", agent_id="a1"),
    st(110, "a1", S.READY, S.ON_CALL),
    q(200, "c2"),
    CallEnded(at=205, call_id="c2"),
    q(300, "c3"),
    CallEnded(at=330, call_id="c3"),
    CallEnded(at=400, call_id="c1"),
    st(400, "a1", S.ON_CALL, S.AFTER_CALL_WORK),
    st(460, "a1", S.AFTER_CALL_WORK, S.READY),
    q(850, "c4"),
    st(860, "a2", S.READY, S.RINGING),
    RingNoAnswer(at=870, call_id="c4", agent_id="a2"),
    st(870, "a2", S.RINGING, S.NOT_READY, "missed"),
    q(900, "c5"),
    st(900, "a2", S.NOT_READY, S.READY),
    CallAnswered(at=920, call_id="c5", agent_id="a2"),
    st(920, "a2", S.READY, S.ON_CALL),
    CallAnswered(at=930, call_id="c4", agent_id="a1"),
    st(930, "a1", S.READY, S.ON_CALL),
    CallHeld(at=1000, call_id="c4"),
    CallEnded(at=1000, call_id="c5"),
    st(1000, "a2", S.ON_CALL, S.AFTER_CALL_WORK),
    st(1010, "a2", S.AFTER_CALL_WORK, S.NOT_READY, "break"),
    CallUnheld(at=1100, call_id="c4"),
    q(1200, "c6"),
    CallbackRequested(at=1300, call_id="c6", queue="billing"),
    q(1400, "c7"),
    CallOverflowed(at=1430, call_id="c7", from_queue="billing", to_queue="fault"),
    CallEnded(at=1500, call_id="c7"),
    CallEnded(at=1700, call_id="c4"),
    st(1700, "a1", S.ON_CALL, S.AFTER_CALL_WORK),
    st(1850, "a1", S.AFTER_CALL_WORK, S.READY),
    st(2000, "a2", S.NOT_READY, S.LOGGED_OUT),
]

# Expected closed intervals: (queue, start) -> figures that must match.
NONE_RATIOS = {"service_level": None, "asa": None, "abandon_rate": None, "aht": None}
EXPECTED = {
    ("billing", 0): dict(
        offered=4,
        answered=1,
        abandoned=2,
        short_abandoned=1,
        answered_within_t=1,
        service_level=1 / 2,
        asa=10.0,
        abandon_rate=2 / 4,
        handled=1,
        aht=350.0,
        avg_talk=290.0,
        avg_hold=0.0,
        avg_acw=60.0,
        missed_rings=1,
        waiting_now=1,
        longest_wait_s=50.0,
        overflowed=0,
        callbacks=0,
    ),
    (None, 0): dict(offered=4, answered=1, abandoned=2, service_level=1 / 2, missed_rings=1),
    ("billing", 900): dict(
        offered=3,
        answered=2,
        abandoned=0,
        short_abandoned=0,
        answered_within_t=1,
        service_level=1 / 2,
        asa=50.0,
        abandon_rate=0.0,
        handled=1,
        aht=90.0,
        avg_talk=80.0,
        avg_acw=10.0,
        overflowed=1,
        callbacks=1,
        waiting_now=0,
        longest_wait_s=0.0,
    ),
    ("fault", 900): dict(
        offered=1,
        answered=0,
        abandoned=1,
        short_abandoned=0,
        service_level=0.0,
        abandon_rate=1.0,
        asa=None,
        handled=0,
        aht=None,
        wait_abandoned_s=100.0,
    ),
    (None, 900): dict(
        offered=3,
        answered=2,
        abandoned=1,
        answered_within_t=1,
        service_level=1 / 3,
        overflowed=1,
        callbacks=1,
        abandon_rate=1 / 3,
    ),
    ("billing", 1800): dict(
        offered=0,
        handled=1,
        talk_s=670.0,
        hold_s=100.0,
        acw_s=150.0,
        **{**NONE_RATIOS, "aht": 920.0},
    ),
    ("billing", 2700): dict(offered=0, answered=0, handled=0, **NONE_RATIOS),
    (None, 2700): dict(offered=0, abandoned=0, **NONE_RATIOS),
}


def run_day(kernel: ModuleType, events: list[Event] = DAY, **cfg: object) -> Metrics:
    m = Metrics(MetricsConfig(**cfg), kernel=kernel)  # type: ignore[arg-type]
    for e in events:
        m.apply(e)
    return m


def test_closed_intervals_match_the_paper_day(kernel: ModuleType) -> None:
    m = run_day(kernel)
    closed = m.close_due(3600.0)  # closes I2 and I3 although no event came after 2000
    by_key = {(c.queue, c.start): c for c in closed}
    # fault is first seen in I1, so I0 has only all + billing
    assert sorted(by_key, key=str) == sorted(
        [(None, s) for s in (0, 900, 1800, 2700)]
        + [("billing", s) for s in (0, 900, 1800, 2700)]
        + [("fault", s) for s in (900, 1800, 2700)],
        key=str,
    )
    for key, want in EXPECTED.items():
        c = by_key[key]
        assert c.end == c.start + 900
        got = {f: getattr(c.figures, f) for f in want}
        assert got == pytest.approx(want), key
    assert m.close_due(3600.0) == []  # handed out once


def test_today_and_window(kernel: ModuleType) -> None:
    m = run_day(kernel)
    billing = m.queue_figures("billing", "today", 3600.0)
    assert (billing.offered, billing.answered, billing.abandoned) == (7, 3, 2)
    assert billing.service_level == pytest.approx(2 / 4)
    assert billing.aht == pytest.approx((1040 + 100 + 220) / 3)
    assert billing.sl_target == 0.8 and billing.sl_seconds == 20.0
    total = m.queue_figures(None, "today", 3600.0)
    assert (total.offered, total.abandoned, total.short_abandoned) == (7, 3, 1)
    assert total.service_level == pytest.approx(2 / 5)
    assert total.abandon_rate == pytest.approx(3 / 7)
    # per service type: all calls were billing calls
    assert m.service_figures("billing", "today", 3600.0).offered == 7
    assert m.service_figures("fault", "today", 3600.0).offered == 0


def test_window_edges(kernel: ModuleType) -> None:
    m = run_day(kernel)
    # window (900, 2700]: c5 queued at exactly 900 has left it; c6, c7 are in
    w = m.queue_figures(None, "window", 2700.0)
    assert (w.offered, w.answered, w.callbacks, w.abandoned, w.handled) == (2, 2, 1, 1, 2)
    w = m.queue_figures("billing", "window", 3600.0)  # (1800, 3600]: only c4's handling
    assert (w.offered, w.handled, w.talk_s) == (0, 1, 670.0)
    assert m.queue_figures(None, "window", 10_000.0) == m.queue_figures(None, "interval", 10_000)


def test_agent_figures(kernel: ModuleType) -> None:
    m = run_day(kernel)
    a1 = m.agent_figures("a1", "today", 3600.0)
    assert a1.state == "ready" and (a1.answered, a1.handled) == (2, 2)
    assert (a1.talk_s, a1.hold_s, a1.acw_s) == (960.0, 100.0, 210.0)
    assert a1.time_in_state == {
        "not_ready": 50.0,
        "ready": 2280.0,
        "on_call": 1060.0,
        "after_call_work": 210.0,
    }
    assert a1.not_ready_by_reason == {"login": 50.0}
    assert a1.logged_in_s == 3600.0
    assert a1.occupancy == pytest.approx(1270 / (1270 + 2280))
    assert a1.utilisation == pytest.approx(1270 / 3600)
    a2 = m.agent_figures("a2", "today", 3600.0)
    assert a2.state == "logged_out" and a2.missed_rings == 1 and a2.logged_in_s == 2000.0
    assert a2.not_ready_by_reason == {"missed": 30.0, "break": 990.0}
    assert a2.time_in_state["ready"] == 880.0 and a2.time_in_state["ringing"] == 10.0


def test_agent_state_time_is_split_at_interval_edges(kernel: ModuleType) -> None:
    m = run_day(kernel, DAY[:14])  # up to c4 queued at 850
    first = m.agent_figures("a1", "interval", 899.0)
    assert first.time_in_state == {
        "not_ready": 50.0,
        "ready": 60.0 + 439.0,
        "on_call": 290.0,
        "after_call_work": 60.0,
    }
    assert first.occupancy == pytest.approx(350 / (350 + 499))
    second = m.agent_figures("a1", "interval", 960.0)  # ready since 460: only 60 s here
    assert second.time_in_state == {"ready": 60.0} and second.handled == 0
    assert m.agent_figures("a1", "today", 960.0).time_in_state["ready"] == 60.0 + 440.0 + 60.0


def test_centre_occupancy_and_agents_by_state(kernel: ModuleType) -> None:
    m = run_day(kernel)
    m.set_agent_queues("a1", ["billing"])
    work = 290 + 60 + 80 + 10 + 670 + 100 + 150
    ready = 2280 + 880
    assert m.occupancy(3600.0, "today") == pytest.approx(work / (work + ready))
    assert m.utilisation(3600.0, "today") == pytest.approx(work / (3600 + 2000))
    assert m.agents_by_state()[S.READY] == 1 and m.agents_by_state()[S.LOGGED_OUT] == 1
    assert m.agents_by_state("billing")[S.READY] == 1
    assert sum(m.agents_by_state("fault").values()) == 0


def test_no_calls(kernel: ModuleType) -> None:
    m = Metrics(kernel=kernel)
    f = m.queue_figures(None, "today", 1000.0)
    assert (f.offered, f.answered, f.abandoned, f.waiting_now, f.longest_wait_s) == (0, 0, 0, 0, 0)
    assert (f.service_level, f.asa, f.abandon_rate, f.aht, f.avg_talk) == (None,) * 5
    assert m.occupancy(1000.0, "today") is None and m.utilisation(1000.0, "window") is None
    assert m.queue_figures("nowhere", "interval", 1000.0).service_level is None


def test_all_short_abandons(kernel: ModuleType) -> None:
    events: list[Event] = []
    for i, wait in enumerate([0.0, 1.5, 4.999, 5.0]):
        events += [q(10.0 * i, f"s{i}"), CallEnded(at=10.0 * i + wait, call_id=f"s{i}")]
    f = run_day(kernel, events).queue_figures("billing", "today", 100.0)
    assert (f.offered, f.abandoned, f.short_abandoned) == (4, 4, 4)
    assert f.service_level is None  # the denominator excludes short abandons
    assert f.abandon_rate == 1.0


def test_abandon_just_after_threshold_counts_in_sl(kernel: ModuleType) -> None:
    events = [q(0, "x"), CallEnded(at=5.001, call_id="x")]
    f = run_day(kernel, events).queue_figures("billing", "today", 10.0)
    assert (f.short_abandoned, f.service_level) == (0, 0.0)


def test_configured_thresholds(kernel: ModuleType) -> None:
    events = [
        q(0, "x", "vip"),
        CallAnswered(at=10, call_id="x", agent_id="a"),
        q(0, "y"),
        CallEnded(at=8, call_id="y"),
    ]
    m = run_day(
        kernel,
        events,
        targets={"vip": QueueTargets(sl_seconds=5, sl_target=0.9)},
        short_abandon_s=10.0,
    )
    vip = m.queue_figures("vip", "today", 20.0)
    assert (vip.answered_within_t, vip.service_level, vip.sl_target) == (0, 0.0, 0.9)
    assert m.queue_figures("billing", "today", 20.0).short_abandoned == 1


def test_waiting_now_and_longest_wait(kernel: ModuleType) -> None:
    events = [
        q(100, "a"),
        q(130, "b", "fault"),
        q(150, "c"),
        FailsafeTaken(at=160, call_id="a", queue="billing"),
        RingNoAnswer(at=170, call_id="a", agent_id="x"),  # does not end the wait
    ]
    m = run_day(kernel, events)
    f = m.queue_figures(None, "interval", 200.0)
    assert (f.waiting_now, f.longest_wait_s, f.failsafe, f.missed_rings) == (3, 100.0, 1, 1)
    assert m.queue_figures("fault", "interval", 200.0).longest_wait_s == 70.0
    m.apply(CallAnswered(at=210, call_id="a", agent_id="x"))  # answered after the failsafe
    f = m.queue_figures("billing", "interval", 210.0)
    assert (f.answered, f.waiting_now, f.longest_wait_s, f.asa) == (1, 1, 60.0, 110.0)


def test_agent_without_state_events_ends_handling_at_hangup(kernel: ModuleType) -> None:
    events = [
        q(0, "x"),
        CallAnswered(at=5, call_id="x", agent_id="app"),
        CallEnded(at=65, call_id="x"),
    ]
    f = run_day(kernel, events).queue_figures("billing", "interval", 70.0)
    assert (f.handled, f.talk_s, f.acw_s) == (1, 60.0, 0.0)


def test_next_answer_ends_a_wrap_up_left_open(kernel: ModuleType) -> None:
    events = [
        st(0, "a", S.LOGGED_OUT, S.READY),
        q(0, "x"),
        CallAnswered(at=5, call_id="x", agent_id="a"),
        st(5, "a", S.READY, S.ON_CALL),
        CallEnded(at=65, call_id="x"),
        q(70, "y"),
        CallAnswered(at=80, call_id="y", agent_id="a"),
    ]
    f = run_day(kernel, events).queue_figures("billing", "interval", 90.0)
    assert (f.handled, f.talk_s, f.acw_s) == (1, 60.0, 15.0)


def test_day_rollover_in_local_time(kernel: ModuleType) -> None:
    midnight = 2 * 86_400 - 8 * 3600  # local midnight in China, in UTC seconds
    events = [
        q(midnight - 30, "x"),
        CallAnswered(at=midnight + 10, call_id="x", agent_id="a"),
    ]
    m = run_day(kernel, events, day_start_offset_s=8 * 3600)
    today = m.queue_figures("billing", "today", midnight + 20)
    assert (today.offered, today.answered, today.asa) == (0, 1, 40.0)
    closed = m.close_due(midnight + 20)
    assert [c.end for c in closed if c.queue is None] == [midnight]
    assert m.snapshot(midnight + 20)["sl_trend"] == []  # a new day's trend starts empty


def test_late_event_counts_now_and_unknown_events_are_ignored(kernel: ModuleType) -> None:
    m = run_day(kernel, [q(1000, "x")])
    m.apply(AsteriskBooted(at=1000))
    m.apply(q(10, "y"))  # older than the clock: counted at 1000, in the open interval
    assert m.ignored == 1
    f = m.queue_figures("billing", "interval", 1000.0)
    assert (f.offered, f.waiting_now, f.longest_wait_s) == (2, 2, 0.0)


def test_snapshot_is_json_ready(kernel: ModuleType) -> None:
    import json

    m = run_day(kernel)
    snap = json.loads(json.dumps(m.snapshot(2000.0)))
    assert set(snap["queues"]) == {"billing", "fault"}
    assert snap["all"]["today"]["offered"] == 7
    assert snap["agents_by_state"]["all"]["ready"] == 1
    trend = [(p["queue"], p["start"], p["service_level"]) for p in snap["sl_trend"]]
    assert trend[:2] == [(None, 0.0, 0.5), ("billing", 0.0, 0.5)]
    assert snap["interval"] == {"start": 1800.0, "end": 2700.0}


def test_long_silence_skips_empty_intervals(kernel: ModuleType) -> None:
    m = run_day(kernel, [st(0, "a", S.LOGGED_OUT, S.READY), q(10, "x")])
    closed = m.close_due(10 * 86_400 + 100)
    starts = sorted({c.start for c in closed})
    assert starts[0] == 0 and len(starts) < 200  # not the 960 intervals of ten days
    assert starts[-1] == 10 * 86_400 - 900
    f = m.queue_figures("billing", "today", 10 * 86_400 + 100)
    assert (f.offered, f.waiting_now, f.longest_wait_s) == (0, 1, 10 * 86_400 + 90)
    assert m.agent_figures("a", "today", 10 * 86_400 + 100).ready_idle_s == 100.0


# A day with transfers back to a queue (`*8<queue>`), worked on paper (interval_s = 900).
# x is transferred twice (a1 -> billing, a2 -> general), y once and then hangs up waiting.
#
# | t    | event                                        | note                                  |
# |------|----------------------------------------------|---------------------------------------|
# | 0    | a1, a2, a3 logged_out -> ready               |                                       |
# | 800  | x queued in general                          | I0 offered                            |
# | 815  | x answered by a1 (a1 -> on_call)             | I0 answered, wait 15: within 20       |
# | 850  | x held; 870 unheld                           | a1's hold 20                          |
# | 890  | x requeued to billing (a1 -> acw)            | a1's talk 890 - 815 - 20 = 55         |
# | 900  | a1 -> ready                                  | edge: a1's part ends in I1, acw 10:   |
# |      |                                              | general handled 1 (the call, once)    |
# | 930  | x answered by a2 (a2 -> on_call)             | a2 answered; not the queue's again    |
# | 1000 | x held; 1030 unheld                          | a2's hold 30                          |
# | 1100 | x requeued to general (a2 -> acw)            | a2's talk 1100 - 930 - 30 = 140       |
# | 1110 | x answered by a3 (a3 -> on_call)             | a3 answered                           |
# | 1200 | x ends (a3 -> acw)                           | a3's talk 90                          |
# | 1260 | a2 -> ready                                  | a2's part, I1: acw 160, time only in  |
# |      |                                              | general (handled there with part 1)   |
# | 1300 | y queued in general                          | I1 offered                            |
# | 1305 | y answered by a1 (a1 -> on_call)             | wait 5: within 20                     |
# | 1400 | y requeued to billing (a1 -> acw)            | a1's talk 95; y waits in billing      |
# | 1420 | y hangs up while waiting                     | not abandoned: answered already       |
# | 1450 | a1 -> ready                                  | a1's part of y, I1: handled, acw 50   |
# | 1800 | a3 -> ready                                  | edge: a3's part ends in I2, acw 600   |
A = S.AFTER_CALL_WORK
TRANSFER_DAY: list[Event] = [
    *(st(0, a, S.LOGGED_OUT, S.READY) for a in ("a1", "a2", "a3")),
    q(800, "x", "general"),
    CallAnswered(at=815, call_id="x", agent_id="a1"),
    st(815, "a1", S.READY, S.ON_CALL),
    CallHeld(at=850, call_id="x"),
    CallUnheld(at=870, call_id="x"),
    CallRequeued(at=890, call_id="x", queue="billing", agent_id="a1"),
    st(890, "a1", S.ON_CALL, A),
    st(900, "a1", A, S.READY),
    CallAnswered(at=930, call_id="x", agent_id="a2"),
    st(930, "a2", S.READY, S.ON_CALL),
    CallHeld(at=1000, call_id="x"),
    CallUnheld(at=1030, call_id="x"),
    CallRequeued(at=1100, call_id="x", queue="general", agent_id="a2"),
    st(1100, "a2", S.ON_CALL, A),
    CallAnswered(at=1110, call_id="x", agent_id="a3"),
    st(1110, "a3", S.READY, S.ON_CALL),
    CallEnded(at=1200, call_id="x"),
    st(1200, "a3", S.ON_CALL, A),
    st(1260, "a2", A, S.READY),
    q(1300, "y", "general"),
    CallAnswered(at=1305, call_id="y", agent_id="a1"),
    st(1305, "a1", S.READY, S.ON_CALL),
    CallRequeued(at=1400, call_id="y", queue="billing", agent_id="a1"),
    st(1400, "a1", S.ON_CALL, A),
    CallEnded(at=1420, call_id="y"),
    st(1450, "a1", A, S.READY),
    st(1800, "a3", A, S.READY),
]

TRANSFER_EXPECTED = {
    ("general", 0): dict(
        offered=1, answered=1, answered_within_t=1, service_level=1.0, asa=15.0,
        handled=0, talk_s=0.0, aht=None, waiting_now=0,
    ),
    # x waits in billing at the edge, since its transfer at 890; billing was offered nothing
    ("billing", 0): dict(offered=0, answered=0, waiting_now=1, longest_wait_s=10.0,
                         service_level=None),
    (None, 0): dict(offered=1, answered=1, service_level=1.0, waiting_now=1),
    ("general", 900): dict(
        offered=1, answered=1, abandoned=0, short_abandoned=0, answered_within_t=1,
        service_level=1.0, asa=5.0, abandon_rate=0.0, handled=2,
        talk_s=55.0 + 140.0 + 95.0, hold_s=20.0 + 30.0, acw_s=10.0 + 160.0 + 50.0,
        aht=(290.0 + 50.0 + 220.0) / 2, waiting_now=0,
    ),
    ("billing", 900): dict(offered=0, answered=0, abandoned=0, handled=0, talk_s=0.0,
                           waiting_now=0),
    (None, 900): dict(offered=1, answered=1, abandoned=0, service_level=1.0, handled=2,
                      talk_s=290.0),
    # a3's part of x ended at 1800: its time, no second handled call
    ("general", 1800): dict(offered=0, answered=0, handled=0, talk_s=90.0, hold_s=0.0,
                            acw_s=600.0, aht=None, service_level=None),
}  # fmt: skip


def test_transfers_worked_on_paper(kernel: ModuleType) -> None:
    m = run_day(kernel, TRANSFER_DAY)
    by_key = {(c.queue, c.start): c for c in m.close_due(2700.0)}
    for key, want in TRANSFER_EXPECTED.items():
        got = {f: getattr(by_key[key].figures, f) for f in want}
        assert got == pytest.approx(want), key
    # today: the calls were offered and answered once each, neither abandoned; x is one handled
    # call whose handle time is the sum of its three parts: 85 + 330 + 690 = 1105, y's 145
    g = m.queue_figures("general", "today", 2700.0)
    assert (g.offered, g.answered, g.abandoned, g.callbacks, g.handled) == (2, 2, 0, 0, 2)
    assert (g.service_level, g.asa, g.abandon_rate) == (1.0, 10.0, 0.0)
    assert (g.talk_s, g.hold_s, g.acw_s) == (380.0, 50.0, 820.0)
    assert g.aht == pytest.approx((1105.0 + 145.0) / 2)
    b = m.queue_figures("billing", "today", 2700.0)
    assert (b.offered, b.answered, b.abandoned, b.handled, b.talk_s) == (0, 0, 0, 0, 0.0)
    total = m.queue_figures(None, "today", 2700.0)
    assert (total.offered, total.answered, total.abandoned, total.handled) == (2, 2, 0, 2)
    assert total.service_level == 1.0 and total.abandon_rate == 0.0
    assert m.service_figures("billing", "today", 2700.0).handled == 2  # both billing calls

    # per agent: each part is a handled call of its agent, with its own talk, hold and ACW
    want = {
        "a1": (2, 2, 55.0 + 95.0, 20.0, 10.0 + 50.0),
        "a2": (1, 1, 140.0, 30.0, 160.0),
        "a3": (1, 1, 90.0, 0.0, 600.0),
    }
    for agent, figures in want.items():
        a = m.agent_figures(agent, "today", 2700.0)
        assert (a.answered, a.handled, a.talk_s, a.hold_s, a.acw_s) == figures, agent
        # the agent's clock agrees: on_call = talk + hold, after_call_work = ACW
        assert a.time_in_state["on_call"] == a.talk_s + a.hold_s
        assert a.time_in_state["after_call_work"] == a.acw_s
    # the all-queues work is the agents' work
    assert total.talk_s + total.hold_s + total.acw_s == sum(
        t + h + c for *_, t, h, c in want.values()
    )


def test_transfer_parts_at_interval_edges(kernel: ModuleType) -> None:
    m = run_day(kernel, TRANSFER_DAY[:11])  # up to a1 -> ready at 900
    a1 = m.agent_figures("a1", "interval", 900.0)  # a1's part ended at the edge: I1
    assert (a1.answered, a1.handled, a1.talk_s, a1.hold_s, a1.acw_s) == (0, 1, 55.0, 20.0, 10.0)
    i0 = [c for c in m.close_due(900.0) if c.queue is None]
    assert [(c.start, c.figures.handled, c.figures.talk_s) for c in i0] == [(0.0, 0, 0.0)]
    assert m.agent_figures("a1", "today", 900.0).answered == 1
    m = run_day(kernel, TRANSFER_DAY[:10])  # the part is still in wrap-up at 899.5
    a1 = m.agent_figures("a1", "interval", 899.5)
    assert (a1.answered, a1.handled, a1.talk_s) == (1, 0, 0.0)


def test_waiting_after_a_transfer(kernel: ModuleType) -> None:
    m = run_day(kernel, TRANSFER_DAY[:-3])  # y requeued to billing at 1400, still waiting
    billing = m.queue_figures("billing", "interval", 1410.0)
    assert (billing.waiting_now, billing.longest_wait_s, billing.offered) == (1, 10.0, 0)
    assert m.queue_figures("general", "interval", 1410.0).waiting_now == 0
    assert m.queue_figures(None, "interval", 1410.0).waiting_now == 1
    before = m.queue_figures(None, "today", 1410.0)
    m.apply(CallEnded(at=1420, call_id="y"))  # hangs up waiting: answered already, no abandon
    after = m.queue_figures(None, "today", 1420.0)
    assert after.waiting_now == 0 and after.abandoned == after.short_abandoned == 0
    for f in ("service_level", "asa", "abandon_rate", "answered"):
        assert getattr(after, f) == getattr(before, f), f


def test_callback_and_overflow_after_a_transfer(kernel: ModuleType) -> None:
    events = [
        q(0, "x", "general"),
        CallAnswered(at=10, call_id="x", agent_id="a1"),
        CallRequeued(at=70, call_id="x", queue="billing", agent_id="a1"),
        CallOverflowed(at=80, call_id="x", from_queue="billing", to_queue="fault"),
    ]
    m = run_day(kernel, events)
    assert m.queue_figures("fault", "today", 90.0).waiting_now == 1  # it only moved
    assert m.queue_figures("billing", "today", 90.0).waiting_now == 0
    f = m.queue_figures(None, "today", 90.0)
    assert (f.offered, f.overflowed, f.answered) == (1, 0, 1)
    m.apply(CallbackRequested(at=95, call_id="x", queue="fault"))
    f = m.queue_figures(None, "today", 100.0)
    assert (f.callbacks, f.waiting_now, f.abandoned, f.service_level) == (0, 0, 0, 1.0)
    # a1 reported no states: its part (talk 60) ended at the transfer, as at a hangup
    a1 = m.agent_figures("a1", "today", 100.0)
    assert (a1.answered, a1.handled, a1.talk_s, a1.acw_s) == (1, 1, 60.0, 0.0)
    assert (f.handled, f.talk_s) == (1, 60.0)


def test_stale_talk_ended_of_the_transferring_agent(kernel: ModuleType) -> None:
    events = [
        q(0, "x", "general"),
        CallAnswered(at=10, call_id="x", agent_id="a1"),
        CallRequeued(at=70, call_id="x", queue="billing", agent_id="a1"),
        TalkEnded(at=71, call_id="x", agent_id="a1"),  # not connected now: ignored
        CallAnswered(at=80, call_id="x", agent_id="a2"),
        TalkEnded(at=81, call_id="x", agent_id="a1"),  # a2 is on it: ignored
        TalkEnded(at=100, call_id="x", agent_id="a2"),
    ]
    m = run_day(kernel, events)
    a2 = m.agent_figures("a2", "today", 110.0)
    assert (a2.answered, a2.handled, a2.talk_s) == (1, 1, 20.0)
    f = m.queue_figures(None, "today", 110.0)
    assert (f.answered, f.abandoned, f.handled, f.talk_s) == (1, 0, 1, 80.0)


def test_repeated_answer_does_not_take_the_call(kernel: ModuleType) -> None:
    events = [
        q(0, "x"),
        CallAnswered(at=10, call_id="x", agent_id="a1"),
        CallAnswered(at=20, call_id="x", agent_id="a2"),  # no transfer: not a2's call
        CallEnded(at=70, call_id="x"),
    ]
    m = run_day(kernel, events)
    assert m.agent_figures("a1", "today", 80.0).talk_s == 60.0
    assert (m.agent_figures("a2", "today", 80.0).answered,
            m.agent_figures("a2", "today", 80.0).handled) == (0, 0)  # fmt: skip


def test_callers_lost_to_a_node_failure_stay_out_of_sl_and_abandons(kernel: ModuleType) -> None:
    """#15.5: CallEnded.node_failure while waiting counts in lost_node_failure only: not
    abandoned (short or not), not in the service level, out of the abandon rate's offered;
    a talking call it cut was answered and is handled as usual."""
    m = Metrics(kernel=kernel)
    for e in (q(10, "talk"), CallAnswered(at=12, call_id="talk", agent_id="a1"),
              q(20, "w1"), q(21, "w2"), q(22, "w3"), CallEnded(at=23, call_id="gone", cause=16),
              CallEnded(at=40, call_id="w1", cause=0, node_failure=True),
              CallEnded(at=40, call_id="w2", cause=0, node_failure=True),
              CallEnded(at=41, call_id="talk", cause=16, node_failure=True),
              CallEnded(at=60, call_id="w3", cause=16)):  # w3 hung up itself: abandoned
        m.apply(e)
    f = m.queue_figures("billing", "today", 100.0)
    assert (f.offered, f.answered, f.abandoned, f.short_abandoned) == (4, 1, 1, 0)
    assert f.lost_node_failure == 2 and f.waiting_now == 0
    assert f.service_level == 0.5  # 1 within T / (1 answered + 1 abandoned)
    assert f.abandon_rate == 0.5  # 1 abandoned / (4 offered - 2 lost to the node)
    assert m.snapshot(100.0)["all"]["today"]["lost_node_failure"] == 2
