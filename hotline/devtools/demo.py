"""`hotline demo`: a first look at the platform with nothing but this machine.

Starts (or reuses) the Asterisk node, the controller, one SIPp phone per configured agent
(logged in and ready, wrap-up ending by itself) and SIPp callers, and shows every call's life.
With --calls N it places N calls, waits for them to finish and prints a summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import statistics
from dataclasses import dataclass, field

from hotline.centre.model import Centre, load_centre
from hotline.core.events import CallAnswered, CallEnded, CallQueued, FailsafeTaken
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.observer import ControllerObserver
from hotline.devtools.sipp_phones import SippProcess, start_agent, start_dtmf_caller
from hotline.process import event_loop
from hotline.process.platform import Platform

_PORT = re.compile(r":(\d+)")
CALLER_PORT = 5100
CALLER_MEDIA = 7000
SERVICE_KEYS = ["3", "1", "4", "9", "0"]


@dataclass
class DemoSummary:
    queued: dict[str, float] = field(default_factory=dict)
    answered: dict[str, tuple[str, float]] = field(default_factory=dict)  # agent, wait
    ended: set[str] = field(default_factory=set)
    failsafe: set[str] = field(default_factory=set)

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


def _agent_phones(centre: Centre) -> list[SippProcess]:
    phones = []
    for i, agent in enumerate(centre.agents):
        ports = _PORT.findall(agent.contact)
        if not ports:
            continue  # a softphone that registers: nothing to start
        phones.append(start_agent(agent.id, int(ports[-1]), 6000 + 10 * i, ring_ms=800,
                                  talk_ms=4000))
    return phones


async def _demo(settings: Settings, centre: Centre, calls: int, rate: float) -> int:
    summary = DemoSummary()
    platform = Platform(settings, centre, emit_line=lambda line: print(line, flush=True))
    phones: list[SippProcess] = []
    callers: list[SippProcess] = []
    try:
        await platform.start()
        controller = platform.controller
        controller.observe(summary.observe)
        seen = ControllerObserver(controller)
        phones = _agent_phones(centre)
        for agent in centre.agents:
            controller.agent_command(agent.id, AgentTrigger.LOGIN)
            controller.agent_command(agent.id, AgentTrigger.READY)
        target = f"{settings.bind_host}:{settings.sip_port}"
        i = 0
        while calls == 0 or i < calls:
            # Each caller picks Mandarin (1), then a service: billing, fault, business, EV or
            # "0" for an agent; is patient (60 s); its agent ends the call after 4 s of talk,
            # then the caller skips the survey.
            digit = SERVICE_KEYS[i % len(SERVICE_KEYS)]
            callers.append(start_dtmf_caller(
                f"1380000{i:04d}", target, [(1500, "1"), (1500, digit)], talk_ms=60_000,
                local_port=CALLER_PORT + i % 200, media_port=CALLER_MEDIA + 4 * (i % 200),
                service=settings.hotline_number))
            callers = [c for c in callers if c.running() or c is callers[-1]]
            i += 1
            await asyncio.sleep(1 / rate)  # the demo's call rate
        for caller in callers:
            await asyncio.to_thread(caller.wait, 120)
        # SIPp's callers are done: let the last hang-ups arrive
        await seen.wait_for(lambda _: set(summary.queued) <= summary.ended, 10)
    finally:
        print(summary.text(), flush=True)
        for phone in [*phones, *callers]:
            phone.stop()
        await platform.stop()
    return 0 if len(summary.answered) == len(summary.queued) else 1


def run_demo(settings: Settings, calls: int = 0, rate: float = 0.5) -> int:
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
    # SIGTERM ends the demo as Ctrl-C does: phones and Asterisk are stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return event_loop.run(_demo(settings, centre, calls, rate), settings.event_loop,
                                  nice=settings.controller_nice)
        return 0
    finally:
        if started_here:
            asterisk_box.stop(settings)
