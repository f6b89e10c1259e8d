"""`hotline demo`: a first look at the platform with nothing but this machine.

Starts (or reuses) the Asterisk node, the platform, one SIPp phone per configured agent
(logged in and ready, wrap-up ending by itself) and SIPp callers, and shows every call's life.
With --calls N it places N calls, waits for them to finish and prints a summary; Ctrl-C (or
SIGTERM) stops it in order and prints the summary too.

The process layer is above this module: the CLI hands it the platform to run and the event
loop to run it on (`PlatformFactory`, `LoopRunner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.centre.model import Centre, load_centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued, FailsafeTaken
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess, start_agent, start_dtmf_caller

_PORT = re.compile(r":(\d+)")
#: The demo's SIPp phones use local UDP ports from `first_port` on: CALLER_SLOTS callers' SIP
#: ports, then their media ports (4 apart), then the agents' media ports (4 apart).
FIRST_PORT = 5100
CALLER_SLOTS = 100
SERVICE_KEYS = ["3", "1", "4", "9", "0"]
#: Exit status of a demo interrupted before its --calls N were done (128 + SIGINT).
INTERRUPTED = 130


class DemoController(Protocol):
    """What the demo asks of the platform's controller."""

    def observe(self, observer: Callable[[Any], None]) -> None: ...

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> None: ...


class DemoPlatform(Protocol):
    """The platform as the demo drives it (hotline.process.platform.Platform)."""

    @property
    def controller(self) -> DemoController: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


#: Builds the platform, not started yet: (settings, centre, emit_line) -> platform.
PlatformFactory = Callable[[Settings, Centre, Callable[[str], None]], DemoPlatform]
#: Runs a coroutine to its end on the process's event loop; Ctrl-C raises KeyboardInterrupt
#: once the coroutine has stopped (cancelled).
LoopRunner = Callable[[Coroutine[Any, Any, int]], int]


@dataclass
class DemoSummary:
    queued: dict[str, float] = field(default_factory=dict)
    answered: dict[str, tuple[str, float]] = field(default_factory=dict)  # agent, wait
    ended: set[str] = field(default_factory=set)
    failsafe: set[str] = field(default_factory=set)
    #: set while every queued call has ended
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def observe(self, item: object) -> None:
        if isinstance(item, CallQueued):
            self.queued.setdefault(item.call_id, item.at)
        elif isinstance(item, CallAnswered):
            wait = item.at - self.queued.get(item.call_id, item.at)
            self.answered[item.call_id] = (item.agent_id, wait)
        elif isinstance(item, CallEnded):
            self.ended.add(item.call_id)
        elif isinstance(item, FailsafeTaken):
            self.failsafe.add(item.call_id)
        if set(self.queued) <= self.ended:
            self.settled.set()
        else:
            self.settled.clear()

    def text(self) -> str:
        waits = [w for _, w in self.answered.values()]
        per_agent: dict[str, int] = {}
        for agent, _ in self.answered.values():
            per_agent[agent] = per_agent.get(agent, 0) + 1
        abandoned = len([c for c in self.ended if c in self.queued and c not in self.answered])
        lines = [
            "summary:",
            f"  calls queued    {len(self.queued)}",
            f"  answered        {len(self.answered)}",
            f"  abandoned       {abandoned}",
            f"  via failsafe    {len(self.failsafe)}",
        ]
        if waits:
            lines.append(f"  wait (s)        median {statistics.median(waits):.3f}, "
                         f"max {max(waits):.3f}")
        lines += [f"  {agent:<15} {n} calls" for agent, n in sorted(per_agent.items())]
        return "\n".join(lines)


def _agent_phones(centre: Centre, first_port: int) -> list[SippProcess]:
    phones = []
    media = first_port + 5 * CALLER_SLOTS
    for i, agent in enumerate(centre.agents):
        ports = _PORT.findall(agent.contact)
        if not ports:
            continue  # a softphone that registers: nothing to start
        phones.append(start_agent(agent.id, int(ports[-1]), media + 4 * i, ring_ms=800,
                                  talk_ms=4000))
    return phones


async def _demo(settings: Settings, centre: Centre, platform: DemoPlatform, calls: int,
                rate: float, first_port: int) -> int:
    summary = DemoSummary()
    phones: list[SippProcess] = []
    callers: dict[int, SippProcess] = {}  # port slot -> the caller using it
    try:
        await platform.start()
        controller = platform.controller
        controller.observe(summary.observe)
        phones = _agent_phones(centre, first_port)
        for agent in centre.agents:
            controller.agent_command(agent.id, AgentTrigger.LOGIN)
            controller.agent_command(agent.id, AgentTrigger.READY)
        target = f"{settings.bind_host}:{settings.sip_port}"
        i = 0
        while calls == 0 or i < calls:
            # Each caller picks Mandarin (1), then a service: billing, fault, business, EV or
            # "0" for an agent; is patient (60 s); its agent ends the call after 4 s of talk,
            # then the caller skips the survey. A caller's ports are free again once it ended.
            slot = next((n for n in range(CALLER_SLOTS)
                         if n not in callers or not callers[n].running()), None)
            if slot is not None:
                digit = SERVICE_KEYS[i % len(SERVICE_KEYS)]
                callers[slot] = start_dtmf_caller(
                    f"1380000{i:04d}", target, [(1500, "1"), (1500, digit)], talk_ms=60_000,
                    local_port=first_port + slot,
                    media_port=first_port + CALLER_SLOTS + 4 * slot,
                    service=settings.hotline_number)
                i += 1
            await asyncio.sleep(1 / rate)  # the demo's call rate
        for caller in callers.values():
            await asyncio.to_thread(caller.wait, 120)
        # SIPp's callers are done: let the last hang-ups arrive
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await summary.settled.wait()
    finally:
        try:
            await asyncio.gather(*(asyncio.to_thread(phone.stop)
                                   for phone in [*phones, *callers.values()]))
            await platform.stop()
        finally:
            print(summary.text(), flush=True)
    return 0 if len(summary.answered) == len(summary.queued) else 1


def run_demo(settings: Settings, make_platform: PlatformFactory, run_loop: LoopRunner,
             calls: int = 0, rate: float = 0.5, first_port: int = FIRST_PORT) -> int:
    """The demo until --calls N are done (0: or Ctrl-C / SIGTERM). Exit status: 0 when every
    call was answered, or a demo without N stopped; 1 when a call was not answered;
    INTERRUPTED when stopped before its N calls were done."""
    from hotline.telephony.node import box as asterisk_box
    from hotline.telephony.node import rootfs

    if settings.wrap_up_s <= 0:
        settings = settings.model_copy(update={"wrap_up_s": 2.0})
    centre = load_centre(settings.centre_file)
    rootfs.build(settings, progress=rootfs.main_progress)
    started_here = False
    if not asterisk_box.status(settings).running:
        asterisk_box.start(settings, centre.agents)
        started_here = True
    print(f"Asterisk node {settings.node_name}: SIP {settings.bind_host}:{settings.sip_port}, "
          f"hotline number {settings.hotline_number}. Ctrl-C to stop.", flush=True)
    platform = make_platform(settings, centre, lambda line: print(line, flush=True))
    try:
        return run_loop(_demo(settings, centre, platform, calls, rate, first_port))
    except KeyboardInterrupt:  # the loop ran the demo's way out (phones, platform) first
        return INTERRUPTED if calls else 0
    finally:
        if started_here:
            asterisk_box.stop(settings)
