"""The ended call ids the controller remembers for the ledger (ControllerState.ended_calls):
exact membership for the newest ones, within their bound, in few bytes an id (docs/metrics.md,
the soak's RSS: 100,000 of them)."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import fields
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hotline.process.controller.recent_ids import ENDED_KEPT, RecentIds
from hotline.process.controller.state import ControllerState


def ended_calls() -> Any:
    """The controller's structure as ControllerState builds it, and `ended` as it adds."""
    (f,) = [f for f in fields(ControllerState) if f.name == "ended_calls"]
    return SimpleNamespace(ended_calls=f.default_factory())  # type: ignore[misc]


def test_an_ended_id_keeps_few_bytes() -> None:
    """Before: an OrderedDict of the id strings, ~130-190 B an id (130 here); now ~16-32 B (a
    packed 8-byte key in a table at most half full; 28 here)."""
    state = ended_calls()
    n = 20_000  # within one generation
    ControllerState.ended(state, "1795478000.0")  # type: ignore[arg-type]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(1, n + 1):
            ControllerState.ended(state, f"1795478000.{i}")  # type: ignore[arg-type]
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before,
                                                                                "filename"))
    finally:
        tracemalloc.stop()
    assert "1795478000.1" in state.ended_calls and "1795478000.20001" not in state.ended_calls
    assert grown / n < 60, f"{grown / n:.0f} B per id"


def test_the_newest_half_are_always_members_and_never_more_than_the_bound() -> None:
    ids = RecentIds(keep=10)
    for n in range(1, 101):
        ids.add(f"1795478000.{n}")
        assert all(f"1795478000.{k}" in ids for k in range(max(1, n - 4), n + 1))
        assert len(ids) <= 10
        assert sum(f"1795478000.{k}" in ids for k in range(1, n + 1)) == len(ids)
    assert "1795478000.101" not in ids and 1795478000 not in ids
    assert ENDED_KEPT == 100_000


spellings = st.one_of(
    st.text(max_size=14),
    st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 2**40), st.integers(0, 2**40)),
    st.sampled_from(["1.5", "1.05", "01.5", "1.5 ", " 1.5", "1_0.5", "10.5", "1.50", "0.0",
                     "0.00", "00.0", "1.", ".5", "1.4294967296", "1.999999999", "1.1000000000",
                     "\u0661.5", "1.\u0665", "1.5.5", "1795478000.17", "fp-1795478000.17"]))


@given(st.lists(spellings, max_size=40), st.lists(spellings, max_size=20))
def test_membership_is_exact_whatever_the_spelling(added: list[str], others: list[str]
                                                    ) -> None:
    """Only a canonical uniqueid is packed into an int: two spellings of one number ("1.5",
    "1.05", "01.5") are two ids, as the strings are."""
    ids = RecentIds(keep=2 * (len(added) + 1))  # nothing drops out
    for call_id in added:
        ids.add(call_id)
    for call_id in added + others:
        assert (call_id in ids) == (call_id in set(added)), call_id
    assert len(ids) == len(set(added))
