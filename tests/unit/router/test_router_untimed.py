"""Two shortcuts the what-if simulator relies on (hotline/planning/simulation.py) change no
decision: the restage pass over the line is skipped while no waiting call's requirements can
change with time (RouterState.timed), and `RouterConfig(explain=False)` builds no ranking of
the other agents. Checked event for event against a router that always restages and explains,
on a floor that starts untimed and turns timed (a repeat caller's preferred agent, then a
queue given an overflow while calls flow)."""

from __future__ import annotations

import dataclasses
import random
from types import ModuleType

import pytest

from hotline.core.events import CallAnswered, CallEnded
from hotline.core.lifecycle import AgentState
from hotline.core.lifecycle import AgentTrigger as T
from hotline.core.values import ServiceType
from hotline.router import AgentConfig, CallbackDue, Offer, QueueConfig, Router
from tests.helpers.router_floor import GENERAL, make, queued, ready

QUEUES = [
    QueueConfig("billing", ServiceType.BILLING, {"billing": 2}),
    QueueConfig("fault", ServiceType.FAULT, {"fault": 1}),
    GENERAL,
]


class AlwaysRestages(Router):
    def _advance(self, now: float) -> list:
        self._state.timed = True
        return super()._advance(now)


def plain(out: list) -> list:
    """The decisions without their explanations."""
    return [dataclasses.replace(item, explanation=None)
            if isinstance(item, Offer | CallbackDue) else item for item in out]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_untimed_and_unexplained_routers_decide_as_the_full_one(kernel: ModuleType,
                                                                seed: int) -> None:
    rng = random.Random(seed)
    crew = [AgentConfig(f"a{i}", {s: rng.choice([1, 2, 3]) for s in
                                  rng.sample(["billing", "fault"], rng.randint(1, 2))})
            for i in range(8)]
    fast, clock = make(kernel, crew, QUEUES)
    assert not fast._state.timed
    full = AlwaysRestages(fast._state.config, clock, kernel=kernel)
    lean = Router(dataclasses.replace(fast._state.config, explain=False), clock, kernel=kernel)
    routers = (fast, full, lean)
    holding: dict[str, str] = {}
    live: list[str] = []

    def every(step: object, *args: object) -> list:
        outs = [step(r, *args) for r in routers]  # type: ignore[operator]
        assert outs[0] == outs[1]
        assert plain(outs[0]) == plain(outs[2])
        for item in outs[0]:
            if getattr(item, "new", None) == AgentState.RESERVED:
                holding[item.agent_id] = item.call_id
        return outs[0]

    for n in range(1500):
        clock.now += rng.choice([0.0, 0.3, 1.0, 2.5, 6.0])
        if n in (300, 400, 500, 600, 700):  # repeat callers held for their agent: time matters
            every(Router.mark_repeat, f"r{n}", f"a{n // 100}")
            live.append(f"r{n}")
            every(Router.handle, queued(clock, f"r{n}", "fault"))
        if n == 900:  # billing overflows to general from now on
            every(Router.put_queue, dataclasses.replace(
                QUEUES[0], overflow_to="general", overflow_wait_s=5.0))
        agent_id = f"a{rng.randrange(8)}"
        state = fast.agent(agent_id).state
        roll = rng.random()
        if roll < 0.25:
            call_id = f"c{n}"
            live.append(call_id)
            every(Router.handle, queued(clock, call_id, rng.choice(["billing", "fault"])))
        elif roll < 0.4 and state in (AgentState.LOGGED_OUT, AgentState.NOT_READY):
            every(ready, agent_id)
        elif roll < 0.5 and state == AgentState.AFTER_CALL_WORK:
            every(Router.agent_command, agent_id, T.END_WRAP_UP)
        elif roll < 0.65 and state == AgentState.RESERVED:
            every(Router.handle, CallAnswered(clock.now, holding[agent_id], agent_id))
        elif roll < 0.8 and live:
            call_id = live.pop(rng.randrange(len(live)))
            every(Router.handle, CallEnded(clock.now, call_id))
        else:
            every(Router.tick)
    assert fast._state.timed  # the repeat callers turned it on


def test_a_preferred_agents_turn_runs_out_on_an_untimed_floor(kernel: ModuleType) -> None:
    """Nothing on the floor is timed until a repeat caller waits for its agent (busy): when
    the agent's turn (preferred_agent_s, 10 s) runs out, a tick offers the call to the
    other ready agent."""
    crew = [AgentConfig("a0", {"fault": 1}), AgentConfig("a1", {"fault": 1})]
    router, clock = make(kernel, crew, QUEUES)
    ready(router, "a0")
    router.handle(queued(clock, "c1", "fault"))  # a0 takes it
    assert router.agent("a0").state == AgentState.RESERVED
    ready(router, "a1")
    router.mark_repeat("c2", "a0")
    assert router.handle(queued(clock, "c2", "fault")) == []  # held for a0, a1 ready
    clock.now += 10.5
    out = router.tick()
    assert [(o.call_id, o.agent_id) for o in out if isinstance(o, Offer)] == [("c2", "a1")]
