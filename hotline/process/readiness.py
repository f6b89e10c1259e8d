"""The readiness checks of each kind of process (api.health.Readiness): PostgreSQL, Redis,
the controller lease, the AMI links, the FastAGI server. Each answers None or why not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotline.api.health import Check, Readiness
from hotline.store.command_bus import ACTIVE_KEY


def postgres(pool: Any) -> Check:
    async def check() -> str | None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return None
    return check


def postgres_or_outbox(pool: Any, writer: Any) -> Check:
    """The controller: history goes through the on-disk outbox, so an unreachable PostgreSQL
    does not stop routing while the outbox accepts records."""
    db = postgres(pool)

    async def check() -> str | None:
        why = await _reason(db)
        if why is None:
            return None
        if writer.accepting:
            return None  # the outbox holds history until PostgreSQL is back
        return f"PostgreSQL unreachable ({why}) and the outbox not accepting"
    return check


def redis(client: Any) -> Check:
    async def check() -> str | None:
        await client.ping()
        return None
    return check


def lease_present(client: Any) -> Check:
    """An API process: some controller holds the command bus's lease."""
    async def check() -> str | None:
        return None if await client.exists(ACTIVE_KEY) else "no controller holds the lease"
    return check


def lease_held(client: Any, name: Callable[[], str]) -> Check:
    """A controller: the lease is this one's."""
    async def check() -> str | None:
        holder = await client.get(ACTIVE_KEY)
        if holder == name():
            return None
        return "the lease is not held" if holder is None else "another controller holds the lease"
    return check


def ami(links: Callable[[], dict[str, Any]]) -> Check:
    async def check() -> str | None:
        current = links()
        if not current:
            return "no AMI link"
        down = sorted(node for node, link in current.items() if not link.logged_in.is_set())
        return f"AMI not logged in: {', '.join(down)}" if down else None
    return check


def agi(server: Any) -> Check:
    async def check() -> str | None:
        return None if server.listening else "the FastAGI server is not listening"
    return check


async def _reason(check: Check) -> str | None:
    try:
        return await check()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"


def api_node(pool: Any, client: Any) -> Readiness:
    return Readiness({"postgres": postgres(pool), "redis": redis(client),
                      "controller": lease_present(client)})


__all__ = ["agi", "ami", "api_node", "lease_held", "lease_present", "postgres",
           "postgres_or_outbox", "redis"]
