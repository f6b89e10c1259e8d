"""Seeding the logins at start: argon2 (slow on purpose) runs off the event loop, and a user
already stored costs no hash at all (hotline run with a centre of many agents in development
used to block its loop for 0.3 s per agent before the HTTP side counted as started)."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher

from hotline.api.security import (
    Authenticator,
    InMemoryUserRepository,
    Role,
    seed_users,
)
from hotline.core.settings import Settings


class WatchedHasher(PasswordHasher):
    """argon2-cffi's hasher (cheap parameters), noting the thread of each hash."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.threads: list[str] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.current_thread().name)
        return super().hash(password, salt=salt)


async def test_development_logins_are_hashed_off_the_loop_and_once() -> None:
    hasher = WatchedHasher()
    auth = Authenticator(InMemoryUserRepository(), hasher)
    hasher.threads.clear()  # the authenticator's own dummy hash
    agents = [f"agent{n}" for n in range(1, 21)]
    await seed_users(Settings(environment="development"), auth, agents)
    assert len(hasher.threads) == len(Role) + len(agents)
    assert threading.main_thread().name not in hasher.threads
    user = await auth.authenticate("agent7", "agent7")
    assert user is not None and user.agent_id == "agent7"

    hasher.threads.clear()
    await seed_users(Settings(environment="development"), auth, agents)  # a restart
    assert hasher.threads == []  # every login is there already: nothing hashed again
