"""bench.failover: a hot-standby pair of `hotline controller` processes on a real Asterisk
(#16.7). Callers arrive at --rate calls/s and walk the IVR; the agents (the test bed's four
SIPp phones) cannot keep up, so callers wait; the active controller is killed (kill -9) with
callers waiting; the standby takes over. Judged from outside (an AMI link of the bench's own,
the node's AstDB epoch):

- takeover_s: from the kill to the node's epoch (hotline/epoch) being the new active's: its
  resync started, the heartbeat and the FastAGI address written; routing follows at once;
- lost: callers who hung up unanswered (neither routed nor served by app_queue);
- double_offers: a call rung on a second agent without an unanswered ring in between, or an
  agent rung while talking on another call;
- failsafe_calls: callers app_queue took (none when the standby takes over within the guard).

The last line printed is one JSON object with those keys (and calls, waiting_at_kill).
Run as root (it starts its own Asterisk node): `python -m bench.failover`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from hotline.core.events import CallQueued
from hotline.devtools.embedded import start_services
from hotline.devtools.failover import (
    ControllerProcess,
    Watch,
    epoch_changed,
    follow,
    pair_settings,
    use_dialplan,
)
from hotline.telephony.ami.link import AmiLink
from tests.helpers import testbed
from tests.helpers.phones import Phones

STEPS = [(1500, "1"), (1200, "3")]  # Mandarin, then billing


async def run(opts: argparse.Namespace, base: Path) -> dict[str, object]:
    centre = testbed.test_centre()
    centre_file = base / "centre.toml"
    centre_file.write_text(testbed.centre_toml(centre))
    node = testbed.test_settings(base, centre_file).model_copy(
        update={"failsafe_guard_s": 5, "wrap_up_s": 0.5})
    from hotline.telephony.node import box as asterisk_box
    from hotline.telephony.node import rootfs

    await asyncio.to_thread(lambda: rootfs.build(node, progress=rootfs.main_progress))
    await asyncio.to_thread(asterisk_box.start, node, centre.agents)
    services = await asyncio.to_thread(start_services,
                                       node.model_copy(update={"data_dir": base / "shared"}))
    first, second = pair_settings(node, testbed.AGI_PORT + 4)
    link = AmiLink(node)
    phones = Phones(node)
    a = ControllerProcess("A", first, services.database_url, services.redis_url, base / "a",
                          ready=True)
    b = ControllerProcess("B", second, services.database_url, services.redis_url, base / "b")
    try:
        await link.connect()
        watch = Watch()
        follower = asyncio.get_running_loop().create_task(follow(link, watch))
        await use_dialplan(link, first, centre)
        await a.start()
        await a.wait_line("controller only", 120)
        await b.start()
        await b.wait_line("standby:", 120)
        for n in (1, 2, 3, 4):
            phones.agent(n, ring_ms=300, talk_ms=opts.talk_ms)
        prefix = "1393"
        phones.caller_stream(prefix, opts.calls, opts.rate, STEPS, talk_ms=opts.patience_ms)
        # kill once callers wait (queued, not answered) and arrivals go on
        async with asyncio.timeout(60):
            while True:
                mine = watch.callers(prefix)
                queued = {e.call_id for e in watch.seen
                          if isinstance(e, CallQueued) and e.call_id in mine}
                waiting = queued - watch.answered()
                if len(waiting) >= opts.waiting:
                    break
                await asyncio.sleep(0.02)
        old = await link.db_get("hotline", "epoch")
        killed = time.time()
        a.signal(signal.SIGKILL)
        took = await epoch_changed(link, old, 30)
        print(f"killed the active with {len(waiting)} callers waiting; the standby took over "
              f"in {took - killed:.2f} s", flush=True)
        # until every caller placed has been answered or has ended
        async with asyncio.timeout(opts.patience_ms / 1000 + 120):
            while True:
                mine = set(watch.callers(prefix))
                if len(mine) >= opts.calls and mine <= watch.answered() | watch.ended():
                    break
                await asyncio.sleep(0.2)
        calls = set(watch.callers(prefix))
        served = watch.answered() | watch.failsafe()
        follower.cancel()
        return {"takeover_s": round(took - killed, 3),
                "lost": len(calls - served),
                "double_offers": watch.double_offers(calls),
                "failsafe_calls": len(watch.failsafe() & calls),
                "calls": len(calls), "waiting_at_kill": len(waiting),
                "rate": opts.rate}
    finally:
        for phone in phones.started:
            phone.stop()
        for proc in (a, b):
            await proc.stop()
        await link.close()
        await asyncio.to_thread(services.stop)
        await asyncio.to_thread(asterisk_box.stop, node)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="new calls per second")
    parser.add_argument("--calls", type=int, default=60, help="callers placed in all")
    parser.add_argument("--waiting", type=int, default=8,
                        help="kill the active once this many callers wait")
    parser.add_argument("--talk-ms", type=int, default=1_000, help="each agent's talk")
    parser.add_argument("--patience-ms", type=int, default=150_000,
                        help="how long a caller stays on the line")
    opts = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.failover starts its own Asterisk node (mount, chroot): run it as root",
              file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="hotline-failover-"))
    base.chmod(0o711)  # the embedded PostgreSQL runs as the 'hotline' user
    try:
        figures = asyncio.run(run(opts, base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
