"""The `redis+sentinel://` URL (hotline/store/redis_client.py, docs/deploy.md): what it names,
and the mistakes it refuses before any connection is tried."""

from __future__ import annotations

import pytest

from hotline.store.redis_client import SentinelTarget, connect_redis, parse_sentinel_url


def test_sentinels_master_db_and_passwords() -> None:
    target = parse_sentinel_url(
        "redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2:26379,[::1]:26380/hotline/2"
        "?sentinel_password=sp")
    assert target == SentinelTarget(
        (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)), "hotline", 2,
        None, "s@cret", "sp")
    assert parse_sentinel_url("redis+sentinel://h:1/m") == SentinelTarget((("h", 1),), "m")


@pytest.mark.parametrize("url", [
    "redis+sentinel://h:1",            # no master name
    "redis+sentinel://h:1/m/x",        # a db that is not a number
    "redis+sentinel://h:1/m/0/more",   # too much path
    "redis+sentinel://h/m",            # a sentinel without its port
    "redis+sentinel://h:1,:2/m",       # an empty host
    "redis://h:1/0",                   # not this scheme
])
def test_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_sentinel_url(url)


async def test_a_plain_url_is_one_server_and_a_sentinel_url_asks_sentinels() -> None:
    plain = connect_redis("redis://127.0.0.1:6399/3")
    managed = connect_redis("redis+sentinel://127.0.0.1:26399,127.0.0.1:26398/hotline/1")
    try:
        assert plain.connection_pool.connection_kwargs["db"] == 3
        assert managed.connection_pool.service_name == "hotline"  # type: ignore[attr-defined]
        assert managed.connection_pool.connection_kwargs["db"] == 1
    finally:
        await plain.aclose()
        await managed.aclose()
