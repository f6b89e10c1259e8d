"""The first fault proof of #15: kill -9 of `hotline run` under traffic, then a restart.

Callers arrive about once a second and walk the IVR with their keys (Mandarin, then a
service); the agents' phones answer and hang up after a short talk. The controller is killed
with callers in the IVR and callers waiting; callers go on arriving through an outage of about
25 s (the failsafe, app_queue, serves them; some of those calls begin and end within it), then
`hotline run` starts again and calls go on a while. Everything is judged from outside: the
SIPp phones, an AMI link of the test's own, and the API once it is all over.

One scenario (the module's `day` fixture, about 2 min) and a test per claim: calls served and
ended wholly within the outage reach history through the node's AstDB ledger; a call app_queue
serves is recorded from the agent's channel (with both voices).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hotline.core.events import (
    CallAnswered,
    CallbackRequested,
    CallEnded,
    ChannelCreated,
    ChannelHungUp,
    Event,
    FailsafeTaken,
)
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess
from hotline.telephony.ami.link import AmiLink
from tests.helpers.phones import Phones, recording_of
from tests.helpers.run import Run, run_data_dir

pytestmark = pytest.mark.asterisk

AGENTS = (1, 2, 3, 4)
COUNTS = ("offered", "answered", "abandoned", "failsafe", "handled")  # today's, never less
CALLS = 45  # one a second
KILL_AT_S = 12.0  # after the first call
OUTAGE_S = 25.0
AGENT_TALK_MS = 2_500
PATIENCE_MS = 150_000  # callers never give up: each is served, or the test fails
# Mandarin (1), then a service (billing, fault, "0" for an agent, EV): the language key is
# the callback key too (#15.2)
KEYS = (("1", "3"), ("1", "4"), ("1", "0"), ("1", "9"))


@dataclass
class Day:
    """What one run of the scenario left: the callers, every AMI event, the API's answers."""

    settings: Settings
    callers: dict[str, SippProcess] = field(default_factory=dict)  # number -> phone
    seen: list[Event] = field(default_factory=list)
    killed_at: float = 0.0
    back_at: float = 0.0
    before_kill: dict[str, Any] = field(default_factory=dict)
    after_restart: dict[str, Any] = field(default_factory=dict)
    at_end: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    exits: dict[str, int | None] = field(default_factory=dict)

    def call_ids(self) -> dict[str, str]:
        """caller number -> its call id (the caller channel's, as Asterisk made it)."""
        out: dict[str, str] = {}
        for e in self.seen:
            if isinstance(e, ChannelCreated) and e.call_id and e.caller in self.callers \
                    and e.channel.startswith("PJSIP/caller-"):
                out.setdefault(e.caller, e.call_id)
        return out

    def ended(self) -> dict[str, float]:
        return {e.call_id: e.at for e in self.seen if isinstance(e, CallEnded)}

    def entered(self) -> dict[str, float]:
        ids = set(self.call_ids().values())
        return {e.call_id: e.at for e in self.seen
                if isinstance(e, ChannelCreated) and e.call_id in ids
                and e.channel.startswith("PJSIP/caller-")}

    def failsafe(self) -> set[str]:
        return {e.call_id for e in self.seen if isinstance(e, FailsafeTaken)}

    def phase(self, call_id: str) -> str:
        """Where the call lay against the outage: "<began>-<ended>", each of before (the
        kill), during, after (the restart)."""
        def when(at: float) -> str:
            return "before" if at < self.killed_at else "during" if at < self.back_at \
                else "after"
        return f"{when(self.entered().get(call_id, 0))}-" \
               f"{when(self.ended().get(call_id, float('inf')))}"

    def wholly_in_outage(self) -> set[str]:
        """Calls that began and ended while no controller ran."""
        ended = self.ended()
        return {c for c, at in self.entered().items()
                if self.killed_at < at and ended.get(c, float("inf")) < self.back_at}

    def left_to_the_ledger(self) -> set[str]:
        """Calls served and ended wholly within the outage: they ended while no controller
        ran, and none saw them answered (they began in the outage, or were in the IVR or
        waiting at the kill and the failsafe took them). Only the dialplan can tell of them
        (the AstDB ledger, branch ledger)."""
        ended = self.ended()
        answered = {e.call_id for e in self.seen
                    if isinstance(e, CallAnswered) and e.at < self.killed_at}
        return {c for c in self.entered() if c not in answered
                and self.killed_at < ended.get(c, float("inf")) < self.back_at}


