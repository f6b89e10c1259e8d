"""The rules of an outage notice campaign, pure (docs/campaigns.md): its bounds, the pacing of
call starts, what follows each attempt (done, a retry later, or given up), quiet hours, and
the notice's text built from the outage.

An attempt's result is one of telephony's call statuses, as text: `played` (answered, the
notice played to its end), `hung_up` (answered, hung up before the end), `no_answer`, `busy`,
`failed` (not placed, refused, congestion). Answered is final (a customer who hung up on the
notice is not rung again); the others are tried again `retries` times, `retry_after_s` apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hotline.core import ids
from hotline.core.errors import InvalidRequest

RESULTS = ("played", "hung_up", "no_answer", "busy", "failed")
#: results after which the number is not called again
FINAL_RESULTS = frozenset({"played", "hung_up"})
RETRIED_RESULTS = frozenset({"no_answer", "busy", "failed"})

# The bounds' limits (the API's schema states them too: api/routes/campaigns.py)
MAX_NUMBERS = 10_000
MAX_CONCURRENT = 20
MAX_CALLS_PER_S = 5.0
MIN_CALLS_PER_S = 0.01
MAX_RETRIES = 5
MIN_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 86_400.0
#: the longest text of a cause spoken in a notice
MAX_CAUSE_LEN = 200
#: the longest notice text (migration 023's CHECK): the longest area code and cause fit
MAX_TEXT_LEN = 1000


class CampaignError(InvalidRequest, ValueError):
    """A campaign's bounds or values break a rule (the message says which; 422 over HTTP)."""

    error_id = "invalid-campaign"


@dataclass(frozen=True, slots=True)
class Bounds:
    """How far a campaign may go. Quiet hours are whole hours of the centre's local day:
    from `quiet_from_h` (inclusive) to `quiet_to_h` (exclusive), across midnight when
    from > to; equal hours: none."""

    max_numbers: int = 500
    max_concurrent: int = 2
    calls_per_s: float = 1.0
    retries: int = 2
    retry_after_s: float = 600.0
    quiet_from_h: int = 21
    quiet_to_h: int = 8

    def check(self) -> Bounds:
        rules = [
            (1 <= self.max_numbers <= MAX_NUMBERS, f"max_numbers 1..{MAX_NUMBERS}"),
            (1 <= self.max_concurrent <= MAX_CONCURRENT, f"max_concurrent 1..{MAX_CONCURRENT}"),
            (math.isfinite(self.calls_per_s)
             and MIN_CALLS_PER_S <= self.calls_per_s <= MAX_CALLS_PER_S,
             f"calls_per_s {MIN_CALLS_PER_S}..{MAX_CALLS_PER_S}"),
            (0 <= self.retries <= MAX_RETRIES, f"retries 0..{MAX_RETRIES}"),
            (math.isfinite(self.retry_after_s)
             and MIN_RETRY_AFTER_S <= self.retry_after_s <= MAX_RETRY_AFTER_S,
             f"retry_after_s {MIN_RETRY_AFTER_S:g}..{MAX_RETRY_AFTER_S:g}"),
            (0 <= self.quiet_from_h <= 23 and 0 <= self.quiet_to_h <= 23, "quiet hours 0..23"),
        ]
        broken = [rule for ok, rule in rules if not ok]
        if broken:
            raise CampaignError("bounds out of range: " + ", ".join(broken))
        return self


class Pacer:
    """Call starts at most `calls_per_s` a second: each start is at least 1/calls_per_s after
    the one before (no burst: a campaign that waited does not catch up)."""

    def __init__(self, calls_per_s: float) -> None:
        self.gap_s = 1.0 / calls_per_s
        self.last: float | None = None

    def wait_s(self, now: float) -> float:
        """How long until the next start may be (0: now)."""
        return 0.0 if self.last is None else max(0.0, self.last + self.gap_s - now)

    def started(self, at: float) -> None:
        self.last = at


@dataclass(frozen=True, slots=True)
class Next:
    """What becomes of a number after an attempt: `state` waiting (again at `at`), done
    (answered) or unreached (every attempt failed)."""

    state: str
    at: float | None = None


def after_attempt(result: str, attempt: int, bounds: Bounds, now: float) -> Next:
    """`attempt` is the number of the attempt that just ended (1 for the first call)."""
    if result not in RESULTS:
        raise CampaignError(f"not an attempt's result: {result!r}")
    if result in FINAL_RESULTS:
        return Next("done")
    if attempt <= bounds.retries:
        return Next("waiting", now + bounds.retry_after_s)
    return Next("unreached")


def quiet_until(now: float, bounds: Bounds, utc_offset_h: float) -> float | None:
    """The end of the quiet hours `now` falls in (epoch seconds), or None when calls may go."""
    start, end = bounds.quiet_from_h, bounds.quiet_to_h
    if start == end:
        return None
    tz = timezone(timedelta(hours=utc_offset_h))
    local = datetime.fromtimestamp(now, tz)
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    day = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if day <= local:
        day += timedelta(days=1)
    return day.timestamp()


def check_numbers(numbers: list[str]) -> list[str]:
    """The numbers, each checked to be a phone number (they go into a dial string)."""
    bad = [n for n in numbers if not ids.is_valid(ids.PHONE_NUMBER_PATTERN, n)]
    if bad:
        raise CampaignError(f"not phone numbers: {bad[:3]!r}")
    return numbers


def _clean(text: str) -> str:
    """A cause as spoken: one line, no control characters, bounded."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[
        :MAX_CAUSE_LEN]


def notice_texts(area_code: str, cause_zh: str, cause_en: str, ends_at: float | None,
                 utc_offset_h: float) -> tuple[str, str]:
    """(Mandarin, English) texts of an outage's notice: the area, the cause and the expected
    restore time (the centre's local time), or "as soon as possible" when none is known."""
    spaced = " ".join(area_code)  # an area code is read digit by digit
    zh_cause, en_cause = _clean(cause_zh) or "供电设施故障", _clean(cause_en) or "a fault"
    if ends_at is None:
        zh_when, en_when = "我们将尽快恢复供电", "power will be back as soon as possible"
    else:
        local = datetime.fromtimestamp(ends_at, UTC).astimezone(
            timezone(timedelta(hours=utc_offset_h)))
        zh_when = f"预计{local.month}月{local.day}日{local.hour}点{local.minute:02d}分恢复供电"
        en_when = (f"power is expected back at {local.hour}:{local.minute:02d} on "
                   f"{local.day} {local.strftime('%B')}")
    zh = (f"您好，这里是九五五九八供电服务热线。您所在的{spaced}地区因{zh_cause}停电，"
          f"{zh_when}。给您带来不便，敬请谅解。")
    en = (f"Hello, this is the power service hotline. Power is off in area {spaced} because "
          f"of {en_cause}; {en_when}. We are sorry for the trouble.")
    return zh, en
