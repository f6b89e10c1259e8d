"""The agent desk's fixture: the API over a real, not started Controller whose AMI link
records what it was asked to do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.process.controller import Controller
from hotline.process.wiring import attach_controller
from tests.helpers import testbed
from tests.helpers.desk import NODE, T0, Clock, Desk, RecordingLink
from tests.helpers.servers import fast_hasher


@pytest.fixture
async def desk(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.delenv("HOTLINE_API_USERS", raising=False)
    monkeypatch.delenv("HOTLINE_ENVIRONMENT", raising=False)
    clock = Clock(T0)
    settings = Settings()
    lines: list[str] = []
    controller = Controller(settings, testbed.test_centre(), clock=clock, emit_line=lines.append)
    link = RecordingLink()
    controller.links[NODE] = link  # type: ignore[assignment]
    services = Services.build(clock=clock, hasher=fast_hasher())
    attach_controller(services, controller)
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Desk(client, services, controller, link, clock)
    await controller.stop()