class Api:
    """The supervisor's client on the running `hotline run`."""

    def __init__(self, settings: Settings) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"http://{settings.api_host}:{settings.api_port}", timeout=10)

    async def sign_in(self) -> None:
        r = await self.http.post("/api/auth/token", json={"username": "supervisor",
                                                           "password": "supervisor"})
        assert r.status_code == 200, r.text
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    async def agents_ready(self) -> None:
        """Each agent logs in and makes itself ready, as its desk does (409: it already is,
        or it is busy)."""
        for n in AGENTS:
            for command in ("login", "ready"):
                r = await self.http.post(f"/api/agents/agent{n}/{command}")
                assert r.status_code in (200, 409), r.text

    async def figures(self) -> dict[str, Any]:
        r = await self.http.get("/api/wallboard")
        assert r.status_code == 200, r.text
        return dict(r.json()["all"]["today"])

    async def calls(self, since: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"since": since, "limit": 500}
        while True:
            r = await self.http.get("/api/calls", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            out += page["calls"]
            if not page["next_cursor"]:
                return out
            params["cursor"] = page["next_cursor"]

    async def close(self) -> None:
        await self.http.aclose()


async def collect(link: AmiLink, seen: list[Event]) -> None:
    while True:
        seen.append(await link.events.get())


async def settled(api: Api, day: Day, deadline_s: float) -> None:
    """Until history holds every call but those wholly within the outage (or the deadline:
    the tests say what is missing)."""
    want = set(day.call_ids().values()) - day.left_to_the_ledger()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline_s):
            while True:  # the API of another process: polled
                if want <= {r["call_id"] for r in await api.calls(day.killed_at - 3600)}:
                    return
                await asyncio.sleep(0.5)


