"""What the API works over, handed to `create_app`: metrics, the live feed and its fan-out, the
users, the router's explanations, the registry of open live sockets (closed when their token
is revoked: api/live_registry.py). The API holds no state of its own beyond these."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from argon2 import PasswordHasher

from hotline.api.live_registry import REVOCATION_CHANNEL, LiveSocketRegistry
from hotline.api.security import InMemoryUserRepository, UserRepository
from hotline.core.lifecycle import AgentTrigger
from hotline.core.tasks import cancel_and_wait
from hotline.core.values import ServiceType
from hotline.history.desk import DeskProjection
from hotline.realtime import Metrics, MetricsConfig
from hotline.realtime.fanout import Backend, Fanout, MemoryBackend
from hotline.realtime.live import CONTROL_CHANNEL, LIVE_CHANNEL, LiveFeed, LiveMirror, LiveSource
from hotline.router import Explanation, Router


class Explainer(Protocol):
    """The router (Controller.router): why each offer of a call went where it went."""

    def explain(self, call_id: str) -> list[Explanation]: ...


class Acd(Protocol):
    """What the API needs of the ACD in its own process: its command path and what it shows.
    The controller (hotline.process.controller.Controller) is attached by
    hotline.process.wiring; the API never imports the process layer. The routes reach it
    through hotline.api.acd (`acd_of`): this one in-process, or the command bus from an API
    process without it (`remote`, docs/command-bus.md)."""

    @property
    def router(self) -> Router:
        """Read-only views: agents, queues, the waiting line, explanations."""
        ...

    @property
    def desk(self) -> DeskProjection:
        """The agent desk's read model: each agent's last state change and recent calls."""
        ...

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> None: ...

    def set_skills(self, agent_id: str, skills: dict[str, int]) -> None: ...

    def queue_callback(self, service: ServiceType, number: str) -> str: ...

    async def spy(self, supervisor_endpoint: str, agent_id: str,
                  mode: Literal["listen", "whisper", "barge"]) -> str: ...


@dataclass
class Services:
    metrics: Metrics
    live: LiveFeed
    fanout: Fanout
    users: UserRepository
    explainer: Explainer | None = None
    #: The ACD's command path (see Acd): the API changes the world only through it. None on an
    #: API node without the controller.
    controller: Acd | None = None
    #: On an API process without the controller (`hotline api`): the ACD over the Redis
    #: command bus (hotline.api.acd.RemoteAcd); the routes reach either through acd_of
    remote: Any = None
    #: PostgreSQL for history reads (an asyncpg pool opened by hotline.store); None: no history
    db_pool: Any = None
    #: hotline.store.writer.Writer: history and audit rows through its on-disk outbox (None:
    #: an API node without it; audit rows are then written directly, when db_pool is set)
    writer: Any = None
    #: hotline.centre.service.Configuration: config changes to the database, router and nodes
    configuration: Any = None
    #: hotline.centre.reserve.ReserveService: the emergency reserve's steps (None: an API
    #: process without the controller, whose steps go over the bus through `remote`; its
    #: rules are read and written in the database)
    reserve: Any = None
    clock: Callable[[], float] = time.time
    hasher: PasswordHasher | None = None  # None: argon2-cffi's defaults
    own_live_feed: bool = True  # the app's lifespan runs live.run() (False: someone else does)
    seed_users: bool = True  # the lifespan adds HOTLINE_API_USERS (or dev logins)
    live_queue_size: int = 32  # messages a socket may fall behind before it is resynced
    # At most ~22 messages/s to one socket. The feed publishes every 50 ms at most; pacing
    # sockets a little faster keeps jitter from holding every message for a whole period.
    live_min_interval_s: float = 0.045
    #: On an API node without the feed: the view rebuilt from the bus (see `mirror_node`).
    mirror: LiveMirror | None = None
    #: Every open live socket's user is read again this often, in case an announced
    #: revocation was lost (api/live_registry.py).
    live_recheck_s: float = 30.0
    #: /readyz's checks (hotline.api.health.Readiness); None: 503 "no readiness checks wired"
    readiness: Any = None
    #: /metrics's prometheus_client registry; None: an empty exposition
    prometheus: Any = None
    live_sockets: LiveSocketRegistry = field(init=False, repr=False)
    _requests: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # users read lazily: hotline.process.platform swaps the repository after building
        self.live_sockets = LiveSocketRegistry(self.fanout, lambda: self.users)

    @property
    def source(self) -> LiveSource:
        """Where sockets get their snapshots: the feed here, or the mirror of a remote one."""
        return self.mirror if self.mirror is not None else self.live

    async def start(self) -> None:
        await self.fanout.start()
        self.live_sockets.recheck_s = self.live_recheck_s
        await self.live_sockets.start()
        if self.mirror is not None:
            self.mirror.start()
        if self.own_live_feed:
            self.live.start()
            self._requests = asyncio.create_task(
                self.live.answer_requests(self.fanout), name="live-requests"
            )

    async def stop(self) -> None:
        if self._requests is not None:
            await cancel_and_wait(self._requests)
            self._requests = None
        if self.own_live_feed:
            await self.live.stop()
        if self.mirror is not None:
            await self.mirror.stop()
        await self.live_sockets.stop()
        await self.fanout.stop()

    @classmethod
    def build(
        cls,
        backend: Backend | None = None,
        *,
        metrics_config: MetricsConfig | None = None,
        metrics: Metrics | None = None,
        explainer: Explainer | None = None,
        clock: Callable[[], float] = time.time,
        users: UserRepository | None = None,
        hasher: PasswordHasher | None = None,
    ) -> Services:
        """The usual wiring: one Metrics, a LiveFeed publishing through a Fanout over
        `backend` (in memory when None). `metrics`: one already made (e.g. restored at
        start), else a new one from `metrics_config`."""
        fanout = Fanout(
            backend or MemoryBackend(), (LIVE_CHANNEL, CONTROL_CHANNEL, REVOCATION_CHANNEL)
        )
        metrics = metrics or Metrics(metrics_config)
        return cls(
            metrics=metrics,
            live=LiveFeed(metrics, fanout, clock),
            fanout=fanout,
            users=users or InMemoryUserRepository(),
            explainer=explainer,
            clock=clock,
            hasher=hasher,
        )

    @classmethod
    def mirror_node(cls, backend: Backend, **kw: object) -> Services:
        """An extra websocket node: no feed of its own; its sockets are served from a
        LiveMirror of the feed's messages. (Its REST figures, read from its own empty
        Metrics, are not meaningful: route REST to the feed's node.)"""
        services = cls.build(backend, **kw)  # type: ignore[arg-type]
        services.own_live_feed = False
        services.mirror = LiveMirror(services.fanout)
        return services

    @classmethod
    def with_redis(cls, url: str, **kw: object) -> Services:
        """Fan-out through Redis pub/sub (hotline.store), for several API nodes."""
        from hotline.store.live import FanoutBackend

        return cls.build(FanoutBackend(url), **kw)  # type: ignore[arg-type]


__all__ = ["Acd", "Explainer", "Services"]
