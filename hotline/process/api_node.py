"""`hotline api`: an API process apart from the controller (docs/command-bus.md). HTTP (REST,
the pages, /ws/live) and the dedicated live socket server, over the controller's PostgreSQL
and Redis only: commands go over the Redis command bus, agent views come from the records the
controller publishes, the live feed is mirrored from Redis (Services.mirror_node). Any number
of them may run, each on its own HOTLINE_API_PORT / HOTLINE_LIVE_PORT.

It builds no controller, no FastAGI server, no writer and no metrics of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn

from hotline.api import Services, create_app
from hotline.api.acd import RemoteAcd
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import PostgresUserRepository
from hotline.core.deployment import check_deployment
from hotline.core.settings import Settings
from hotline.process import prom, readiness
from hotline.process.serving import HTTP_GRACE_S, HttpServer, bounded
from hotline.store import db
from hotline.store.acd_views import AcdViews
from hotline.store.command_bus import CommandBus
from hotline.store.live import FanoutBackend, connect_redis


class ApiNodeRefused(RuntimeError):
    """An API process cannot start as configured."""


@dataclass
class ApiNode:
    settings: Settings
    emit_line: Callable[[str], None] = print
    services: Services = field(init=False)

    async def start(self) -> None:
        if not self.settings.database_url or not self.settings.redis_url:
            raise ApiNodeRefused(
                "hotline api needs HOTLINE_DATABASE_URL and HOTLINE_REDIS_URL: the "
                "controller's PostgreSQL and Redis (`hotline controller` prints them)")
        check_deployment(self.settings, [])  # the secret and the bind rules; no agents here
        self.pool = await db.create_pool(self.settings.database_url)
        self.redis = connect_redis(self.settings.redis_url)
        services = Services.mirror_node(FanoutBackend(self.settings.redis_url))
        services.db_pool = self.pool
        services.users = PostgresUserRepository(self.pool)
        services.remote = RemoteAcd(
            CommandBus(self.redis, deadline_s=self.settings.command_deadline_s),
            AcdViews(self.redis))
        services.readiness = readiness.api_node(self.pool, self.redis)
        services.prometheus = prom.registry()  # this process's own CPU, memory, descriptors
        self.services = services
        app = create_app(self.settings, services)
        config = uvicorn.Config(app, host=self.settings.api_host, port=self.settings.api_port,
                                ws="websockets-sansio", log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=HTTP_GRACE_S)
        self.http = HttpServer(config)
        self._http_task = asyncio.create_task(self.http.serve(), name="http")
        async with asyncio.timeout(10):
            while not self.http.started:
                if self._http_task.done():  # the port was taken, say
                    await self._http_task
                    raise ApiNodeRefused(f"the API could not listen on port "
                                         f"{self.settings.api_port}")
                await asyncio.sleep(0.02)
        base = f"http://{self.settings.api_host}:{self.settings.api_port}"
        self.emit_line(f"API at {base}/docs (commands over Redis to the controller)")
        self.live_server = LiveBroadcaster.for_app(app, self.settings)
        await self.live_server.start()
        self.emit_line(f"live socket at ws://{self.live_server.host}:{self.live_server.port}"
                       "/ws/live")

    async def stop(self) -> None:
        with contextlib.suppress(AttributeError):
            await bounded(self.live_server.stop(), "live socket")
        with contextlib.suppress(AttributeError):
            self.http.should_exit = True
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._http_task), HTTP_GRACE_S + 2)
        with contextlib.suppress(AttributeError):
            await bounded(self.pool.close(), "PostgreSQL pool")
        with contextlib.suppress(AttributeError):
            await bounded(self.redis.aclose(), "Redis client")


__all__ = ["ApiNode", "ApiNodeRefused"]
