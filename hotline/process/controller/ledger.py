"""The ledger: calls the controller may have missed, as the dialplan wrote them at their end.

The caller's hangup handler (`hotline-hangup`, asterisk-config/extensions.conf) writes one
AstDB entry, family `hotline-ledger`, key = the call id, for a call the failsafe served or one
that lived while no controller may have been listening (the rule: docs/dialplan-contract.md,
"The ledger"). A controller that (re)connects reads the ledger (resync.py, ledger_pass.py),
replays each call it has not recorded itself at its true times, and deletes the entry.

The value is `1|entered|queued|queue|service|caller|failsafe|answered|agent|talk_ms|
talk_ended|ended|cause|recording` (times are epoch seconds with microseconds; empty when not
reached). The dialplan filters every field to its alphabet, so `|` never occurs inside one;
this module still takes each value as untrusted text: anything out of shape raises
LedgerError, never anything else.

Pure: text in, LedgerEntry and events out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hotline.core import ids
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    Event,
    FailsafeTaken,
    RecordingStarted,
    TalkEnded,
)
from hotline.core.values import ServiceType

LEDGER_FAMILY = "hotline-ledger"
#: malformed entries are moved here (same key, same value) for an operator to read
BAD_FAMILY = "hotline-ledger-bad"
#: `hotline/session`: when the controller now connected logged in (epoch seconds)
SESSION_KEY = "session"
VERSION = "1"
SEPARATOR = "|"
_FIELDS = 14
#: small disorder between stamps (clock steps, rounding) is clamped; more is a bad entry
_SKEW_S = 1.0
_NAME = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_PATH = re.compile(r"^/[0-9A-Za-z_./-]{1,255}$")
CAUSE_TEXT = "ended while the controller was away (from the ledger)"


class LedgerError(ValueError):
    """An entry that is not one the dialplan writes."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    call_id: str
    entered_at: float
    ended_at: float
    cause: int
    caller: str = ""
    queued_at: float | None = None
    queue: str = ""
    service: ServiceType | None = None
    failsafe_at: float | None = None
    #: when an agent answered: app_queue's stamp, or the Dial's end minus its talk time
    answered_at: float | None = None
    agent: str = ""  # the agent who answered ("" when nobody did)
    talk_ended_at: float | None = None  # the agent left; the caller stayed (the survey)
    recording: str = ""  # the path inside the node's root


