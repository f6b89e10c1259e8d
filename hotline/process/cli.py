"""`hotline`: the one console command. `hotline --help` lists what it does."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from hotline.centre.model import CentreFileError, load_centre
from hotline.core.deployment import check_deployment
from hotline.core.settings import Settings, get_settings
from hotline.process import console, event_loop


def _asterisk(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.telephony.node import box as asterisk_box
    from hotline.telephony.node import rootfs

    if args.action == "build":
        rootfs.build(settings, progress=rootfs.main_progress)
        return 0
    if args.action == "start":
        centre = load_centre(settings.centre_file)
        check_deployment(settings, [(a.id, a.secret) for a in centre.agents])
        if not rootfs.is_built(settings):
            rootfs.build(settings, progress=rootfs.main_progress)
        st = asterisk_box.start(settings, centre.agents)
        print(f"Asterisk node {st.node} running (pid {st.pid})\n  AMI  {st.ami}\n"
              f"  SIP  {st.sip}\n  hotline number {settings.hotline_number}\n"
              f"  log  {asterisk_box.log_path(settings)}")
        return 0
    if args.action == "config":
        from hotline.telephony.node import render as asterisk_config
        from hotline.telephony.node import tls

        out = Path(args.out)
        asterisk_config.write_all(settings, load_centre(settings.centre_file).agents, out)
        tls.install(settings, out)  # the softphone's secure websocket (http.conf)
        print(f"Asterisk configuration for node {settings.node_name} written to {out}")
        return 0
    if args.action == "stop":
        asterisk_box.stop(settings)
        print(f"Asterisk node {settings.node_name} stopped")
        return 0
    st = asterisk_box.status(settings)
    built = "cached" if rootfs.is_built(settings) else "not built"
    state = f"running (pid {st.pid}), AMI {st.ami}, SIP {st.sip}" if st.running else "stopped"
    print(f"node {st.node}: {state}\nroot file system: {built} ({rootfs.rootfs_path(settings)})")
    return 0 if st.running else 3


def _run(args: argparse.Namespace, settings: Settings, *, serve_http: bool = True) -> int:
    from hotline.process.platform import Platform

    centre = load_centre(settings.centre_file)
    stepped_down = False

    async def main() -> None:
        nonlocal stepped_down
        platform = Platform(settings, centre, emit_line=console.line_printer(settings.log_format),
                            serve_http=serve_http)
        try:
            await platform.start()
            if args.ready:
                from hotline.core.lifecycle import AgentState, AgentTrigger
                router = platform.controller.router
                for agent in centre.agents:
                    # an agent the take-over found on a call (app_queue's, or the last
                    # run's) is already logged in: it is left as it is
                    if router.agent(agent.id).state is not AgentState.LOGGED_OUT:
                        continue
                    platform.controller.agent_command(agent.id, AgentTrigger.LOGIN)
                    platform.controller.agent_command(agent.id, AgentTrigger.READY)
            await platform.stepped_down.wait()  # its term ended: it starts again, a standby
            stepped_down = True
        finally:
            await platform.stop()

    from hotline.telephony.ami.link import AmiNotConnected

    try:
        # SIGTERM (systemd, Docker) stops it as Ctrl-C does: calls handed over, history
        # written, embedded servers stopped
        event_loop.run(main(), settings.event_loop, nice=settings.controller_nice,
                       sigterm_as_interrupt=True)
    except KeyboardInterrupt:
        pass
    except AmiNotConnected as exc:
        print(f"hotline {args.command}: {exc}", file=sys.stderr)
        return 2
    if stepped_down:  # a former active: the same command again, with fresh state
        sys.stdout.flush()
        argv = [a for a in sys.argv[1:] if a != "--ready"]
        os.execv(sys.executable, [sys.executable, "-m", "hotline.process.cli", *argv])
    return 0


def _controller(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, serve_http=False)


def _api(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.process.api_node import ApiNode, ApiNodeRefused

    update = {k: v for k, v in (("api_host", args.host), ("api_port", args.port),
                                ("live_port", args.live_port)) if v is not None}
    settings = settings.model_copy(update=update)

    async def main() -> None:
        node = ApiNode(settings, emit_line=console.line_printer(settings.log_format))
        try:
            await node.start()
            await asyncio.Event().wait()
        finally:
            await node.stop()

    try:
        event_loop.run(main(), settings.event_loop, sigterm_as_interrupt=True)
    except KeyboardInterrupt:
        pass
    except ApiNodeRefused as exc:
        print(f"hotline api: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.devtools.demo import FIRST_PORT, run_demo
    from hotline.process.platform import Platform

    def run_loop(main: Coroutine[Any, Any, int]) -> int:
        return event_loop.run(main, settings.event_loop, nice=settings.controller_nice,
                              sigterm_as_interrupt=True)

    # devtools sit below the process layer: the demo is handed the platform and the loop
    return run_demo(settings, Platform, run_loop, calls=args.calls, rate=args.rate,
                    first_port=args.first_port or FIRST_PORT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline",
        description="Contact-centre platform for a utility's hotline, on a real Asterisk. "
                    "Settings come from HOTLINE_* environment variables (see README).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--log-format", choices=["text", "json"],
                        help="text (default HOTLINE_LOG_FORMAT, else text) or one JSON "
                             "object a line: the call log and log records, for a log shipper")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ast = sub.add_parser("asterisk", help="build, start, stop or inspect the Asterisk node",
                         description="Manage the Asterisk node that runs in a chroot over a "
                                     "Debian sid root file system built by debootstrap.")
    ast.add_argument("action", choices=["build", "start", "stop", "status", "config"],
                     help="build: make (or reuse the cached) root file system; start: copy "
                          "asterisk-config/ in and start, waiting for FullyBooted; stop; "
                          "status; config: only render the configuration into --out")
    ast.add_argument("--out", default="/etc/asterisk",
                     help="with config: the folder to write (default /etc/asterisk)")

    run = sub.add_parser("run", help="run the controller (the ACD) against the Asterisk node",
                         description="Connects over AMI, routes waiting callers to agents, keeps "
                                     "the failsafe heartbeat, logs each call's life.")
    run.add_argument("--ready", action="store_true",
                     help="log every configured agent in and make them ready at start")

    ctl = sub.add_parser("controller", help="the controller alone: AMI links, FastAGI, router, "
                                             "metrics, history; no HTTP",
                         description="As `run`, without the HTTP side: API processes "
                                     "(`hotline api`) serve it and send their commands over "
                                     "Redis (docs/command-bus.md).")
    ctl.add_argument("--ready", action="store_true",
                     help="log every configured agent in and make them ready at start")

    api = sub.add_parser("api", help="an API process: HTTP, websockets, pages; commands to "
                                     "the controller over Redis",
                         description="Serves REST, the pages and the live sockets over the "
                                     "controller's PostgreSQL and Redis "
                                     "(HOTLINE_DATABASE_URL, HOTLINE_REDIS_URL); run as many "
                                     "as needed, each on its own ports.")
    api.add_argument("--host", help="listen here (default HOTLINE_API_HOST)")
    api.add_argument("--port", type=int, help="the API's port (default HOTLINE_API_PORT)")
    api.add_argument("--live-port", type=int,
                     help="the live socket server's port (default HOTLINE_LIVE_PORT, else "
                          "the API's port + 1)")

    demo = sub.add_parser("demo", help="a first look: Asterisk, the controller, SIPp agents "
                                       "and callers, calls being routed",
                          description="Builds and starts Asterisk, starts the controller, "
                                      "three SIPp agents and SIPp callers; runs until Ctrl-C "
                                      "or --calls N calls, then prints a summary.")
    demo.add_argument("--calls", type=int, default=0, help="place N calls then exit (0: forever)")
    demo.add_argument("--rate", type=float, default=0.5, help="new calls per second")
    demo.add_argument("--first-port", type=int, default=0,
                      help="the SIPp phones' local UDP ports start here (default 5100; "
                           "about 520 of them)")

    rep = sub.add_parser("replay", help="feed a recorded journal through the controller "
                                        "offline: its decisions and figures, or a comparison",
                         description="Replays a journal the controller recorded "
                                     "(HOTLINE_REPLAY_RECORD=true; docs/replay.md) with the "
                                     "recorded clock: prints every decision and the figures "
                                     "per interval, byte for byte the live run's. With "
                                     "--centre or --set: replays it again under that "
                                     "configuration and lists the decisions that differ and "
                                     "the figures they change.")
    rep.add_argument("journal", type=Path, help="a journal file (.hlr)")
    rep.add_argument("--centre", type=Path,
                     help="compare: the variant's centre file (queues, policies, skills)")
    rep.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="compare: a setting the variant changes, e.g. ring_timeout_s=20")
    rep.add_argument("--out", type=Path, help="write the output here instead of stdout")
    return parser


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.process import replay
    from hotline.replay.journal import JournalError

    overrides = dict(item.partition("=")[::2] for item in args.set)
    try:
        return replay.main(args.journal, centre_file=args.centre, overrides=overrides,
                           out=args.out)
    except (JournalError, OSError) as exc:
        print(f"hotline replay: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if args.log_format:
        settings = settings.model_copy(update={"log_format": args.log_format})
    console.configure_logging(settings.log_format, verbose=args.verbose)
    handlers = {"asterisk": _asterisk, "run": _run, "controller": _controller, "api": _api,
                "demo": _demo, "replay": _replay}
    try:
        return handlers[args.command](args, settings)
    except (CentreFileError, RuntimeError) as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside the event loop (e.g. building the root fs)
        return 130


if __name__ == "__main__":
    sys.exit(main())
