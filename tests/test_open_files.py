"""The process asks for room for many sockets: a waiting caller is one (its hold session)."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from hotline.event_loop import raise_open_files_limit


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