async def restored(api: Api, day: Day, deadline_s: float = 10) -> None:
    """Today's figures once the restarted platform has them back (it reads history and
    resyncs with the node as it starts): at least what they were before the kill, or
    whatever they are after the deadline."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline_s):
            while True:  # the API of another process: polled
                day.after_restart = await api.figures()
                if all(day.after_restart[k] >= day.before_kill[k] for k in COUNTS):
                    return
                await asyncio.sleep(0.5)


@pytest.fixture(scope="module")
async def day(asterisk_node: Settings) -> AsyncIterator[Day]:
    settings = asterisk_node.model_copy(update={"wrap_up_s": 1.0})
    day = Day(settings)
    phones = Phones(settings)
    link = AmiLink(settings)
    await link.connect()
    collector = asyncio.get_running_loop().create_task(collect(link, day.seen))
    api = Api(settings)
    runs: list[Run] = []
    with run_data_dir() as data_dir:
        try:
            runs.append(run := Run(settings, data_dir))
            await run.start()
            run.follow()
            for n in AGENTS:
                # (a voice: a call whose caller only sent digits is recorded empty)
                phones.agent(n, ring_ms=300, talk_ms=AGENT_TALK_MS, voice=True)
            await api.sign_in()
            await api.agents_ready()

            first = time.time()
            for i in range(CALLS):
                await asyncio.sleep(max(0.0, first + i - time.time()))
                if not day.killed_at and time.time() - first >= KILL_AT_S:
                    day.before_kill = await api.figures()
                    day.killed_at = time.time()
                    run.kill()  # kill -9: no last checkpoint, nothing flushed
                    await run.proc.wait()  # type: ignore[union-attr]
                if day.killed_at and not day.back_at \
                        and time.time() - day.killed_at >= OUTAGE_S:
                    runs.append(run := Run(settings, data_dir))
                    await run.start()
                    run.follow()
                    day.back_at = time.time()
                    await api.sign_in()
                    await api.agents_ready()
                    after = asyncio.get_running_loop().create_task(restored(api, day))
                number = f"1390000{i:04d}"
                language, service = KEYS[i % len(KEYS)]
                day.callers[number] = phones.dtmf_caller(
                    number, [(1500, language), (1500, service)], talk_ms=PATIENCE_MS)
            assert day.back_at, "the traffic ended before the restart"
            await after

            async def ends(phone: SippProcess) -> int | None:
                try:
                    return await asyncio.to_thread(phone.wait, 90)
                except subprocess.TimeoutExpired:
                    return None

            codes = await asyncio.gather(*(ends(p) for p in day.callers.values()))
            day.exits = dict(zip(day.callers, codes, strict=True))
            await settled(api, day, 20)
            day.history = await api.calls(day.killed_at - 3600)
            day.at_end = await api.figures()
            yield day
        finally:
            print("\n----\n".join(r.out for r in runs))
            collector.cancel()
            phones.stop()
            await api.close()
            await link.close()
            for r in runs:
                r.kill()


def in_the_outage(day: Day) -> str:
    return f"killed at {day.killed_at:.1f}, back at {day.back_at:.1f}"


async def test_the_traffic_spans_the_outage(day: Day) -> None:
    """The scenario is what it says: callers in the IVR and callers waiting at the kill,
    callers the failsafe took, calls wholly within the outage, and calls after it."""
    entered = day.entered()
    assert len(entered) == CALLS, sorted(day.callers)
    in_ivr = [c for c, at in entered.items() if day.killed_at - 3 < at < day.killed_at]
    during = [c for c, at in entered.items() if day.killed_at < at < day.back_at]
    after = [c for c, at in entered.items() if at > day.back_at]
    failsafe = {e.call_id for e in day.seen if isinstance(e, FailsafeTaken)}
    assert in_ivr and len(during) >= 15 and len(after) >= 3, in_the_outage(day)
    assert len(failsafe) >= 10 and day.wholly_in_outage(), in_the_outage(day)


async def test_every_caller_is_served_once_by_an_agent_with_one_call_at_a_time(
        day: Day) -> None:
    ids = day.call_ids()
    failed = {n: day.callers[n].errors() for n, code in day.exits.items() if code != 0}
    assert not failed, failed
    callbacks = [e for e in day.seen if isinstance(e, CallbackRequested)]
    assert not callbacks, callbacks  # nobody hung up by a key taken for the callback key
    answered = Counter(e.call_id for e in day.seen if isinstance(e, CallAnswered))
    not_served = sorted(n for n, c in ids.items() if answered[c] == 0)
    twice = sorted(n for n, c in ids.items() if answered[c] > 1)
    assert (not_served, twice) == ([], []), in_the_outage(day)
    # an agent's phone never has two calls (ringing or talking) at once
    live: dict[str, set[str]] = {}
    doubled: list[str] = []
    for e in day.seen:
        if isinstance(e, ChannelCreated | ChannelHungUp) and e.channel.startswith("PJSIP/agent"):
            agent = e.channel.removeprefix("PJSIP/").rsplit("-", 1)[0]
            channels = live.setdefault(agent, set())
            if isinstance(e, ChannelCreated):
                channels.add(e.channel)
                if len(channels) > 1:
                    doubled.append(f"{e.at:.1f} {agent}: {sorted(channels)}")
            else:
                channels.discard(e.channel)
    assert not doubled, (doubled, in_the_outage(day))


def by_call(day: Day) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in day.history:
        rows.setdefault(row["call_id"], []).append(row)
    return rows


def history_faults(day: Day, calls: set[str]) -> list[str]:
    """What is wrong with these calls' history: missing, twice, the outcome, agent or
    recording not the ones the node saw."""
    rows = by_call(day)
    failsafe = {e.call_id for e in day.seen if isinstance(e, FailsafeTaken)}
    agent = {e.call_id: e.agent_id for e in day.seen if isinstance(e, CallAnswered)}
    faults = []
    for call_id in sorted(calls):
        found, name = rows.get(call_id, []), f"{call_id} ({day.phase(call_id)})"
        steps = [f"{type(e).__name__}@{e.at - day.killed_at:+.1f}" for e in day.seen
                 if getattr(e, "call_id", "") == call_id]
        name += f" [the node, s from the kill: {' '.join(steps)}]"
        if len(found) != 1:
            faults.append(f"{name}: {len(found)} rows")
            continue
        row = found[0]
        outcome = "failsafe" if call_id in failsafe else "answered"
        if (row["outcome"], row["agent_id"]) != (outcome, agent.get(call_id)):
            faults.append(f"{name}: {row['outcome']} by {row['agent_id']}, the node saw "
                          f"{outcome} by {agent.get(call_id)}")
        wav = recording_of(day.settings, call_id)  # (its audio: the tests above)
        if row["recording_url"] is None or not wav.exists():
            faults.append(f"{name}: recording {row['recording_url']}, file {wav.exists()}")
    return faults


def unrecorded(day: Day, failsafe: bool) -> list[str]:
    """Answered calls (app_queue's, or the controller's) whose recording on the node's disk
    is missing or holds no audio (a WAV header only)."""
    empty = []
    for call_id in sorted({e.call_id for e in day.seen if isinstance(e, CallAnswered)}):
        if (call_id in day.failsafe()) != failsafe:
            continue
        wav = recording_of(day.settings, call_id)
        size = wav.stat().st_size if wav.exists() else None
        if size is None or size <= 44:
            empty.append(f"{call_id} ({day.phase(call_id)}): {size}")
    return empty


async def test_every_call_the_controller_routed_is_recorded(day: Day) -> None:
    empty = unrecorded(day, failsafe=False)
    assert not empty, "\n".join([in_the_outage(day), *empty])


async def test_every_call_the_failsafe_served_is_recorded(day: Day) -> None:
    """Only the agent speaks here (the callers send their keys): every failsafe call's file
    is a bare WAV header, where the controller's calls with the same phones are not. With a
    caller who speaks, app_queue's calls are recorded (asterisk/test_first_call.py). The same
    run with hotline-failsafe's MixMonitor started without `b` (record only while bridged)
    passes: app_queue's bridge is not one that option records the agent's side of."""
    empty = unrecorded(day, failsafe=True)
    assert not empty, "\n".join([in_the_outage(day), *empty])


async def test_every_call_is_in_history_once_with_its_outcome_and_recording(
        day: Day) -> None:
    """Every call but those served wholly within the outage (the next test)."""
    calls = set(day.call_ids().values()) - day.left_to_the_ledger()
    faults = history_faults(day, calls)
    assert not faults, "\n".join([in_the_outage(day), *faults])
    strangers = set(by_call(day)) - set(day.call_ids().values())
    assert not strangers, strangers


async def test_calls_wholly_within_the_outage_are_in_history(day: Day) -> None:
    """Those served and ended while no controller ran (Day.left_to_the_ledger)."""
    faults = history_faults(day, day.left_to_the_ledger())
    assert not faults, "\n".join([in_the_outage(day), *faults])


async def test_todays_figures_go_on_across_the_restart_and_match_history(day: Day) -> None:
    before, after, end = day.before_kill, day.after_restart, day.at_end
    assert before["offered"] >= 5, before
    assert all(after[k] >= before[k] for k in COUNTS), (before, after)
    queued = [r for r in day.history if r["queued_at"] is not None]
    assert (end["offered"], end["answered"], end["abandoned"]) == (
        len(queued), sum(r["answered_at"] is not None for r in queued),
        sum(r["outcome"] in ("abandoned", "short_abandoned") for r in queued)), end
    # (failsafe counts every call app_queue took, answered there or not)
    assert end["failsafe"] >= sum(r["outcome"] == "failsafe" for r in queued), end
