"""Runs one Asterisk node in a chroot over the cached root file system.

Each node gets its own overlay (the cached root read-only below, the node's writes above), so
several nodes share one 400 MB root and a node's AstDB, logs and sockets stay its own. Asterisk
runs as plain root inside the chroot (with `-U root` it loses read access to /etc/asterisk).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hotline.centre.model import AgentSpec
from hotline.core.settings import Settings
from hotline.ivr_menu import model as ivr_menu
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from hotline.telephony.node import render as asterisk_config
from hotline.telephony.node import rootfs, tls


class AsteriskError(RuntimeError):
    pass


@dataclass(frozen=True)
class NodeStatus:
    node: str
    running: bool
    pid: int | None
    ami: str
    sip: str
    root: Path


def node_dir(settings: Settings) -> Path:
    return settings.asterisk_run_dir / settings.node_name


def root_dir(settings: Settings) -> Path:
    return node_dir(settings) / "root"


def log_path(settings: Settings) -> Path:
    return root_dir(settings) / "var/log/asterisk/messages.log"


def _mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == target for line in mounts)


def _run(*cmd: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AsteriskError(f"{' '.join(cmd)} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def _mount_all(settings: Settings) -> Path:
    lower = rootfs.rootfs_path(settings)
    base = node_dir(settings)
    root = root_dir(settings)
    for sub in ("upper", "work", "root"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    if not _mounted(root):
        _run("mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={lower},upperdir={base / 'upper'},workdir={base / 'work'}", str(root))
    if not _mounted(root / "proc"):
        _run("mount", "-t", "proc", "proc", str(root / "proc"))
    if not _mounted(root / "dev"):
        _run("mount", "--bind", "/dev", str(root / "dev"))
    rec_inside = root / settings.recordings_dir_in_root.lstrip("/")
    rec_inside.mkdir(parents=True, exist_ok=True)
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    if not _mounted(rec_inside):
        _run("mount", "--bind", str(settings.recordings_dir), str(rec_inside))
    # IVR prompts, generated on the host (and spoken at run time): a live bind mount
    prompts_inside = root / PROMPTS_IN_ROOT.lstrip("/")
    prompts_inside.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "prompts").mkdir(parents=True, exist_ok=True)
    if not _mounted(prompts_inside):
        _run("mount", "--bind", str(settings.data_dir / "prompts"), str(prompts_inside))
    return root


def _unmount_all(settings: Settings) -> None:
    root = root_dir(settings)
    inner = [root / PROMPTS_IN_ROOT.lstrip("/"),
             root / settings.recordings_dir_in_root.lstrip("/"), root / "dev", root / "proc",
             root]
    for path in inner:
        if path.exists() and _mounted(path):
            proc = subprocess.run(["umount", str(path)], capture_output=True, timeout=30)
            if proc.returncode != 0:
                subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def _alive(pid: int) -> bool:
    """True while the process runs; a zombie (dead, not yet reaped by whoever adopted the
    daemon) counts as gone, or a stop would wait on it for ever."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    if stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
        return True
    # A zombie leader whose other threads are still exiting still holds the sockets.
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def _pid(settings: Settings) -> int | None:
    pidfile = root_dir(settings) / "run/asterisk/asterisk.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _wait_gone(settings: Settings, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _pid(settings) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def port_holder(port: int, proto: str) -> str | None:
    """Who already listens on the port (tcp LISTEN, or a bound udp socket), as 'pid NAME',
    or None if nobody does. Connections a killed node left closing do not count: Asterisk
    binds with SO_REUSEADDR over them."""
    inodes = _listening_inodes(port, proto)
    if not inodes:
        return None
    for pid in _pids_holding(inodes):
        try:
            return f"{pid} {Path(f'/proc/{pid}/comm').read_text().strip()}"
        except OSError:
            continue
    return "an unknown process"


def _listening_inodes(port: int, proto: str) -> set[str]:
    inodes: set[str] = set()
    for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                listening = cols[3] == "0A" if proto == "tcp" else True
                if listening and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    return inodes


def _pids_holding(inodes: set[str]) -> list[int]:
    """Pids with one of these sockets open, from /proc/*/fd."""
    pids: list[int] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.append(int(proc.name))
                    break
    return pids


def status(settings: Settings) -> NodeStatus:
    pid = _pid(settings)
    return NodeStatus(
        node=settings.node_name,
        running=pid is not None,
        pid=pid,
        ami=f"{settings.bind_host}:{settings.ami_port}",
        sip=f"{settings.bind_host}:{settings.sip_port} (udp)",
        root=root_dir(settings),
    )


