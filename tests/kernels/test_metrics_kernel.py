"""The metrics kernel (core_ext/metrics.pyx) against its pure twin (metrics_py.py)."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core_ext import metrics_py
from hotline.core_ext.select import load_compiled

KERNEL = "metrics"  # the `kernel` fixture (kernels/conftest.py): compiled and twin


def test_same_constants() -> None:
    c = load_compiled("metrics")
    for name in ("F", "FIELD_NAMES", "OFFERED", "MISSED_RINGS", "WAITING", "WRAP_UP", "REQUEUED",
                 "WINDOW", "K_PART", "K_REANSWERED", "LOST_NODE_FAILURE",
                 "K_NODE_FAILURE"):  # fmt: skip
        assert getattr(c, name) == getattr(metrics_py, name), name


def test_one_call_through_all_phases(kernel: ModuleType) -> None:
    core = kernel.Core(1800.0)
    gq, gs, ga = core.add_group(), core.add_group(), core.add_group()
    slot = core.open_call()
    assert core.queue(slot, 100.0, gq, gs) == kernel.WAITING
    assert core.waiting(0) == (1, 100.0) and core.waiting(gs) == (1, 100.0)
    assert core.answer(slot, 125.0, ga, 20.0) == kernel.TALKING
    assert core.waiting(gq) == (0, math.inf)
    core.hold(slot, 130.0)
    core.unhold(slot, 150.0)
    core.hold(slot, 160.0)
    assert core.end(slot, 200.0, 5.0) == kernel.WRAP_UP  # the open hold ends at hangup
    assert core.wrap_end(slot, 230.0) == kernel.FREE
    for g in (0, gq, gs, ga):
        row = core.read(kernel.TODAY, g)
        assert row[kernel.HANDLED] == 1.0
        assert row[kernel.TALK] == 75.0 - 60.0
        assert row[kernel.HOLD] == 20.0 + 40.0
        assert row[kernel.ACW] == 30.0
        assert row[kernel.ANSWERED] == 1.0 and row[kernel.WAIT_ANSWERED] == 25.0
        assert row[kernel.ANSWERED_WITHIN_T] == 0.0
    assert core.read(kernel.TODAY, ga)[kernel.OFFERED] == 0.0  # agents are not offered calls


def test_transfer_splits_the_call_into_parts(kernel: ModuleType) -> None:
    core = kernel.Core(1800.0)
    gq, gq2, gs, a1, a2 = (core.add_group() for _ in range(5))
    slot = core.open_call()
    core.queue(slot, 100.0, gq, gs)
    core.answer(slot, 110.0, a1, 20.0)
    core.hold(slot, 120.0)
    part = core.requeue(slot, 150.0, gq2)  # transferred while held: the hold closes at 150
    assert part not in (-1, slot) and core.phase(part) == kernel.WRAP_UP
    assert core.phase(slot) == kernel.REQUEUED and core.agent_of(part) == a1
    assert core.waiting(gq2) == (1, 150.0) and core.waiting(gq) == (0, math.inf)
    assert core.requeue(slot, 151.0, gq) == -1  # not connected: nothing to transfer
    assert core.answer(slot, 160.0, a2, 20.0) == kernel.TALKING  # a2's part starts
    assert core.waiting(0) == (0, math.inf)
    assert core.wrap_end(part, 170.0) == kernel.FREE  # a1's part: talk 10, hold 30, acw 20
    core.release(part)
    assert core.end(slot, 200.0, 5.0) == kernel.WRAP_UP
    assert core.wrap_end(slot, 205.0) == kernel.FREE  # a2's part: talk 40, acw 5
    queue, r1, r2 = (core.read(kernel.TODAY, g) for g in (gq, a1, a2))
    assert core.read(kernel.TODAY, gq2) == [0.0] * kernel.F  # offered nothing, handled nothing
    assert (queue[kernel.OFFERED], queue[kernel.ANSWERED], queue[kernel.HANDLED]) == (1, 1, 1)
    assert (queue[kernel.TALK], queue[kernel.HOLD], queue[kernel.ACW]) == (50.0, 30.0, 25.0)
    assert (queue[kernel.WAIT_ANSWERED], queue[kernel.ANSWERED_WITHIN_T]) == (10.0, 1.0)
    fields = (kernel.ANSWERED, kernel.HANDLED, kernel.TALK, kernel.HOLD, kernel.ACW)
    assert [r1[f] for f in fields] == [1, 1, 10.0, 30.0, 20.0]
    assert [r2[f] for f in fields] == [1, 1, 40.0, 0.0, 5.0]
    assert r2[kernel.WAIT_ANSWERED] == 0.0  # its wait since the transfer is in no figure


def test_gone_while_waiting_after_a_transfer(kernel: ModuleType) -> None:
    core = kernel.Core(1800.0)
    gq, gs, a1 = core.add_group(), core.add_group(), core.add_group()
    for end in ("end", "callback"):
        slot = core.open_call()
        core.queue(slot, 0.0, gq, gs)
        core.answer(slot, 10.0, a1, 20.0)
        part = core.requeue(slot, 20.0, gq)
        assert core.failsafe(slot, 25.0) == kernel.REQUEUED  # app_queue takes it: counted
        assert getattr(core, end)(slot, 30.0, *([5.0] if end == "end" else [])) == kernel.FREE
        core.wrap_end(part, 40.0)
    row = core.read(kernel.TODAY, gq)
    assert (row[kernel.ABANDONED], row[kernel.CALLBACKS], row[kernel.ANSWERED]) == (0, 0, 2)
    fields = (kernel.HANDLED, kernel.TALK, kernel.ACW, kernel.FAILSAFE)
    assert [row[f] for f in fields] == [2, 20.0, 40.0, 2]


def test_a_waiting_call_lost_to_a_node_failure_is_neither_abandoned_nor_in_sl(
        kernel: ModuleType) -> None:
    """#15.5: the node dropped the waiting caller (lost()); a connected call it cut ends as
    usual (answered already: its wrap-up runs); after a transfer, it ends uncounted."""
    core = kernel.Core(1800.0)
    gq, gs, ga = core.add_group(), core.add_group(), core.add_group()
    waiting, talking, moved = core.open_call(), core.open_call(), core.open_call()
    for slot in (waiting, talking, moved):
        core.queue(slot, 10.0, gq, gs)
    core.answer(talking, 12.0, ga, 20.0)
    core.answer(moved, 13.0, ga, 20.0)
    core.requeue(moved, 14.0, gq)
    assert core.lost(waiting, 40.0) == kernel.FREE
    assert core.lost(talking, 40.0) == kernel.WRAP_UP
    assert core.lost(moved, 40.0) == kernel.FREE
    for g in (0, gq, gs):
        row = core.read(kernel.TODAY, g)
        assert row[kernel.LOST_NODE_FAILURE] == 1.0
        assert (row[kernel.OFFERED], row[kernel.ANSWERED]) == (3.0, 2.0)
        assert (row[kernel.ABANDONED], row[kernel.SHORT_ABANDONED]) == (0.0, 0.0)
        assert row[kernel.WAIT_ABANDONED] == 0.0
    assert core.read(kernel.TODAY, ga)[kernel.LOST_NODE_FAILURE] == 0.0
    assert core.waiting(0) == (0, float("inf"))


def test_window_expires_records(kernel: ModuleType) -> None:
    core = kernel.Core(100.0)
    gq, gs = core.add_group(), core.add_group()
    for i in range(3000):  # grows the ring buffer and the call table
        core.queue(core.open_call(), float(i), gq, gs)
    core.expire(2899.0)  # keeps (2899, ...]
    assert core.window_records() == 100
    assert core.read(kernel.WINDOW, gq)[kernel.OFFERED] == 100.0
    assert core.read(kernel.TODAY, gq)[kernel.OFFERED] == 3000.0
    core.expire(1e9)
    assert core.read(kernel.WINDOW, 0) == [0.0] * kernel.F


def test_groups_grow_and_close(kernel: ModuleType) -> None:
    core = kernel.Core(10.0)
    groups = [core.add_group() for _ in range(100)]
    assert groups == list(range(1, 101))
    slot = core.open_call()
    core.queue(slot, 0.0, groups[-2], groups[-1])
    core.end(slot, 5.0, 5.0)
    row = core.read(kernel.INTERVAL, groups[-1])
    assert (row[kernel.ABANDONED], row[kernel.SHORT_ABANDONED]) == (1.0, 1.0)
    core.close_interval()
    assert core.read(kernel.INTERVAL, groups[-1]) == [0.0] * kernel.F
    assert core.read(kernel.TODAY, groups[-1])[kernel.ABANDONED] == 1.0
    core.reset_today()
    assert core.read(kernel.TODAY, 0) == [0.0] * kernel.F
    with pytest.raises(IndexError):
        core.read(kernel.TODAY, 101)


OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "queue",
                "overflow",
                "answer",
                "hold",
                "unhold",
                "end",
                "wrap",
                "callback",
                "failsafe",
                "lost",
                "missed",
                "close",
                "today",
                "expire",
                "requeue",
                "wrap_part",
            ]
        ),
        st.integers(0, 5),  # call
        st.integers(0, 3),  # queue / agent pick
        # exact threshold steps (5 s, 20 s) as well as any float
        st.one_of(st.sampled_from([0.0, 5.0, 20.0]), st.floats(0.0, 40.0, allow_nan=False)),
    ),
    max_size=120,
)


def _run(kernel: ModuleType, ops: list[tuple[str, int, int, float]]) -> list[object]:
    core = kernel.Core(60.0)
    queues = [core.add_group() for _ in range(3)]
    services = [core.add_group() for _ in range(2)]
    agents = [core.add_group() for _ in range(4)]
    slots = [core.open_call() for _ in range(6)]
    parts: list[int] = []  # transferred agents' parts in wrap-up
    t = 0.0
    out: list[object] = []
    for op, call, pick, dt in ops:
        t += dt
        s = slots[call]
        if op == "queue":
            if core.phase(s) == kernel.FREE and call % 2:
                core.release(s)  # exercise the free list
                s = slots[call] = core.open_call()
            out.append(core.queue(s, t, queues[pick % 3], services[pick % 2]))
        elif op == "overflow":
            out.append(core.overflow(s, t, queues[pick % 3]))
        elif op == "answer":
            out.append(core.answer(s, t, agents[pick], 20.0))
        elif op in ("hold", "unhold", "wrap_end", "callback", "failsafe", "lost"):
            out.append(getattr(core, op)(s, t))
        elif op == "wrap":
            out.append(core.wrap_end(s, t))
        elif op == "end":
            out.append(core.end(s, t, 5.0))
        elif op == "missed":
            core.missed(s if pick else -1, t, agents[pick])
        elif op == "close":
            core.close_interval()
        elif op == "today":
            core.reset_today()
        elif op == "expire":
            core.expire(t - 60.0)
        elif op == "requeue":
            part = core.requeue(s, t, queues[pick % 3])
            out.append(part)
            if part >= 0:
                parts.append(part)
        elif op == "wrap_part" and parts:
            part = parts.pop(pick % len(parts))
            out.append(core.wrap_end(part, t))
            core.release(part)  # its slot is reused by the next call or part
        out.append([core.waiting(g) for g in range(core.n_groups)])
    for scope in (kernel.INTERVAL, kernel.TODAY, kernel.WINDOW):
        out.append([core.read(scope, g) for g in range(core.n_groups)])
    out.append(core.window_records())
    return out


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_compiled_equals_twin_on_random_ops(ops: list[tuple[str, int, int, float]]) -> None:
    assert _run(load_compiled("metrics"), ops) == _run(metrics_py, ops)


def test_restore_adds_saved_rows_and_replayed_records(kernel: ModuleType) -> None:
    """A restart (realtime restore): a saved row adds to one scope of one group; a replayed
    record counts as the call's life would have (all scopes, the window's log too)."""
    core = kernel.Core(1800.0)
    gq, gs, ga = core.add_group(), core.add_group(), core.add_group()
    saved = [float(i) for i in range(kernel.F)]
    core.add_row(kernel.TODAY, gq, saved)
    assert core.read(kernel.TODAY, gq) == saved
    assert core.read(kernel.INTERVAL, gq) == [0.0] * kernel.F
    core.add_record(100.0, kernel.K_ANSWERED, gq, gs, ga, 12.0, 1.0, 0.0)
    for g in (0, gq, gs, ga):
        row = core.read(kernel.WINDOW, g)
        assert (row[kernel.ANSWERED], row[kernel.WAIT_ANSWERED]) == (1.0, 12.0)
    assert core.read(kernel.TODAY, gq)[kernel.ANSWERED] == saved[kernel.ANSWERED] + 1
    assert core.window_records() == 1
    core.expire(100.0)
    assert core.read(kernel.WINDOW, 0) == [0.0] * kernel.F
    with pytest.raises(ValueError):
        core.add_row(kernel.WINDOW, gq, saved)  # the window has no record to expire
    with pytest.raises(ValueError):
        core.add_row(kernel.TODAY, gq, saved[:3])
    with pytest.raises(IndexError):
        core.add_row(kernel.TODAY, 99, saved)
    with pytest.raises(IndexError):
        core.add_record(1.0, kernel.K_OFFERED, 99, gs, -1, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        core.add_record(1.0, 42, gq, gs, -1, 0.0, 0.0, 0.0)


def test_resume_waits_again_without_an_offer(kernel: ModuleType) -> None:
    """A call a previous run counted offered, still waiting after a restart."""
    core = kernel.Core(1800.0)
    gq, gs, ga = core.add_group(), core.add_group(), core.add_group()
    slot = core.open_call()
    assert core.resume(slot, 100.0, gq, gs) == kernel.WAITING
    assert core.read(kernel.TODAY, gq)[kernel.OFFERED] == 0.0
    assert core.waiting(gq) == (1, 100.0)
    assert core.resume(slot, 150.0, gq, gs) == kernel.WAITING  # no change once waiting
    core.answer(slot, 130.0, ga, 20.0)
    row = core.read(kernel.TODAY, gq)
    assert (row[kernel.ANSWERED], row[kernel.WAIT_ANSWERED]) == (1.0, 30.0)
    with pytest.raises(IndexError):
        core.resume(core.open_call(), 1.0, 99, gs)
