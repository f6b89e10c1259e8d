"""Real AMI transcripts: each test runs one scenario on the real Asterisk with the AMI link's
tap on (telephony/ami/link.py: every byte received is copied), cuts the transcript once
the call has ended and every channel has hung up, replays it through the whole ingest path
(codec -> mapper -> call model) and checks it against tests/fixtures/ami/real_NAME.json: same
outcome, queue and timeline (agents named where app_queue does not choose them). So the
suite notices when the live Asterisk and the checked-in transcripts part ways.

Refreshing the fixtures (writes real_NAME.txt and real_NAME.json, the expectation as
replayed, with the Asterisk version; review the diff before committing):

    HOTLINE_RECAPTURE=1 HOTLINE_TEST_SLOT=0 \
        .venv/bin/python -m pytest tests/asterisk/test_ami_capture.py

The replay tests themselves (tests/unit/test_call_model.py) only read the files.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallQueued,
    CallRequeued,
    Event,
    TalkEnded,
)
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import (
    SippProcess,
    _check_free,
    _render,
    _spawn,
    start_transferring_agent,
)
from hotline.telephony.ami.codec import AmiCodec
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.ami.replay import Replay, replay
from tests.helpers import testbed
from tests.helpers.calls import logout, ready
from tests.helpers.ivr_bed import IVR_NUMBER, IvrBed, caller_dtmf
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ami"
RECAPTURE = os.environ.get("HOTLINE_RECAPTURE") == "1"

# A demo account of migration 009 (area 0571, where the IVR fixture seeds an outage).
ACCOUNT = "3305710001"


# --- the tap


async def _channels_gone(link: AmiLink, deadline_s: float) -> None:
    """A capture starts with no channel up, so it holds whole calls and nobody else's."""
    async with asyncio.timeout(deadline_s):
        while await link.channels():  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # polling interval, bounded by the deadline above


@asynccontextmanager
async def tapping(link: AmiLink) -> AsyncIterator[dict[str, Any]]:
    await _channels_gone(link, 20)
    settings = await link.action("CoreSettings")
    tap: dict[str, Any] = {"buf": io.BytesIO(), "asterisk": settings.get("AsteriskVersion", "")}
    link.tap = tap["buf"]
    try:
        yield tap
    finally:
        link.tap = None


def _whole(data: bytes) -> bytes:
    """Up to the last complete message (a read may end mid-message)."""
    end = data.rfind(b"\r\n\r\n")
    return data[: end + 4] if end >= 0 else b""


def _all_hung_up(data: bytes) -> bool:
    events, _ = AmiCodec().feed_split(data)
    up = {e.get("Uniqueid") for e in events if e.get("Event") == "Newchannel"}
    down = {e.get("Uniqueid") for e in events if e.get("Event") == "Hangup"}
    return bool(up) and up <= down


async def settled(tap: dict[str, Any], call_id: str, deadline_s: float) -> tuple[bytes, Replay]:
    """The transcript once `call_id` has ended in the replay and every channel hung up."""
    async with asyncio.timeout(deadline_s):
        while True:
            data = _whole(tap["buf"].getvalue())
            r = replay(data)
            if (
                any(c.call_id == call_id for c in r.ended)
                and len(r.model) == 0
                and _all_hung_up(data)
            ):
                return data, r
            await asyncio.sleep(0.05)  # polling interval, bounded by the deadline above


# --- comparing with (or writing) the fixture


def summary(r: Replay) -> list[dict[str, Any]]:
    return [
        {
            "call_id": c.call_id,
            "outcome": str(c.outcome),
            "agent_id": c.agent_id,
            "queue": c.queue,
            "wait_s": None if c.wait_s is None else round(c.wait_s, 3),
            "recording": c.recording,
            "timeline": [[round(at - c.entered_at, 3), what] for at, what in c.timeline],
        }
        for c in r.ended
    ]


AGENT = re.compile(r":agent\d+")


#: Raised for one transfer by two threads of Asterisk (the bridge's BlindTransfer and the
#: dialplan's HotlineRequeued): their order on the wire varies from run to run.
CONCURRENT = ("transferred:", "requeued:")


def kinds(timeline: list[list[Any]], any_agent: bool) -> list[str]:
    labels = [str(w) for _, w in timeline]
    if any_agent:
        labels = [AGENT.sub(":agent", w) for w in labels]
    out: list[str] = []
    i = 0
    while i < len(labels):  # each run of adjacent concurrent entries in a fixed order
        j = i
        while j < len(labels) and labels[j].startswith(CONCURRENT):
            j += 1
        if j == i:
            out.append(labels[i])
            i += 1
        else:
            out += sorted(labels[i:j])
            i = j
    return out


