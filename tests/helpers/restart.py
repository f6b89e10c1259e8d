"""One controller process's figures side over the real PostgreSQL, built as Platform.start
builds it (the writer, the metrics behind the API, the recorder, a real Controller, the
keeper of today's figures) but without Asterisk: its AMI link is a recording stand-in and its
clock is set by hand. A test starts one, drives calls through the controller, crashes or stops
it, and starts the next on the same database and data directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from hotline.api import Services, create_app
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
)
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.history import unfinished
from hotline.history.recorded import StoreHistory
from hotline.history.service import Recorder
from hotline.process.controller import Controller
from hotline.process.restart import FiguresKeeper
from hotline.process.wiring import attach_controller, metrics_config, services_for
from hotline.realtime import Metrics
from hotline.store import db
from hotline.store.records import CallRecord
from hotline.store.writer import Writer
from tests.helpers import testbed
from tests.helpers.api_app import login, served
from tests.helpers.desk import NODE, Clock, RecordingLink
from tests.helpers.servers import fast_hasher

#: A moment 30 s into an interval of the centre's day (intervals of 900 s from local midnight).
T0 = 1_800_000_000.0 + 30.0


@dataclass
class Station:
    settings: Settings
    clock: Clock
    pool: asyncpg.Pool
    writer: Writer
    services: Services
    controller: Controller
    recorder: Recorder
    keeper: FiguresKeeper
    client: httpx.AsyncClient
    headers: dict[str, str]
    #: calls an agent was talking on at the last crash (history/unfinished.py), for
    #: `settle_left_on_line` (what Platform.start does after the nodes' first resync)
    left_on_line: list[CallRecord]

    async def settle_left_on_line(self) -> list[str]:
        written = await self.controller.settle_left_on_line(self.left_on_line)
        assert await self.writer.flush(10)
        return written

    async def get(self, path: str) -> Any:
        r = await self.client.get(path, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    async def figures(self) -> dict[str, Any]:
        """What the screens show now: /api/queues by name, and the wallboard."""
        queues = {q["name"]: q for q in await self.get("/api/queues")}
        return {"queues": queues, "wallboard": await self.get("/api/wallboard")}

    def login(self, agent_id: str) -> None:
        self.controller.agent_command(agent_id, AgentTrigger.LOGIN)
        self.controller.agent_command(agent_id, AgentTrigger.READY)

    def answered_call(self, call_id: str, queue: str, service: ServiceType, agent_id: str,
                      wait_s: float, talk_s: float, acw_s: float,
                      login_after_s: float | None = None) -> None:
        """A caller queues, `agent_id` (ready, the only one who qualifies; or logging in
        `login_after_s` later) answers after `wait_s` (within the router's ring timeout of
        the offer), they talk `talk_s`, the agent ends its wrap-up `acw_s` after the
        hang-up. The clock ends at the end of the wrap-up."""
        c, clock, t = self.controller, self.clock, self.clock.t
        c.handle(CallEntered(t, node=NODE, call_id=call_id, caller="13800000001",
                             dialed="95598", channel=f"PJSIP/caller-{call_id}"))
        c.handle(CallQueued(t, node=NODE, call_id=call_id, queue=queue, service=service,
                            caller="13800000001"))
        if login_after_s is not None:
            clock.t = t + login_after_s
            self.login(agent_id)  # the offer goes out now
        clock.t = t + wait_s - 1
        c.handle(AgentRinging(clock.t, node=NODE, call_id=call_id, agent_id=agent_id))
        clock.t = t + wait_s
        c.handle(CallAnswered(clock.t, node=NODE, call_id=call_id, agent_id=agent_id))
        clock.t = t + wait_s + talk_s
        c.handle(CallEnded(clock.t, node=NODE, call_id=call_id))
        clock.t += acw_s
        c.agent_command(agent_id, AgentTrigger.END_WRAP_UP)

    def abandoned_call(self, call_id: str, queue: str, service: ServiceType,
                       wait_s: float) -> None:
        c, t = self.controller, self.clock.t
        c.handle(CallEntered(t, node=NODE, call_id=call_id, caller="13800000002",
                             dialed="95598", channel=f"PJSIP/caller-{call_id}"))
        c.handle(CallQueued(t, node=NODE, call_id=call_id, queue=queue, service=service,
                            caller="13800000002"))
        self.clock.t = t + wait_s
        c.handle(CallEnded(self.clock.t, node=NODE, call_id=call_id))


@asynccontextmanager
async def station(url: str, data_dir: Path, clock: Clock) -> AsyncIterator[Station]:
    """A started station; leaving the block drops whatever is left without stopping it
    cleanly (call `stop_cleanly` first for a clean stop)."""
    settings = Settings(data_dir=data_dir, wrap_up_s=0.0)
    conn = await db.connect(url)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()
    pool = await db.create_pool(url, max_size=3)
    writer = Writer(url, data_dir / "writer")
    await writer.start()
    assert await writer.flush(10)  # then calls a crash left on the line, as Platform.start
    async with pool.acquire() as conn:
        _, talking = await unfinished.close(conn)
    centre = testbed.test_centre()
    controller = Controller(settings, centre, clock=clock, emit_line=lambda _: None)
    controller.links[NODE] = RecordingLink()  # type: ignore[assignment]
    metrics = Metrics(metrics_config(centre, settings))
    metrics.declare_queues(q.name for q in centre.queues)
    keeper = FiguresKeeper(pool, metrics, clock=clock, every_s=3600.0)
    await keeper.restore()  # what Platform.start does before anything reads the metrics
    keeper.start()
    services = services_for(settings, centre, metrics=metrics, clock=clock)
    services.hasher = fast_hasher()
    attach_controller(services, controller)
    recorder = Recorder(writer, data_dir / "recordings", "/var/spool/asterisk/hotline",
                        settings.short_abandon_s, metrics=services.metrics)
    controller.observe(recorder.observe)
    controller.use_history(StoreHistory(writer, pool))
    app = create_app(settings, services)
    try:
        async with served(app) as client:
            headers = await login(client, "supervisor", "supervisor")
            yield Station(settings, clock, pool, writer, services, controller, recorder,
                          keeper, client, headers, talking)
    finally:
        await keeper.abandon()  # no last checkpoint: a crash writes nothing more
        await writer.stop(0.0)  # flushed before a crash (the outbox's part), else stopped
        pool.terminate()


async def stop_cleanly(s: Station) -> None:
    """What Platform.stop does for the figures: the controller, then the last checkpoint,
    then the writer."""
    await s.controller.stop()
    await s.keeper.stop()
    await s.writer.stop()


__all__ = ["T0", "Station", "station", "stop_cleanly"]
