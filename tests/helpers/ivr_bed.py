"""The IVR on the real Asterisk's test bed: its number, a test-only survey extension, the
seeded outage, a caller who presses digits, and what the IVR fixtures (tests/asterisk/
conftest.py: ivr_node, ivr) record.

One test-only extension is added to the running node's `hotline` context through the CLI:
95596, a caller of the billing queue whose agent (agent2) just hung up and who gets the survey
on its own."""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from hotline.core.events import CallQueued
from hotline.core.settings import Settings
from hotline.core.values import Outage
from hotline.devtools.sipp_phones import SippProcess, start_dtmf_caller
from hotline.telephony.agi.server import AgiCommands, AgiReply
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import SurveyResponse
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed

IVR_NUMBER, SURVEY_NUMBER = Settings().hotline_number, "95596"
# the same caller through the real dialplan's survey step (hotline-connect after the agent
# hung up); the second one's only FastAGI address is the active's own (AstDB hotline/agi)
AFTER_TALK_NUMBER, AFTER_TALK_ONE_ADDRESS = "95597", "95594"
_AFTER_TALK = [
    "Answer()",
    "Set(HL_CALLID=${CHANNEL(linkedid)})",
    "Set(HL_AGENT=agent2)",
    "Set(HL_LANGUAGE=en)",
    "Set(HL_QUEUE=billing)",
    "Set(HL_SERVICE=billing)",
    "Set(HL_CALLER=${CALLERID(num)})",
]
TEST_EXTENSIONS = {
    SURVEY_NUMBER: [
        "Answer()",
        "Set(HL_CALLID=${CHANNEL(linkedid)})",
        "Set(HL_AGENT=agent2)",
        "Set(HL_LANGUAGE=en)",
        "Set(HL_QUEUE=billing)",
        "Set(HL_SERVICE=billing)",
        "Set(HL_CALLER=${CALLERID(num)})",
        "AGI(${HL_AGI}/survey?key=${HL_AGI_KEY})",
        "Hangup()",
    ],
    AFTER_TALK_NUMBER: [*_AFTER_TALK, "Goto(hotline-connect,agent2,done)"],
    AFTER_TALK_ONE_ADDRESS: [*_AFTER_TALK, "Set(HL_AGI=${DB(hotline/agi)})",
                             "Goto(hotline-connect,agent2,done)"],
}
# demo accounts of migration 009: one in area 0571 (SEEDED's), one in 010 (no outage)
WEST_LAKE, BEIJING, UNKNOWN = "3305710001", "1100100001", "9999999999"
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


def cli(settings: Settings, command: str) -> None:
    root = asterisk_box.root_dir(settings)
    proc = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert "fail" not in proc.stdout.lower(), proc.stdout


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
    scores: list[SurveyResponse] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # low answers' live alerts


async def finished(phone: SippProcess, deadline_s: float) -> int:
    try:
        return await asyncio.wait_for(asyncio.to_thread(phone.wait, deadline_s + 1), deadline_s)
    finally:
        phone.stop()


def queued(number: str):  # type: ignore[no-untyped-def]
    return lambda e: isinstance(e, CallQueued) and e.caller == number


__all__ = [
    "AFTER_TALK_NUMBER",
    "AFTER_TALK_ONE_ADDRESS",
    "BEIJING",
    "IVR_NUMBER",
    "SEEDED",
    "SURVEY_NUMBER",
    "TEST_EXTENSIONS",
    "UNKNOWN",
    "WEST_LAKE",
    "IvrBed",
    "Recorder",
    "caller_dtmf",
    "cli",
    "finished",
    "queued",
]
