"""Every Redis client of the platform comes from `connect_redis` (the only place the project
opens a Redis connection): the command bus, the agent records, live state, the fan-out, the
readiness checks, on the controller and on every API process.

`HOTLINE_REDIS_URL` names one server (`redis://host:port/db`) or a Sentinel-managed pair
(docs/deploy.md, "Stores"):

    redis+sentinel://[[user]:password@]host:port[,host:port...]/<master name>[/<db>]
        [?sentinel_password=...]

The hosts are the sentinels. Each new connection asks them (in turn) for the current master,
so after a failover the next connection goes to the promoted replica; a connection still on a
demoted master is dropped at its first refused write (redis-py's SentinelManagedConnection).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff

SENTINEL_SCHEME = "redis+sentinel"
#: Asking one sentinel gives up after this; the next one is asked
SENTINEL_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The parts of a `redis+sentinel://` URL; ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"not a {SENTINEL_SCHEME}:// URL: {url!r}")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, _, secret = userinfo.partition(":")
        username, password = (unquote(user) or None), (unquote(secret) or None)
    sentinels: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"sentinel {item!r} in {SENTINEL_SCHEME} URL is not host:port")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(f"{SENTINEL_SCHEME} URL needs /<master name>[/<db number>]: {url!r}")
    query = parse_qs(parts.query)
    return SentinelTarget(tuple(sentinels), unquote(path[0]),
                          int(path[1]) if len(path) == 2 else 0, username, password,
                          query.get("sentinel_password", [None])[0])


def connect_redis(url: str, *, retries: int = 3) -> aioredis.Redis:
    """A client (it connects lazily) that retries a command `retries` times, backing off
    10 ms to 200 ms (redis-py's default, 10 retries up to 1 s apart, would hold every caller
    for seconds while Redis is away). `retries` 0: every lost connection surfaces at once.
    A `redis+sentinel://` URL gives a client of the current master (module docstring)."""
    backoff = NoBackoff() if retries == 0 else ExponentialBackoff(cap=0.2, base=0.01)
    options = {"decode_responses": True, "socket_connect_timeout": CONNECT_TIMEOUT_S,
               "retry": Retry(backoff, retries)}
    if not url.startswith(f"{SENTINEL_SCHEME}://"):
        return aioredis.Redis.from_url(url, **options)  # type: ignore[no-any-return]
    target = parse_sentinel_url(url)
    sentinel = Sentinel(
        target.sentinels,
        sentinel_kwargs={"socket_connect_timeout": SENTINEL_TIMEOUT_S,
                         "socket_timeout": SENTINEL_TIMEOUT_S,
                         "password": target.sentinel_password, "decode_responses": True},
        db=target.db, username=target.username, password=target.password, **options)
    client = sentinel.master_for(target.master, redis_class=_SentinelMaster)
    client.sentinel = sentinel
    return client  # type: ignore[no-any-return]


class _SentinelMaster(aioredis.Redis):
    """A client of the current master that also closes its sentinel connections."""

    sentinel: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in self.sentinel.sentinels if self.sentinel is not None else ():
            await client.aclose()


__all__ = ["SENTINEL_SCHEME", "SentinelTarget", "connect_redis", "parse_sentinel_url"]
