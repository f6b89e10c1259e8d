"""What one phase of the wire benchmark saw, and the figures drawn from it.

A phase is one router (ours or app_queue) at one call rate. The wait starts when the caller
enters hotline-hold (ours: CallQueued, stamped by the dialplan's HL_QUEUED_AT, or the AMI
Timestamp of HotlineQueued) or hotline-failsafe (app_queue: FailsafeTaken, the AMI Timestamp
of HotlineFailsafe), both on Asterisk's clock, and ends when the agent's phone
receives the INVITE (SIPp's message trace, same machine clock); the DialBegin stamp
(AgentRinging) is kept too, as a second figure.
"""

from __future__ import annotations

import bisect
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.wire_sipp import Invite
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    FailsafeTaken,
)
from hotline.router import Offer

#: An INVITE belongs to the DialBegin of the same agent closest in time, within this bound
#: (an agent's calls are seconds apart: ring, talk and wrap-up).
MATCH_WINDOW_S = 1.0


@dataclass
class PhaseRecord:
    """Fed every typed event of the phase; `appqueue` says which event starts the wait."""

    appqueue: bool
    started: dict[str, float] = field(default_factory=dict)  # call id -> wait start
    ringing: dict[str, tuple[str, float]] = field(default_factory=dict)  # first ring per call
    answered: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)
    failsafe: set[str] = field(default_factory=set)  # ours: calls the failsafe took (should be 0)
    rings: int = 0
    offers: int = 0  # ours: every Offer the router made (a ring that failed is offered again)
    callers: dict[str, str] = field(default_factory=dict)  # call id -> caller number
    # ours only, on this process's clock: when the controller saw the call queue, and offered it
    seen: dict[str, float] = field(default_factory=dict)
    offered: dict[str, float] = field(default_factory=dict)
    held: dict[str, float] = field(default_factory=dict)  # its first hold session opened
    clock: Callable[[], float] = time.time

    def observe(self, item: object) -> None:
        if isinstance(item, CallEntered):
            self.callers.setdefault(item.call_id, item.caller)
        elif isinstance(item, CallQueued) and not self.appqueue:
            self.started.setdefault(item.call_id, item.at)
            self.seen.setdefault(item.call_id, self.clock())
        elif isinstance(item, Offer):
            self.offers += 1
            self.offered.setdefault(item.call_id, self.clock())
        elif isinstance(item, FailsafeTaken):
            self.failsafe.add(item.call_id)
            if self.appqueue:
                self.started.setdefault(item.call_id, item.at)
        elif isinstance(item, AgentRinging):
            self.rings += 1
            self.ringing.setdefault(item.call_id, (item.agent_id, item.at))
        elif isinstance(item, CallAnswered):
            self.answered.add(item.call_id)
        elif isinstance(item, CallEnded):
            self.ended.add(item.call_id)

    def all_ended(self) -> bool:
        return set(self.started) <= self.ended

    @property
    def not_connected(self) -> int:
        return len(set(self.started) - self.answered)


def match_invites(record: PhaseRecord, invites: list[Invite]) -> dict[str, float]:
    """call id -> arrival of its first INVITE at an agent's phone. Joined by the caller's
    number (unique per call; CallEntered gives it, the INVITE's From carries it) and the
    agent; a call without a number falls back to the same agent's INVITE nearest in time to
    its DialBegin, within MATCH_WINDOW_S (AMI stamps an event when it formats it, which may
    be after the INVITE left, so the INVITE may carry the earlier time)."""
    first: dict[tuple[str, str], float] = {}
    by_agent: dict[str, list[float]] = defaultdict(list)
    for inv in invites:
        key = (inv.agent, inv.caller)
        if key not in first or inv.at < first[key]:
            first[key] = inv.at
        by_agent[inv.agent].append(inv.at)
    for times in by_agent.values():
        times.sort()
    out: dict[str, float] = {}
    for call_id, (agent, at) in sorted(record.ringing.items(), key=lambda kv: kv[1][1]):
        caller = record.callers.get(call_id)
        if caller and (agent, caller) in first:
            out[call_id] = first[(agent, caller)]
            continue
        times = by_agent.get(agent)
        if not times:
            continue
        i = bisect.bisect_left(times, at)
        near = [j for j in (i - 1, i) if 0 <= j < len(times)]
        j = min(near, key=lambda k: abs(times[k] - at))
        if abs(times[j] - at) <= MATCH_WINDOW_S:
            out[call_id] = times.pop(j)
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Latency:
    n: int
    median_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency | None:
        if not seconds:
            return None
        ms = [s * 1000 for s in seconds]
        return cls(len(ms), round(statistics.median(ms), 2), round(percentile(ms, 99), 2),
                   round(max(ms), 2))


