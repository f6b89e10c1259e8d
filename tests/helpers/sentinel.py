"""A Sentinel-managed Redis pair of real processes (docs/deploy.md): a primary, a replica and
three sentinels (quorum 2) on loopback, with short timeouts so a failover takes seconds.

    with sentinel_pair(tmp) as pair:
        url = pair.url                      # redis+sentinel://h:p,h:p,h:p/hotline
        pair.primary.kill()                 # SIGKILL
        await pair.wait_master(pair.replica.port, 30)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from hotline.devtools.embedded import EmbeddedRedis, free_port
from tests.helpers.waiting import wait_for, wait_for_sync

MASTER = "hotline"
DOWN_AFTER_MS = 1000  # a master not answering for this long is down (subjectively)
FAILOVER_TIMEOUT_MS = 5000


@dataclass
class SentinelPair:
    primary: EmbeddedRedis
    replica: EmbeddedRedis
    sentinels: list[EmbeddedRedis]

    @property
    def url(self) -> str:
        hosts = ",".join(f"{s.host}:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER}"

    def master_seen(self) -> set[tuple[str, int]]:
        """The master address each live sentinel gives now."""
        seen: set[tuple[str, int]] = set()
        for s in self.sentinels:
            if not s.running:
                continue
            with redis.Redis(s.host, s.port, socket_timeout=1, decode_responses=True) as c:
                host, port = c.execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
                seen.add((host, int(port)))
        return seen

    async def wait_master(self, port: int, deadline_s: float) -> float:
        """Until every sentinel names 127.0.0.1:`port` the master; returns when (monotonic)."""
        await wait_for(lambda: self.master_seen() == {("127.0.0.1", port)}, deadline_s,
                       f"every sentinel names port {port} the master", interval=0.05)
        return time.monotonic()

    def stop(self) -> None:
        for server in (*self.sentinels, self.replica, self.primary):
            server.stop()


def _ready(pair: SentinelPair) -> bool:
    """The replica in sync and every sentinel knowing the replica and the two others."""
    with redis.Redis(pair.replica.host, pair.replica.port, decode_responses=True) as c:
        if c.info("replication").get("master_link_status") != "up":
            return False
    for s in pair.sentinels:
        with redis.Redis(s.host, s.port, socket_timeout=1, decode_responses=True) as c:
            state = c.execute_command("SENTINEL", "master", MASTER)
            info = dict(zip(state[::2], state[1::2], strict=True)) if isinstance(
                state, list) else state
            if int(info["num-slaves"]) < 1 or int(info["num-other-sentinels"]) < 2:
                return False
    return True


@contextmanager
def sentinel_pair(base: Path, deadline_s: float = 30.0) -> Iterator[SentinelPair]:
    primary = EmbeddedRedis(base / "primary")
    primary.start()
    replica = EmbeddedRedis(base / "replica", conf=f"replicaof 127.0.0.1 {primary.port}")
    sentinels = [EmbeddedRedis(base / f"sentinel{i}", port=free_port(), sentinel=True, conf=(
        f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} 2\n"
        f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER} 1")) for i in range(3)]
    pair = SentinelPair(primary, replica, sentinels)
    try:
        replica.start()
        for s in sentinels:
            s.start()
        wait_for_sync(lambda: _ready(pair), deadline_s,
                      "replica in sync, sentinels aware of it and of each other", interval=0.05)
        yield pair
    finally:
        pair.stop()


__all__ = ["MASTER", "SentinelPair", "sentinel_pair"]
