"""Random event streams: the compiled kernel and the twin give identical figures, and the
figures keep their invariants whatever the order of events."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core.events import (
    AgentStateChanged,
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
from hotline.core_ext import agent_time_py, metrics_py
from hotline.core_ext.select import load_compiled
from hotline.realtime import Metrics, MetricsConfig

QUEUES = ["billing", "fault", "ev"]
SERVICES = [ServiceType.BILLING, ServiceType.FAULT]
KINDS = ["queued", "answered", "held", "unheld", "ended", "callback", "failsafe", "rna",
         "overflow", "agent", "requeued", "talk_ended"]  # fmt: skip

STEPS = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 7),  # call
        st.integers(0, 3),  # agent
        st.integers(0, 2),  # queue
        st.sampled_from(list(AgentState)),
        st.floats(0.0, 400.0, allow_nan=False),  # time step
    ),
    max_size=150,
)


def make_event(kind: str, t: float, call: int, agent: int, queue: int, state: AgentState) -> Event:
    c, a, qn = f"c{call}", f"a{agent}", QUEUES[queue]
    match kind:
        case "queued":
            return CallQueued(at=t, call_id=c, queue=qn, service=SERVICES[call % 2])
        case "answered":
            return CallAnswered(at=t, call_id=c, agent_id=a)
        case "held":
            return CallHeld(at=t, call_id=c)
        case "unheld":
            return CallUnheld(at=t, call_id=c)
        case "ended":
            return CallEnded(at=t, call_id=c)
        case "callback":
            return CallbackRequested(at=t, call_id=c, queue=qn)
        case "failsafe":
            return FailsafeTaken(at=t, call_id=c, queue=qn)
        case "rna":
            return RingNoAnswer(at=t, call_id=c, agent_id=a)
        case "overflow":
            return CallOverflowed(at=t, call_id=c, from_queue="billing", to_queue=qn)
        case "requeued":
            return CallRequeued(at=t, call_id=c, queue=qn, agent_id=a)
        case "talk_ended":
            return TalkEnded(at=t, call_id=c, agent_id=a)
        case _:
            return AgentStateChanged(
                at=t, agent_id=a, old=AgentState.READY, new=state, reason=f"r{queue}"
            )


def events_from(steps: list[tuple[str, int, int, int, AgentState, float]]) -> list[Event]:
    t = 84_000.0  # near the end of a UTC day, so some streams cross midnight
    out: list[Event] = []
    for kind, call, agent, queue, state, dt in steps:
        t += dt
        out.append(make_event(kind, t, call, agent, queue, state))
    return out


CALLS = st.lists(
    st.tuples(
        st.floats(0.0, 3000.0, allow_nan=False),  # enqueue, after the stream start
        st.floats(0.0, 60.0, allow_nan=False),  # wait
        # transferred: answered, requeued by the agent, answered by the next agent (or, with
        # a hold of 0, abandoned while waiting again), then transferred once more if talk > 300
        st.sampled_from(["answered", "abandoned", "callback", "transferred"]),
        st.integers(0, 3),  # agent
        st.integers(0, 2),  # queue
        st.floats(0.0, 600.0, allow_nan=False),  # talk
        st.floats(0.0, 120.0, allow_nan=False),  # hold (0: none)
        st.floats(0.0, 200.0, allow_nan=False),  # after-call work
        st.sampled_from(["", "rna", "failsafe", "overflow"]),
    ),
    max_size=40,
)


def lifecycles(calls: list[tuple]) -> list[Event]:  # type: ignore[type-arg]
    """Plausible call lifecycles, merged in time order."""
    t0 = 84_000.0  # some streams cross midnight (86 400)
    out: list[tuple[float, int, Event]] = []
    for n, (enq, wait, outcome, agent, queue, talk, hold, acw, extra) in enumerate(calls):
        c, a = f"c{n}", f"a{agent}"
        t = t0 + enq
        seq: list[Event] = [
            CallQueued(at=t, call_id=c, queue=QUEUES[queue], service=SERVICES[n % 2])
        ]
        if extra == "rna":
            seq.append(RingNoAnswer(at=t + wait / 2, call_id=c, agent_id=a))
        elif extra == "failsafe":
            seq.append(FailsafeTaken(at=t + wait / 2, call_id=c, queue=QUEUES[queue]))
        elif extra == "overflow":
            seq.append(CallOverflowed(at=t + wait / 2, call_id=c, from_queue=QUEUES[queue],
                                      to_queue=QUEUES[(queue + 1) % 3]))  # fmt: skip
        t += wait
        if outcome == "abandoned":
            seq.append(CallEnded(at=t, call_id=c))
        elif outcome == "callback":
            seq.append(CallbackRequested(at=t, call_id=c, queue=QUEUES[queue]))
        elif outcome == "transferred":
            seq += transferred(c, t, agent, queue, talk, hold, acw)
        else:
            S = AgentState
            seq += [CallAnswered(at=t, call_id=c, agent_id=a),
                    AgentStateChanged(at=t, agent_id=a, old=S.READY, new=S.ON_CALL)]  # fmt: skip
            if hold:
                seq += [CallHeld(at=t + talk / 3, call_id=c),
                        CallUnheld(at=t + talk / 3 + hold, call_id=c)]  # fmt: skip
            t += talk + hold
            seq += [CallEnded(at=t, call_id=c),
                    AgentStateChanged(at=t, agent_id=a, old=S.ON_CALL, new=S.AFTER_CALL_WORK),
                    AgentStateChanged(at=t + acw, agent_id=a, old=S.AFTER_CALL_WORK,
                                      new=S.READY)]  # fmt: skip
        out += [(e.at, len(out) + i, e) for i, e in enumerate(seq)]
    return [e for _, _, e in sorted(out, key=lambda x: (x[0], x[1]))]


def transferred(c: str, t: float, agent: int, queue: int, talk: float, hold: float,
                acw: float) -> list[Event]:  # fmt: skip
    """A call answered at t and transferred back to a queue, part by part."""
    S = AgentState
    out: list[Event] = []
    parts = 3 if talk > 300 else 2
    for part in range(parts):
        a = f"a{(agent + part) % 4}"
        out += [CallAnswered(at=t, call_id=c, agent_id=a),
                AgentStateChanged(at=t, agent_id=a, old=S.READY, new=S.ON_CALL)]  # fmt: skip
        if hold and part == 1:
            out += [CallHeld(at=t + talk / 6, call_id=c),
                    CallUnheld(at=t + talk / 6 + hold, call_id=c)]  # fmt: skip
            t += hold
        t += talk / parts
        if part < parts - 1:
            out.append(CallRequeued(at=t, call_id=c, queue=QUEUES[(queue + part + 1) % 3],
                                    agent_id=a))  # fmt: skip
        else:
            out.append(CallEnded(at=t, call_id=c))
        out += [AgentStateChanged(at=t, agent_id=a, old=S.ON_CALL, new=S.AFTER_CALL_WORK),
                AgentStateChanged(at=t + acw, agent_id=a, old=S.AFTER_CALL_WORK,
                                  new=S.READY)]  # fmt: skip
        if part < parts - 1 and not hold:  # abandoned while waiting after the transfer
            out.append(CallEnded(at=t + acw / 3, call_id=c))
            break
        t += acw / 2  # the next agent answers, maybe while the last one is in wrap-up
    return out


def replay(
    kernels: tuple[ModuleType, ModuleType],
    events: list[Event],
) -> tuple[Metrics, list[object]]:
    """kernels: (metrics, agent_time), both compiled or both twins."""
    m = Metrics(
        MetricsConfig(interval_s=300, window_s=600), kernel=kernels[0], agent_kernel=kernels[1]
    )
    seen: list[object] = []
    for i, e in enumerate(events):
        m.apply(e)
        if i % 10 == 9:
            seen.append([c.as_row() for c in m.close_due(e.at)])
    now = (events[-1].at if events else 0.0) + 1.0
    seen.append(m.snapshot(now))
    seen.append([m.agent_figures(f"a{i}", s, now) for i in range(4) for s in ("today", "window")])
    seen.append([m.service_figures(str(s), "today", now) for s in SERVICES])
    return m, seen


@settings(max_examples=100, deadline=None)
@given(CALLS, STEPS)
def test_compiled_and_twin_agree(
    calls: list[tuple],
    steps: list[tuple[str, int, int, int, AgentState, float]],  # type: ignore[type-arg]
) -> None:
    """Plausible lifecycles plus random noise (any event, any order) on the same calls."""
    events = lifecycles(calls)
    noise = events_from(steps[:30])
    events = sorted(events + noise, key=lambda e: e.at)
    compiled = (load_compiled("metrics"), load_compiled("agent_time"))
    assert replay(compiled, events)[1] == replay((metrics_py, agent_time_py), events)[1]


@settings(max_examples=80, deadline=None)
@given(CALLS, STEPS)
def test_invariants(
    calls: list[tuple],
    steps: list[tuple[str, int, int, int, AgentState, float]],  # type: ignore[type-arg]
) -> None:
    events = sorted(lifecycles(calls) + events_from(steps[:30]), key=lambda e: e.at)
    m, _ = replay((metrics_py, agent_time_py), events)
    now = (events[-1].at if events else 0.0) + 1.0
    for queue in [None, *m.queues()]:
        for scope in ("interval", "today", "window"):
            f = m.queue_figures(queue, scope, now)
            assert 0 <= f.short_abandoned <= f.abandoned
            assert 0 <= f.answered_within_t <= f.answered
            if f.service_level is not None:
                assert 0.0 <= f.service_level <= 1.0
            for x in (f.talk_s, f.hold_s, f.acw_s, f.wait_answered_s, f.longest_wait_s):
                assert x >= -1e-9
        total = m.queue_figures(queue, "today", now)
        if queue is None:  # a waiting call is in exactly one queue
            assert total.waiting_now == sum(
                m.queue_figures(q, "today", now).waiting_now for q in m.queues()
            )
    for i in range(4):
        a = m.agent_figures(f"a{i}", "today", now)
        assert a.ready_idle_s <= a.logged_in_s + 1e-9
        if a.occupancy is not None:
            assert 0.0 <= a.occupancy <= 1.0
    # every part of a call (transferred or not) has its agent: the all-queues work is the
    # agents' work, and each queue-answered call was answered by an agent
    for scope in ("interval", "today", "window"):
        total = m.queue_figures(None, scope, now)
        agents = [m.agent_figures(f"a{i}", scope, now) for i in range(4)]
        for f in ("talk_s", "hold_s", "acw_s"):
            want = sum(getattr(a, f) for a in agents)
            assert getattr(total, f) == pytest.approx(want, abs=1e-6), (scope, f)
        assert total.answered <= sum(a.answered for a in agents)
        assert total.handled <= sum(a.handled for a in agents)