def write_config(settings: Settings, agents: list[AgentSpec]) -> None:
    """Writes the node's /etc/asterisk; a running node picks it up with a reload."""
    asterisk_config.write_all(settings, agents, root_dir(settings) / "etc/asterisk")


def _default_priority() -> None:
    """In the child: Asterisk's own priority (asterisk.conf highpriority), never the raised
    one of a platform process that happens to start it (Settings.controller_nice)."""
    os.setpriority(os.PRIO_PROCESS, 0, max(0, os.getpriority(os.PRIO_PROCESS, 0)))


def start(settings: Settings, agents: list[AgentSpec], timeout_s: float = 30.0) -> NodeStatus:
    if os.geteuid() != 0:
        raise AsteriskError("starting Asterisk needs root (mount, chroot): run as root")
    if not rootfs.is_built(settings):
        raise AsteriskError("no Asterisk root yet: run `hotline asterisk build` first")
    if _pid(settings) is not None:
        raise AsteriskError(f"node {settings.node_name} already runs (pid {_pid(settings)})")
    PromptStore.for_settings(settings).build(ivr_menu.load())  # cached by the texts' hash
    for port, proto in ((settings.ami_port, "tcp"), (settings.sip_port, "udp"),
                        (settings.wss_port, "tcp"), (settings.http_loopback_port, "tcp")):
        holder = port_holder(port, proto)
        deadline = time.monotonic() + 5.0
        while holder is not None and time.monotonic() < deadline:  # a node just killed
            time.sleep(0.05)
            holder = port_holder(port, proto)
        if holder is not None:
            raise AsteriskError(f"node {settings.node_name}: {proto} port {port} is taken by "
                                f"{holder}; stop it or choose other ports")
    root = _mount_all(settings)
    write_config(settings, agents)
    tls.install(settings, root / "etc/asterisk")  # the softphone's secure websocket
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost {socket.gethostname()}\n")
    # A fresh log per start, so a failing test shows only this run.
    log = log_path(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    # Asterisk daemonizes: its stdio must not be our pipes, or run() would wait on the daemon.
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-n"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                              timeout=timeout_s, start_new_session=True,
                              preexec_fn=_default_priority)
        err.seek(0)
        if proc.returncode != 0:
            raise AsteriskError(f"asterisk did not start: {err.read().strip()}")
    wait_fully_booted(settings, timeout_s)
    return status(settings)


def wait_fully_booted(settings: Settings, timeout_s: float) -> None:
    """Logs in over AMI and returns on the FullyBooted event (sent at login once booted)."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((settings.bind_host, settings.ami_port), timeout=2) as s:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                s.sendall(
                    f"Action: Login\r\nUsername: {settings.ami_user}\r\n"
                    f"Secret: {settings.ami_secret}\r\nEvents: system\r\n\r\n".encode()
                )
                buf = b""
                while b"Event: FullyBooted" not in buf:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionError("AMI closed the connection")
                    buf += chunk
                    if b"Authentication failed" in buf:
                        raise AsteriskError("AMI login refused: check ami_user / ami_secret")
                return
        except AsteriskError:
            raise
        except OSError as exc:
            last_error = exc
            time.sleep(0.05)
    raise AsteriskError(f"Asterisk not fully booted after {timeout_s:.0f}s ({last_error}); "
                        f"see {log_path(settings)}")


def stop(settings: Settings, timeout_s: float = 10.0) -> None:
    pid = _pid(settings)
    root = root_dir(settings)
    if pid is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-rx", "core stop now"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
        if not _wait_gone(settings, timeout_s):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not _wait_gone(settings, timeout_s):
                raise AsteriskError(f"node {settings.node_name}: pid {pid} survives SIGKILL")
    _unmount_all(settings)


def kill(settings: Settings) -> None:
    """Ends Asterisk abruptly (a crash, for restart tests); mounts stay for the next start."""
    pid = _pid(settings)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(settings, 10.0):
            raise AsteriskError(f"node {settings.node_name}: pid {pid} survives SIGKILL")


def kill_strays(root_pattern: str) -> list[int]:
    """Kills Asterisk processes whose chroot matches the glob (left by an interrupted run) and
    lazily unmounts what they left; returns the pids killed."""
    import fnmatch

    killed: list[int] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "asterisk":
                continue
            root = os.readlink(proc / "root")
        except OSError:
            continue
        if fnmatch.fnmatch(root, root_pattern):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
            killed.append(int(proc.name))
            with open("/proc/self/mounts") as mounts:
                targets = [line.split()[1] for line in mounts
                           if line.split()[1].startswith(root)]
            for target in sorted(targets, key=len, reverse=True):
                subprocess.run(["umount", "-l", target], capture_output=True, timeout=30)
    return killed
