"""The router skips looking at time while nothing can come due (Router._let_time_pass): the
same decisions, event for event, as a router that looks every time."""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType

import pytest

from hotline.core.events import CallAnswered, CallEnded, CallHeld, RingNoAnswer
from hotline.core.lifecycle import AgentState
from hotline.core.lifecycle import AgentTrigger as T
from hotline.core.values import ServiceType
from hotline.router import LEAST_CALLS, ROUND_ROBIN, AgentConfig, QueueConfig, Router
from tests.helpers.router_floor import GENERAL, make, queued, ready


def stages(router: Router) -> dict[str, tuple]:
    return {c.call_id: c.stage for c in router._state.line.calls()}


class LooksEveryTime(Router):
    def _let_time_pass(self, now: float) -> list:  # type: ignore[override]
        return self._advance(now)


QUEUES = [
    QueueConfig(
        "billing",
        ServiceType.BILLING,
        {"billing": 3},
        expand_after=[(8, {"billing": 2}), (20, {"billing": 1})],
    ),
    QueueConfig("fault", ServiceType.FAULT, {"fault": 1}, priority=10, policy=LEAST_CALLS),
    QueueConfig(
        "business",
        ServiceType.BUSINESS,
        {"business": 2},
        policy=ROUND_ROBIN,
        overflow_to="general",
        overflow_wait_s=15,
    ),
    GENERAL,
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_quiet_router_decides_exactly_as_one_that_always_looks(
    kernel: ModuleType,
    seed: int,
) -> None:
    rng = random.Random(seed)
    skills = ["billing", "fault", "business"]
    # few agents meet billing's first requirement: billing calls wait for the bullseye
    crew = [
        AgentConfig(
            f"a{i}",
            {s: rng.choice([1, 1, 2, 2, 3]) for s in rng.sample(skills, rng.randint(1, 3))},
        )
        for i in range(10)
    ]
    quiet, clock = make(kernel, crew, QUEUES, ring_timeout_s=6.0, callback_retry_s=9.0)
    looks = LooksEveryTime(quiet._state.config, clock, kernel=kernel)
    holding: dict[str, str] = {}
    live: list[str] = []
    skipped = 0

    def both(step: Callable[..., list], *args: object) -> list:
        a, b = step(quiet, *args), step(looks, *args)
        assert a == b, (a, b)
        assert stages(quiet) == stages(looks)  # bullseye, overflow, preferred turns
        return a

    for n in range(1200):
        clock.now += rng.choice([0.0, 0.05, 0.2, 0.2, 0.7, 1.5, 4.0])
        roll = rng.random()
        agent_id = f"a{rng.randrange(10)}"
        state = quiet.agent(agent_id).state
        assert looks.agent(agent_id).state == state

        if roll < 0.15:
            call_id = f"c{n}"
            live.append(call_id)
            q = rng.choice([q.name for q in QUEUES])
            out = both(Router.handle, queued(clock, call_id, q))
        elif roll < 0.25 and state in (AgentState.LOGGED_OUT, AgentState.NOT_READY):
            out = both(ready, agent_id)
        elif roll < 0.28 and state in (AgentState.READY, AgentState.AFTER_CALL_WORK):
            out = both(Router.agent_command, agent_id, T.NOT_READY, "break")
        elif roll < 0.36 and state == AgentState.AFTER_CALL_WORK:
            out = both(Router.agent_command, agent_id, T.END_WRAP_UP)
        elif roll < 0.42 and state in (AgentState.RESERVED, AgentState.RINGING):
            event = rng.choice([CallAnswered, CallAnswered, RingNoAnswer])
            out = both(Router.handle, event(clock.now, holding[agent_id], agent_id))
        elif roll < 0.45 and live:
            call_id, preferred = rng.choice(live), rng.choice([None, agent_id])
            out = both(Router.mark_repeat, call_id, preferred)
        elif roll < 0.47 and quiet.waiting():
            call_id = rng.choice([w.call_id for w in quiet.waiting()])
            out = both(Router.request_callback, call_id, "13800000000")
        elif roll < 0.55 and live:
            call_id = live.pop(rng.randrange(len(live)))
            out = both(Router.handle, CallEnded(clock.now, call_id))
        elif roll < 0.75:  # an event the router has no use for: time may pass, or not
            call_id = rng.choice(live) if live else "x"
            before = quiet._quiet_until
            out = both(Router.handle, CallHeld(clock.now, call_id))
            skipped += clock.now < before
        else:
            before = quiet._quiet_until
            out = both(Router.tick)
            skipped += clock.now < before
        for item in out:
            agent = getattr(item, "agent_id", None)
            if getattr(item, "new", None) == AgentState.RESERVED:
                holding[agent] = item.call_id  # type: ignore[index,union-attr]
    assert skipped > 100  # the quiet path really ran
