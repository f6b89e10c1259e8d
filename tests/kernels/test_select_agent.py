"""The agent-selection kernel: compiled and pure twin on the same inputs, and a naive oracle."""

from __future__ import annotations

import random
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core.lifecycle import AgentState
from hotline.core_ext import select as selector
from hotline.core_ext import select_agent_py
from hotline.router.agent_records import AgentRecord
from hotline.router.decisions import NOT_READY, RANKED_LOWER, SKILL, Considered

KERNEL = "select_agent"  # the `kernel` fixture (kernels/conftest.py): compiled and twin


def test_selector_honours_pure_python_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(selector.PURE_ENV, "1")
    assert selector.load("select_agent") is select_agent_py
    monkeypatch.setenv(selector.PURE_ENV, "0")
    assert selector.is_compiled(selector.load("select_agent"))


def test_selector_falls_back_to_twin_when_compiled_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(selector.PURE_ENV, raising=False)

    def broken(name: str) -> ModuleType:
        raise ImportError(name)

    monkeypatch.setattr(selector, "load_compiled", broken)
    assert selector.load("select_agent") is select_agent_py


def test_interfaces_match() -> None:
    compiled = selector.load_compiled("select_agent")
    public = {n for n in dir(select_agent_py.AgentIndex) if not n.startswith("_")}
    assert public <= set(dir(compiled.AgentIndex))
    for const in ("MAX_SKILLS", "MAX_LEVEL", "ANY_SKILL", "MOST_SKILLED", "LONGEST_IDLE"):
        assert getattr(compiled, const) == getattr(select_agent_py, const)
    public = {n for n in dir(select_agent_py.Verdicts) if not n.startswith("_")}
    assert public <= set(dir(compiled.Verdicts))


# --- examples ----------------------------------------------------------------------------------


def _index(kernel: ModuleType) -> object:
    ix = kernel.AgentIndex(6)
    # skill 0 = billing, 1 = fault, 2 = english
    levels = {0: {0: 2}, 1: {0: 5}, 2: {0: 5, 2: 1}, 3: {1: 3}, 4: {0: 1, 1: 4}, 5: {}}
    for agent, skills in levels.items():
        for skill, level in skills.items():
            ix.set_level(agent, skill, level)
    return ix


def test_most_skilled_then_longest_idle(kernel: ModuleType) -> None:
    ix = _index(kernel)
    for agent, idle in enumerate([1.0, 5.0, 3.0, 0.0, 0.5, 2.0]):
        ix.set_ready(agent, idle, 0)
    assert ix.select([0], [1], kernel.MOST_SKILLED) == 2  # level 5, idle since 3 < 5
    ix.set_unready(2)
    assert ix.select([0], [1], kernel.MOST_SKILLED) == 1
    ix.set_unready(1)
    assert ix.select([0], [1], kernel.MOST_SKILLED) == 0  # level 2 beats level 1
    assert ix.select([0], [3], kernel.MOST_SKILLED) == -1


def test_longest_idle_and_ties_by_index(kernel: ModuleType) -> None:
    ix = _index(kernel)
    for agent in range(6):
        ix.set_ready(agent, 7.0, 0)
    assert ix.select([0], [1], kernel.LONGEST_IDLE) == 0
    ix.set_ready(1, 6.0, 0)
    assert ix.select([0], [1], kernel.LONGEST_IDLE) == 1
    assert ix.select([], [], kernel.LONGEST_IDLE) == 1  # no requirement: anyone ready
    assert ix.count_ready() == 6


def test_several_requirements(kernel: ModuleType) -> None:
    ix = _index(kernel)
    for agent in range(6):
        ix.set_ready(agent, float(agent), 0)
    assert ix.select([0, 2], [1, 1], kernel.LONGEST_IDLE) == 2
    assert ix.select([1, 0], [3, 1], kernel.MOST_SKILLED) == 4
    assert ix.select([1, 0], [3, 2], kernel.MOST_SKILLED) == -1


def test_least_calls_and_round_robin(kernel: ModuleType) -> None:
    ix = _index(kernel)
    for agent, calls in enumerate([4, 2, 2, 0, 9, 0]):
        ix.set_ready(agent, 10.0 - agent, calls)
    assert ix.select([0], [1], kernel.LEAST_CALLS) == 2  # 2 calls, idle since 8 < 9
    assert ix.select([0], [1], kernel.ROUND_ROBIN, -1) == 0
    assert ix.select([0], [1], kernel.ROUND_ROBIN, 0) == 1
    assert ix.select([0], [1], kernel.ROUND_ROBIN, 2) == 4
    assert ix.select([0], [1], kernel.ROUND_ROBIN, 4) == 0  # wraps around
    assert ix.ranked([0], [1], kernel.ROUND_ROBIN, 2, 10) == [4, 0, 1, 2]
    assert ix.ranked([0], [1], kernel.LEAST_CALLS, -1, 2) == [2, 1]
    assert ix.ranked([0], [1], kernel.MOST_SKILLED, -1, 10) == [2, 1, 0, 4]


