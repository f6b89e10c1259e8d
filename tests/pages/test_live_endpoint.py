"""GET /api/live-endpoint, and the pages in a real headless Chromium finding the live socket
through it: the dedicated server (api/live_broadcast.py) when it runs, else the API's own
/ws/live."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser

from hotline.api import Services, create_app
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import Role
from hotline.core.events import CallQueued
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from tests.helpers.pages import cell, text_becomes
from tests.helpers.servers import fast_hasher, serve_app


class Site:
    def __init__(self, app, base: str, services: Services) -> None:  # type: ignore[no-untyped-def]
        self.app, self.base, self.services = app, base, services
        self.port = urlsplit(base).port

    def token(self, *roles: Role) -> str:
        return str(self.app.state.signer.issue("board", roles or [Role.SUPERVISOR])[0])


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    monkeypatch.setenv("HOTLINE_API_USERS", "board:pw-board:supervisor")
    services = Services.build(hasher=fast_hasher())
    app = create_app(Settings(), services)
    async with serve_app(app) as base:
        yield Site(app, base, services)


async def endpoint(site: Site, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=site.base) as client:
        return await client.get("/api/live-endpoint", headers=headers)


async def test_endpoint_needs_a_token(site: Site) -> None:
    r = await endpoint(site, None)
    assert r.status_code == 401 and r.json()["error"]["id"] == "not-authenticated"


async def test_endpoint_names_the_api_socket_without_a_broadcaster(site: Site) -> None:
    r = await endpoint(site, site.token(Role.AGENT))
    assert r.json() == {"server": "asgi", "host": None, "port": None, "path": "/ws/live"}


async def test_endpoint_names_the_broadcaster_while_it_runs(site: Site) -> None:
    async with LiveBroadcaster.for_app(site.app, Settings(live_port=0)) as b:
        r = await endpoint(site, site.token(Role.AGENT))
        assert r.json() == {"server": "broadcast", "host": None, "port": b.port, "path": "/ws/live"}
    assert (await endpoint(site, site.token())).json()["server"] == "asgi"  # stopped


def test_settings_place_the_broadcaster() -> None:
    app = create_app(Settings(), Services.build())
    b = LiveBroadcaster.for_app(app, Settings(api_host="0.0.0.0", api_port=8100))
    assert (b.host, b.port, b.advertised_host) == ("0.0.0.0", 8101, None)
    b = LiveBroadcaster.for_app(app, Settings(live_host="10.1.2.3", live_port=9000))
    assert (b.host, b.port, b.advertised_host) == ("10.1.2.3", 9000, "10.1.2.3")


@pytest.mark.parametrize("impl", ["broadcast", "asgi"])
async def test_wallboard_connects_where_the_endpoint_says(
    site: Site,
    browser: Browser,
    impl: str,
) -> None:
    broadcaster = LiveBroadcaster.for_app(site.app, Settings(live_port=0))
    if impl == "broadcast":
        await broadcaster.start()
    try:
        page = await browser.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{site.base}/static/wallboard.html?lang=en#token={site.token()}")
        await text_becomes(page, "#status", "live", 3000)
        [url] = sockets
        want = broadcaster.port if impl == "broadcast" else site.port
        assert (urlsplit(url).port, urlsplit(url).path) == (want, "/ws/live")
        if impl == "broadcast":
            assert broadcaster.client_count() == 1
        for n in range(2):
            site.services.live.on_item(
                CallQueued(time.time(), call_id=f"c{n}", queue="billing",
                           service=ServiceType.BILLING)
            )
        await text_becomes(page, cell("billing", "waiting"), "2", 1000)
        assert errors == []
    finally:
        if impl == "broadcast":
            await broadcaster.stop()


async def test_supervisor_page_goes_live_through_the_broadcaster(
    site: Site,
    browser: Browser,
) -> None:
    async with LiveBroadcaster.for_app(site.app, Settings(live_port=0)) as b:
        page = await browser.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.goto(f"{site.base}/supervisor?lang=en")
        await page.fill("#login input[name=username]", "board")
        await page.fill("#login input[name=password]", "pw-board")
        await page.click("#login button")
        await page.wait_for_function(
            "() => !document.getElementById('status').classList.contains('offline')",
            timeout=3000,
        )
        assert [urlsplit(u).port for u in sockets] == [b.port]
        assert b.client_count() == 1
