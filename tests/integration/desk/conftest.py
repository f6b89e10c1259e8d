"""The agent desk's fixture: the API over a real, not started Controller whose AMI link
records what it was asked to do. Every test runs twice: with the controller in the API's
process (`in-process`), and `over-the-bus`: the API built without any controller object,
reaching it through the Redis command bus and the agent records it publishes
(docs/command-bus.md), as `hotline api` does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hotline.api import Services, create_app
from hotline.api.acd import RemoteAcd
from hotline.core.settings import Settings
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import CommandBus
from hotline.store.live import connect_redis
from tests.helpers import testbed
from tests.helpers.desk import NODE, T0, Clock, Desk, RecordingLink
from tests.helpers.servers import fast_hasher


@pytest.fixture(params=["in-process", "over-the-bus"])
async def desk(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
               ) -> AsyncIterator[Desk]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    clock = Clock(T0)
    settings = Settings()
    lines: list[str] = []
    controller = Controller(settings, testbed.test_centre(), clock=clock, emit_line=lines.append)
    link = RecordingLink()
    controller.links[NODE] = link  # type: ignore[assignment]
    services = Services.build(clock=clock, hasher=fast_hasher())
    server: AcdServer | None = None
    clients = []
    if request.param == "in-process":
        attach_controller(services, controller)
    else:
        url = request.getfixturevalue("redis_server").url
        clients = [connect_redis(url), connect_redis(url)]  # the controller's, the API's
        server = AcdServer(controller, clients[0])
        await server.start()
        services.remote = RemoteAcd(CommandBus(clients[1], deadline_s=3), AcdViews(clients[1]))
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Desk(client, services, controller, link, clock,
                       publish=server.publish if server is not None else None,
                       stop_bus=server.stop if server is not None else None)
    if server is not None:
        await server.stop()
    await controller.stop()
    for c in clients:
        await c.aclose()
