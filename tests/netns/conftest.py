"""The centre on several machines (tests/helpers/netns.py): Asterisk nodes, `hotline
controller` and `hotline api` processes each in a network namespace of its own with its own
address; the trunk, the agents' phones (SIPp), PostgreSQL and Redis outside them, on the
bridge's address (the root namespace). Each test gets fresh machines, a fresh database and
Redis, fresh node roots; the bridge and PostgreSQL last the module.

Needs root (namespaces, mounts, chroot), as the whole real-Asterisk test bed does."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.centre.model import Centre
from hotline.core.settings import AsteriskNode, Settings
from hotline.devtools.embedded import EmbeddedPostgres, EmbeddedRedis
from hotline.devtools.sipp_phones import (
    SippProcess,
    _die_with_parent,
    dtmf_scenario,
    sipp_binary,
    start_agent,
)
from hotline.store import db
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from hotline.telephony.node import rootfs
from tests.helpers import netns, testbed
from tests.helpers.store import fresh_database

REPO = Path(__file__).resolve().parents[2]
# Ports inside the machines (each has its own port space; these stay clear of the root
# namespace's test bed ports all the same, since box.start checks them from here)
AMI_PORT = testbed._BASE + 50
SIP_PORT = testbed._BASE + 52
WSS_PORT = testbed._BASE + 53
HTTP_LOOPBACK_PORT = testbed._BASE + 54
AGI_PORT = testbed._BASE + 55
API_PORT = testbed._BASE + 56  # and its live server on the next
GENERAL = [(1500, "1"), (1200, "7")]  # the IVR: Mandarin, then the general queue
TEMP_PREFIX = f"hotline-netns{testbed.SLOT}-"
API_SECRET = "netns-test-secret-shared-by-every-api-node"  # one secret: tokens travel
SUPERVISOR = ("chen", "netns-supervisor-password")  # the API nodes' user (production mode)


@dataclass
class World:
    """What lasts the module: the bridge, PostgreSQL on its address, the centre."""

    network: netns.Network
    postgres: EmbeddedPostgres
    base: Path
    centre: Centre
    centre_file: Path
    root_settings: Settings  # the test bed's settings (the root file system's cache)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    if os.geteuid() != 0:
        raise RuntimeError("the netns tests need root: network namespaces, mounts, chroot")
    asterisk_box.kill_strays(f"/tmp/{TEMP_PREFIX}*")  # nodes of an interrupted run
    base = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    base.chmod(0o711)  # the embedded PostgreSQL runs as the 'hotline' user
    network = netns.Network.open()
    postgres = EmbeddedPostgres(base / "pg" / "cluster", host=netns.OUTSIDE,
                                trust_network=netns.NETWORK)
    try:
        postgres.start()
        centre = testbed.test_centre(phones_host=netns.OUTSIDE)
        centre_file = base / "centre.toml"
        centre_file.write_text(testbed.centre_toml(centre))
        settings = testbed.test_settings(base, centre_file)
        rootfs.build(settings, progress=rootfs.main_progress)
        yield World(network, postgres, base, centre, centre_file, settings)
    finally:
        postgres.stop()
        asyncio.run(network.close())
        shutil.rmtree(base, ignore_errors=True)


_tests = itertools.count(1)


@dataclass
class Node:
    machine: netns.Machine
    settings: Settings

    @property
    def target(self) -> str:
        return f"{self.machine.address}:{self.settings.sip_port}"

    def as_other(self) -> AsteriskNode:
        """How a controller beside another node reaches this one."""
        return AsteriskNode(name=self.settings.node_name, host=self.machine.address,
                            ami_port=self.settings.ami_port)


@dataclass
class Bed:
    """One test's machines and what runs on them."""

    world: World
    base: Path
    database_url: str
    redis: EmbeddedRedis
    nodes: list[Node] = field(default_factory=list)
    machines: list[netns.Machine] = field(default_factory=list)
    phones: list[SippProcess] = field(default_factory=list)
    links: list[AmiLink] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)  # followers of the links

    def machine(self, name: str) -> netns.Machine:
        machine = self.world.network.machine(name)
        self.machines.append(machine)
        return machine

    def node_settings(self, name: str, machine: netns.Machine,
                      controllers: list[netns.Machine]) -> Settings:
        """A node on `machine`; its dialplan dials these controllers' FastAGI in turn."""
        return self.world.root_settings.model_copy(update={
            "node_name": f"{testbed.NODE}{name}",
            "asterisk_run_dir": self.base / "asterisk",
            "recordings_dir": self.base / f"recordings-{name}",
            "data_dir": self.world.base / "data",  # the IVR prompts, built once
            "bind_host": machine.address,
            "ami_port": AMI_PORT, "sip_port": SIP_PORT, "wss_port": WSS_PORT,
            "http_loopback_port": HTTP_LOOPBACK_PORT,
            "rtp_start": testbed.RTP_START + 1000, "rtp_end": testbed.RTP_START + 1999,
            "webrtc_agents": [],
            "caller_match": f"{netns.OUTSIDE}/32",  # the trunk: the world outside
            # AMI for the controllers' machines and the test's own watching link
            "ami_permit": [netns.NETWORK],
            "controller_agi": [f"{c.address}:{AGI_PORT}" for c in controllers],
            "wrap_up_s": 1.0,
            "failsafe_guard_s": 5,
        })

    async def start_node(self, name: str, machine: netns.Machine,
                         controllers: list[netns.Machine]) -> Node:
        settings = self.node_settings(name, machine, controllers)
        node = Node(machine, settings)
        self.nodes.append(node)
        await asyncio.to_thread(machine.call, asterisk_box.start, settings,
                                self.world.centre.agents)
        return node

    def controller_settings(self, machine: netns.Machine, nodes: list[Node]) -> Settings:
        first, *others = nodes
        return first.settings.model_copy(update={
            "agi_host": machine.address,
            "agi_port": AGI_PORT,
            "other_nodes": [n.as_other() for n in others],
            "health_port": 0,
            "node_lost_s": 3.0,
        })

    def env(self, settings: Settings, data_dir: Path) -> dict[str, str]:
        env = testbed.settings_env(settings)
        env.update(HOTLINE_DATABASE_URL=self.database_url, HOTLINE_REDIS_URL=self.redis.url,
                   HOTLINE_DATA_DIR=str(data_dir), HOTLINE_CONTROLLER_NICE="0",
                   HOTLINE_API_SECRET=API_SECRET, HOTLINE_COMMAND_DEADLINE_S="2")
        env.pop("HOTLINE_API_USERS", None)  # development's one login per role
        return env

    async def controller(self, name: str, machine: netns.Machine, nodes: list[Node],
                         ready: bool = False) -> netns.NsProcess:
        settings = self.controller_settings(machine, nodes)
        argv = [sys.executable, "-m", "hotline.process.cli", "controller",
                *(["--ready"] if ready else [])]
        proc = netns.NsProcess(name, machine, argv, self.env(settings, self.base / name), REPO)
        await proc.start(self.world.network)
        return proc

    async def api(self, name: str, machine: netns.Machine) -> netns.NsProcess:
        settings = self.world.root_settings.model_copy(update={"api_host": machine.address})
        argv = [sys.executable, "-m", "hotline.process.cli", "api", "--host", machine.address,
                "--port", str(API_PORT), "--live-port", str(API_PORT + 1)]
        env = self.env(settings, self.base / name)
        # beyond loopback only outside development, with secrets of the deployment's own
        env.update(HOTLINE_ENVIRONMENT="production", HOTLINE_AMI_SECRET="netns-ami-secret",
                   HOTLINE_AGI_SECRET="netns-agi-secret",
                   HOTLINE_API_USERS=f"{SUPERVISOR[0]}:{SUPERVISOR[1]}:supervisor")
        proc = netns.NsProcess(name, machine, argv, env, REPO)
        await proc.start(self.world.network)
        await proc.wait_line("API at", 60)
        return proc

    async def watch(self, node: Node) -> AmiLink:
        """An AMI link of the test's own to the node, from outside (the bridge)."""
        link = AmiLink(node.settings)
        await link.connect()
        self.links.append(link)
        return link

    def agent_phone(self, n: int, ring_ms: int = 300, talk_ms: int = 3_600_000) -> SippProcess:
        phone = start_agent(f"agent{n}", testbed.agent_port(n), testbed.next_media_port(),
                            ring_ms=ring_ms, talk_ms=talk_ms, host=netns.OUTSIDE)
        self.phones.append(phone)
        return phone

    def callers(self, prefix: str, node: Node, calls: int, rate: float, talk_ms: int,
                steps: list[tuple[int, str]] = GENERAL) -> SippProcess:
        """`calls` callers through the trunk to `node`, `rate` a second, each from its own
        number (`prefix` and SIPp's call number) and walking the IVR with `steps` (pause,
        digit), then on the line `talk_ms` (tests/helpers/phones.py's caller_stream, from
        the world outside)."""
        workdir = Path(tempfile.mkdtemp(prefix=f"sipp-netns-{prefix}-"))
        text = dtmf_scenario(workdir, steps, talk_ms)
        scenario = workdir / "callers.xml"
        scenario.write_text(text.replace("sip:[number]@", "sip:[number][call_number]@"))
        args = [sipp_binary(), "-sf", str(scenario), "-i", netns.OUTSIDE,
                "-p", str(testbed.next_caller_port()), "-mi", netns.OUTSIDE,
                "-mp", str(testbed.next_media_port()), "-s", node.settings.hotline_number,
                "-key", "number", prefix, "-m", str(calls), "-r", str(rate), "-l", str(calls),
                node.target, "-nostdin", "-trace_err", "-error_file",
                str(workdir / "callers_errors.log")]
        proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        phone = SippProcess(proc=proc, workdir=workdir, name=f"callers-{prefix}")
        self.phones.append(phone)
        return phone


@pytest.fixture
async def bed(world: World) -> AsyncIterator[Bed]:
    base = world.base / f"test{next(_tests)}"
    base.mkdir(mode=0o711)
    redis = EmbeddedRedis(base / "redis", host=netns.OUTSIDE)
    await asyncio.to_thread(redis.start)
    url = await fresh_database(world.postgres)
    conn = await db.connect(url)
    try:
        await db.migrate(conn)  # as a controller would (API processes do not migrate)
    finally:
        await conn.close()
    bed = Bed(world, base, url, redis)
    try:
        yield bed
    finally:
        for phone in bed.phones:
            phone.stop()
        for task in bed.tasks:
            task.cancel()
        for link in bed.links:
            await link.close()
        for proc in world.network.processes:  # shown in the report of a failing test
            print(f"--- {proc.name} on {proc.machine.address}:\n{proc.out[-6000:]}")
        await world.network.stop_processes()
        for node in bed.nodes:
            node.machine.mend()  # box.stop talks to it over its control socket (no network)
            await asyncio.to_thread(asterisk_box.stop, node.settings)
        for machine in bed.machines:
            world.network.drop(machine)
        await asyncio.to_thread(redis.stop)
