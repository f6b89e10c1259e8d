"""Virtual hold on the real Asterisk: callers press the callback key and hang up; when their
turn comes (an agent is free for them: the router's CallbackDue), the controller calls them
back. Measures how soon each callback starts after its turn (the originated channel appears)
and how many complete; the issue's goal: >= 99% start within one minute of their turn.

    python -m bench.callback [--callers 60] [--agents 8] [--rate 10]     (as root)
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.wire_node import (
    BENCH_HOLD_NUMBER,
    PHONE_MEDIA_BASE,
    AgentPlan,
    add_bench_entries,
    mounts_under,
    skip_survey,
    wire_centre,
    wire_settings,
)
from hotline.core.events import CallAnswered, CallbackRequested, ChannelCreated
from hotline.core.lifecycle import AgentTrigger
from hotline.devtools.observer import ControllerObserver
from hotline.devtools.sipp_phones import SippProcess, start_agent, start_key_caller
from hotline.process.controller import Controller
from hotline.router import CallbackDue
from hotline.telephony.agi.server import AgiServer, by_script

CALLBACK_PORT = 29090
CALLER_PORT = 29250


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(opts: argparse.Namespace, base: Path) -> dict[str, object]:
    from hotline.telephony.node import box as asterisk_box
    from hotline.telephony.node import rootfs

    plan = AgentPlan(opts.agents, 1)
    centre = wire_centre(plan)
    settings = wire_settings(base, wrap_up_s=0.5).model_copy(update={
        "callback_dial": f"PJSIP/caller/sip:{{number}}@127.0.0.1:{CALLBACK_PORT}"})
    await asyncio.to_thread(rootfs.build, settings, rootfs.main_progress)
    await asyncio.to_thread(asterisk_box.start, settings, centre.agents)
    phones: list[SippProcess] = []
    controller = Controller(settings, centre, emit_line=lambda _: None)
    seen = ControllerObserver(controller)  # what it recorded, read after the run
    # callers wait held in FastAGI, as the platform serves them (the key comes as DTMFEnd)
    agi = AgiServer(settings, by_script({"hold": controller.holds.serve,
                                         "survey": skip_survey}))
    await agi.start()
    try:
        phones.append(start_agent("agents", plan.ports()[0], PHONE_MEDIA_BASE, ring_ms=200,
                                  talk_ms=opts.talk_ms))
        phones.append(start_agent("customers", CALLBACK_PORT, PHONE_MEDIA_BASE + 8,
                                  ring_ms=300, talk_ms=60_000, voice=True))
        await controller.start()
        await add_bench_entries(controller.links[settings.node_name])
        for agent in centre.agents:
            controller.agent_command(agent.id, AgentTrigger.LOGIN)
            controller.agent_command(agent.id, AgentTrigger.READY)
        started = time.monotonic()
        callers = start_key_caller(
            "13700000000", f"127.0.0.1:{settings.sip_port}", key=settings.callback_key,
            key_delay_ms=1500, talk_ms=5000, local_port=CALLER_PORT,
            media_port=PHONE_MEDIA_BASE + 16, calls=opts.callers, rate=opts.rate,
            service=BENCH_HOLD_NUMBER)
        phones.append(callers)

        def done() -> bool:
            """Every caller has called (some reached an agent before pressing the key) and
            every callback asked for was answered by an agent."""
            asked = [e for e in seen.history if isinstance(e, CallbackRequested)]
            answered = {e.call_id for e in seen.history if isinstance(e, CallAnswered)}
            return not callers.running() and all(a.call_id in answered for a in asked)

        async with asyncio.timeout(opts.deadline_s):
            while not done():  # noqa: ASYNC110 (a bench polling its own history)
                await asyncio.sleep(0.25)
        elapsed = time.monotonic() - started
    except TimeoutError:
        elapsed = float(opts.deadline_s)
    finally:
        await controller.stop()
        await agi.stop()
        for phone in phones:
            phone.stop()
        await asyncio.to_thread(asterisk_box.stop, settings)

    history = seen.history
    asked = {e.call_id: e.at for e in history if isinstance(e, CallbackRequested)}
    due = {e.call_id: e.explanation.at for e in history if isinstance(e, CallbackDue)}
    # the originated channel: its Uniqueid (and Linkedid) is the call id, after the turn
    start = {}
    for e in history:
        if (isinstance(e, ChannelCreated) and e.call_id in due and e.call_id not in start
                and e.at >= due[e.call_id] - 0.001):
            start[e.call_id] = e.at
    answered = {e.call_id for e in history if isinstance(e, CallAnswered) and e.call_id in due}
    delays = [start[c] - due[c] for c in start]
    waits = [due[c] - asked[c] for c in due if c in asked]
    within = sum(1 for d in delays if d <= 60.0)
    return {
        "callers": opts.callers, "agents": opts.agents, "requested": len(asked),
        "due": len(due), "started": len(start), "answered": len(answered),
        "started_within_60s_of_turn": within / len(asked) if asked else None,
        "start_after_turn_median_ms": round(statistics.median(delays) * 1000, 1)
        if delays else None,
        "start_after_turn_p99_ms": round(percentile(delays, 0.99) * 1000, 1) if delays else None,
        "turn_after_request_median_s": round(statistics.median(waits), 2) if waits else None,
        "turn_after_request_max_s": round(max(waits), 2) if waits else None,
        "keys_through_hold_session": controller.holds.ended["callback"],
        "seconds": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.callback", description=__doc__)
    parser.add_argument("--callers", type=int, default=60)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="callers per second")
    parser.add_argument("--talk-ms", type=int, default=2000)
    parser.add_argument("--deadline-s", type=float, default=180.0)
    opts = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.callback starts its own Asterisk node: run it as root", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    base = Path(tempfile.mkdtemp(prefix="hotline-callback-"))
    base.chmod(0o711)
    try:
        figures = asyncio.run(run(opts, base))
    except KeyboardInterrupt:
        return 130
    finally:
        if not mounts_under(base):
            shutil.rmtree(base, ignore_errors=True)
    share = figures["started_within_60s_of_turn"]
    print(f"{figures['requested']} callbacks requested, {figures['started']} started, "
          f"{figures['answered']} answered by an agent in {figures['seconds']} s")
    print(f"callback start after its turn: median {figures['start_after_turn_median_ms']} ms,"
          f" p99 {figures['start_after_turn_p99_ms']} ms; within 60 s: {share}")
    print(f"turn after the request: median {figures['turn_after_request_median_s']} s, max "
          f"{figures['turn_after_request_max_s']} s")
    print(f"target >= 99% within a minute of their turn: "
          f"{'met' if share is not None and share >= 0.99 else 'NOT met'}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
