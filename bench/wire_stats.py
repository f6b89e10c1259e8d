"""What one phase of the wire benchmark saw, and the figures drawn from it.

A phase is one router (ours or app_queue) at one call rate. The wait starts at the caller's
HotlineQueued UserEvent (ours: CallQueued) or HotlineFailsafe UserEvent (app_queue:
FailsafeTaken), both stamped by Asterisk (AMI Timestamp), and ends when the agent's phone
receives the INVITE (SIPp's message trace, same machine clock); the DialBegin stamp
(AgentRinging) is kept too, as a second figure.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from hotline.domain import AgentRinging, CallAnswered, CallEnded, CallQueued, FailsafeTaken

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

    def observe(self, item: object) -> None:
        if isinstance(item, CallQueued) and not self.appqueue:
            self.started.setdefault(item.call_id, item.at)
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


def match_invites(rings: dict[str, tuple[str, float]],
                  invites: list[tuple[str, float]]) -> dict[str, float]:
    """call id -> INVITE arrival: per agent, each ring takes the nearest unused INVITE within
    MATCH_WINDOW_S (AMI stamps an event when it is formatted, which may be after the INVITE
    left, so the INVITE may carry the earlier time)."""
    by_agent: dict[str, list[float]] = defaultdict(list)
    for agent, at in invites:
        by_agent[agent].append(at)
    for times in by_agent.values():
        times.sort()
    out: dict[str, float] = {}
    for call_id, (agent, at) in sorted(rings.items(), key=lambda kv: kv[1][1]):
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