def check_or_write(
    name: str,
    data: bytes,
    r: Replay,
    tap: dict[str, Any],
    comment: str,
    how: str,
    any_agent: bool = False,
) -> None:
    assert r.model.anomaly_count == 0 and r.model.orphan_events == 0, summary(r)
    assert not r.mapper.stats.malformed
    got = summary(r)
    path = FIXTURES / f"{name}.json"
    if RECAPTURE:
        (FIXTURES / f"{name}.txt").write_bytes(data)
        path.write_text(
            json.dumps(
                {
                    "comment": comment,
                    "captured": {
                        "asterisk": tap["asterisk"],
                        "by": how,
                        "command": "HOTLINE_RECAPTURE=1 pytest tests/asterisk/test_ami_capture.py",
                    },
                    "calls": got,
                    "responses": len(r.responses),
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    want = json.loads(path.read_text())["calls"]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g["outcome"], g["queue"]) == (w["outcome"], w["queue"]), g
        assert bool(g["recording"]) == bool(w["recording"]), g
        if not any_agent:
            assert g["agent_id"] == w["agent_id"], g
        assert kinds(g["timeline"], any_agent) == kinds(w["timeline"], any_agent), g


def of(cls: type[Event], call_id: str, **fields: Any) -> Callable[[object], bool]:
    return lambda e: (
        isinstance(e, cls)
        and getattr(e, "call_id", None) == call_id
        and all(getattr(e, k) == v for k, v in fields.items())
    )


def link_of(ctl: ObservedController) -> AmiLink:
    return next(iter(ctl.links.values()))


async def done(*phones: SippProcess, deadline_s: float = 20) -> None:
    for phone in phones:
        assert (
            await asyncio.wait_for(asyncio.to_thread(phone.wait, deadline_s + 1), deadline_s) == 0
        ), phone.errors()


# --- the scenarios


async def test_ivr_to_billing_answered(
        ivr: IvrBed, controller: ObservedController, phones: Phones) -> None:
    phones.agent(1, ring_ms=300, talk_ms=2_000)
    phones.agent(2, ring_ms=300, talk_ms=2_000)  # billing 5: the one chosen
    ready(controller, "agent1", "agent2")
    try:
        async with tapping(link_of(controller)) as tap:
            caller = caller_dtmf(
                ivr.settings, "13700000001", IVR_NUMBER, [(1500, "2"), (1200, "3")], talk_ms=5_000
            )
            phones.started.append(caller)
            q = await controller.wait_for(
                lambda e: isinstance(e, CallQueued) and e.caller == "13700000001", 20
            )
            await controller.wait_for(of(TalkEnded, q.call_id, agent_id="agent2"), 15)
            data, r = await settled(tap, q.call_id, 20)
        await done(caller)
    finally:
        logout(controller, "agent1", "agent2")
    check_or_write(
        "real_ivr_billing_answered",
        data,
        r,
        tap,
        "IVR by DTMF (2 English, 3 billing), queued in billing, agent2 (the most"
        " skilled) answered and hung up after 2 s; the caller left during the"
        " survey.",
        "test_ivr_to_billing_answered",
    )


async def test_self_served_outage_lookup(ivr: IvrBed, controller: ObservedController) -> None:
    steps = [(1500, "2"), (1200, "2")] + [
        (1500 if i == 0 else 250, d) for i, d in enumerate(ACCOUNT + "#")
    ]
    async with tapping(link_of(controller)) as tap:
        caller = caller_dtmf(ivr.settings, "13700000002", IVR_NUMBER, steps, talk_ms=60_000)
        try:
            await done(caller, deadline_s=60)  # the IVR hangs up after the goodbye
        finally:
            caller.stop()
        entered = await controller.wait_for(
            lambda e: isinstance(e, CallEntered) and e.caller == "13700000002", 5
        )
        data, r = await settled(tap, entered.call_id, 10)
    check_or_write(
        "real_self_served_outage",
        data,
        r,
        tap,
        "Outage self-service: 2 English, 2 outage information, an account number"
        " (area 0571, an outage seeded), the readout, no key after it: goodbye, the"
        " IVR hung up. Never queued: self-served.",
        "test_self_served_outage_lookup",
    )


def start_holding_agent(n: int) -> SippProcess:
    port = testbed.agent_port(n)
    _check_free("127.0.0.1", port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-agent{n}-hold-"))
    scenario = _render(
        "agent_hold.xml", workdir, RING_MS=300, HOLD_AFTER_MS=1_000, HOLD_MS=1_500, TALK_MS=1_000
    )
    args = [
        "-sf",
        str(scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(testbed.next_media_port()),
        "-rtp_echo",
        "-m",
        "1",
        "-bind_local",
    ]
    return _spawn(args, workdir, f"agent{n}")


async def test_hold_and_unhold(controller: ObservedController, phones: Phones) -> None:
    agent = start_holding_agent(1)
    phones.started.append(agent)
    ready(controller, "agent1")
    try:
        async with tapping(link_of(controller)) as tap:
            caller = phones.caller("13700000003", talk_ms=15_000)
            q = await controller.wait_for(
                lambda e: isinstance(e, CallQueued) and e.caller == "13700000003", 10
            )
            await controller.wait_for(of(CallEnded, q.call_id), 20)
            data, r = await settled(tap, q.call_id, 10)
        await done(agent)
        caller.stop()
    finally:
        logout(controller, "agent1")
    check_or_write(
        "real_hold_unhold",
        data,
        r,
        tap,
        "agent1's phone answered, put the caller on hold with a re-INVITE"
        " a=sendonly (music for the caller), took it off with a=sendrecv 1.5 s"
        " later, then hung up (hotline/devtools/sipp/agent_hold.xml).",
        "test_hold_and_unhold",
    )


async def test_failsafe_without_controller(
    ivr: IvrBed, phones: Phones, asterisk_node: Settings
) -> None:
    for n in (1, 2, 3, 4):  # all four are static members of the failsafe queue
        phones.agent(n, ring_ms=200, talk_ms=2_000)
    link = AmiLink(asterisk_node)  # only a watcher: no controller, no heartbeat
    await link.connect()
    try:
        async with tapping(link) as tap:
            caller = caller_dtmf(
                ivr.settings, "13700000004", IVR_NUMBER, [(1500, "2"), (1200, "5")], talk_ms=30_000
            )
            phones.started.append(caller)
            async with asyncio.timeout(40):
                ended = None
                while ended is None:
                    e = await link.events.get()
                    if isinstance(e, CallEnded):
                        ended = e
            data, r = await settled(tap, ended.call_id, 15)
    finally:
        await link.close()
    check_or_write(
        "real_failsafe_app_queue",
        data,
        r,
        tap,
        "No controller (no heartbeat in AstDB): IVR 2 English, 5 complaint; after"
        " the guard time the dialplan handed the caller to app_queue, whose member"
        " answered (leastrecent: which agent varies) and hung up after 2 s.",
        "test_failsafe_without_controller",
        any_agent=True,
    )


async def test_transfer_back_to_a_queue(
    controller: ObservedController, phones: Phones, asterisk_node: Settings
) -> None:
    refer_to = f"sip:*8billing@127.0.0.1:{asterisk_node.sip_port}"
    agent1 = start_transferring_agent(
        "agent1",
        testbed.agent_port(1),
        testbed.next_media_port(),
        refer_to=refer_to,
        transfer_ms=1_500,
    )
    phones.started.append(agent1)
    phones.agent(2, ring_ms=300, talk_ms=2_000)
    ready(controller, "agent1", "agent2")
    try:
        async with tapping(link_of(controller)) as tap:
            phones.caller("13700000005", talk_ms=30_000)
            q = await controller.wait_for(
                lambda e: isinstance(e, CallQueued) and e.caller == "13700000005", 10
            )
            await controller.wait_for(of(CallRequeued, q.call_id), 10)
            await controller.wait_for(of(CallAnswered, q.call_id, agent_id="agent2"), 10)
            await controller.wait_for(of(CallEnded, q.call_id), 20)
            data, r = await settled(tap, q.call_id, 10)
        await done(agent1)
    finally:
        logout(controller, "agent1", "agent2")
    check_or_write(
        "real_transfer_to_queue",
        data,
        r,
        tap,
        "agent1 answered a general call and blind-transferred it (SIP REFER) to"
        " *8billing; the same call waited again in billing and agent2 answered it,"
        " then hung up.",
        "test_transfer_back_to_a_queue",
    )


async def test_callback(
        controller: ObservedController, phones: Phones, asterisk_node: Settings) -> None:
    phones.agent(1, ring_ms=200, talk_ms=2_000)
    try:
        async with tapping(link_of(controller)) as tap:
            caller = phones.key_caller(
                "13700000006", key=asterisk_node.callback_key, key_delay_ms=1_500, talk_ms=10_000
            )
            q = await controller.wait_for(
                lambda e: isinstance(e, CallQueued) and e.caller == "13700000006", 10
            )
            await controller.wait_for(of(CallbackRequested, q.call_id), 8)
            await done(caller, deadline_s=10)
            phones.callback_phone(talk_ms=30_000)
            ready(controller, "agent1")
            await controller.wait_for(of(AgentRinging, q.call_id), 10)
            await controller.wait_for(of(CallAnswered, q.call_id), 10)
            data, r = await settled(tap, q.call_id, 20)
    finally:
        logout(controller, "agent1")
    check_or_write(
        "real_callback",
        data,
        r,
        tap,
        "Virtual hold: the caller pressed the callback key while waiting and hung"
        " up; when agent1 became ready the controller called the customer back"
        " (Originate, same call id), agent1 answered and hung up after 2 s.",
        "test_callback",
    )


async def test_abandoned_after_a_long_wait(controller: ObservedController, phones: Phones) -> None:
    async with tapping(link_of(controller)) as tap:
        caller = phones.caller("13700000007", talk_ms=7_000)  # nobody ready: hangs up at 7 s
        q = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13700000007", 10
        )
        await done(caller, deadline_s=15)
        data, r = await settled(tap, q.call_id, 10)
    check_or_write(
        "real_abandoned_long",
        data,
        r,
        tap,
        "Nobody ready: the caller waited about 7 s in general and hung up, beyond"
        " the 5 s short-abandon threshold: abandoned.",
        "test_abandoned_after_a_long_wait",
    )
