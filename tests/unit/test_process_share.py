"""The process's share of the machine: room for many sockets (a waiting caller is one, its hold
session) and a raised priority that the phones and Asterisk it starts do not inherit."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from hotline.process.event_loop import raise_open_files_limit


@pytest.fixture
def limits() -> Iterator[tuple[int, int]]:
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield saved
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def test_raises_a_low_soft_limit_up_to_the_hard_one(limits: tuple[int, int]) -> None:
    _, hard = limits
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    assert raise_open_files_limit(4096) == want
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (want, hard)
    assert raise_open_files_limit(hard + 1 if hard != resource.RLIM_INFINITY else 8192) >= want


def test_never_lowers_it(limits: tuple[int, int]) -> None:
    soft, hard = limits
    assert raise_open_files_limit(16) == soft
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)


def test_niceness_is_set_absolutely_and_children_get_the_default_back() -> None:
    """As root: the platform raises its priority; a phone or Asterisk it starts does not
    inherit it."""
    import os
    import subprocess

    from hotline.devtools.sipp_phones import _die_with_parent
    from hotline.process.event_loop import set_niceness
    from hotline.telephony.node.box import _default_priority

    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        assert set_niceness(-5) == -5
        assert set_niceness(-5) == -5  # absolute, not relative
        for reset in (_die_with_parent, _default_priority):
            out = subprocess.run(["sh", "-c", "cut -d' ' -f19 /proc/self/stat"],
                                 preexec_fn=reset, capture_output=True, text=True, check=True)
            assert out.stdout.strip() == "0"
        plain = subprocess.run(["sh", "-c", "cut -d' ' -f19 /proc/self/stat"],
                               capture_output=True, text=True, check=True)
        assert plain.stdout.strip() == "-5"  # what they would have inherited
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)
