"""An agent command from an API process to the controller over the Redis command bus
(docs/command-bus.md), against the same command in one process.

    .venv/bin/python -m bench.split [--commands N] [--concurrency C]

A real (not started) controller with the test bed's centre serves the bus (AcdServer, the
controller's own client) on an embedded Redis; an API-side RemoteAcd (its own client) sends
`agent_command` (login/logout alternately, so every command is a legal move and changes the
agent's record) from C concurrent askers, N in all. Measured: each command's round trip
(XADD, the controller's XREADGROUP, execution, the agent record written, the reply, BLPOP),
p50/p99, commands per second; and the in-process LocalAcd's for comparison. The last line is
a JSON object: commands, concurrency, bus_p50_ms, bus_p99_ms, bus_per_s, local_p50_us."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from hotline.api.acd import LocalAcd, RemoteAcd
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.embedded import EmbeddedRedis
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import CommandBus
from hotline.store.live import connect_redis
from tests.helpers import testbed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def run(url: str, commands: int, concurrency: int) -> dict[str, float]:
    centre = testbed.test_centre()
    controller = Controller(Settings(), centre, emit_line=lambda _: None)
    ctl, api = connect_redis(url), connect_redis(url)
    server = AcdServer(controller, ctl)
    await server.start()
    remote = RemoteAcd(CommandBus(api, deadline_s=10), AcdViews(api))
    agents = [a.id for a in centre.agents][:concurrency]
    times: list[float] = []

    async def asker(agent_id: str, n: int) -> None:
        for i in range(n):
            trigger = AgentTrigger.LOGIN if i % 2 == 0 else AgentTrigger.LOGOUT
            began = time.perf_counter()
            await remote.agent_command(agent_id, trigger)
            times.append(time.perf_counter() - began)

    per = commands // len(agents)
    began = time.perf_counter()
    await asyncio.gather(*(asker(a, per) for a in agents))
    wall = time.perf_counter() - began
    local = LocalAcd(controller)
    local_times = []
    for i in range(commands):
        trigger = AgentTrigger.LOGIN if i % 2 == 0 else AgentTrigger.LOGOUT
        t0 = time.perf_counter()
        await local.agent_command(agents[0], trigger)
        local_times.append(time.perf_counter() - t0)
    await server.stop()
    await controller.stop()
    await ctl.aclose()
    await api.aclose()
    return {"commands": len(times), "concurrency": len(agents),
            "bus_p50_ms": round(statistics.median(times) * 1000, 3),
            "bus_p99_ms": round(pct(times, 0.99) * 1000, 3),
            "bus_per_s": round(len(times) / wall, 1),
            "local_p50_us": round(statistics.median(local_times) * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis")
        redis.start()
        try:
            figures = asyncio.run(run(redis.url, args.commands, args.concurrency))
        finally:
            redis.stop()
    print(f"{figures['commands']} agent commands over the bus from "
          f"{figures['concurrency']} askers: p50 {figures['bus_p50_ms']} ms, p99 "
          f"{figures['bus_p99_ms']} ms, {figures['bus_per_s']}/s; in one process p50 "
          f"{figures['local_p50_us']} us")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
