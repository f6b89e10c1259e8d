"""bench.soak's core for half a minute on the test bed's node (#15): `hotline run` as a
subprocess, SIPp agents and callers through the bench-only entry; every placed call is in the
history once, with its outcome, and each answered call with its recording on disk."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.soak import Load, Ports, run_soak
from bench.wire_node import BENCH_APPQUEUE_NUMBER, BENCH_HOLD_NUMBER
from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed
from tests.helpers.ivr_bed import cli

pytestmark = pytest.mark.asterisk

KEYS = {"calls", "lost", "answered", "rss_growth_mb_per_hour",
        "asterisk_rss_growth_mb_per_hour", "minutes", "rate", "lost_by", "outcomes"}


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Reachable by the unprivileged user the embedded PostgreSQL runs as."""
    path = Path(tempfile.mkdtemp(prefix="hotline-soak-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_a_short_soak_accounts_for_every_call(asterisk_node: Settings, centre: Centre,
                                                    data_dir: Path) -> None:
    # after-call work ends by itself (the bed's default: the agent ends it)
    settings = asterisk_node.model_copy(update={"data_dir": data_dir, "wrap_up_s": 0.5})
    pid = asterisk_box.status(settings).pid
    assert pid is not None
    load = Load(minutes=0.5, rate=1.0, talk_ms=1500, caller_stay_ms=6000, sample_s=2.0)
    ports = Ports(testbed.next_caller_port(),
                  [testbed.next_media_port() for _ in range(len(centre.agents) + 1)])
    try:
        figures = await run_soak(settings, centre, load, ports, pid, number_prefix="136")
    finally:  # the bench-only entries it added over AMI leave the session's node
        for number in (BENCH_HOLD_NUMBER, BENCH_APPQUEUE_NUMBER):
            cli(settings, f"dialplan remove extension {number}@hotline")
    assert KEYS <= figures.keys()
    assert figures["calls"] == 30
    assert figures["lost"] == 0, figures
    assert figures["answered"] == 30, figures
    assert figures["controller_exit"] == 0, figures
    # enough samples for a fit, whatever its value in half a minute
    assert isinstance(figures["rss_growth_mb_per_hour"], float)
    assert isinstance(figures["asterisk_rss_growth_mb_per_hour"], float)
