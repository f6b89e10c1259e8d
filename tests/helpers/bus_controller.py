"""A controller in a process of its own, serving the command bus (tests of the API apart from
the controller): `python -m tests.helpers.bus_controller REDIS_URL`. The controller is real
but not started (no Asterisk: its AMI link is the recording stand-in); it prints `ready` once
it serves, then one line `state <agent> <state>` per agent state change it makes."""

from __future__ import annotations

import asyncio
import sys

from hotline.core.events import AgentStateChanged
from hotline.core.settings import Settings
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.store.live import connect_redis
from tests.helpers import testbed
from tests.helpers.desk import NODE, RecordingLink


def _print_state(item: object) -> None:
    if isinstance(item, AgentStateChanged):
        print(f"state {item.agent_id} {item.new.value}", flush=True)


async def main(url: str) -> None:
    controller = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    controller.links[NODE] = RecordingLink()  # type: ignore[assignment]
    controller.observe(_print_state)
    server = AcdServer(controller, connect_redis(url))
    await server.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
