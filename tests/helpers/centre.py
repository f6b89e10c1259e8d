"""The configuration API's test client (the `api` fixture of tests/integration/centre/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from hotline.api import Services
from hotline.centre import queries as store
from hotline.centre.model import QueueSpec
from hotline.centre.service import Configuration
from hotline.process.controller import Controller


@dataclass
class Api:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    controller: Controller
    etc: Path
    headers: dict[str, dict[str, str]]
    #: the services of the process with the controller (its live feed and metrics: the app's
    #: own in one process, the controller's side over the bus)
    live_side: Services
    #: the configuration service that applies changes (the wired one, or the controller's)
    configuration: Configuration

    async def audit(self, what: str) -> list[store.AuditRow]:
        async with self.pool.acquire() as conn:
            return await store.list_audit(conn, what_prefix=what)

    async def client_queues(self) -> list[QueueSpec]:
        async with self.pool.acquire() as conn:
            return sorted(await store.list_queues(conn), key=lambda q: q.name)


__all__ = ["Api"]
