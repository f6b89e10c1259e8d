"""Issue #15.5 on the real Asterisk: callers the node drops when it stops (the operator's
`hotline asterisk stop && start`: `core stop now`) or crashes (kill -9) are lost to a node
failure, not abandoned: the link is back within 3 s of the node being up, the resync runs,
every call is accounted for once with its outcome, the figures keep them out of the service
level and the abandon rate, and routing goes on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued, Event
from hotline.core.lifecycle import AgentTrigger, CallOutcome
from hotline.core.settings import Settings
from hotline.core_ext.select import load_compiled
from hotline.realtime import Metrics
from hotline.telephony.ami.call_model import Call, CallModel
from hotline.telephony.node import box as asterisk_box
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk

RECONNECT_S = 3.0  # the link is back within this of the node being up again


def _stop(settings: Settings) -> None:
    asterisk_box.stop(settings)


def _kill(settings: Settings) -> None:
    asterisk_box.kill(settings)


@pytest.mark.parametrize("down", [_stop, _kill], ids=["core-stop-now", "kill-9"])
async def test_callers_dropped_by_an_asterisk_restart_are_lost_to_a_node_failure(
        asterisk_node: Settings, centre: Centre, controller: ObservedController,
        phones: Phones, down: Callable[[Settings], None]) -> None:
    ctl = controller
    model, ended = CallModel(), list[Call]()
    metrics = Metrics(kernel=load_compiled("metrics"))

    def observe(item: object) -> None:
        if isinstance(item, Event):
            metrics.apply(item)
            if (call := model.apply(item)) is not None:
                ended.append(call)

    ctl.observe(observe)
    phones.agent(1, ring_ms=200)
    ready(ctl, "agent1")
    phones.caller("13700000051", talk_ms=60_000)
    talking = await ctl.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.agent_id == "agent1", 10)
    waiting = []
    for n in range(2, 6):  # four callers waiting: agent1 is busy
        phones.caller(f"1370000005{n}", talk_ms=60_000)
        queued = await ctl.wait_for(lambda e, n=n: isinstance(e, CallQueued)
                                    and e.caller == f"1370000005{n}", 10)
        waiting.append(queued.call_id)
    calls = [talking.call_id, *waiting]

    link = ctl.links[asterisk_node.node_name]
    await asyncio.to_thread(down, asterisk_node)
    # Down long enough for the link's backoff to grow (five refused attempts).
    await wait_for(lambda: link.attempts >= 5, 30, "five reconnect attempts")
    logins = link.logins
    await asyncio.to_thread(asterisk_box.start, asterisk_node, centre.agents)
    up = time.monotonic()  # start() returns once the node is FullyBooted
    await wait_for(lambda: link.logins > logins, RECONNECT_S + 5, "the AMI login")
    reconnect_s = time.monotonic() - up
    print(f"\nreconnect {reconnect_s:.2f}s after the node was up ({down.__name__})")
    assert reconnect_s <= RECONNECT_S

    # Every call ends once: the waiting ones lost to the node, the talking one answered.
    for call_id in calls:
        await ctl.wait_for(lambda e, c=call_id: isinstance(e, CallEnded) and e.call_id == c, 10)
    for call_id in calls:
        assert sum(isinstance(e, CallEnded) and e.call_id == call_id
                   for e in ctl.history) == 1, call_id
    outcomes = {c.call_id: c.outcome for c in ended}
    assert outcomes == {talking.call_id: CallOutcome.ANSWERED,
                        **dict.fromkeys(waiting, CallOutcome.NODE_FAILURE)}, outcomes

    # Apart from the service level and the abandons.
    today = metrics.queue_figures("general", "today", time.time())
    figures: dict[str, Any] = today.as_dict()
    assert (today.offered, today.answered, today.lost_node_failure) == (5, 1, 4), figures
    assert (today.abandoned, today.short_abandoned) == (0, 0), figures
    assert today.service_level == 1.0 and today.abandon_rate == 0.0, figures
    assert metrics.snapshot(time.time())["all"]["today"]["lost_node_failure"] == 4

    # Routing goes on on the restarted node.
    await ctl.wait_for(lambda e: getattr(e, "agent_id", None) == "agent1"
                       and getattr(e, "new", None) == "after_call_work", 5)
    ctl.agent_command("agent1", AgentTrigger.END_WRAP_UP)
    again = phones.caller("13700000059", talk_ms=2_000)
    queued = await ctl.wait_for(
        lambda e: isinstance(e, CallQueued) and e.caller == "13700000059", 10)
    await ctl.wait_for(lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 8)
    await ctl.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 10)
    assert await asyncio.to_thread(again.wait, 10) == 0, again.errors()
    assert next(c for c in ended if c.call_id == queued.call_id).outcome is CallOutcome.ANSWERED
    logout(ctl, "agent1")
