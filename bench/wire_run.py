"""A bench's run on its own Asterisk node (bench.wire, bench.hold, bench.soak): the ports it
needs free before anything starts, the node booted, the SIPp agent phones started, and the
teardown that leaves no SIPp, node or mount behind, whatever ended the run.

The node's modules are imported when a node is booted or stopped, not with this module: a
bench's --help stays light."""

from __future__ import annotations

import shutil
import signal
import socket
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.wire_node import AgentPlan, mounts_under
from bench.wire_sipp import start_agent_phones
from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import SippProcess

if TYPE_CHECKING:
    from hotline.telephony.node.box import NodeStatus


def check_ports_free(udp: Iterable[int], tcp: Iterable[int], holder: str, *,
                     tcp_reuse_addr: bool = False) -> None:
    """Exits (SystemExit) at the first port of 127.0.0.1 another process holds, asking
    whether `holder` (or a SIPp it left) still runs. With `tcp_reuse_addr`, a TCP port in
    TIME-WAIT counts as free, as it does for the servers that bind it with SO_REUSEADDR."""
    for kind, ports in ((socket.SOCK_DGRAM, udp), (socket.SOCK_STREAM, tcp)):
        for port in ports:
            with socket.socket(socket.AF_INET, kind) as probe:
                if tcp_reuse_addr and kind == socket.SOCK_STREAM:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    raise SystemExit(f"port {port} is taken: is {holder} (or a SIPp it left) "
                                     "still running?") from None


def stop_on_signals(*signals: signal.Signals) -> None:
    """Each of `signals` ends the run as Ctrl-C does (KeyboardInterrupt): the run's `finally`
    stops SIPp and Asterisk. Naming SIGINT makes Ctrl-C work even when a script started the
    bench in the background, where SIGINT arrives ignored."""
    for signum in signals:
        signal.signal(signum, signal.default_int_handler)


def boot_node(settings: Settings, centre: Centre, *, name_log: bool = False) -> NodeStatus:
    """The node's root file system built (or taken from the cache) and Asterisk started with
    the centre's agents; AsteriskError if it stopped right after booting (naming its log
    with `name_log`)."""
    from hotline.telephony.node import box as asterisk_box
    from hotline.telephony.node import rootfs

    rootfs.build(settings, progress=rootfs.main_progress)
    asterisk_box.start(settings, centre.agents)
    node = asterisk_box.status(settings)
    if node.pid is None:
        see = f"; see {asterisk_box.log_path(settings)}" if name_log else ""
        raise asterisk_box.AsteriskError(f"node {node.node} stopped right after booting{see}")
    return node


def start_phones(plan: AgentPlan, media_base: int, ring_ms: int, talk_ms: int
                 ) -> list[SippProcess]:
    """One SIPp agent-phone process on each of the plan's ports, media ports 4 apart."""
    return [start_agent_phones(port, media_base + 4 * k, ring_ms, talk_ms)
            for k, port in enumerate(plan.ports())]


def tear_down(settings: Settings, base: Path, phones: Iterable[SippProcess] = (),
              kept_log: Path | None = None, *, name_mounts: bool = True) -> None:
    """Stops the phones and the node, first copying the node's log to `kept_log` (the run dir
    goes); deletes the run dir `base` unless something is still mounted below it (the host's
    /dev among them), which is then said (each mount with `name_mounts`)."""
    from hotline.telephony.node import box as asterisk_box

    for phone in phones:
        phone.stop()
    if kept_log is not None:
        log = asterisk_box.log_path(settings)
        if log.exists():  # kept for a post-mortem
            shutil.copyfile(log, kept_log)
            print(f"Asterisk's log of this run: {kept_log}", file=sys.stderr)
    asterisk_box.stop(settings)
    left = mounts_under(base)
    if left:
        print(f"still mounted, {base} left in place" + (f": {left}" if name_mounts else ""),
              file=sys.stderr)
    else:
        shutil.rmtree(base, ignore_errors=True)


def print_targets(figures: dict[str, object], targets: Iterable[tuple[str, str]]) -> None:
    """A line per (figure key, label): whether the run met that target."""
    for key, label in targets:
        print(f"target: {label}: {'met' if figures.get(key) else 'NOT met'}")


__all__ = ["boot_node", "check_ports_free", "print_targets", "start_phones", "stop_on_signals",
           "tear_down"]
