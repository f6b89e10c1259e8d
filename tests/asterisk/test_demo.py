"""`hotline demo --calls N` as a newcomer runs it, from the command line: it starts an Asterisk
node of its own, the platform (embedded PostgreSQL and Redis), one SIPp phone per agent and N
SIPp callers who walk the IVR; every call is answered, the summary says so, the exit code is
0, and the node it started is stopped again.

The demo runs on this slot's ports (tests/helpers/testbed.py: its own node name, AMI, SIP, AGI
and API ports, agents' phones on DEMO_AGENT_SIP_BASE). Its SIPp callers use the demo's own
fixed ports (SIP 5100 up, media 7000 up; agents' media 6000 up): two demos on one machine at
once would clash there.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.core.settings import Settings
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed

pytestmark = pytest.mark.asterisk

CALLS = 3
DEADLINE_S = 300  # a first start speaks the IVR's prompts; the calls take ~20 s each


def hotline_command() -> list[str]:
    """The `hotline` console script of this environment, as a user types it."""
    script = Path(sys.executable).with_name("hotline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hotline.process.cli"]


@pytest.fixture
def demo_node() -> Iterator[Settings]:
    """The demo's settings: a node of its own on this slot's ports, the test bed's agents with
    their phones on DEMO_AGENT_SIP_BASE. Stops the node if the demo left it running."""
    # not pytest's tmp (mode 0700): the embedded PostgreSQL runs as the 'hotline' user
    base = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    base.chmod(0o711)
    centre_file = base / "centre.toml"
    centre_file.write_text(testbed.centre_toml(testbed.test_centre(testbed.DEMO_AGENT_SIP_BASE)))
    settings = testbed.demo_node_settings(base, centre_file)
    # a demo node left by an interrupted run (its base dir was another temp dir)
    asterisk_box.kill_strays(f"/tmp/hotline-demo-*/asterisk/{settings.node_name}/root")
    yield settings
    if asterisk_box.status(settings).running:
        asterisk_box.stop(settings)
    shutil.rmtree(base, ignore_errors=True)


async def test_hotline_demo_places_and_answers_its_calls(demo_node: Settings) -> None:
    settings = demo_node
    assert not asterisk_box.status(settings).running
    proc = await asyncio.create_subprocess_exec(
        *hotline_command(), "demo", "--calls", str(CALLS), "--rate", "1",
        env=testbed.settings_env(settings), cwd=settings.data_dir.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), DEADLINE_S)
        text = out.decode(errors="replace")
        print(text)  # shown in the report of a failing test
        assert proc.returncode == 0, text
        assert f"Asterisk node {settings.node_name}: SIP 127.0.0.1:{settings.sip_port}" in text
        summary = text[text.index("summary:"):]
        figures = dict(re.findall(r"^  (calls queued|answered|abandoned|via failsafe) +(\d+)$",
                                  summary, re.M))
        assert figures == {"calls queued": str(CALLS), "answered": str(CALLS),
                           "abandoned": "0", "via failsafe": "0"}, summary
        per_agent = re.findall(r"^  (agent\d) +(\d+) calls$", summary, re.M)
        assert sum(int(n) for _, n in per_agent) == CALLS, summary
        # the node it started is stopped on the way out
        assert not asterisk_box.status(settings).running
    finally:
        if proc.returncode is None:  # Ctrl-C, as a user stops it; then for good
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
