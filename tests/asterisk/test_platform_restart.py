"""The whole platform (as `hotline run` starts it) restarted on the same database, against the
real Asterisk (#15.4): a call is answered, the platform goes down without its last checkpoint
(as after a crash) and the next one shows today's figures as they were, the configured
queues included, and the agent's state row closed when it was last known."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hotline.centre.model import Centre
from hotline.core.events import AgentStateChanged, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.observer import ControllerObserver
from hotline.process.platform import Platform
from hotline.store import db
from hotline.store.queries import ts
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def figures(settings: Settings) -> dict[str, Any]:
    base = f"http://{settings.api_host}:{settings.api_port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        token = (await http.post("/api/auth/token", json={
            "username": "supervisor", "password": "supervisor"})).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        queues = (await http.get("/api/queues", headers=auth)).json()
        board = (await http.get("/api/wallboard", headers=auth)).json()
    return {"queues": {q["name"]: q["today"] for q in queues},
            "all": board["all"]["today"], "interval": board["interval"]}


async def test_a_platform_back_from_a_crash_shows_todays_figures(
        asterisk_node: Settings, centre: Centre, phones: Phones) -> None:
    platform = Platform(asterisk_node, centre, emit_line=lambda _: None)
    await platform.start()
    try:
        seen = ControllerObserver(platform.controller)
        phones.agent(2, ring_ms=300, talk_ms=1_000)  # billing 5
        platform.controller.agent_command("agent2", AgentTrigger.LOGIN)
        platform.controller.agent_command("agent2", AgentTrigger.READY)
        phones.dtmf_caller("13000000002", [(1500, "2"), (1200, "3")], talk_ms=3_000)
        queued = await seen.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13000000002", 25)
        await seen.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 40)
        platform.controller.agent_command("agent2", AgentTrigger.END_WRAP_UP)
        ready = await seen.wait_for(lambda e: isinstance(e, AgentStateChanged)
                                    and e.agent_id == "agent2"
                                    and e.new is AgentState.READY, 5)
        assert await platform.writer.flush(10)
        before = await figures(asterisk_node)
        assert before["queues"]["billing"]["answered"] >= 1
        # the crash: no last checkpoint, the agent's row left open
        await platform.keeper.abandon()
        del platform.keeper
    finally:
        await platform.stop()
    again = Platform(asterisk_node, centre, emit_line=lambda _: None)
    await again.start()
    try:
        after = await figures(asterisk_node)
        assert list(after["queues"]) == [q.name for q in again.centre.queues]  # as stored
        for name, today in before["queues"].items():
            # (times as stored: timestamps to the microsecond)
            assert {k: v for k, v in after["queues"][name].items()
                    if k not in ("waiting_now", "longest_wait_s")} == pytest.approx({
                k: v for k, v in today.items()
                if k not in ("waiting_now", "longest_wait_s")}, abs=1e-4), name
        conn = await db.connect(again.services.database_url)
        try:
            # (the key as the writer stores it: PostgreSQL's to_timestamp(float8) rounds to
            # another microsecond than Python does for about one value in sixteen)
            row = await conn.fetchrow(
                "SELECT ended_at FROM agent_state_log WHERE agent_id = 'agent2'"
                " AND started_at = $1", ts(ready.at))
        finally:
            await conn.close()
        assert row["ended_at"] is not None
        assert row["ended_at"].timestamp() >= ready.at
    finally:
        await again.stop()
