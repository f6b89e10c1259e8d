"""#16.1: the API apart from the controller. The API app here is built without any controller
object (Services.remote: hotline.api.acd.RemoteAcd); the controller runs in another process
(tests/helpers/bus_controller.py) and the two meet only in Redis (docs/command-bus.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hotline.api import Services, create_app
from hotline.api.acd import RemoteAcd
from hotline.api.schemas import ExplanationOut
from hotline.core.events import CallQueued
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.embedded import EmbeddedRedis
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller, services_for
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import CommandBus
from hotline.store.live import connect_redis
from tests.helpers import testbed
from tests.helpers.desk import NODE, RecordingLink, error
from tests.helpers.servers import fast_hasher
from tests.helpers.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 1.5


@dataclass
class ApiNode:
    client: httpx.AsyncClient
    services: Services
    tokens: dict[str, dict[str, str]]

    async def auth(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = await self.client.post("/api/auth/token",
                                       json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self.tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[user]

    async def post(self, user: str, path: str, body: object = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=await self.auth(user))

    async def get(self, user: str, path: str) -> httpx.Response:
        return await self.client.get(path, headers=await self.auth(user))


async def api_node(url: str) -> AsyncIterator[ApiNode]:
    """An API node as `hotline api` builds it: no controller, the bus and the records."""
    redis = connect_redis(url)
    services = Services.build(hasher=fast_hasher())
    services.remote = RemoteAcd(CommandBus(redis, deadline_s=DEADLINE_S), AcdViews(redis))
    app = create_app(Settings(), services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield ApiNode(client, services, {})
    await redis.aclose()


@pytest.fixture
async def api(redis_server: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
              ) -> AsyncIterator[ApiNode]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    async for node in api_node(redis_server.url):
        yield node


@pytest.fixture
async def other_api(api: ApiNode, redis_server: EmbeddedRedis) -> AsyncIterator[ApiNode]:
    """A second API node beside `api`, sharing nothing with it but Redis."""
    async for node in api_node(redis_server.url):
        yield node


class ControllerProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def line(self, deadline_s: float = 10) -> str:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), deadline_s)
        assert raw, "the controller process ended"
        self.lines.append(raw.decode().strip())
        return self.lines[-1]


@pytest.fixture
async def controller_process(redis_server: EmbeddedRedis) -> AsyncIterator[ControllerProcess]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.helpers.bus_controller", redis_server.url,
        stdout=asyncio.subprocess.PIPE, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    child = ControllerProcess(proc)
    try:
        assert await child.line(30) == "ready"
        yield child
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_an_agent_command_over_http_moves_the_agent_in_the_controllers_process(
        api: ApiNode, controller_process: ControllerProcess) -> None:
    # the development logins come from the controller's agents, read at the API's start;
    # here the API started first: the supervisor acts
    r = await api.post("supervisor", "/api/agents/agent1/state", {"command": "login"})
    assert r.status_code == 200 and r.json()["state"] == "not_ready", r.text
    assert await controller_process.line() == "state agent1 not_ready"
    r = await api.post("supervisor", "/api/agents/agent1/state", {"command": "ready"})
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    assert await controller_process.line() == "state agent1 ready"
    # the read right after the reply shows it (the record is written before the reply)
    roster = {a["agent_id"]: a for a in (await api.get("supervisor", "/api/roster")).json()}
    assert roster["agent1"]["state"] == "ready" and roster["agent2"]["state"] == "logged_out"
    # errors as in one process: an illegal move 409, an unknown agent 404
    r = await api.post("supervisor", "/api/agents/agent1/state", {"command": "login"})
    assert r.status_code == 409 and error(r)["id"] == "illegal-transition"
    assert error(r)["details"] == {"agent_id": "agent1", "state": "ready", "command": "login"}
    r = await api.post("supervisor", "/api/agents/agent99/state", {"command": "login"})
    assert r.status_code == 404 and error(r)["id"] == "no-such-agent"
    audit = (await api.get("admin", "/api/audit")).json()
    assert [(e["action"], e["detail"]["state_before"]) for e in audit] == [
        ("ready", "not_ready"), ("login", "logged_out")]


async def test_two_api_nodes_command_one_controller_and_see_each_others_changes(
        api: ApiNode, other_api: ApiNode, controller_process: ControllerProcess) -> None:
    r = await api.post("supervisor", "/api/agents/agent3/state", {"command": "login"})
    assert r.status_code == 200, r.text
    r = await other_api.post("supervisor", "/api/agents/agent3/state", {"command": "ready"})
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    assert [await controller_process.line() for _ in range(2)] == [
        "state agent3 not_ready", "state agent3 ready"]
    desk = (await api.get("supervisor", "/api/agents/agent3/desk")).json()
    assert desk["state"] == "ready"
    # at once from both: each command runs once, in the order the controller reads them
    replies = await asyncio.gather(
        api.post("supervisor", "/api/agents/agent3/state",
                 {"command": "not_ready", "reason": "break"}),
        other_api.post("supervisor", "/api/agents/agent3/state", {"command": "logout"}))
    assert sorted(r.status_code for r in replies) in ([200, 200], [200, 409])
    moves = [await controller_process.line()
             for r in replies if r.status_code == 200]  # the controller's own account
    final = (await other_api.get("supervisor", "/api/agents/agent3/desk")).json()["state"]
    assert moves[-1] == f"state agent3 {final}"


async def test_a_killed_controller_answers_503_within_the_deadline(
        api: ApiNode, controller_process: ControllerProcess) -> None:
    r = await api.post("supervisor", "/api/agents/agent2/state", {"command": "login"})
    assert r.status_code == 200, r.text
    controller_process.proc.send_signal(signal.SIGKILL)
    await controller_process.proc.wait()
    # its lease still stands a moment: the command waits for its deadline, then 503
    started = time.monotonic()
    r = await api.post("supervisor", "/api/agents/agent2/state", {"command": "ready"})
    waited = time.monotonic() - started
    assert r.status_code == 503 and error(r)["id"] == "controller-unavailable", r.text
    assert waited < DEADLINE_S + 1
    assert f"deadline of {DEADLINE_S:g} s" in error(r)["message"]

    # once the lease has lapsed: 503 at once, reads too (the records are a gone one's)
    async def refused_at_once() -> bool:
        began = time.monotonic()
        r = await api.post("supervisor", "/api/agents/agent2/state", {"command": "ready"})
        assert r.status_code == 503, r.text
        return "no controller is active" in error(r)["message"] and (
            time.monotonic() - began < 0.5)

    await wait_for(refused_at_once, 10, "commands refused at once once the lease lapsed")
    r = await api.get("supervisor", "/api/roster")
    assert r.status_code == 503 and error(r)["id"] == "controller-unavailable"


async def test_no_controller_ever_answers_503(api: ApiNode) -> None:
    r = await api.post("supervisor", "/api/agents/agent1/state", {"command": "login"})
    assert r.status_code == 503 and error(r)["id"] == "controller-unavailable"
    assert "no controller is active" in error(r)["message"]
    r = await api.get("supervisor", "/api/agents/agent1/desk")
    assert r.status_code == 503 and error(r)["id"] == "controller-unavailable"
    for path in ("/api/wallboard", "/api/queues", "/api/agents"):
        r = await api.get("supervisor", path)
        assert r.status_code == 503 and error(r)["id"] == "controller-unavailable", path


async def test_rest_figures_and_explanations_come_from_the_controller(
        api: ApiNode, redis_server: EmbeddedRedis) -> None:
    """/api/wallboard, /api/queues, /api/agents and a call's explanation on an API process:
    the controller's, computed there on demand (the API process has no metrics and no
    router of its own)."""
    centre = testbed.test_centre()
    controller = Controller(Settings(), centre, emit_line=lambda _: None)
    controller.links[NODE] = RecordingLink()  # type: ignore[assignment]
    live_side = services_for(Settings(), centre)  # the controller's metrics and feed
    attach_controller(live_side, controller)
    redis = connect_redis(redis_server.url)
    server = AcdServer(controller, redis, live_side=live_side)
    await server.start()
    try:
        for step in ("login", "ready"):
            r = await api.post("supervisor", "/api/agents/agent1/state", {"command": step})
            assert r.status_code == 200, r.text
        controller.handle(CallQueued(time.time(), node=NODE, call_id="c1", queue="general",
                                     service=ServiceType.GENERAL, caller="13800000001"))

        board = (await api.get("supervisor", "/api/wallboard?queues=general")).json()
        assert list(board["queues"]) == ["general"]
        assert board["queues"]["general"]["today"]["offered"] == 1
        queues = {q["name"]: q for q in (await api.get("supervisor", "/api/queues")).json()}
        assert queues["general"]["today"]["offered"] == 1
        assert list(queues) == live_side.metrics.queues()
        agents = {a["agent_id"]: a for a in (await api.get("supervisor", "/api/agents")).json()}
        assert agents["agent1"]["state"] == controller.router.agent("agent1").state.value
        assert set(agents) == set(live_side.live.agents())
        r = await api.get("supervisor", "/api/agents?limit=2&offset=1")  # a page, as asked
        assert [a["agent_id"] for a in r.json()] == sorted(live_side.live.agents())[1:3]
        # why the call went where it went: the controller's router explains
        r = await api.get("supervisor", "/api/calls/c1/explanation")
        assert r.status_code == 200 and r.json()[0]["chosen"] == "agent1", r.text
        assert r.json() == [ExplanationOut.of(e).model_dump(mode="json")
                            for e in controller.router.explain("c1")]
        r = await api.get("supervisor", "/api/calls/nope/explanation")
        assert r.status_code == 404 and error(r)["id"] == "no-such-call"
    finally:
        await server.stop()
        await controller.stop()
        await redis.aclose()


async def test_the_desk_follows_the_controllers_calls_without_a_command(
        api: ApiNode, redis_server: EmbeddedRedis) -> None:
    """A call reaches an agent on the controller's side: the API's desk shows it within the
    records' flush (no command involved), from the records alone."""
    controller = Controller(Settings(), testbed.test_centre(), emit_line=lambda _: None)
    controller.links[NODE] = RecordingLink()  # type: ignore[assignment]
    redis = connect_redis(redis_server.url)
    server = AcdServer(controller, redis, full_every_s=60)  # changes only: no full rounds
    await server.start()
    try:
        for step in ("login", "ready"):
            r = await api.post("supervisor", "/api/agents/agent1/state", {"command": step})
            assert r.status_code == 200, r.text
        controller.handle(CallQueued(time.time(), node=NODE, call_id="c1", queue="general",
                                     service=ServiceType.GENERAL, caller="13800000001"))
        assert controller.router.agent("agent1").call_id == "c1"

        async def on_the_desk() -> dict[str, object] | None:
            body = (await api.get("supervisor", "/api/agents/agent1/desk")).json()
            return body["call"]  # type: ignore[no-any-return]

        call = await wait_for(on_the_desk, 2, "the call on the API's desk")
        assert call["call_id"] == "c1" and call["caller"] == "13800000001"
    finally:
        await server.stop()
        await controller.stop()
        await redis.aclose()