def test_skill_edit_moves_a_ready_agent(kernel: ModuleType) -> None:
    ix = _index(kernel)
    ix.set_ready(3, 1.0, 0)
    assert ix.select([0], [1], kernel.MOST_SKILLED) == -1
    ix.set_level(3, 0, 4)
    assert ix.select([0], [4], kernel.MOST_SKILLED) == 3
    ix.clear_skills(3)
    assert ix.select([0], [1], kernel.MOST_SKILLED) == -1
    assert ix.select([], [], kernel.MOST_SKILLED) == 3
    assert ix.level(3, 1) == 0


def test_bad_input_raises(kernel: ModuleType) -> None:
    ix = _index(kernel)
    with pytest.raises(ValueError):
        ix.set_level(0, kernel.MAX_SKILLS, 1)
    with pytest.raises(ValueError):
        ix.set_level(0, 1, 6)
    with pytest.raises(ValueError):
        ix.select([0], [1, 2], kernel.MOST_SKILLED)
    with pytest.raises(ValueError):
        ix.select([0], [1], 99)


# --- property tests: compiled == twin == naive full scan -----------------------------------------


def naive_select(
    levels: list[dict[int, int]],
    ready: dict[int, tuple[float, int]],
    skills: list[int],
    mins: list[int],
    policy: int,
    cursor: int,
) -> int:
    ranking = naive_ranking(levels, ready, skills, mins, policy, cursor)
    return ranking[0] if ranking else -1


def naive_ranking(
    levels: list[dict[int, int]],
    ready: dict[int, tuple[float, int]],
    skills: list[int],
    mins: list[int],
    policy: int,
    cursor: int,
) -> list[int]:
    """Scan and sort every agent: the definition the kernels must agree with."""
    k = select_agent_py
    eligible = [
        a
        for a in sorted(ready)
        if all(levels[a].get(s, 0) >= max(m, 1) for s, m in zip(skills, mins, strict=True))
    ]

    def key(a: int) -> tuple[float, ...]:
        idle, calls = ready[a]
        if policy == k.MOST_SKILLED:
            return (-(levels[a].get(skills[0], 0) if skills else 1), idle, a)
        if policy == k.LONGEST_IDLE:
            return (idle, a)
        if policy == k.LEAST_CALLS:
            return (calls, idle, a)
        return (0 if a > cursor else 1, a)

    return sorted(eligible, key=key)


