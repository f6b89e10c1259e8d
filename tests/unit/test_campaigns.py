"""The rules of outage notice campaigns (hotline/campaigns/model.py): bounds, pacing, what
follows an attempt, quiet hours, the spoken text; and the values a spoken call lets through
to Asterisk (telephony/spoken_call.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.campaigns.model import (
    MAX_TEXT_LEN,
    Bounds,
    CampaignError,
    Next,
    Pacer,
    after_attempt,
    check_numbers,
    notice_texts,
    quiet_until,
)
from hotline.telephony.spoken_call import refuse_unsafe

PROMPT = "/usr/share/asterisk/sounds/hotline/zh/tts/0a1b2c"


def at(hour: int, minute: int = 0, offset_h: int = 8) -> float:
    """Epoch seconds of 2026-12-07 hour:minute in the centre's local time (UTC+offset)."""
    return datetime(2026, 12, 7, hour, minute, tzinfo=UTC).timestamp() - offset_h * 3600


def test_starts_are_spaced_by_the_rate_and_never_burst_after_a_pause() -> None:
    pacer = Pacer(calls_per_s=2.0)
    assert pacer.wait_s(100.0) == 0.0  # the first goes at once
    pacer.started(100.0)
    assert pacer.wait_s(100.0) == pytest.approx(0.5)
    assert pacer.wait_s(100.3) == pytest.approx(0.2)
    assert pacer.wait_s(100.5) == 0.0
    pacer.started(100.5)
    # a long pause: the next goes at once, the one after waits its gap again (no catch-up)
    assert pacer.wait_s(200.0) == 0.0
    pacer.started(200.0)
    assert pacer.wait_s(200.0) == pytest.approx(0.5)


def test_a_slow_rate_spaces_starts_seconds_apart() -> None:
    pacer = Pacer(calls_per_s=0.25)
    pacer.started(10.0)
    assert pacer.wait_s(11.0) == pytest.approx(3.0)


def test_answered_is_final_the_rest_retried_then_given_up() -> None:
    b = Bounds(retries=2, retry_after_s=60)
    assert after_attempt("played", 1, b, 1000.0) == Next("done")
    assert after_attempt("hung_up", 1, b, 1000.0) == Next("done")  # heard part: not rung again
    for result in ("no_answer", "busy", "failed"):
        assert after_attempt(result, 1, b, 1000.0) == Next("waiting", 1060.0)
        assert after_attempt(result, 2, b, 1000.0) == Next("waiting", 1060.0)
        assert after_attempt(result, 3, b, 1000.0) == Next("unreached")  # 1 call + 2 retries
    assert after_attempt("busy", 1, Bounds(retries=0), 0.0) == Next("unreached")
    with pytest.raises(CampaignError):
        after_attempt("pending", 1, b, 0.0)


@pytest.mark.parametrize("bounds", [
    Bounds(max_numbers=0), Bounds(max_numbers=10_001), Bounds(max_concurrent=0),
    Bounds(max_concurrent=21), Bounds(calls_per_s=0), Bounds(calls_per_s=5.1),
    Bounds(calls_per_s=float("nan")), Bounds(retries=-1), Bounds(retries=6),
    Bounds(retry_after_s=0.5), Bounds(retry_after_s=float("inf")), Bounds(quiet_from_h=24),
])
def test_bounds_out_of_range_are_refused(bounds: Bounds) -> None:
    with pytest.raises(CampaignError, match="bounds out of range"):
        bounds.check()


def test_default_bounds_hold() -> None:
    assert Bounds().check() == Bounds()


def test_quiet_hours_across_midnight_in_local_time() -> None:
    b = Bounds(quiet_from_h=21, quiet_to_h=8)
    assert quiet_until(at(20, 59), b, 8) is None
    assert quiet_until(at(21, 0), b, 8) == at(8) + 86400  # until 08:00 the next day
    assert quiet_until(at(23, 30), b, 8) == at(8) + 86400
    assert quiet_until(at(3, 0), b, 8) == at(8)  # after midnight: 08:00 the same day
    assert quiet_until(at(8, 0), b, 8) is None
    # the offset matters: 21:00 in UTC+8 is 13:00 UTC, not quiet at offset 0
    assert quiet_until(at(21, 0), b, 0) is None


def test_quiet_hours_within_a_day_and_none() -> None:
    b = Bounds(quiet_from_h=12, quiet_to_h=14)
    assert quiet_until(at(11, 59), b, 8) is None
    assert quiet_until(at(13, 0), b, 8) == at(14)
    assert quiet_until(at(14, 0), b, 8) is None
    assert quiet_until(at(3, 0), Bounds(quiet_from_h=5, quiet_to_h=5), 8) is None


def test_the_notice_names_area_cause_and_restore_time_in_both_languages() -> None:
    zh, en = notice_texts("0571", "线路检修", "line repairs", at(18, 30), 8)
    assert "0 5 7 1" in zh and "线路检修" in zh and "12月7日18点30分" in zh
    assert "0 5 7 1" in en and "line repairs" in en and "18:30 on 7 December" in en
    zh, en = notice_texts("010", "", "a\nstorm\x00", None, 8)
    assert "尽快" in zh and "as soon as possible" in en and "a storm" in en
    # the cause is bounded: the longest area code and cause fit the stored text
    zh, en = notice_texts("9" * 40, "停" * 5000, "x" * 5000, at(23, 59), 8)
    assert max(len(zh), len(en)) <= MAX_TEXT_LEN


def test_numbers_bound_for_a_dial_string_are_checked() -> None:
    assert check_numbers(["13900000001", "+8613900000002"]) == [
        "13900000001", "+8613900000002"]
    for bad in ("139 0000", "1390000@evil", "", "x", "1" * 33, "13900000001,Foo=1"):
        with pytest.raises(CampaignError):
            check_numbers([bad])


@pytest.mark.parametrize(("key", "number", "prompts"), [
    ("c12", "1390000000a", [PROMPT]),
    ("c12", "13900000001&x", [PROMPT]),
    ("c0", "13900000001", [PROMPT]),  # not an id
    ("12,HL_X=1", "13900000001", [PROMPT]),
    ("x12", "13900000001", [PROMPT]),
    ("c12", "13900000001", ["/a/../etc/passwd"]),
    ("c12", "13900000001", [PROMPT + ",HL_EPOCH=9"]),
    ("c12", "13900000001", [PROMPT + "&/x"]),  # a part cannot smuggle another
    ("c12", "13900000001", []),
    ("c12", "13900000001", [PROMPT] * 5),
])
def test_values_of_a_spoken_call_are_refused_unless_well_formed(
        key: str, number: str, prompts: list[str]) -> None:
    with pytest.raises(ValueError):
        refuse_unsafe(key, number, prompts)


def test_well_formed_spoken_call_values_pass() -> None:
    refuse_unsafe("c17", "+8613900000001", [PROMPT, PROMPT.replace("/zh/", "/en/")])
    refuse_unsafe("17", "13900000001", [PROMPT])
