"""Time each agent spends in each state, per interval, today and in the sliding window.

State time is clock time: a stretch of `ready` from 10:10 to 10:20 counts 5 minutes in the
10:00 interval and 5 in the 10:15 one (the owner flushes every open stretch at each interval
boundary). Live read-outs include the open stretch up to `now`. Time while logged out is not
kept. The first event seen for an agent starts its clock at that event (what came before is
unknown).
"""

from __future__ import annotations

from collections import deque

from hotline.domain import AgentState

#: A state-time key: (state, reason); reason is "" except for not_ready.
Key = tuple[AgentState, str]


class AgentClock:
    __slots__ = ("_window", "interval", "queues", "reason", "since", "state", "today")

    def __init__(self, state: AgentState, reason: str, since: float) -> None:
        self.state = state
        self.reason = reason
        self.since = since
        self.interval: dict[Key, float] = {}
        self.today: dict[Key, float] = {}
        self._window: deque[tuple[float, float, Key]] = deque()
        self.queues: frozenset[str] = frozenset()

    @property
    def key(self) -> Key:
        return (self.state, self.reason if self.state is AgentState.NOT_READY else "")

    def change(self, t: float, state: AgentState, reason: str) -> None:
        self.flush(t)
        self.state, self.reason = state, reason

    def flush(self, t: float) -> None:
        """Books the open stretch up to t (an interval boundary or a state change)."""
        if t > self.since and self.state is not AgentState.LOGGED_OUT:
            d = t - self.since
            k = self.key
            self.interval[k] = self.interval.get(k, 0.0) + d
            self.today[k] = self.today.get(k, 0.0) + d
            self._window.append((self.since, t, k))
        self.since = max(self.since, t)

    def prune(self, cutoff: float) -> None:
        while self._window and self._window[0][1] <= cutoff:
            self._window.popleft()

    def times(self, scope: str, now: float, window_s: float) -> dict[Key, float]:
        """Seconds per state key in scope, the open stretch up to now included."""
        if scope == "window":
            start = now - window_s
            out: dict[Key, float] = {}
            for s, e, k in self._window:
                d = min(e, now) - max(s, start)
                if d > 0:
                    out[k] = out.get(k, 0.0) + d
        else:
            out = dict(self.interval if scope == "interval" else self.today)
            start = -float("inf")  # flushing at boundaries keeps `since` inside the scope
        if self.state is not AgentState.LOGGED_OUT:
            d = now - max(self.since, start)
            if d > 0:
                out[self.key] = out.get(self.key, 0.0) + d
        return out
