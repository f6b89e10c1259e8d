"""The IVR tree's configuration API as the tests drive it (integration/test_config_ivr.py over
PostgreSQL, asterisk/test_config_ivr_live.py on the real Asterisk): the platform's wiring of
Configuration to a LiveMenu that notes each switch, and the change the tests make."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from hotline.api import Services, create_app
from hotline.api.acd import RemoteAcd
from hotline.api.security import PostgresUserRepository
from hotline.centre import queries as store
from hotline.centre.service import Configuration
from hotline.core.settings import Settings
from hotline.ivr_menu.model import IvrMenu
from hotline.ivr_menu.service import LiveMenu
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import CommandBus
from hotline.store.live import connect_redis
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp, SurveyResponse
from tests.helpers.servers import fast_hasher

NEW_EN_MAIN = "For billing, press 3. For electric vehicles, press 9. For an agent, press 0."


class CheckedLiveMenu(LiveMenu):
    """The platform's LiveMenu, noting at each switch whether every prompt of the new tree
    was already on disk (it must be: the IVR may play any of them at once)."""

    switched: list[tuple[int, bool]]

    def go_live(self, menu: IvrMenu, version: int) -> None:
        ready = all(self.prompts.path(lang, key, menu.prompt_text(lang, key)).exists()
                    for lang in menu.languages for key in menu.used_prompts())
        self.switched.append((version, ready))
        super().go_live(menu, version)


async def no_survey(response: SurveyResponse) -> None:
    raise AssertionError("no survey in these tests")


@dataclass
class Api:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    live: CheckedLiveMenu
    headers: dict[str, dict[str, str]]

    async def get(self, user: str = "boss") -> httpx.Response:
        return await self.client.get("/api/config/ivr", headers=self.headers[user])

    async def put(self, version: int, tree: dict[str, Any], user: str = "boss"
                  ) -> httpx.Response:
        return await self.client.put("/api/config/ivr", headers=self.headers[user],
                                     json={"version": version, "tree": tree})

    async def audit(self) -> list[store.AuditRow]:
        async with self.pool.acquire() as conn:
            return await store.list_audit(conn, what_prefix="ivr.")


async def config_api(pool: asyncpg.Pool, controller: Controller, app_ivr: IvrApp,
                     version: int, prompts: PromptStore, settings: Settings,
                     users: tuple[str, ...], redis_url: str | None = None
                     ) -> AsyncIterator[Api]:
    """The API over `pool` and `controller` with the IVR tree wired to a CheckedLiveMenu over
    `app_ivr`; each of `users` (password "pw") signed in. With `redis_url`: the API built
    without the controller, its changes sent over the command bus to the controller's
    configuration service (docs/command-bus.md)."""
    live = CheckedLiveMenu(app_ivr, prompts, version)
    live.switched = []
    services = Services.build(users=PostgresUserRepository(pool), hasher=fast_hasher())
    configuration = Configuration(pool, controller, ivr=live, ivr_queues=live.used_queues)
    async with contextlib.AsyncExitStack() as stack:
        if redis_url is None:
            services.db_pool, services.controller = pool, controller
            services.configuration = configuration  # type: ignore[attr-defined]
        else:
            ctl_redis, api_redis = connect_redis(redis_url), connect_redis(redis_url)
            stack.push_async_callback(ctl_redis.aclose)
            stack.push_async_callback(api_redis.aclose)
            server = AcdServer(controller, ctl_redis, configuration)
            await server.start()
            stack.push_async_callback(server.stop)
            services.db_pool = pool
            services.remote = RemoteAcd(CommandBus(api_redis, deadline_s=10),
                                        AcdViews(api_redis))
        async for api in _signed_in(create_app(settings, services), pool, live, users):
            yield api


async def _signed_in(app: FastAPI, pool: asyncpg.Pool, live: CheckedLiveMenu,
                     users: tuple[str, ...]) -> AsyncIterator[Api]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {}
            for user in users:
                r = await client.post("/api/auth/token",
                                      json={"username": user, "password": "pw"})
                assert r.status_code == 200, r.text
                headers[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield Api(client, pool, live, headers)


def changed_tree(tree: dict[str, Any]) -> dict[str, Any]:
    """main: 3 goes to ev instead of billing, 9 is gone; a new English main prompt."""
    new = copy.deepcopy(tree)
    choices = new["menus"]["main"]["choices"]
    for c in choices:
        if c["digit"] == "3":
            c.update(queue="ev", service="ev", priority=0)
    new["menus"]["main"]["choices"] = [c for c in choices if c["digit"] != "9"]
    new["prompts"]["en"]["main"] = NEW_EN_MAIN
    return new


__all__ = ["NEW_EN_MAIN", "Api", "CheckedLiveMenu", "changed_tree", "config_api", "no_survey"]
