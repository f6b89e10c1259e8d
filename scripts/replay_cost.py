"""What recording the replay journal costs the controller per input (docs/replay.md, "Cost").

Not a test and not a bench: a small timing of Controller.handle offline (no Asterisk), with
HOTLINE_REPLAY_RECORD off and on, over whole calls (the AMI events of a routed call, its
agent's commands) and over the commonest AMI event the router ignores (a channel's state).
Prints microseconds per input for both and the difference.

    nice -n 19 .venv/bin/python scripts/replay_cost.py [calls]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallQueued,
    ChannelStateChanged,
    TalkEnded,
)
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.router import Offer

AGENTS = 50


def centre() -> Centre:
    return Centre(queues=[QueueSpec("general", ServiceType.GENERAL, {"general": 1})],
                  agents=[AgentSpec(id=f"a{n}", name="", secret="", contact="",
                                    skills={"general": 1 + n % 5}) for n in range(AGENTS)])


def controller(record: bool, directory: Path) -> tuple[Controller, list[float]]:
    now = [1_796_000_000.0]
    settings = Settings(_env_file=None, replay_record=record,  # type: ignore[call-arg]
                        replay_dir=directory)
    ctl = Controller(settings, centre(), clock=lambda: now[0], emit_line=lambda _l: None)
    state = ctl._state  # offline, as the replay runs it
    state.offline = state.routing = True
    ctl.last_offer = last = [""]  # type: ignore[attr-defined]
    ctl.observe(lambda item: last.__setitem__(0, item.agent_id)
                if isinstance(item, Offer) else None)
    for n in range(AGENTS):
        ctl.agent_command(f"a{n}", AgentTrigger.LOGIN)
        ctl.agent_command(f"a{n}", AgentTrigger.READY)
    return ctl, now


def calls(ctl: Controller, now: list[float], n: int) -> int:
    """n whole calls; returns the inputs fed."""
    inputs = 0
    for i in range(n):
        call = f"c{i}"
        now[0] += 1.0
        ctl.handle(CallQueued(now[0], node="pbx1", call_id=call, queue="general",
                              service=ServiceType.GENERAL, caller="13900000000",
                              channel=f"PJSIP/trunk-{i:08x}"))
        chosen = ctl.last_offer[0]  # type: ignore[attr-defined]
        for ev in (ChannelStateChanged(now[0], node="pbx1", call_id=call,
                                       channel=f"PJSIP/{chosen}-1", state="Ringing"),
                   AgentRinging(now[0], node="pbx1", call_id=call, agent_id=chosen),
                   CallAnswered(now[0] + 0.3, node="pbx1", call_id=call, agent_id=chosen),
                   TalkEnded(now[0] + 30, node="pbx1", call_id=call, agent_id=chosen),
                   CallEnded(now[0] + 31, node="pbx1", call_id=call)):
            ctl.handle(ev)
        ctl.agent_command(chosen, AgentTrigger.END_WRAP_UP)
        ctl.tick()
        inputs += 8
    return inputs


def ignored(ctl: Controller, now: list[float], n: int) -> int:
    ev = ChannelStateChanged(now[0], node="pbx1", call_id="x", channel="PJSIP/x-1", state="Up")
    for _ in range(n):
        ctl.handle(ev)
    return n


def timed(record: bool, feed, n: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(7):
        with tempfile.TemporaryDirectory() as d:
            ctl, now = controller(record, Path(d))
            started = time.process_time()  # CPU time: the machine may be busy
            inputs = feed(ctl, now, n)
            took = time.process_time() - started
            if ctl.recording is not None:
                ctl.recording.close()
        best = min(best, took / inputs)
    return best * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    for name, feed, count in (("whole calls", calls, n), ("ignored AMI event", ignored, n * 8)):
        off, on = timed(False, feed, count), timed(True, feed, count)
        print(f"{name:18}: {off:6.2f} us/input without recording, {on:6.2f} us with: "
              f"+{on - off:.2f} us per input")


if __name__ == "__main__":
    main()
