"""Footprint: the controller's memory with 10,000 agents and 5,000 calls in the system, and the
bytes each finished call leaves behind.

    .venv/bin/python -m bench.footprint [--agents 10000] [--calls 5000] [--finished 2000]
                                        [--no-trace]

No Asterisk: the controller's in-process state is built as production builds it. A real
Controller (router, select_agent kernel, desk, hold desk, call log) with the API side's Metrics
and LiveFeed attached as observers (hotline.process.wiring), over a Centre of `--agents`
agents (2-4 of 26 skills at levels 1-5, one queue per skill). Every call comes as AMI would
give it (CallEntered, IvrChoice as typed events into Controller.handle), then waits in a real
FastAGI hold session: a child process speaks res_agi's side of `hold` over loopback to the
controller's AgiServer, so the sessions' sockets, tasks and buffers count. A quarter of the
agents are ready: the first calls are offered through their sessions, then ring and are
answered (talking); the rest wait held. The AMI link to the node is a real AmiLink marked
logged in and never connected (no Asterisk: nothing is sent over it).

Three passes, each in a fresh process:
- `footprint`: VmRSS once every call is in the system (after gc), and at each step before;
- `trace`: the same under tracemalloc: the allocation sites holding the most (what dominates);
- `retained`: after a warm-up, `--finished` calls go through the whole life (entered, held,
  offered, rung, answered, ended, after-call work ended); tracemalloc's growth over them per
  call, by file, is what each finished call leaves in the controller's bounded caches (the
  router's explanations, the desk's recent calls, the ended-call ids); the explanation log's
  encoded bytes per call, and what decoding them all allocates (docs/metrics.md).
The last line is one JSON object: agents, calls, rss_mb (target: 300), and the figures above.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from hotline.api.services import Services
from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    IvrChoice,
)
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import DEV_AGI_SECRET, Settings
from hotline.core.values import ServiceType
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.router import Offer
from hotline.telephony.agi.server import AgiServer, by_script
from hotline.telephony.ami.link import AmiLink

RSS_TARGET_MB = 300.0
N_SKILLS = 26  # a queue per province, say
NODE = "fp"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def floor(agents: int, seed: int = 1) -> Centre:
    rng = random.Random(seed)
    specs = []
    for i in range(agents):
        held = rng.sample(range(N_SKILLS), rng.randint(2, 4))
        specs.append(AgentSpec(id=f"agent{i + 1}", name=f"Agent {i + 1}",
                               skills={f"s{s}": rng.randint(1, 5) for s in held}))
    queues = [QueueSpec(name=f"q{s}", service=ServiceType.GENERAL, required={f"s{s}": 1},
                        policy=("most_skilled", "longest_idle")[s % 2])
              for s in range(N_SKILLS)]
    return Centre(queues=queues, agents=specs)


def caller_channel(n: int) -> str:
    return f"PJSIP/caller-{n:08x}"


def call_id(n: int) -> str:
    return f"1795478000.{n}"


# ---- Asterisk's side of the hold sessions (a child process)


async def hold_client(port: int, first: int, count: int, queues: int) -> None:
    """Opens `count` hold sessions for calls first.. as res_agi does; answers an offer (one
    SET VARIABLE) and closes that session; prints "open" once all are open, and ends when its
    stdin closes."""
    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        args = (call_id(n), NODE, f"q{n % queues}", "general", "0")
        env = ["agi_network: yes", f"agi_network_script: hold?key={DEV_AGI_SECRET}",
               f"agi_request: agi://127.0.0.1:{port}/hold?key={DEV_AGI_SECRET}",
               f"agi_channel: {caller_channel(n)}", f"agi_callerid: 1390{n:07d}",
               "agi_context: hotline-hold"]
        env += [f"agi_arg_{i}: {a}" for i, a in enumerate(args, start=1)]
        writer.write(("\n".join(env) + "\n\n").encode())
        await writer.drain()
        line = await reader.readline()
        if line.startswith(b"SET VARIABLE"):
            writer.write(b"200 result=1\n")
            await writer.drain()
        writer.close()

    tasks = []
    for n in range(first, first + count):
        tasks.append(asyncio.create_task(one(n)))
        if len(tasks) % 200 == 0:
            await asyncio.sleep(0)  # the listen backlog
    print("open", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()


# ---- the controller


class Bed:
    """A Controller with the API side's observers, its AGI server, and its node's link."""

    def __init__(self, agents: int) -> None:
        self.centre = floor(agents)
        self.settings = Settings(
            bind_host="127.0.0.1", agi_port=0, node_name=NODE, data_dir=Path(tempfile.mkdtemp()),
            agi_max_connections=20_000, agi_max_connections_per_peer=20_000)
        self.clock = time.time
        self.controller = Controller(self.settings, self.centre, emit_line=lambda _: None)
        self.services: Services = services_for(self.settings, self.centre)
        attach_controller(self.services, self.controller)
        self.offers: list[Offer] = []
        self.controller.observe(lambda item: self.offers.append(item)
                                if isinstance(item, Offer) else None)
        self.agi = AgiServer(self.settings, by_script({"hold": self.controller.holds.serve}))
        self.clients: list[subprocess.Popen[str]] = []

    async def start(self) -> None:
        await self.agi.start()
        link = AmiLink(self.settings, clock=self.clock)
        link.logged_in.set()  # no Asterisk: the link is never connected, nothing is sent
        self.controller.links[NODE] = link

    async def stop(self) -> None:
        self.close_clients()
        self.controller.holds.close()
        await self.agi.stop()

    def close_clients(self) -> None:
        for client in self.clients:
            assert client.stdin is not None and client.stdout is not None
            client.stdin.close()
            client.wait(timeout=30)
            client.stdout.close()
        self.clients = []

    def log_in(self, ready: int) -> None:
        for i, agent in enumerate(self.centre.agents):
            self.controller.agent_command(agent.id, AgentTrigger.LOGIN)
            if i < ready:
                self.controller.agent_command(agent.id, AgentTrigger.READY)

    def enter(self, first: int, count: int) -> None:
        """The calls' AMI events up to the hold: entry and the IVR's choice."""
        handle, queues = self.controller.handle, len(self.centre.queues)
        for n in range(first, first + count):
            at = self.clock()
            handle(CallEntered(at, call_id(n), f"1390{n:07d}", "12345", caller_channel(n),
                               node=NODE))
            handle(IvrChoice(at, call_id(n), "main", str(n % queues), node=NODE))

    async def hold(self, first: int, count: int) -> None:
        """`count` hold sessions opened by a child process; returns once they are open."""
        client = subprocess.Popen(  # noqa: ASYNC220 (starts it; read in a thread)
            [sys.executable, "-m", "bench.footprint", "--hold-client",
             f"{self.agi.port},{first},{count},{len(self.centre.queues)}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.clients.append(client)
        assert client.stdout is not None
        line = await asyncio.to_thread(client.stdout.readline)
        assert line.strip() == "open", line

    def answer(self) -> list[Offer]:
        """Every offer made so far rings its agent and is answered."""
        offers, self.offers = self.offers, []
        for offer in offers:
            at = self.clock()
            self.controller.handle(AgentRinging(at, offer.call_id, offer.agent_id, node=NODE))
            self.controller.handle(CallAnswered(at, offer.call_id, offer.agent_id, node=NODE))
        return offers

    def end(self, offers: list[Offer]) -> None:
        """The answered calls end, and their agents end their after-call work at once."""
        for offer in offers:
            self.controller.handle(CallEnded(self.clock(), offer.call_id, node=NODE))
            if self.controller.router.agent(offer.agent_id).state is AgentState.AFTER_CALL_WORK:
                self.controller.agent_command(offer.agent_id, AgentTrigger.END_WRAP_UP)

    async def until(self, what: str, predicate: Any, deadline_s: float = 120.0) -> None:
        async with asyncio.timeout(deadline_s):
            while not predicate():  # noqa: ASYNC110 (a bench polling the controller)
                await asyncio.sleep(0.02)
        del what

    def in_system(self) -> int:
        return len(self.controller.router._state.calls)


async def footprint(args: argparse.Namespace, trace: bool) -> dict[str, Any]:
    steps: dict[str, float] = {"start_mb": rss_mb()}
    bed = Bed(args.agents)
    await bed.start()
    ready = min(args.agents // 4, args.calls)
    try:
        bed.log_in(ready)
        gc.collect()
        steps["agents_mb"] = rss_mb()
        bed.enter(0, args.calls)
        await bed.hold(0, args.calls)
        # every call offered (its session ended with the offer) or waiting in its session
        await bed.until("held", lambda: len(bed.offers) + len(bed.controller.holds)
                        >= args.calls)
        talking = len(bed.answer())
        gc.collect()
        rss = rss_mb()
        figures: dict[str, Any] = {
            "agents": args.agents, "calls": bed.in_system(), "talking": talking,
            "waiting_held": len(bed.controller.holds), "rss_mb": round(rss, 1),
            "rss_target_mb": RSS_TARGET_MB,
            "interpreter_mb": round(steps["start_mb"], 1),
            "bytes_per_agent": round((steps["agents_mb"] - steps["start_mb"]) * 2**20
                                     / args.agents),
            "bytes_per_call": round((rss - steps["agents_mb"]) * 2**20 / args.calls),
        }
        if trace:
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
            stats = snap.statistics("lineno")
            figures["traced_mb"] = round(sum(s.size for s in stats) / 2**20, 1)
            figures["top"] = [f"{s.size / 2**20:.1f} MB {s.traceback[0].filename.split('/')[-1]}"
                              f":{s.traceback[0].lineno}" for s in stats[:15]]
        return figures
    finally:
        await bed.stop()


async def retained(args: argparse.Namespace) -> dict[str, Any]:
    """Bytes each finished call leaves in the controller (tracemalloc, by file)."""
    bed = Bed(args.agents)
    await bed.start()
    batch = min(500, args.agents // 4)
    try:
        # half the floor ready: every queue has ready agents for a batch, and the
        # explanations pass over the not-ready half as on a busy floor
        bed.log_in(args.agents // 2)
        n = 0
        explanations = bed.controller.router._state.explanations
        fds, tasks = len(os.listdir("/proc/self/fd")), len(asyncio.all_tasks())

        async def run(calls: int) -> None:
            nonlocal n
            while calls > 0:
                size = min(batch, calls)
                bed.enter(n, size)
                await bed.hold(n, size)
                await bed.until("offered", lambda size=size: len(bed.offers) >= size)
                bed.end(bed.answer())
                n, calls = n + size, calls - size
            bed.close_clients()  # every session of theirs ended already
            if hasattr(explanations, "compact"):  # what the controller's ticker did by then
                explanations.compact()
            # every session's socket closed and its task over (they let go of the stream)
            await bed.until("closed", lambda: len(os.listdir("/proc/self/fd")) <= fds
                            and len(asyncio.all_tasks()) <= tasks)

        # warm-up: pools, interned names, first-time structures. (--warm-up past the bounded
        # caches' 10,000 calls does not make their share vanish: what a full cache drops was
        # allocated before tracing began, so its free is not seen; read their sizes instead)
        await run(max(batch, args.warm_up))
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        first = n
        await run(args.finished)
        gc.collect()
        after = tracemalloc.take_snapshot()
        grown = after.compare_to(before, "filename")
        total = sum(s.size_diff for s in grown)
        by_file = {s.traceback[0].filename.split("/")[-1]: round(s.size_diff / args.finished)
                   for s in grown[:8]}
        by_line = {f"{s.traceback[0].filename.split('/')[-1]}:{s.traceback[0].lineno}":
                   round(s.size_diff / args.finished)
                   for s in after.compare_to(before, "lineno")[:12]}
        # The same explanations as the objects the router built (the log's earlier form)
        router = bed.controller.router
        mark = tracemalloc.take_snapshot()
        objects = [router.explain(call_id(k)) for k in range(first, n)]
        as_objects = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(
            mark, "filename"))
        explained = sum(len(x) for x in objects)
        log_bytes = getattr(explanations, "bytes", None)  # encoded (absent before: objects)
        tracemalloc.stop()
        return {
            "finished": args.finished, "explanations": explained,
            "retained_bytes_per_call": round(total / args.finished),
            "retained_by_file": by_file,
            "retained_by_line": by_line,
            "explain_decoded_bytes_per_call": round(as_objects / args.finished),
            "explain_encoded_bytes_per_call": (round(log_bytes / n) if log_bytes is not None
                                               else None),
        }
    finally:
        await bed.stop()


def child(phase: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.footprint", "--phase", phase, "--agents",
           str(args.agents), "--calls", str(args.calls), "--finished", str(args.finished),
           "--warm-up", str(args.warm_up)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--finished", type=int, default=2_000)
    parser.add_argument("--warm-up", type=int, default=0,
                        help="calls finished before the retained pass measures (default: one "
                             "batch)")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--phase", choices=("footprint", "trace", "retained"))
    parser.add_argument("--hold-client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hold_client:
        port, first, count, queues = map(int, args.hold_client.split(","))
        asyncio.run(hold_client(port, first, count, queues))
        return
    if args.phase == "footprint":
        print(json.dumps(asyncio.run(footprint(args, trace=False))))
        return
    if args.phase == "trace":
        tracemalloc.start(1)
        print(json.dumps(asyncio.run(footprint(args, trace=True))))
        return
    if args.phase == "retained":
        print(json.dumps(asyncio.run(retained(args))))
        return

    t0 = time.perf_counter()
    figures = child("footprint", args)
    print(f"{figures['agents']} agents, {figures['calls']} calls in the system "
          f"({figures['talking']} talking, {figures['waiting_held']} held in FastAGI): "
          f"RSS {figures['rss_mb']} MB (target {RSS_TARGET_MB:.0f}); interpreter and imports "
          f"{figures['interpreter_mb']} MB, {figures['bytes_per_agent']} B per agent, "
          f"{figures['bytes_per_call']} B per call")
    if not args.no_trace:
        traced = child("trace", args)
        print(f"  tracemalloc: {traced['traced_mb']} MB traced; top sites:")
        for line in traced["top"]:
            print("    " + line)
        figures["traced_mb"] = traced["traced_mb"]
        figures["top"] = traced["top"][:5]
    kept = child("retained", args)
    print(f"  {kept['finished']} finished calls leave {kept['retained_bytes_per_call']} B each "
          f"(by file: {kept['retained_by_file']}); explanations encoded "
          f"{kept['explain_encoded_bytes_per_call']} B per call, decoded all at once "
          f"{kept['explain_decoded_bytes_per_call']} B per call")
    figures.update(kept)
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
