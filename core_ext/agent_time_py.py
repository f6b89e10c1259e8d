"""Time each agent spends in each state: the pure-Python twin of agent_time.pyx.

This file is the specification; agent_time.pyx implements the same interface with C arrays
and must give bit-identical results (tests replay the same operations through both).

`Clocks` keeps, for dense agent numbers and dense state keys (the caller maps (state, reason)
pairs to keys; key -1 means logged out, whose time is not kept):
- each agent's current key and the moment its open stretch started (`since`);
- seconds per [agent][key] for the open interval and for today;
- a log of closed stretches (agent, start, end, key) for the sliding window. Stretches are
  logged in time order of their end (the caller's clock never goes back), so the oldest are
  dropped from the front; each agent's stretches are chained (`next`) so that reading one
  agent walks only its own.

The caller owns the clock: `flush_all(t)` at every interval boundary books every open stretch
up to it (clock time is split at boundaries), `prune(cutoff)` drops stretches ended by the
window's start, `clear_interval()` / `clear_today()` reset the scopes.
"""

from __future__ import annotations

LOGGED_OUT = -1

# Scopes for read(), as in the metrics kernel.
INTERVAL = 0
TODAY = 1
WINDOW = 2


class Clocks:
    def __init__(self) -> None:
        self.n_agents = 0
        self.n_keys = 0
        self._key: list[int] = []
        self._since: list[float] = []
        self._interval: list[list[float]] = []
        self._today: list[list[float]] = []
        self._head: list[int] = []  # oldest logged stretch of the agent, -1 if none
        self._tail: list[int] = []  # newest one, -1 if none
        # the window log; entries before _first are dropped (indices stay valid)
        self._first = 0
        self._agent_of: list[int] = []
        self._start: list[float] = []
        self._end: list[float] = []
        self._key_of: list[int] = []
        self._next: list[int] = []

    def add_agent(self, since: float) -> int:
        a = self.n_agents
        self.n_agents += 1
        self._key.append(LOGGED_OUT)
        self._since.append(since)
        self._interval.append([0.0] * self.n_keys)
        self._today.append([0.0] * self.n_keys)
        self._head.append(-1)
        self._tail.append(-1)
        return a

    def add_key(self) -> int:
        k = self.n_keys
        self.n_keys += 1
        for row in self._interval:
            row.append(0.0)
        for row in self._today:
            row.append(0.0)
        return k

    def key(self, a: int) -> int:
        return self._key[a]

    def since(self, a: int) -> float:
        return self._since[a]

    def change(self, a: int, t: float, key: int) -> None:
        """The agent enters `key` at t (LOGGED_OUT to stop its clock)."""
        self._flush(a, t)
        self._key[a] = key

    def flush_all(self, t: float) -> None:
        for a in range(self.n_agents):
            self._flush(a, t)

    def skip_to(self, start: float) -> None:
        """After a long silence: time before `start` is dropped, not booked."""
        for a in range(self.n_agents):
            if self._since[a] < start:
                self._since[a] = start

    def prune(self, cutoff: float) -> None:
        while self._first < len(self._end) and self._end[self._first] <= cutoff:
            i = self._first
            a = self._agent_of[i]
            self._head[a] = self._next[i]
            if self._head[a] == -1:
                self._tail[a] = -1
            self._first += 1
        if self._first and self._first * 2 >= len(self._end):
            self._compact()

    def clear_interval(self) -> None:
        for row in self._interval:
            row[:] = [0.0] * self.n_keys

    def clear_today(self) -> None:
        for row in self._today:
            row[:] = [0.0] * self.n_keys

    def add_seconds(self, a: int, scope: int, key: int, seconds: float) -> None:
        """Adds saved seconds in `key` to the agent's interval or today scope (a restore at
        start; the window is not restored)."""
        if scope not in (INTERVAL, TODAY):
            raise ValueError("scope must be 0 or 1")
        if not 0 <= a < self.n_agents or not 0 <= key < self.n_keys:
            raise IndexError("agent or key out of range")
        (self._interval if scope == INTERVAL else self._today)[a][key] += seconds

    def read(self, a: int, scope: int, now: float, window_s: float) -> list[float]:
        """Seconds per key in scope, the open stretch up to `now` included."""
        out = [0.0] * self.n_keys
        if scope == WINDOW:
            start = now - window_s
            i = self._head[a]
            while i != -1:
                d = min(self._end[i], now) - max(self._start[i], start)
                if d > 0:
                    out[self._key_of[i]] += d
                i = self._next[i]
        else:
            row = self._interval[a] if scope == INTERVAL else self._today[a]
            for k in range(self.n_keys):
                out[k] = row[k]
            start = -float("inf")  # flushing at boundaries keeps `since` inside the scope
        key = self._key[a]
        if key != LOGGED_OUT:
            d = now - max(self._since[a], start)
            if d > 0:
                out[key] += d
        return out

    def _flush(self, a: int, t: float) -> None:
        since = self._since[a]
        if t > since:
            key = self._key[a]
            if key != LOGGED_OUT:
                d = t - since
                self._interval[a][key] += d
                self._today[a][key] += d
                self._log(a, since, t, key)
            self._since[a] = t

    def _compact(self) -> None:
        """Drops the pruned front of the log, renumbering the live entries from 0."""
        f = self._first
        for column in (self._agent_of, self._start, self._end, self._key_of, self._next):
            del column[:f]
        self._next = [i - f if i != -1 else -1 for i in self._next]
        self._head = [i - f if i != -1 else -1 for i in self._head]
        self._tail = [i - f if i != -1 else -1 for i in self._tail]
        self._first = 0

    def log_size(self) -> int:
        """Stretches held for the window (for tests and memory figures)."""
        return len(self._end) - self._first

    def _log(self, a: int, start: float, end: float, key: int) -> None:
        i = len(self._end)
        self._agent_of.append(a)
        self._start.append(start)
        self._end.append(end)
        self._key_of.append(key)
        self._next.append(-1)
        if self._tail[a] == -1:
            self._head[a] = i
        else:
            self._next[self._tail[a]] = i
        self._tail[a] = i
