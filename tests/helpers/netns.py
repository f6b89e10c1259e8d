"""Machines as network namespaces, so that "a machine dies" is its links cut (issue #16.3;
docs/deploy.md, "How the tests model machines").

Each machine is a network namespace with one veth pair to a bridge and its own address,
10.<200+slot>.0.<n>/24; the root namespace sits on the bridge at .254 and stands for the
world outside the centre's machines: the trunk and the agents' phones (SIPp), PostgreSQL and
Redis, and the test itself, which watches. Cutting a machine sets its veth down (both ends
lose carrier): its processes keep running and hear nothing, nobody hears them, no RST, no
FIN, as when a machine loses power or its switch port. `mend` puts it back.

Processes enter a machine's namespace either by `nsenter --net` (subprocesses: controllers,
API processes; only the network namespace changes, so the file system and mounts stay the
root's) or, for code that must run here (an Asterisk node's start, which mounts and chroots),
from a thread that `setns`es itself first: the processes it forks are born in the namespace.

Names carry the slot (HOTLINE_TEST_SLOT): namespaces `hl<slot>-<machine>`, the bridge
`hl<slot>-br`, veths `hl<slot>-<machine>`; `Network.open` first removes whatever an
interrupted run of the same slot left (its processes killed, its namespaces and bridge
deleted), and `close` does the same, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hotline.devtools.watched_process import WatchedProcess
from tests.helpers import testbed

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
PREFIX = f"hl{testbed.SLOT}-"
BRIDGE = f"{PREFIX}br"
SUBNET = f"10.{200 + testbed.SLOT}.0"
OUTSIDE = f"{SUBNET}.254"  # the root namespace on the bridge: phones, trunk, stores, the test
NETWORK = f"{SUBNET}.0/24"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def _netns_inode(name: str) -> int | None:
    try:
        return os.stat(NETNS_DIR / name).st_ino
    except OSError:
        return None


def pids_in(names: list[str]) -> list[int]:
    """The processes whose network namespace is one of these (by the namespace's inode)."""
    inodes = {i for i in map(_netns_inode, names) if i is not None}
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if os.stat(proc / "ns/net").st_ino in inodes:
                pids.append(int(proc.name))
    return pids


def ours() -> list[str]:
    """This slot's namespaces, as `ip netns` lists them."""
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def sweep() -> None:
    """Removes what this slot's machines left: processes in its namespaces (SIGKILL: a
    machine's power cut), the namespaces (their veths go with them) and the bridge."""
    names = ours()
    for pid in pids_in(names):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for name in names:
        _ip("netns", "delete", name, check=False)
    # a namespace something still holds (a socket of the test's own) outlives its name, and
    # its veth with it: deleting the bridge's end deletes the pair
    links = _ip("-o", "link", "show", check=False).stdout
    for line in links.splitlines():
        link = line.split(":")[1].strip().split("@")[0]
        if link.startswith(PREFIX):
            _ip("link", "delete", link, check=False)


@dataclass
class Machine:
    """One machine: a network namespace with one address on the bridge."""

    name: str
    address: str
    netns: str
    veth: str  # the bridge's end of its link

    def cut(self) -> None:
        """Its link down: as if it lost power or its cable, for everyone else."""
        _ip("link", "set", self.veth, "down")

    def mend(self) -> None:
        _ip("link", "set", self.veth, "up")

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside this machine (its network only)."""
        return ["nsenter", f"--net={NETNS_DIR / self.netns}", "--", *argv]

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` on a thread inside this machine's network (and so every process it
        starts); its result, or its exception raised here."""
        result: list[T] = []
        error: list[BaseException] = []

        def inside() -> None:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            fd = os.open(NETNS_DIR / self.netns, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {self.netns}")
            finally:
                os.close(fd)
            try:
                result.append(fn(*args))
            except BaseException as exc:  # handed to the caller's thread
                error.append(exc)

        thread = threading.Thread(target=inside, name=f"in-{self.netns}")
        thread.start()
        thread.join()
        if error:
            raise error[0]
        return result[0]


@dataclass
class Network:
    """The bridge and the machines on it; `close` removes all of it."""

    machines: dict[str, Machine] = field(default_factory=dict)
    processes: list[NsProcess] = field(default_factory=list)
    _hosts: int = 0  # addresses handed out (never reused within a run)

    @classmethod
    def open(cls) -> Network:
        sweep()  # an interrupted run of this slot
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{OUTSIDE}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        return cls()

    def machine(self, name: str) -> Machine:
        """A new machine called `name` (a few letters: interface names hold 15 at most)."""
        self._hosts += 1
        host = self._hosts
        if host > 250:
            raise RuntimeError("netns: out of addresses on the bridge")
        machine = Machine(name, f"{SUBNET}.{host}", f"{PREFIX}{name}", f"{PREFIX}{name}")
        _ip("netns", "add", machine.netns)
        _ip("link", "add", machine.veth, "type", "veth", "peer", "name", "eth0",
            "netns", machine.netns)
        _ip("link", "set", machine.veth, "master", BRIDGE, "up")
        _ip("-n", machine.netns, "addr", "add", f"{machine.address}/24", "dev", "eth0")
        _ip("-n", machine.netns, "link", "set", "eth0", "up")
        _ip("-n", machine.netns, "link", "set", "lo", "up")
        self.machines[name] = machine
        return machine

    def drop(self, machine: Machine) -> None:
        """The machine gone for good: what runs in it killed, its namespace and link deleted."""
        for pid in pids_in([machine.netns]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _ip("netns", "delete", machine.netns, check=False)
        _ip("link", "delete", machine.veth, check=False)
        self.machines.pop(machine.name, None)

    async def stop_processes(self) -> None:
        for proc in self.processes:
            await proc.stop(deadline_s=10)
        self.processes.clear()

    async def close(self) -> None:
        await self.stop_processes()
        await asyncio.to_thread(sweep)


@dataclass
class NsProcess(WatchedProcess):
    """One subprocess on a machine (`hotline controller`, `hotline api`), its output lines
    kept with the time each came."""

    machine: Machine
    argv: list[str]
    env: dict[str, str]
    cwd: Path

    async def start(self, network: Network) -> None:
        network.processes.append(self)
        await self.launch(self.machine.command(self.argv), self.env, self.cwd)


__all__ = ["NETWORK", "OUTSIDE", "Machine", "Network", "NsProcess", "sweep"]
