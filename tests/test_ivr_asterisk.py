"""The IVR against the real Asterisk: SIPp callers dial the hotline number and press RFC 2833
digits, the FastAGI server runs the menus, and the controller sees where each caller went.

One test-only extension is added to the running node's `hotline` context through the CLI:
95596, a caller whose agent (agent2) just hung up and who gets the survey on its own. Prompts
are built into Settings.data_dir/prompts, bind-mounted at PROMPTS_IN_ROOT in the node.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
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
from hotline.core.values import Outage, ServiceType
from hotline.devtools.sipp_phones import SippProcess, start_dtmf_caller
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.service import StoreOutages, SurveyToStore
from hotline.router import Offer
from hotline.store import db, queries
from hotline.store.records import Outage as StoredOutage
from hotline.store.writer import Writer
from hotline.telephony.agi.server import Agi, AgiCommands, AgiReply, Handler
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from hotline.telephony.ivr.session import IvrApp
from hotline.telephony.node import box as asterisk_box
from tests import testbed
from tests.conftest import Phones
from tests.observed import ObservedController
from tests.store_fixtures import store_tmpdir

pytestmark = pytest.mark.asterisk

IVR_NUMBER, SURVEY_NUMBER = Settings().hotline_number, "95596"
TEST_EXTENSIONS = {
    SURVEY_NUMBER: [
        "Answer()",
        "Set(HL_CALLID=${CHANNEL(linkedid)})",
        "Set(HL_AGENT=agent2)",
        "Set(HL_LANGUAGE=en)",
        "AGI(${HL_AGI}/survey)",
        "Hangup()",
    ],
}
SEEDED = Outage(area_code="0571", start=time.time() + 3600, end=time.time() + 3 * 3600,
                reason="transformer maintenance", area_name="West Lake")


# --- SIPp: a caller who presses digits


def caller_dtmf(settings: Settings, number: str, service: str, steps: list[tuple[int, str]],
                talk_ms: int) -> SippProcess:
    """A SIPp caller that, once answered, waits and presses each (pause_ms, digit) in turn."""
    return start_dtmf_caller(number, f"127.0.0.1:{settings.sip_port}", steps, talk_ms,
                             local_port=testbed.next_caller_port(),
                             media_port=testbed.next_media_port(), service=service)


# --- the IVR side: dialplan, prompts, the AGI server


def _cli(settings: Settings, command: str) -> None:
    root = asterisk_box.root_dir(settings)
    proc = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert "fail" not in proc.stdout.lower(), proc.stdout


@pytest.fixture(scope="module")
def ivr_node(asterisk_node: Settings) -> Iterator[tuple[Settings, PromptStore]]:
    root = asterisk_box.root_dir(asterisk_node)
    store = PromptStore(root / PROMPTS_IN_ROOT.lstrip("/"))
    store.build(ivr_menu.load())
    for exten, apps in TEST_EXTENSIONS.items():
        for prio, app in enumerate(apps, start=1):
            _cli(asterisk_node, f'dialplan add extension "{exten},{prio},{app}" into hotline '
                                f"replace")
    yield asterisk_node, store
    for exten in TEST_EXTENSIONS:
        _cli(asterisk_node, f"dialplan remove extension {exten}@hotline")


@dataclass
class Recorder:
    """Keeps every AGI command and its reply, as Asterisk answered it."""

    inner: AgiCommands
    log: list[tuple[str, tuple[str, ...], AgiReply]] = field(default_factory=list)

    async def command(self, name: str, *args: str) -> AgiReply:
        reply = await self.inner.command(name, *args)
        self.log.append((name, args, reply))
        return reply


@dataclass
class IvrBed:
    settings: Settings
    store: PromptStore
    commands: list[tuple[str, tuple[str, ...], AgiReply]] = field(default_factory=list)
    scores: list[tuple[str, str, int]] = field(default_factory=list)


@pytest.fixture
async def ivr(ivr_node: tuple[Settings, PromptStore], conn: asyncpg.Connection,
              empty_db_url: str, agi_scripts: dict[str, Handler]) -> AsyncIterator[IvrBed]:
    """The IVR as the platform runs it: outages read from the real PostgreSQL (seeded with
    SEEDED), survey answers written to it through the write-behind writer."""
    settings, store = ivr_node
    bed = IvrBed(settings, store)
    await queries.add_outage(conn, StoredOutage(
        area_code=SEEDED.area_code, kind="planned", starts_at=SEEDED.start,
        ends_at=SEEDED.end, description_zh="变压器检修", description_en=SEEDED.reason))
    pool = await db.create_pool(empty_db_url, max_size=2)
    writer = Writer(empty_db_url, Path(store_tmpdir("ivr-writer")))
    await writer.start()
    to_store = SurveyToStore(writer)

    async def on_survey(call_id: str, agent_id: str, score: int) -> None:
        bed.scores.append((call_id, agent_id, score))
        await to_store(call_id, agent_id, score)

    bed.writer, bed.conn = writer, conn  # type: ignore[attr-defined]
    app = IvrApp(ivr_menu.load(), store, StoreOutages(pool), on_survey, time.time)

    async def handler(agi: Agi) -> None:
        recorder = Recorder(agi.io, bed.commands)
        await app(Agi(recorder, agi.env))

    agi_scripts["ivr"] = agi_scripts["survey"] = handler
    try:
        yield bed
    finally:
        await writer.stop()
        await pool.close()


async def finished(phone: SippProcess, deadline_s: float) -> int:
    try:
        return await asyncio.wait_for(asyncio.to_thread(phone.wait, deadline_s + 1), deadline_s)
    finally:
        phone.stop()


def queued(number: str):  # type: ignore[no-untyped-def]
    return lambda e: isinstance(e, CallQueued) and e.caller == number


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


async def test_survey_score_reaches_the_callback(ivr: IvrBed) -> None:
    phone = caller_dtmf(ivr.settings, "13922220000", SURVEY_NUMBER, [(1500, "1"), (300, "0")],
                        talk_ms=15000)
    try:
        assert await finished(phone, 25) == 0, phone.errors()  # the survey hangs up
    finally:
        phone.stop()
    assert len(ivr.scores) == 1
    call_id, agent_id, score = ivr.scores[0]
    assert (agent_id, score) == ("agent2", 10)
    # the linkedid the dialplan put in HL_CALLID: "<system name>-<epoch>.<n>"
    assert call_id.startswith(f"{ivr.settings.node_name}-"), call_id


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
    agent -> the agent hangs up -> after-call work -> the caller scores 9 in the survey."""
    phones.agent(1, ring_ms=300, talk_ms=2_000)  # billing 2
    phones.agent(2, ring_ms=300, talk_ms=2_000)  # billing 5: the most skilled
    for agent_id in ("agent1", "agent2"):
        controller.agent_command(agent_id, AgentTrigger.LOGIN)
        controller.agent_command(agent_id, AgentTrigger.READY)
    number = "13933330000"
    phone = caller_dtmf(ivr.settings, number, IVR_NUMBER,
                        [(1500, "2"), (1200, "3"), (6000, "9"), (300, "#")], talk_ms=15_000)
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
    assert ivr.scores == [(event.call_id, "agent2", 9)]
    assert await ivr.writer.flush(10)  # type: ignore[attr-defined]
    stored = await queries.survey_of(ivr.conn, event.call_id)  # type: ignore[attr-defined]
    assert stored is not None and (stored.score, stored.agent_id) == (9, "agent2")


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
