"""#16.1 end to end: `hotline controller` (the Platform without HTTP) against the real
Asterisk, and `hotline api` in a process of its own (the real CLI), meeting only in
PostgreSQL and Redis: an agent logs in and gets ready over the API process's HTTP, the
controller routes a real call to it, the API process's desk, wallboard and explanation show
the call, and once the controller stops the API process answers 503 at once
(docs/command-bus.md)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.devtools.observer import ControllerObserver
from hotline.process.platform import Platform
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk
REPO = Path(__file__).resolve().parents[2]


async def start_api_process(platform: Platform, port: int) -> asyncio.subprocess.Process:
    assert platform.services is not None
    env = {**os.environ, "HOTLINE_DATABASE_URL": platform.services.database_url,
           "HOTLINE_REDIS_URL": platform.services.redis_url, "HOTLINE_COMMAND_DEADLINE_S": "2"}
    env.pop("HOTLINE_API_USERS", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.process.cli", "api", "--host", "127.0.0.1",
        "--port", str(port), "--live-port", str(port + 1),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=REPO, env=env)
    assert proc.stdout is not None
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "hotline api ended before serving"
            if line.startswith("API at"):
                return proc


def _own_base() -> Path:
    base = Path(tempfile.mkdtemp(prefix="hotline-two-"))
    base.chmod(0o711)  # the embedded PostgreSQL runs as the 'hotline' user
    return base


@pytest.fixture
async def controller(asterisk_node: Settings, centre: Centre) -> AsyncIterator[Platform]:
    """Its own embedded PostgreSQL and Redis (a data dir of its own): the session's figures
    and history stay as the other platform tests expect them."""
    base = _own_base()
    settings = asterisk_node.model_copy(update={"data_dir": base / "data"})
    platform = Platform(settings, centre, emit_line=lambda _: None, serve_http=False)
    try:
        await platform.start()
        yield platform
    finally:
        await platform.stop()
        shutil.rmtree(base, ignore_errors=True)


async def test_the_api_apart_from_the_controller_end_to_end(
        asterisk_node: Settings, controller: Platform, phones: Phones) -> None:
    port = asterisk_node.api_port  # the controller listens on no HTTP port
    seen = ControllerObserver(controller.controller)
    api = await start_api_process(controller, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            async def auth(user: str) -> dict[str, str]:
                r = await http.post("/api/auth/token", json={"username": user, "password": user})
                assert r.status_code == 200, r.text
                return {"Authorization": f"Bearer {r.json()['access_token']}"}

            # both processes ready: the API's stores and the controller's lease; the
            # controller's AMI link, its stores and its lease on its health listener
            r = await http.get("/readyz")
            assert r.status_code == 200, r.text
            health = f"http://127.0.0.1:{controller.health.bound_port}"
            r = await http.get(f"{health}/readyz")
            assert r.status_code == 200 and r.json()["checks"] == {
                "ami": True, "postgres": True, "redis": True, "lease": True}, r.text

            agent = await auth("agent2")
            phones.agent(2, ring_ms=300, talk_ms=8_000)
            for step, state in (("login", "not_ready"), ("ready", "ready")):
                r = await http.post(f"/api/agents/agent2/{step}", headers=agent)
                assert r.status_code == 200 and r.json()["state"] == state, r.text
            assert controller.controller.router.agent("agent2").state is AgentState.READY

            phones.dtmf_caller("13000000002", [(1500, "2"), (1200, "3")], talk_ms=10_000)
            queued = await seen.wait_for(
                lambda e: isinstance(e, CallQueued) and e.caller == "13000000002", 25)
            await seen.wait_for(
                lambda e: isinstance(e, CallAnswered) and e.call_id == queued.call_id, 15)

            async def call_on_the_desk() -> dict[str, object] | None:
                r = await http.get("/api/agents/agent2/desk", headers=agent)
                assert r.status_code == 200, r.text
                return r.json()["call"]  # type: ignore[no-any-return]

            call = await wait_for(call_on_the_desk, 3, "the call on the API process's desk")
            assert (call["call_id"], call["caller"], call["queue"]) == (
                queued.call_id, "13000000002", "billing")
            # the controller's figures and explanation, answered by the API process
            boss = await auth("supervisor")
            board = (await http.get("/api/wallboard?queues=billing", headers=boss)).json()
            assert board["queues"]["billing"]["today"]["answered"] == 1
            why = (await http.get(f"/api/calls/{queued.call_id}/explanation",
                                  headers=boss)).json()
            assert why[0]["chosen"] == "agent2"
            metrics = (await http.get(f"{health}/metrics")).text
            assert "hotline_offers_total 1.0" in metrics
            assert f'hotline_ami_link_up{{node="{asterisk_node.node_name}"}} 1.0' in metrics
            assert f'hotline_ami_lag_seconds{{node="{asterisk_node.node_name}"}}' in metrics
            assert "hotline_lease_held 1.0" in metrics

            # the controller leaves the bus and gives its term up (the lease is the term's)
            await controller.acd_server.stop()
            await asyncio.to_thread(controller._lease.stop)
            began = time.monotonic()
            r = await http.post("/api/agents/agent2/not-ready", json={"reason": "break"},
                                headers=agent)
            assert r.status_code == 503 and r.json()["error"]["id"] == "controller-unavailable"
            assert time.monotonic() - began < 1
            r = await http.get("/readyz")  # no controller: this API process is not ready
            assert r.status_code == 503 and list(r.json()["not_ready"]) == ["controller"]
    finally:
        api.terminate()
        await asyncio.wait_for(api.wait(), 15)