def waits(record: PhaseRecord, invites: dict[str, float]) -> tuple[list[float], list[float]]:
    """(start -> INVITE arrival, start -> DialBegin) in seconds, for calls with both ends."""
    to_invite, to_dial = [], []
    for call_id, start in record.started.items():
        ring = record.ringing.get(call_id)
        if ring is not None:
            to_dial.append(ring[1] - start)
        if call_id in invites:
            to_invite.append(invites[call_id] - start)
    return to_invite, to_dial


def wire_waits(record: PhaseRecord, answers: dict[str, float],
               invites: dict[str, float]) -> list[float]:
    """Seconds from the hotline's 200 OK reaching the caller to the INVITE reaching the agent,
    both stamped by SIPp: no AMI stamp in it (the dialplan's entry steps are included)."""
    out = []
    for call_id, caller in record.callers.items():
        if call_id in invites and caller in answers:
            out.append(invites[call_id] - answers[caller])
    return out


def breakdown(record: PhaseRecord) -> dict[str, list[float]]:
    """Our wait in three legs (seconds): the dialplan stamping HL_QUEUED_AT -> the controller
    holding the typed event (the hold session's connection, or AMI delivery and parsing), ->
    the router's Offer (decision), -> DialBegin (the hold session's answer or the Redirect,
    hotline-connect, MixMonitor, Dial). Apart: the stamp -> the hold session opening at the
    controller (whichever came first, it or the AMI event, queued the call)."""
    legs: dict[str, list[float]] = {"ami_in": [], "decide": [], "redirect_dial": [],
                                    "hold_in": []}
    for call_id, start in record.started.items():
        if call_id in record.held:
            legs["hold_in"].append(record.held[call_id] - start)
        seen, offered = record.seen.get(call_id), record.offered.get(call_id)
        ring = record.ringing.get(call_id)
        if seen is None or offered is None or ring is None:
            continue
        legs["ami_in"].append(seen - start)
        legs["decide"].append(offered - seen)
        legs["redirect_dial"].append(ring[1] - offered)
    return legs


def slowest(record: PhaseRecord, invites: dict[str, float], n: int = 3) -> list[str]:
    """The `n` longest waits, each with its place in arrival order and (ours) its legs."""
    order = {c: i for i, (c, _) in enumerate(sorted(record.started.items(), key=lambda kv: kv[1]))}
    rows = []
    for call_id, start in record.started.items():
        end = invites.get(call_id) or (record.ringing.get(call_id) or (None, None))[1]
        if end is None:
            continue
        legs = ""
        if call_id in record.seen and call_id in record.offered and call_id in record.ringing:
            seen, offered = record.seen[call_id], record.offered[call_id]
            legs = (f" (to controller {1000 * (seen - start):.1f}, offer "
                    f"{1000 * (offered - seen):.1f}, to DialBegin "
                    f"{1000 * (record.ringing[call_id][1] - offered):.1f} ms)")
        rows.append((end - start, f"call #{order[call_id] + 1} {1000 * (end - start):.1f} ms"
                     + legs))
    return [text for _, text in sorted(rows, reverse=True)[:n]]
