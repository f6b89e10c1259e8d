"""The API app in this process over a test's database, and signing in to it: what the
integration tests of each route family (plans, planning, QA, the knowledge base, work orders,
reports, history...) build the same way.

    monkeypatch.setenv("HOTLINE_API_USERS", "plan:pw:planner;a1:pw:agent")
    async with api_app(empty_db_url, clock=lambda: NOW) as api:
        plan = await login(api.client, "plan")

The app runs its lifespan (users seeded from HOTLINE_API_USERS, background jobs started) and is
reached through httpx's ASGI transport: no socket, no server. The users' password is "pw"
unless a test says otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import httpx
from fastapi import FastAPI

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.store import db
from tests.helpers.servers import fast_hasher

#: httpx's own default: what a client made without a timeout waits
DEFAULT_TIMEOUT_S = 5.0


class Api(NamedTuple):
    client: httpx.AsyncClient
    services: Services  # its db_pool: the app's own pool, for a test that reads through it


class Clock:
    """A clock a test moves by setting `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def served(app: FastAPI, timeout_s: float = DEFAULT_TIMEOUT_S
                 ) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` through httpx's ASGI transport, the app's lifespan running while the
    block runs."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     timeout=timeout_s) as client:
            yield client


@asynccontextmanager
async def api_app(db_url: str, settings: Settings | None = None, *, pool_size: int = 2,
                  timeout_s: float = DEFAULT_TIMEOUT_S, **build: Any) -> AsyncIterator[Api]:
    """The app over `db_url` with `settings` (Settings() by default) and the Services that
    `build` names (clock, explainer...; the test hasher unless given), a pool of `pool_size`
    connections; its lifespan runs until the block ends, then the pool is closed."""
    services = Services.build(**{"hasher": fast_hasher(), **build})
    services.db_pool = await db.create_pool(db_url, max_size=pool_size)
    app = create_app(settings if settings is not None else Settings(), services)
    try:
        async with served(app, timeout_s) as client:
            yield Api(client, services)
    finally:
        await services.db_pool.close()


async def login(client: httpx.AsyncClient, user: str, password: str = "pw") -> dict[str, str]:
    """The headers of `user` signed in (fails the test if the sign-in is refused)."""
    r = await client.post("/api/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def logins(client: httpx.AsyncClient, *users: str) -> list[dict[str, str]]:
    """Each user's headers, signed in in turn."""
    return [await login(client, u) for u in users]


__all__ = ["DEFAULT_TIMEOUT_S", "Api", "Clock", "api_app", "login", "logins", "served"]
