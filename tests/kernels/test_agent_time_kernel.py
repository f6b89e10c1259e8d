"""The agent state-time kernel (core_ext/agent_time.pyx) against its twin (agent_time_py.py):
bit-identical on random operation streams, right on a day worked by hand, bounded log."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core_ext import agent_time_py
from hotline.core_ext.select import load_compiled

KERNEL = "agent_time"  # the `kernel` fixture (kernels/conftest.py): compiled and twin
INTERVAL, TODAY, WINDOW = 0, 1, 2
OUT = -1


def test_a_morning_worked_by_hand(kernel: ModuleType) -> None:
    """15-minute intervals from 0; window 600 s. One agent:
    t=100 ready (key 0), t=400 on call (key 1), t=1000 ready, boundary at 900, read at 1200.

    | stretch      | key | interval 900-1800 | today | window 600-1200 |
    | 100-400      | 0   | -                 | 300   | 0               |
    | 400-900      | 1   | -                 | 500   | 300 (600-900)   |
    | 900-1000     | 1   | 100               | 100   | 100             |
    | 1000-1200 ·  | 0   | 200               | 200   | 200             |
    (· open at read time)  -> interval [200, 100], today [500, 600], window [200, 400]
    """
    c = kernel.Clocks()
    a = c.add_agent(100.0)
    ready, talk = c.add_key(), c.add_key()
    c.change(a, 100.0, ready)
    c.change(a, 400.0, talk)
    c.flush_all(900.0)
    c.prune(900.0 - 600.0)
    c.clear_interval()
    c.change(a, 1000.0, ready)
    assert c.read(a, INTERVAL, 1200.0, 600.0) == [200.0, 100.0]
    assert c.read(a, TODAY, 1200.0, 600.0) == [500.0, 600.0]
    assert c.read(a, WINDOW, 1200.0, 600.0) == [200.0, 400.0]
    c.change(a, 1200.0, OUT)  # logged out: the clock stops
    assert c.read(a, TODAY, 5000.0, 600.0) == [500.0, 600.0]


def test_time_before_a_skip_is_dropped(kernel: ModuleType) -> None:
    c = kernel.Clocks()
    a = c.add_agent(0.0)
    k = c.add_key()
    c.change(a, 0.0, k)
    c.skip_to(86_400.0)
    assert c.read(a, TODAY, 86_460.0, 600.0) == [60.0]


def test_the_window_log_stays_bounded(kernel: ModuleType) -> None:
    """A day of churn with pruning at every boundary keeps only the window's stretches."""
    c = kernel.Clocks()
    agents = [c.add_agent(0.0) for _ in range(50)]
    keys = [c.add_key() for _ in range(3)]
    t = 0.0
    for step in range(20_000):
        t += 4.0
        c.change(agents[step % 50], t, keys[step % 3])
        if step % 225 == 224:  # every 900 s
            c.flush_all(t)
            c.prune(t - 1800.0)
    # the window's changes, the ones since the last prune, and the boundary flushes in both
    assert c.log_size() <= 1800 / 4 + 225 + 3 * 50


OPS = st.lists(st.tuples(
    st.sampled_from(["change", "flush", "prune", "skip", "clear_i", "clear_t", "key", "agent"]),
    st.integers(0, 7), st.integers(-1, 5), st.floats(0.0, 50.0, allow_nan=False)),
    max_size=150)


def _run(kernel: ModuleType, ops: list[tuple[str, int, int, float]]) -> list[object]:
    c = kernel.Clocks()
    c.add_agent(0.0)
    c.add_key()
    t = 0.0
    seen: list[object] = []
    for op, a, k, dt in ops:
        t += dt
        a %= c.n_agents
        k = -1 if k < 0 else k % c.n_keys
        if op == "change":
            c.change(a, t, k)
        elif op == "flush":
            c.flush_all(t)
        elif op == "prune":
            c.prune(t - 120.0)
        elif op == "skip":
            c.skip_to(t)
        elif op == "clear_i":
            c.clear_interval()
        elif op == "clear_t":
            c.clear_today()
        elif op == "key":
            c.add_key()
        else:
            c.add_agent(t)
        seen.append([c.read(x, s, t + dt, 120.0) for x in range(c.n_agents) for s in range(3)])
        seen.append((c.key(a), c.since(a), c.log_size()))
    return seen


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_compiled_and_twin_agree(ops: list[tuple[str, int, int, float]]) -> None:
    assert _run(load_compiled("agent_time"), ops) == _run(agent_time_py, ops)


def test_saved_seconds_add_to_one_scope(kernel: ModuleType) -> None:
    """A restart: an agent's saved state time goes on counting from where it was."""
    c = kernel.Clocks()
    a = c.add_agent(1000.0)
    ready = c.add_key()
    c.add_seconds(a, TODAY, ready, 600.0)
    c.add_seconds(a, INTERVAL, ready, 60.0)
    c.change(a, 1000.0, ready)
    assert c.read(a, TODAY, 1030.0, 600.0) == [630.0]
    assert c.read(a, INTERVAL, 1030.0, 600.0) == [90.0]
    assert c.read(a, WINDOW, 1030.0, 600.0) == [30.0]
    with pytest.raises(ValueError):
        c.add_seconds(a, WINDOW, ready, 1.0)
    with pytest.raises(IndexError):
        c.add_seconds(a, TODAY, 5, 1.0)
