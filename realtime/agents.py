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
_LOGGED_OUT = AgentState.LOGGED_OUT


def _key(state: AgentState, reason: str) -> Key:
    return (state, reason if state is AgentState.NOT_READY else "")


class AgentClock:
    __slots__ = ("_window", "interval", "key", "queues", "reason", "since", "state", "today")

    def __init__(self, state: AgentState, reason: str, since: float) -> None:
        self.state = state
        self.reason = reason
        self.key: Key = _key(state, reason)
        self.since = since
        self.interval: dict[Key, float] = {}
        self.today: dict[Key, float] = {}
        self._window: deque[tuple[float, float, Key]] = deque()
        self.queues: frozenset[str] = frozenset()

    def change(self, t: float, state: AgentState, reason: str) -> None:
        self.flush(t)
        self.state, self.reason, self.key = state, reason, _key(state, reason)

    def flush(self, t: float) -> None:
        """Books the open stretch up to t (an interval boundary or a state change)."""
        since = self.since
        if t > since:
            if self.state is not _LOGGED_OUT:
                d = t - since
                k = self.key
                iv, td = self.interval, self.today
                iv[k] = iv.get(k, 0.0) + d
                td[k] = td.get(k, 0.0) + d
                self._window.append((since, t, k))
            self.since = t

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
