"""Log-in limits: how many password tries the API takes, per user name and per client
address, before it answers 429 without checking the password (docs/security.md, "Log-in
limits").

Two sliding windows, each a log of try times per key:
- per user name: tries that have not succeeded (a failure, or one still being checked),
  at most `max_failures_per_user` in `user_window_s`; a success clears that user's log.
  Counting a try before its hash is checked means a burst of parallel guesses cannot all
  pass before the first failure is written down.
- per client address: every try, at most `max_tries_per_address` in `address_window_s`.

A refused try is answered before any argon2 hash is computed, so a flood costs a dictionary
look-up, not a thread of the shared pool. A limit of 0 turns that window off.

The windows live in this process's memory: with several API processes behind a balancer
each keeps its own (the limits multiply by the process count), and a restart forgets them.
The address is the TCP peer's: behind a reverse proxy every client shares the proxy's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: Keys a window remembers at most; beyond that the expired ones go, then the oldest.
MAX_KEYS = 100_000


class TooManyLogins(Exception):
    """Refused before the password is checked; try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int, limit: str) -> None:
        super().__init__(f"too many log-in tries ({limit}); retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s
        self.limit = limit


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds (a log of their times)."""

    def __init__(self, limit: int, window_s: float, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._log: dict[str, deque[float]] = {}

    def wait_s(self, key: str, now: float) -> float:
        """0 if one more event of `key` is allowed now, else the seconds until it is."""
        log = self._log.get(key)
        if self.limit <= 0 or log is None:
            return 0.0
        while log and log[0] <= now - self.window_s:
            log.popleft()
        if not log:
            del self._log[key]
            return 0.0
        if len(log) < self.limit:
            return 0.0
        return log[-self.limit] + self.window_s - now

    def add(self, key: str, now: float) -> None:
        if self.limit <= 0:
            return
        log = self._log.get(key)
        if log is None:
            if len(self._log) >= self.max_keys:
                self._forget(now)
            log = self._log[key] = deque(maxlen=self.limit)  # older events cannot matter
        log.append(now)

    def clear(self, key: str) -> None:
        self._log.pop(key, None)

    def _forget(self, now: float) -> None:
        for key in [k for k, log in self._log.items() if log[-1] <= now - self.window_s]:
            del self._log[key]
        while len(self._log) >= self.max_keys:  # all live: the longest-known key goes
            del self._log[next(iter(self._log))]


@dataclass(frozen=True, slots=True)
class LimitSettings:
    max_failures_per_user: int = 5
    user_window_s: float = 60.0
    max_tries_per_address: int = 20
    address_window_s: float = 60.0

    @classmethod
    def of(cls, settings: object) -> LimitSettings:
        """From Settings' login_* fields (the defaults above where a field is missing)."""
        d = cls()
        return cls(
            int(getattr(settings, "login_max_failures_per_user", d.max_failures_per_user)),
            float(getattr(settings, "login_user_window_s", d.user_window_s)),
            int(getattr(settings, "login_max_tries_per_address", d.max_tries_per_address)),
            float(getattr(settings, "login_address_window_s", d.address_window_s)),
        )


class LoginLimits:
    """The API's one gate before a password check: `admit` (the try counts as a failure),
    then `succeeded` if the password was right."""

    def __init__(self, limits: LimitSettings, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.users = SlidingWindow(limits.max_failures_per_user, limits.user_window_s)
        self.addresses = SlidingWindow(limits.max_tries_per_address, limits.address_window_s)

    def admit(self, username: str, address: str) -> None:
        """Counts a try of `username` from `address`, or raises TooManyLogins (and counts
        nothing: a refused try costs the client its wait, not the window)."""
        now = self.clock()
        for window, key, what in ((self.addresses, address, "from this address"),
                                  (self.users, username, "for this user")):
            wait = window.wait_s(key, now)
            if wait > 0:
                raise TooManyLogins(max(1, math.ceil(wait)), what)
        self.addresses.add(address, now)
        self.users.add(username, now)  # a failure until it succeeds

    def succeeded(self, username: str) -> None:
        self.users.clear(username)


__all__ = ["MAX_KEYS", "LimitSettings", "LoginLimits", "SlidingWindow", "TooManyLogins"]