requirements = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=3, unique_by=lambda t: t[0]
)
ops = st.lists(
    st.tuples(
        st.sampled_from(["ready", "unready", "level", "select"]),
        st.integers(0, 11),  # agent
        st.integers(0, 5),  # skill (few, so that requirements often meet)
        st.integers(0, 5),  # level
        st.integers(0, 6),  # idle_since: many ties on purpose
        st.integers(0, 3),  # policy
        st.lists(
            st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=3, unique_by=lambda t: t[0]
        ),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_kernels_agree_under_churn(script: list) -> None:
    compiled = selector.load_compiled("select_agent")
    c, py = compiled.AgentIndex(12), select_agent_py.AgentIndex(12)
    levels: list[dict[int, int]] = [{} for _ in range(12)]
    ready: dict[int, tuple[float, int]] = {}
    cursor = -1
    for op, agent, skill, level, idle, policy, reqs in script:
        if op == "ready":
            for ix in (c, py):
                ix.set_ready(agent, float(idle), level)
            ready[agent] = (float(idle), level)
        elif op == "unready":
            for ix in (c, py):
                ix.set_unready(agent)
            ready.pop(agent, None)
        elif op == "level":
            for ix in (c, py):
                ix.set_level(agent, skill, level)
            levels[agent][skill] = level
        else:
            skills, mins = [s for s, _ in reqs], [m for _, m in reqs]
            got_c = c.select(skills, mins, policy, cursor)
            got_py = py.select(skills, mins, policy, cursor)
            assert got_c == got_py == naive_select(levels, ready, skills, mins, policy, cursor)
            full = naive_ranking(levels, ready, skills, mins, policy, cursor)
            for limit in (0, 3, 20):
                assert c.ranked(skills, mins, policy, cursor, limit) == full[:limit]
                assert py.ranked(skills, mins, policy, cursor, limit) == full[:limit]
            if got_c >= 0:
                cursor = got_c
        assert c.count_ready() == py.count_ready() == len(ready)


def test_kernels_agree_on_a_large_random_floor() -> None:
    """1,000 agents with up to 64 skills, heavy churn, 1-3 requirement calls."""
    rng = random.Random(5)
    compiled = selector.load_compiled("select_agent")
    n = 1000
    c, py = compiled.AgentIndex(n), select_agent_py.AgentIndex(n)
    levels: list[dict[int, int]] = [{} for _ in range(n)]
    for a in range(n):
        for s in rng.sample(range(64), rng.randint(1, 64)):
            lv = rng.randint(1, 5)
            levels[a][s] = lv
            c.set_level(a, s, lv)
            py.set_level(a, s, lv)
    ready: dict[int, tuple[float, int]] = {}
    for step in range(2000):
        a = rng.randrange(n)
        if a in ready and rng.random() < 0.5:
            c.set_unready(a)
            py.set_unready(a)
            del ready[a]
        else:
            idle, calls = float(rng.randint(0, 50)), rng.randint(0, 5)
            c.set_ready(a, idle, calls)
            py.set_ready(a, idle, calls)
            ready[a] = (idle, calls)
        if step % 10 == 0:
            reqs = rng.sample(range(64), rng.randint(1, 3))
            mins = [rng.randint(1, 5) for _ in reqs]
            policy, cursor = rng.randrange(4), rng.randrange(n)
            got = c.select(reqs, mins, policy, cursor)
            assert got == py.select(reqs, mins, policy, cursor)
            assert got == naive_select(levels, ready, reqs, mins, policy, cursor)
            top = c.ranked(reqs, mins, policy, cursor, 5)
            assert top == py.ranked(reqs, mins, policy, cursor, 5)
            assert top == naive_ranking(levels, ready, reqs, mins, policy, cursor)[:5]


# --- explanation records (Verdicts) -------------------------------------------------------------

STATES = list(AgentState)
verdict_ops = st.lists(
    st.tuples(
        st.sampled_from(["move", "skills", "explain"]),
        st.integers(0, 9),  # agent
        st.sampled_from(STATES),
        st.sampled_from(["", "missed", "lunch"]),
        st.dictionaries(st.sampled_from(["billing", "fault", "english"]), st.integers(1, 5)),
        st.lists(st.tuples(st.sampled_from(["billing", "fault", "english"]), st.integers(0, 5)),
                 max_size=3, unique_by=lambda t: t[0]),
        st.sets(st.integers(0, 9), max_size=4),  # listed (ranked) agents
        st.integers(0, 6),  # limit
    ),
    max_size=40,
)


def _naive_passed_over(
    agents: list[AgentRecord], listed: set[str], reqs: list[tuple[str, int]], limit: int,
    cap: int,
) -> list[Considered]:
    """The walk spelled out with Considered's keyword constructor."""
    out: list[Considered] = []
    looked = 0
    for a in agents:
        if len(out) >= limit or looked >= cap:
            break
        if a.agent_id in listed:
            continue
        looked += 1
        lacking = [(s, m) for s, m in reqs if a.skills.get(s, 0) < max(m, 1)]
        if lacking:
            s, m = lacking[0]
            out.append(Considered(a.agent_id, SKILL, skill=s, level=a.skills.get(s, 0), minimum=m))
        elif a.state is not AgentState.READY:
            out.append(Considered(a.agent_id, NOT_READY, state=a.state.value, reason=a.reason))
    return out


@settings(max_examples=150, deadline=None)
@given(verdict_ops)
def test_verdicts_agree_and_keep_records_right(script: list) -> None:
    """Compiled and twin build the same records as the naive walk, also while each keeps a
    not-ready agent's record across decisions and agents change state in between."""
    compiled = selector.load_compiled("select_agent")
    makers = [
        k.Verdicts(Considered, RANKED_LOWER, SKILL, NOT_READY, AgentState.READY)
        for k in (compiled, select_agent_py)
    ]
    agents = [AgentRecord(f"a{i}", i, skills={"billing": 1 + i % 5}) for i in range(10)]
    for op, i, state, reason, skills, reqs, listed, limit in script:
        agent = agents[i]
        if op == "move":
            agent.state, agent.reason = state, reason if state is AgentState.NOT_READY else ""
        elif op == "skills":
            agent.skills = skills
        else:
            ids = {f"a{j}" for j in listed}
            want = _naive_passed_over(agents, ids, reqs, limit, 3 * limit)
            for maker in makers:
                got = maker.passed_over(iter(agents), ids, reqs, limit, 3 * limit)
                assert got == want
                assert [type(c) for c in got] == [Considered] * len(got)
                assert [type(c.state) for c in got] == [str] * len(got)  # the value, not enum
                skill = reqs[0][0] if reqs else ""
                lower = maker.ranked_lower(agents[:limit], "longest_idle", skill)
                assert lower == [
                    Considered(a.agent_id, RANKED_LOWER, rank=n, policy="longest_idle",
                               skill=skill, level=a.skills.get(skill, 0) if skill else 0,
                               idle_since=a.idle_since, calls_today=a.calls_today)
                    for n, a in enumerate(agents[:limit], start=2)
                ]


def test_verdicts_refuse_a_record_type_of_another_shape(kernel: ModuleType) -> None:
    with pytest.raises(TypeError):
        kernel.Verdicts(tuple, RANKED_LOWER, SKILL, NOT_READY, AgentState.READY)
    with pytest.raises(TypeError):
        kernel.Verdicts(dict, RANKED_LOWER, SKILL, NOT_READY, AgentState.READY)
