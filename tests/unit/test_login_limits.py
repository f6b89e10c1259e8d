"""The sliding windows of api/login_limits.py (the API's 429s are in tests/unit/test_api.py)."""

from __future__ import annotations

import pytest

from hotline.api.login_limits import LimitSettings, LoginLimits, SlidingWindow, TooManyLogins
from hotline.core.settings import Settings


def test_a_window_slides_and_tells_how_long_to_wait() -> None:
    w = SlidingWindow(limit=3, window_s=60)
    for t in (0.0, 10.0, 20.0):
        assert w.wait_s("k", t) == 0
        w.add("k", t)
    assert w.wait_s("k", 30.0) == 30.0  # the try at 0 leaves the window at 60
    assert w.wait_s("other", 30.0) == 0
    assert w.wait_s("k", 60.0) == 0  # one slot back
    w.add("k", 60.0)
    assert w.wait_s("k", 61.0) == 9.0
    w.clear("k")
    assert w.wait_s("k", 61.0) == 0


def test_a_window_forgets_keys_beyond_its_bound() -> None:
    w = SlidingWindow(limit=1, window_s=60, max_keys=3)
    for n in range(10):
        w.add(f"k{n}", float(n))
    assert len(w._log) <= 3
    assert w.wait_s("k9", 9.0) > 0  # the newest is kept


def test_a_success_clears_the_users_count_and_0_means_no_limit() -> None:
    now = [0.0]
    limits = LoginLimits(LimitSettings(2, 60, 0, 60), lambda: now[0])
    limits.admit("ann", "a1")
    limits.succeeded("ann")
    for _ in range(2):
        limits.admit("ann", "a1")
    with pytest.raises(TooManyLogins) as refused:
        limits.admit("ann", "a2")
    assert refused.value.retry_after_s == 60 and refused.value.limit == "for this user"
    for n in range(100):  # no address limit
        limits.admit(f"u{n}", "a1")


def test_the_limits_come_from_the_settings() -> None:
    assert LimitSettings.of(Settings()) == LimitSettings(5, 60.0, 20, 60.0)
    assert LimitSettings.of(Settings(login_max_tries_per_address=0)).max_tries_per_address == 0
