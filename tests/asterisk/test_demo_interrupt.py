"""`hotline demo` as a new user runs it: started from the command line, stopped with Ctrl-C
after its first answered call. A clean stop prints the summary last and no traceback.

The demo reuses the session's Asterisk node (it starts one only when none runs) and the
session's PostgreSQL and Redis; its SIPp phones take ports from the test bed's caller block.
Its callers' phones die with it without hanging up, so the test hangs their channels up
before the next test uses the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import pytest

from hotline.core.settings import Settings
from hotline.devtools.embedded import EmbeddedRedis
from hotline.telephony.ami.link import AmiActionError, AmiLink
from tests.helpers import testbed

pytestmark = pytest.mark.asterisk


async def test_ctrl_c_stops_the_demo_cleanly_with_its_summary(
        asterisk_node: Settings, empty_db_url: str, redis_server: EmbeddedRedis) -> None:
    env = testbed.settings_env(asterisk_node)
    env["HOTLINE_DATABASE_URL"], env["HOTLINE_REDIS_URL"] = empty_db_url, redis_server.url
    # its own session, as a terminal's foreground job: Ctrl-C reaches the whole group
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.process.cli", "demo", "--rate", "2",
        "--first-port", str(testbed.CALLER_SIP_BASE), env=env, start_new_session=True,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    lines: list[str] = []
    try:
        async with asyncio.timeout(90):  # start-up (migrations, prompts), then one call
            while not any(" answered by " in line for line in lines):
                line = await proc.stdout.readline()
                assert line, "".join(lines) + (await errors).decode()
                lines.append(line.decode())
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, once
        async with asyncio.timeout(60):
            rest = await proc.stdout.read()
            status = await proc.wait()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        await hang_up_everything(asterisk_node)
    out = "".join(lines) + rest.decode()
    err = (await errors).decode()
    assert "Traceback" not in out + err, out + err
    assert " ERROR " not in err, err
    assert status == 0, out + err  # Ctrl-C is how a demo without --calls ends
    # the summary comes last, after everything the platform printed on its way out
    summary = out[out.rindex("summary:"):].splitlines()
    assert all(line.startswith("  ") for line in summary[1:]), out
    answered = next(line for line in summary if line.strip().startswith("answered"))
    assert int(answered.split()[-1]) >= 1, out


async def hang_up_everything(settings: Settings, deadline_s: float = 15) -> None:
    link = AmiLink(settings)
    await link.connect()
    try:
        async with asyncio.timeout(deadline_s):
            while channels := await link.channels():
                for channel in channels:
                    with contextlib.suppress(AmiActionError):  # gone meanwhile
                        await link.hangup(channel.channel)
                await asyncio.sleep(0.2)  # poll until Asterisk has let them all go
    finally:
        await link.close()
