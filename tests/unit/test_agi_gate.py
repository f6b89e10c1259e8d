"""Who may hold a FastAGI session (docs/security.md), over real sockets: only a configured
node's address with that node's secret, within the environment deadline and the connection
caps; every refusal counted, none of them a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hotline.core.settings import Settings
from hotline.telephony.agi.server import Agi, AgiServer

SECRET = "node-secret-0123456789"


def env_block(script: str = "ivr", key: str | None = SECRET) -> bytes:
    query = "" if key is None else f"?key={key}"
    return (f"agi_network: yes\nagi_network_script: {script}{query}\n"
            f"agi_request: agi://127.0.0.1/{script}{query}\n"
            "agi_channel: PJSIP/caller-00000001\nagi_uniqueid: 1700000000.1\n\n").encode()


class Bed:
    def __init__(self, **settings: object) -> None:
        self.sessions: list[str] = []
        self.release = asyncio.Event()
        self.server = AgiServer(
            Settings(bind_host="127.0.0.1", agi_port=0, agi_secret=SECRET, **settings),
            self.handler)

    async def handler(self, agi: Agi) -> None:
        self.sessions.append(agi.env.script)
        await self.release.wait()  # a session stays open like a held caller's

    async def connect(self, source: str = "127.0.0.1", env: bytes | None = None
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port,
                                                       local_addr=(source, 0))
        if env is not None:
            writer.write(env)
            await writer.drain()
        return reader, writer


MakeBed = Callable[..., Awaitable[Bed]]


@pytest.fixture
async def make_bed() -> AsyncIterator[MakeBed]:
    beds: list[Bed] = []

    async def make(**settings: object) -> Bed:
        bed = Bed(**settings)
        await bed.server.start()
        beds.append(bed)
        return bed

    yield make
    for bed in beds:
        bed.release.set()
        await bed.server.stop()


async def closed(reader: asyncio.StreamReader, deadline_s: float = 3.0) -> bool:
    """Whether the server ends the connection within the deadline."""
    try:
        return await asyncio.wait_for(reader.read(), deadline_s) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_a_configured_node_with_its_secret_gets_a_session(make_bed: MakeBed) -> None:
    bed = await make_bed()
    _reader, writer = await bed.connect(env=env_block("hold"))
    async with asyncio.timeout(3):
        while not bed.sessions:  # noqa: ASYNC110 (the server's task records it)
            await asyncio.sleep(0.01)
    assert bed.sessions == ["hold"]
    assert not bed.server.refused
    writer.close()


async def test_an_address_outside_the_allowlist_gets_no_session(make_bed: MakeBed) -> None:
    bed = await make_bed()
    reader, writer = await bed.connect("127.0.0.2", env=env_block("hold"))
    assert await closed(reader)
    assert bed.sessions == []
    assert bed.server.refused["address"] == 1
    writer.close()


@pytest.mark.parametrize("key", [None, "", "wrong", SECRET[:-1], SECRET + "x", "é" * 8])
async def test_a_wrong_or_missing_secret_gets_no_session(make_bed: MakeBed,
                                                         key: str | None) -> None:
    bed = await make_bed()
    reader, writer = await bed.connect(env=env_block("hold", key))
    assert await closed(reader)
    assert bed.sessions == []
    assert bed.server.refused["secret"] == 1
    writer.close()


async def test_an_idle_or_half_sent_connection_is_closed_in_time(make_bed: MakeBed) -> None:
    bed = await make_bed(agi_env_timeout_s=0.3)
    idle_reader, idle = await bed.connect()
    half_reader, half = await bed.connect(env=b"agi_network: yes\nagi_network_scr")
    assert await closed(idle_reader, 3)
    assert await closed(half_reader, 3)
    assert bed.server.refused["environment_timeout"] == 2
    assert bed.server.open_connections == 0
    for w in (idle, half):
        w.close()


async def test_connections_are_capped_per_peer_and_overall(make_bed: MakeBed) -> None:
    bed = await make_bed(agi_sources=["127.0.0.0/8"], agi_max_connections=3,
                         agi_max_connections_per_peer=2)
    kept = [await bed.connect("127.0.0.1", env_block()) for _ in range(2)]
    over_peer, w1 = await bed.connect("127.0.0.1", env_block())
    assert await closed(over_peer)
    kept.append(await bed.connect("127.0.0.3", env_block()))
    over_all, w2 = await bed.connect("127.0.0.4", env_block())
    assert await closed(over_all)
    async with asyncio.timeout(3):
        while len(bed.sessions) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert len(bed.sessions) == 3
    assert bed.server.refused["connections_per_peer"] == 1
    assert bed.server.refused["connections"] == 1
    # the kept ones end: the slots are free again
    bed.release.set()
    for reader, _ in kept:
        assert await closed(reader)
    bed.release.clear()
    _again, w3 = await bed.connect("127.0.0.1", env_block())
    async with asyncio.timeout(3):
        while len(bed.sessions) < 4:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    for w in (w1, w2, w3, *(w for _, w in kept)):
        w.close()


@pytest.mark.parametrize("secret", ["", "hotline-dev-agi-secret", "short"])
def test_outside_development_a_default_or_weak_secret_refuses_to_start(secret: str) -> None:
    settings = Settings(environment="production", api_secret="x" * 40, agi_secret=secret)

    async def handler(agi: Agi) -> None:
        return None

    with pytest.raises(Exception, match="FastAGI secret"):
        AgiServer(settings, handler)


def test_a_secret_that_would_break_the_agi_url_is_refused() -> None:
    async def handler(agi: Agi) -> None:
        return None

    with pytest.raises(Exception, match="FastAGI secret"):
        AgiServer(Settings(agi_secret="a,b&c=0123456789abcdef"), handler)