def _time(text: str, what: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise LedgerError(f"{what} is not a time: {text[:40]!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 1e11:
        raise LedgerError(f"{what} is out of range: {text[:40]!r}")
    return value


def _name(text: str, what: str) -> str:
    if text and not _NAME.match(text):
        raise LedgerError(f"{what} is not a name: {text[:40]!r}")
    return text


def _within(value: float | None, low: float, high: float, what: str) -> float | None:
    """`value` clamped into [low, high] when it is off by a little; LedgerError when more."""
    if value is None:
        return None
    if value < low - _SKEW_S or value > high + _SKEW_S:
        raise LedgerError(f"{what} lies outside the call")
    return min(max(value, low), high)


def parse(key: str, value: str) -> LedgerEntry:
    """The entry of AstDB key `key` (the call id) holding `value`; LedgerError if malformed."""
    if not ids.is_valid(ids.CALL_ID_PATTERN, key):
        raise LedgerError(f"key is not a call id: {key[:80]!r}")
    parts = value.strip().split(SEPARATOR)
    if parts[0] != VERSION:
        raise LedgerError(f"unknown version {parts[0][:10]!r}")
    if len(parts) != _FIELDS:
        raise LedgerError(f"{len(parts)} fields, not {_FIELDS}")
    (_, entered, queued, queue, service, caller, failsafe, answered, agent, talk_ms,
     talk_ended, ended, cause, recording) = parts
    entered_at, ended_at = _time(entered, "entered"), _time(ended, "ended")
    if entered_at is None or ended_at is None:
        raise LedgerError("no entered or ended time")
    if ended_at < entered_at - _SKEW_S:
        raise LedgerError("ended before it entered")
    ended_at = max(ended_at, entered_at)
    if cause and (not cause.isdigit() or len(cause) > 3):
        raise LedgerError(f"cause is not a number: {cause[:10]!r}")
    if recording and not _PATH.match(recording):
        raise LedgerError(f"recording is not a path: {recording[:80]!r}")
    try:
        kind = ServiceType(service) if service else None
    except ValueError:
        raise LedgerError(f"unknown service {service[:40]!r}") from None
    if talk_ms and not talk_ms.isdigit():
        raise LedgerError(f"talk time is not a number: {talk_ms[:20]!r}")
    queued_at = _within(_time(queued, "queued"), entered_at, ended_at, "queued")
    failsafe_at = _within(_time(failsafe, "failsafe"), entered_at, ended_at, "failsafe")
    if failsafe_at is not None and queued_at is None:
        queued_at = failsafe_at  # the dialplan queues before the failsafe: a lost stamp
    talk_ended_at = _within(_time(talk_ended, "talk ended"), entered_at, ended_at,
                            "talk ended")
    answered_at = _time(answered, "answered")
    if answered_at is None and talk_ms:  # hotline-connect's Dial: its talk time, in ms
        answered_at = (talk_ended_at or ended_at) - int(talk_ms) / 1000
    answered_at = _within(answered_at, queued_at or entered_at, ended_at, "answered")
    agent = _name(agent, "agent")
    return LedgerEntry(
        call_id=key, entered_at=entered_at, ended_at=ended_at, cause=int(cause or 0),
        caller=ids.phone_or_withheld(caller), queued_at=queued_at,
        queue=_name(queue, "queue"), service=kind, failsafe_at=failsafe_at,
        answered_at=answered_at if agent else None,
        agent=agent if answered_at is not None else "",
        talk_ended_at=talk_ended_at if answered_at is not None and agent else None,
        recording=recording)


def replay(entry: LedgerEntry, node: str, dialed: str = "") -> list[Event]:
    """The call's events at their true times, as the controller would have heard them: the
    call model then gives it its outcome (failsafe when app_queue answered it, answered, or
    abandoned / short-abandoned by its wait)."""
    e, cid = entry, entry.call_id
    events: list[Event] = [CallEntered(e.entered_at, node=node, call_id=cid, caller=e.caller,
                                       dialed=dialed, channel="")]
    if e.queued_at is not None:
        events.append(CallQueued(e.queued_at, node=node, call_id=cid, queue=e.queue or "general",
                                 service=e.service or ServiceType.GENERAL, caller=e.caller))
    if e.failsafe_at is not None:
        events.append(FailsafeTaken(e.failsafe_at, node=node, call_id=cid, queue=e.queue))
    if e.recording:
        at = e.failsafe_at if e.failsafe_at is not None else e.answered_at
        events.append(RecordingStarted(e.ended_at if at is None else at, node=node,
                                       call_id=cid, path=e.recording))
    if e.answered_at is not None and e.agent:
        events.append(AgentRinging(e.answered_at, node=node, call_id=cid, agent_id=e.agent))
        events.append(CallAnswered(e.answered_at, node=node, call_id=cid, agent_id=e.agent))
        if e.talk_ended_at is not None:
            events.append(TalkEnded(e.talk_ended_at, node=node, call_id=cid, agent_id=e.agent))
    events.append(CallEnded(e.ended_at, node=node, call_id=cid, cause=e.cause,
                            cause_text=CAUSE_TEXT))
    return events


def ledger_line(entry: LedgerEntry) -> str:
    """The value the dialplan writes for `entry` (tests, and a dialplan-less replay)."""
    def t(x: float | None) -> str:
        return "" if x is None else f"{x:.6f}"
    return SEPARATOR.join([
        VERSION, t(entry.entered_at), t(entry.queued_at), entry.queue,
        str(entry.service) if entry.service else "", entry.caller, t(entry.failsafe_at),
        t(entry.answered_at), entry.agent, "", t(entry.talk_ended_at), t(entry.ended_at),
        str(entry.cause), entry.recording])


__all__ = ["BAD_FAMILY", "CAUSE_TEXT", "LEDGER_FAMILY", "SESSION_KEY", "LedgerEntry",
           "LedgerError", "ledger_line", "parse", "replay"]
