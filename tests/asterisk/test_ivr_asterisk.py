"""The IVR against the real Asterisk: SIPp callers dial the hotline number and press RFC 2833
digits, the FastAGI server runs the menus, and the controller sees where each caller went.

One test-only extension is added to the running node's `hotline` context through the CLI:
95596, a caller whose agent (agent2) just hung up and who gets the survey on its own. Prompts
are built into Settings.data_dir/prompts, bind-mounted at PROMPTS_IN_ROOT in the node.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    IvrChoice,
    TalkEnded,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.router import Offer
from hotline.store import queries
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from tests.helpers.ivr_bed import IVR_NUMBER, SURVEY_NUMBER, IvrBed, caller_dtmf, finished, queued
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

# --- the tests

ROUTES = {  # digits after the language choice -> (queue, service)
    "1": ("fault", ServiceType.FAULT),
    "3": ("billing", ServiceType.BILLING),
    "4": ("business", ServiceType.BUSINESS),
    "5": ("complaint", ServiceType.COMPLAINT),
    "6": ("complaint", ServiceType.REPORT),
    "7": ("general", ServiceType.OPINION),
    "8": ("general", ServiceType.PRAISE),
    "9": ("ev", ServiceType.EV),
    "0": ("general", ServiceType.GENERAL),
}


async def test_dtmf_walks_to_every_service_queue(
        ivr: IvrBed, controller: ObservedController) -> None:
    callers = {}
    for i, digit in enumerate(sorted(ROUTES)):
        language = "1" if i % 2 else "2"  # "1","1": the same digit twice reaches fault
        number = f"1390000{i:04d}"
        callers[number] = (digit, language, caller_dtmf(
            ivr.settings, number, IVR_NUMBER, [(1500, language), (1200, digit)], talk_ms=3000))
    try:
        for number, (digit, language, _) in callers.items():
            event = await controller.wait_for(queued(number), 30)
            assert isinstance(event, CallQueued)
            assert (event.queue, event.service) == ROUTES[digit], number
            choices = [e for e in controller.history
                       if isinstance(e, IvrChoice) and e.call_id == event.call_id]
            assert [(c.menu, c.digit, c.service) for c in choices] == [
                ("language", language, None), ("main", digit, ROUTES[digit][1])]
        for number, (_, _, phone) in callers.items():
            assert await finished(phone, 20) == 0, phone.errors()
            call_id = next(e.call_id for e in controller.history if queued(number)(e))
            await controller.wait_for(
                lambda e, c=call_id: isinstance(e, CallEnded) and e.call_id == c, 10)
    finally:
        for _, _, phone in callers.values():
            phone.stop()
    prompts = [args[0] for name, args, _ in ivr.commands if name == "GET DATA"]
    assert any("/en/main-" in p for p in prompts) and any("/zh/main-" in p for p in prompts)


async def test_outage_lookup_reads_the_seeded_outage(ivr: IvrBed,
                                                     controller: ObservedController) -> None:
    number = "13911110000"
    steps = [(1500, "2"), (1200, "2"), (1500, "0"), (250, "5"), (250, "7"), (250, "1"),
             (250, "#"), (9000, "0")]
    phone = caller_dtmf(ivr.settings, number, IVR_NUMBER, steps, talk_ms=2000)
    try:
        event = await controller.wait_for(queued(number), 40)
        assert isinstance(event, CallQueued)
        assert (event.queue, event.service) == ("general", ServiceType.OUTAGE_INFO)
        assert await finished(phone, 20) == 0, phone.errors()
    finally:
        phone.stop()
    data = [(args, reply) for name, args, reply in ivr.commands if name == "GET DATA"]
    assert ("0571", None) in [(r.result, r.data) for _, r in data]
    spoken = [(args, reply) for name, args, reply in ivr.commands
              if name == "STREAM FILE" and "/tts/" in args[0]]
    assert spoken, "the outage was not read out"
    args, reply = spoken[0]
    assert reply.ok and int(reply.extra["endpos"]) > 8000, reply  # > 1 s of it was played
    audio = Path(str(ivr.store.directory) + args[0].removeprefix(PROMPTS_IN_ROOT) + ".sln")
    assert await asyncio.to_thread(audio.exists)


async def test_survey_answers_reach_the_callback(ivr: IvrBed) -> None:
    """Satisfied (2), then 10 for the NPS question ("1" then "0"): not low."""
    phone = caller_dtmf(ivr.settings, "13922220000", SURVEY_NUMBER,
                        [(1500, "2"), (1500, "1"), (300, "0")], talk_ms=20000)
    try:
        assert await finished(phone, 30) == 0, phone.errors()  # the survey hangs up
    finally:
        phone.stop()
    [r] = ivr.scores
    assert (r.agent_id, r.satisfaction, r.nps, r.low) == ("agent2", 2, 10, False)
    # the linkedid the dialplan put in HL_CALLID: "<system name>-<epoch>.<n>"
    assert r.call_id.startswith(f"{ivr.settings.node_name}-"), r.call_id
    assert ivr.alerts == []


async def test_ivr_server_down_caller_still_reaches_general(
        ivr_node: tuple[Settings, PromptStore], controller: ObservedController) -> None:
    settings, _ = ivr_node  # dialplan and prompts, but no AGI server listening
    number = "13933330000"
    phone = caller_dtmf(settings, number, IVR_NUMBER, [(500, "3")], talk_ms=1500)
    try:
        event = await controller.wait_for(queued(number), 15)
        assert isinstance(event, CallQueued)
        assert (event.queue, event.service) == ("general", ServiceType.GENERAL)
        assert await finished(phone, 15) == 0, phone.errors()
    finally:
        phone.stop()


async def test_billing_caller_reaches_the_billing_agent_then_answers_the_survey(
        ivr: IvrBed, controller: ObservedController, phones: Phones) -> None:
    """The whole path: IVR (English, billing) -> billing queue -> the most skilled billing
    agent -> the agent hangs up -> after-call work -> the caller answers the survey: very
    satisfied (1), and 9 to the NPS question."""
    phones.agent(1, ring_ms=300, talk_ms=2_000)  # billing 2
    phones.agent(2, ring_ms=300, talk_ms=2_000)  # billing 5: the most skilled
    for agent_id in ("agent1", "agent2"):
        controller.agent_command(agent_id, AgentTrigger.LOGIN)
        controller.agent_command(agent_id, AgentTrigger.READY)
    number = "13933330000"
    phone = caller_dtmf(ivr.settings, number, IVR_NUMBER,
                        [(1500, "2"), (1200, "3"), (6000, "1"), (1500, "9"), (300, "#")],
                        talk_ms=20_000)
    try:
        event = await controller.wait_for(queued(number), 20)
        assert isinstance(event, CallQueued)
        assert (event.queue, event.service) == ("billing", ServiceType.BILLING)
        answered = await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == event.call_id, 10)
        assert answered.agent_id == "agent2"
        [why] = controller.router.explain(event.call_id)
        assert (why.chosen, why.policy, why.eligible) == ("agent2", "most_skilled",
                                                          ("agent2", "agent1"))
        await controller.wait_for(
            lambda e: isinstance(e, TalkEnded) and e.call_id == event.call_id, 10)
        await controller.wait_for(
            lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent2"
            and e.new is AgentState.AFTER_CALL_WORK, 5)
        await controller.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == event.call_id, 25)
        assert await finished(phone, 20) == 0, phone.errors()
    finally:
        phone.stop()
        for agent_id in ("agent1", "agent2"):
            view = controller.router.agent(agent_id)
            if view.state is AgentState.AFTER_CALL_WORK:
                controller.agent_command(agent_id, AgentTrigger.END_WRAP_UP)
            controller.agent_command(agent_id, AgentTrigger.NOT_READY)
            controller.agent_command(agent_id, AgentTrigger.LOGOUT)
    assert [(r.call_id, r.agent_id, r.satisfaction, r.nps) for r in ivr.scores] == [
        (event.call_id, "agent2", 1, 9)]
    assert await ivr.writer.flush(10)  # type: ignore[attr-defined]
    stored = await queries.survey_of(ivr.conn, event.call_id)  # type: ignore[attr-defined]
    assert stored is not None
    assert (stored.agent_id, stored.satisfaction, stored.nps, stored.queue, stored.service,
            stored.unit) == ("agent2", 1, 9, "billing", "billing", "billing_office")


async def test_fault_caller_jumps_ahead_of_an_earlier_general_caller(
        ivr: IvrBed, controller: ObservedController, phones: Phones) -> None:
    """Priority: fault repair (priority 10 in the centre) before general enquiries, whatever
    the arrival order; the explanation names the queue and policy that decided."""
    phones.agent(3, ring_ms=300, talk_ms=1_500)  # general 2, fault 5: takes either call
    general = caller_dtmf(ivr.settings, "13944440001", IVR_NUMBER, [(1500, "2"), (1200, "0")],
                          talk_ms=20_000)
    first = await controller.wait_for(queued("13944440001"), 20)
    fault = caller_dtmf(ivr.settings, "13944440002", IVR_NUMBER, [(1500, "2"), (1200, "1")],
                        talk_ms=20_000)
    second = await controller.wait_for(queued("13944440002"), 20)
    assert isinstance(first, CallQueued) and isinstance(second, CallQueued)
    assert (first.queue, second.queue) == ("general", "fault")
    assert first.at < second.at
    assert [w.call_id for w in controller.router.waiting()] == [second.call_id, first.call_id]
    try:
        controller.agent_command("agent3", AgentTrigger.LOGIN)
        controller.agent_command("agent3", AgentTrigger.READY)
        offer = await controller.wait_for(lambda e: isinstance(e, Offer), 5)
        assert offer.call_id == second.call_id and offer.agent_id == "agent3"
        assert offer.explanation.queue == "fault"
        await controller.wait_for(
            lambda e: isinstance(e, TalkEnded) and e.call_id == second.call_id, 10)
        controller.agent_command("agent3", AgentTrigger.END_WRAP_UP)
        answered = await controller.wait_for(
            lambda e: isinstance(e, CallAnswered) and e.call_id == first.call_id, 10)
        assert answered.agent_id == "agent3"
        for phone in (general, fault):
            assert await finished(phone, 25) == 0, phone.errors()
    finally:
        general.stop()
        fault.stop()
        view = controller.router.agent("agent3")
        if view.state is AgentState.AFTER_CALL_WORK:
            controller.agent_command("agent3", AgentTrigger.END_WRAP_UP)
        if controller.router.agent("agent3").state is AgentState.READY:
            controller.agent_command("agent3", AgentTrigger.NOT_READY)
        controller.agent_command("agent3", AgentTrigger.LOGOUT)
