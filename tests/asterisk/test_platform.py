"""The whole platform as `hotline run` starts it (embedded PostgreSQL and Redis, controller,
IVR, API, history writer, live state), against the real Asterisk: a caller walks the IVR to
billing and is answered; the API, Redis and PostgreSQL all show it."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallEnded, CallQueued, TalkEnded
from hotline.core.lifecycle import AgentTrigger
from hotline.core.settings import Settings
from hotline.devtools.observer import ControllerObserver
from hotline.process.controller import Controller
from hotline.process.platform import Platform
from hotline.store import db, queries
from hotline.store.live import LiveState, connect_redis
from hotline.store.records import CallFilter
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk


async def test_platform_routes_a_call_and_every_store_shows_it(
        asterisk_node: Settings, centre: Centre, phones: Phones) -> None:
    lines: list[str] = []
    platform = Platform(asterisk_node, centre, emit_line=lines.append)
    await platform.start()
    seen = ControllerObserver(platform.controller)  # before any call
    try:
        assert any(line.startswith("embedded PostgreSQL") for line in lines)
        phones.agent(2, ring_ms=300, talk_ms=2_000)  # billing 5
        platform.controller.agent_command("agent2", AgentTrigger.LOGIN)
        platform.controller.agent_command("agent2", AgentTrigger.READY)
        phones.dtmf_caller("13000000001", [(1500, "2"), (1200, "3")], talk_ms=10_000)
        queued = await seen.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13000000001", 25)
        assert queued.queue == "billing"
        await seen.wait_for(
            lambda e: isinstance(e, TalkEnded) and e.call_id == queued.call_id, 15)

        base = f"http://{asterisk_node.api_host}:{asterisk_node.api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            token = (await http.post("/api/auth/token", json={
                "username": "supervisor", "password": "supervisor"})).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            board = (await http.get("/api/wallboard", headers=auth)).json()
            assert board["queues"]["billing"]["today"]["answered"] == 1
            why = (await http.get(f"/api/calls/{queued.call_id}/explanation",
                                  headers=auth)).json()
            assert why[0]["chosen"] == "agent2"
            # `hotline run`: ready with every part (docs/operations.md), and its series
            r = await http.get("/readyz")
            assert r.status_code == 200 and r.json()["checks"] == {
                "postgres": True, "redis": True, "controller": True, "ami": True,
                "agi": True}, r.text
            metrics = (await http.get("/metrics")).text
            assert "hotline_offers_total" in metrics and "hotline_decision_seconds_count" in metrics

        client = connect_redis(platform.services.redis_url)
        try:
            async with asyncio.timeout(5):
                while True:
                    snap = await LiveState(client).snapshot()
                    if snap.queues.get("billing", {}).get("answered_today") == 1:
                        break
                    await asyncio.sleep(0.2)  # the hashes are written once a second
        finally:
            await client.aclose()

        await seen.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 40)
        assert await platform.writer.flush(10)
        conn = await db.connect(platform.services.database_url)
        try:
            [row] = await queries.calls_by(conn, CallFilter(caller="13000000001"))
        finally:
            await conn.close()
        assert (row.outcome, row.agent_id, row.queue, row.service) == (
            "answered", "agent2", "billing", "billing")
        assert row.ivr_path == ["language=2", "main=3"]
        conn = await db.connect(platform.services.database_url)
        try:  # the recording's checksum and duration, once MixMonitor closed the file
            async with asyncio.timeout(10):
                while True:
                    rec = await conn.fetchrow("SELECT * FROM recordings WHERE call_id = $1",
                                              queued.call_id)
                    if rec is not None:
                        break
                    await asyncio.sleep(0.2)  # stored ~2 s after the hang-up; bounded above
        finally:
            await conn.close()
        assert rec["path"] == row.recording_path
        # (this caller sends only DTMF and the agent echoes: a header-only file, 0 s)
        data = await asyncio.to_thread(Path(rec["path"]).read_bytes)
        assert rec["sha256"] == hashlib.sha256(data).hexdigest()
        assert rec["duration_s"] == (len(data) - 44) / 16000
        platform.controller.agent_command("agent2", AgentTrigger.END_WRAP_UP)
        platform.controller.agent_command("agent2", AgentTrigger.NOT_READY)
        platform.controller.agent_command("agent2", AgentTrigger.LOGOUT)
    finally:
        await platform.stop()


async def test_the_ivr_listens_before_the_controller_tells_the_dialplan_it_is_back(
        asterisk_node: Settings, centre: Centre, monkeypatch: pytest.MonkeyPatch) -> None:
    """The controller's start writes its heartbeat: from then on the dialplan holds callers for
    it. A caller arriving before the IVR listened found none, went to the general queue and
    pressed the keys meant for the menus while waiting, 1 for Mandarin, which was taken for
    the callback key (#15.2: found by the kill -9 proof with PostgreSQL away, where building
    the prompts on a busy machine kept the IVR away for seconds after the controller)."""
    ivr_listening: list[bool] = []
    controller_take_over = Controller.take_over  # where the heartbeat starts

    async def take_over(self: Controller, records: Any = None) -> None:
        try:
            _, writer = await asyncio.open_connection(asterisk_node.bind_host,
                                                      asterisk_node.agi_port)
            writer.close()
            ivr_listening.append(True)
        except OSError:
            ivr_listening.append(False)
        await controller_take_over(self, records)

    monkeypatch.setattr(Controller, "take_over", take_over)
    platform = Platform(asterisk_node, centre, emit_line=lambda _: None)
    await platform.start()
    try:
        assert ivr_listening == [True]
    finally:
        await platform.stop()
