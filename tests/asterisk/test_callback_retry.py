"""Callback retries on the real Asterisk: the customer's phone (SIPp) refuses the first
callback with 486 Busy Here and answers the second; or refuses every one, and the call ends
unreached (callback_failed). The reserved agent is free between attempts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.centre.model import Centre
from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallbackAttempted,
    CallbackFailed,
    CallbackRequested,
    CallEnded,
    CallQueued,
    Event,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState, CallOutcome
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import start_refusing_callee
from hotline.router import CallbackDue
from hotline.telephony.ami.call_model import Call, CallModel
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

RETRY_S = 1.5


@pytest.fixture
async def retrying(asterisk_node: Settings, centre: Centre,
                   loop_errors: list[dict[str, Any]]) -> AsyncIterator[ObservedController]:
    """The controller with a short pause between callback attempts."""
    settings = asterisk_node.model_copy(update={"callback_retry_s": RETRY_S,
                                                "callback_attempts": 2})
    lines: list[str] = []
    ctl = ObservedController(settings, centre, emit_line=lines.append)
    await ctl.start()
    yield ctl
    await ctl.stop()
    print("\n".join(lines))  # shown in the report of a failing test


def record_calls(ctl: ObservedController) -> list[Call]:
    """The call model's finished calls, as the recorder would store them."""
    model, ended = CallModel(), []

    def observe(item: object) -> None:
        if isinstance(item, Event) and (call := model.apply(item)) is not None:
            ended.append(call)

    ctl.observe(observe)
    return ended


def refusing_phone(phones: Phones, refuse: int) -> None:
    phones.started.append(start_refusing_callee(
        "callback", testbed.CALLBACK_PORT, testbed.next_media_port(), refuse=refuse,
        status="486 Busy Here", talk_ms=30_000))


async def leave_for_callback(ctl: ObservedController, phones: Phones, settings: Settings,
                             number: str) -> str:
    caller = phones.key_caller(number, key=settings.callback_key, key_delay_ms=1_500,
                               talk_ms=10_000)
    queued = await ctl.wait_for(lambda e: isinstance(e, CallQueued) and e.caller == number, 10)
    await ctl.wait_for(
        lambda e: isinstance(e, CallbackRequested) and e.call_id == queued.call_id, 8)
    await ctl.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 8)
    assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
    return queued.call_id


async def test_busy_at_first_then_reached_on_the_retry(
        retrying: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    ctl = retrying
    calls = record_calls(ctl)
    phones.agent(1, ring_ms=200, talk_ms=2_000)
    refusing_phone(phones, refuse=1)
    call_id = await leave_for_callback(ctl, phones, asterisk_node, "13500000011")
    ready(ctl, "agent1")
    first = await ctl.wait_for(lambda e: isinstance(e, CallbackDue) and e.call_id == call_id, 5)
    assert (first.agent_id, first.attempt) == ("agent1", 1)
    tried = await ctl.wait_for(
        lambda e: isinstance(e, CallbackAttempted) and e.call_id == call_id, 15)
    assert (tried.attempt, tried.agent_id, tried.cause) == (1, "agent1", 17)  # user busy
    assert tried.retry_at is not None
    # The agent was released at once, not held idle through the pause.
    freed = await ctl.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent1"
        and e.old is AgentState.RESERVED and e.new is AgentState.READY, 5)
    assert freed.at <= tried.at + 0.5
    second = await ctl.wait_for(
        lambda e: isinstance(e, CallbackDue) and e.call_id == call_id and e.attempt == 2,
        RETRY_S + 10)
    assert ctl.clock() >= tried.retry_at - 0.3
    answered = await ctl.wait_for(
        lambda e: isinstance(e, CallAnswered) and e.call_id == call_id, 15)
    assert (second.agent_id, answered.agent_id) == ("agent1", "agent1")
    await ctl.wait_for(lambda e: isinstance(e, TalkEnded) and e.call_id == call_id, 10)
    await ctl.wait_for(
        lambda e: isinstance(e, CallEnded) and e.call_id == call_id and e.at > answered.at, 10)
    assert not any(isinstance(e, CallbackFailed) for e in ctl.history)
    [call] = [c for c in calls if c.call_id == call_id]
    assert call.outcome is CallOutcome.CALLBACK
    assert (call.callback_attempts, call.agent_id) == (1, "agent1")
    assert any(w.startswith("callback_attempt:1:") for _, w in call.timeline), call.timeline
    assert [w.callback_attempt for w in ctl.router.explain(call_id)] == [1, 2]
    logout(ctl, "agent1")


async def test_every_attempt_refused_ends_unreached(
        retrying: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    ctl = retrying
    calls = record_calls(ctl)
    phones.agent(2, ring_ms=200, talk_ms=2_000)
    refusing_phone(phones, refuse=100)
    call_id = await leave_for_callback(ctl, phones, asterisk_node, "13500000012")
    ready(ctl, "agent2")
    failed = await ctl.wait_for(
        lambda e: isinstance(e, CallbackFailed) and e.call_id == call_id, RETRY_S + 20)
    assert failed.attempts == 2
    tries = [e for e in ctl.history if isinstance(e, CallbackAttempted) and e.call_id == call_id]
    assert [(t.attempt, t.cause, t.retry_at is None) for t in tries] == [
        (1, 17, False), (2, 17, True)]
    assert ctl.router.agent("agent2").state is AgentState.READY
    assert ctl.router.waiting() == []
    assert ctl.answered_by(call_id) is None
    [call] = [c for c in calls if c.call_id == call_id]
    assert (call.outcome, call.callback_attempts) == (CallOutcome.CALLBACK_FAILED, 2)
    logout(ctl, "agent2")
