"""What each call leaves in the agent desk's read model once it is over (docs/metrics.md, the
soak's RSS): the desk keeps 10,000 calls' contexts, so their bytes are the soak's growth."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    IvrChoice,
)
from hotline.core.lifecycle import AgentState
from hotline.core.values import ServiceType
from hotline.history.desk import DeskProjection

NODE = "n1"
T0 = 1_800_000_000.0


def one_call(desk: DeskProjection, n: int, agents: int) -> None:
    """A call's events as AMI gives them: every string parsed anew (the caller's number twice,
    the queue name, the menu), as the controller records them."""
    call, caller, agent = f"1795478000.{n}", f"1390{n:07d}", f"agent{n % agents}"
    t = T0 + n
    desk.record(CallEntered(t, node=NODE, call_id=call, caller=caller, dialed="12345",
                            channel=f"PJSIP/caller-{n:08x}"))
    desk.record(IvrChoice(t + 1, node=NODE, call_id=call, menu="".join(["ma", "in"]),
                          digit=str(n % 3)))
    desk.record(CallQueued(t + 2, node=NODE, call_id=call, caller="".join([caller[:4],
                                                                            caller[4:]]),
                           queue=f"q{n % 3}", service=ServiceType.GENERAL))
    desk.record(AgentStateChanged(t + 3, agent_id=agent, old=AgentState.READY,
                                  new=AgentState.RESERVED, call_id=call))
    desk.record(CallAnswered(t + 4, node=NODE, call_id=call, agent_id=agent))


def traced_growth(step: Callable[[int], None], numbers: range) -> int:
    """The bytes tracemalloc sees kept after `step(n)` for each of `numbers`."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in numbers:
            step(n)
        gc.collect()
        return sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before,
                                                                               "filename"))
    finally:
        tracemalloc.stop()


def test_a_finished_call_leaves_few_bytes_in_the_desk() -> None:
    """Measured with the desk's bounds not reached: each call's context, its call id and
    caller, its place in the recent calls. 60 agents hold the 10 last each (the soak's floor):
    those are there before the measure. Before: an OrderedDict entry, two caller strings, a
    list of IVR steps with a string each, a queue string each: ~640 B a call (and a 10-call
    deque per agent, ~630 B); now ~400 B: its id, caller, times, context and dict entry."""
    desk = DeskProjection()
    agents, n = 60, 4000
    for i in range(agents * desk.keep_per_agent):  # every agent's recent calls full
        one_call(desk, i, agents)
    grown = traced_growth(lambda i: one_call(desk, i, agents),
                          range(agents * desk.keep_per_agent, agents * desk.keep_per_agent + n))
    last = desk.call("agent0", f"1795478000.{agents * desk.keep_per_agent + n - agents}")
    assert last is not None and last.caller.startswith("1390") and last.queue.startswith("q")
    assert last.ivr_path == [f"main={(agents * desk.keep_per_agent + n - agents) % 3}"]
    assert grown / n < 480, f"{grown / n:.0f} B per call"


def end_call(desk: DeskProjection, n: int, agents: int) -> None:
    """one_call's call hangs up, then its agent goes into after-call work for it."""
    call, agent, t = f"1795478000.{n}", f"agent{n % agents}", T0 + n
    desk.record(CallEnded(t + 60, node=NODE, call_id=call))
    desk.record(AgentStateChanged(t + 60, agent_id=agent, old=AgentState.ON_CALL,
                                  new=AgentState.AFTER_CALL_WORK, call_id=call))


def test_an_ended_call_is_kept_only_by_the_agents_who_had_it() -> None:
    """Once a call ends its context is read only through its agent's recent calls (the desk
    of an agent in after-call work): the desk's own map of calls holds live calls, not the
    day's last 10,000 (~400 B each: the soak's fill, #15). A call nobody took is gone."""
    desk = DeskProjection()
    one_call(desk, 1, 5)
    desk.record(CallEntered(T0, node=NODE, call_id="nobody", caller="1", dialed="2",
                            channel="PJSIP/x"))
    end_call(desk, 1, 5)
    desk.record(CallEnded(T0 + 9, node=NODE, call_id="nobody"))
    taken = desk.call("agent1", "1795478000.1")
    assert taken is not None and taken.answered_at == T0 + 5 and taken.queue == "q1"
    assert [c.call_id for c in desk.recent_calls("agent1")] == ["1795478000.1"]
    assert desk.call("agent1", "nobody") is None
    agents, n = 60, 4000
    for i in range(agents * desk.keep_per_agent):  # every agent's recent calls full
        one_call(desk, i, agents)
        end_call(desk, i, agents)
    def finished(i: int) -> None:
        one_call(desk, i, agents)
        end_call(desk, i, agents)

    grown = traced_growth(finished, range(agents * desk.keep_per_agent,
                                          agents * desk.keep_per_agent + n))
    assert grown / n < 40, f"{grown / n:.0f} B per finished call"


def test_an_agents_recent_calls_are_a_small_tuple() -> None:
    """10,000 agents each with a first call: what their lists of recent calls weigh (a
    deque(maxlen=10) was ~630 B an agent: 1,705 B before with the agent's id, last state change
    and dict entries, ~770 B now)."""
    desk = DeskProjection()
    agents = 2000
    for i in range(agents):
        one_call(desk, i, 10**6)  # every call a new agent
    grown = traced_growth(lambda i: one_call(desk, i, 10**6), range(agents, 2 * agents))
    assert [c.call_id for c in desk.recent_calls(f"agent{agents}")] == [f"1795478000.{agents}"]
    assert grown / agents < 1100, f"{grown / agents:.0f} B per call and agent"


def test_the_desk_keeps_the_most_recently_active_calls() -> None:
    """The bound counts calls by last activity: a call touched again moves to the newest."""
    desk = DeskProjection(keep_calls=3)
    for call in ("a", "b", "c"):
        desk.record(CallEntered(T0, node=NODE, call_id=call, caller="1", dialed="2",
                                channel="PJSIP/x"))
    desk.record(CallQueued(T0 + 1, node=NODE, call_id="a", caller="1", queue="q",
                           service=ServiceType.GENERAL))  # a is the newest now
    desk.record(CallEntered(T0 + 2, node=NODE, call_id="d", caller="1", dialed="2",
                            channel="PJSIP/x"))  # b goes
    assert [c for c in "abcd" if desk.call("x", c) is not None] == ["a", "c", "d"]
    first = desk.call("x", "a")
    assert first is not None and first.caller == "1" and first.queue == "q"
