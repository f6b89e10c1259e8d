"""The live sockets open on this API node, by whose token they hold: so that a token an admin
revokes (a user disabled, its roles or password changed: api/routes/users.py) stops carrying
the live feed at once, not at its expiry, on every node.

The rule is the HTTP one (`security.is_revoked`, also behind api/deps.py): on connect and on
every token renewal the socket is refused (4401 "token revoked: log in again") if the user's
record revokes its token. After a change the users route calls `announce(username)`, which
publishes the user name on the Redis channel `REVOCATION_CHANNEL`; every node's registry
(its own included) rereads that user and closes those of its sockets whose token the record
now revokes, with the same code and reason. Safety nets for a lost message: a re-check of
every open socket's user every `recheck_s` (one user read per distinct user per period), and
at once when the bus reports a gap (`{"type": "resync"}` after a Redis reconnection, or an
overflow); a publish that fails re-checks this node's sockets of that user at once.

Both socket servers register here (api/live_socket.py, api/live_broadcast.py): a socket is a
`LiveSocket`, i.e. its current claims and a `revoke()` that closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

from hotline.api.live_rules import UNAUTHORIZED, Refusal
from hotline.api.security import Claims, TokenError, UserRepository, ensure_current, is_revoked
from hotline.core.tasks import cancel_and_wait
from hotline.realtime.fanout import Fanout, Subscriber
from hotline.store.live import LiveUnavailable

log = logging.getLogger("hotline.api.live_registry")

REVOCATION_CHANNEL = "hl:auth:revoked"
#: The close reason of a revoked token, at connect, renewal or later (code UNAUTHORIZED).
REVOKED = "token revoked: log in again"


class LiveSocket(Protocol):
    #: the token it holds now (a renewal replaces it)
    claims: Claims

    async def revoke(self) -> None:
        """Closes the socket with UNAUTHORIZED / REVOKED."""
        ...


class LiveSocketRegistry:
    def __init__(
        self, fanout: Fanout, users: Callable[[], UserRepository], recheck_s: float = 30.0
    ) -> None:
        self.fanout = fanout
        self.users = users  # read at each check: the app may swap the repository before start
        self.recheck_s = recheck_s
        self.revoked = 0  # sockets closed for a revoked token, for tests and monitoring
        self._sockets: set[LiveSocket] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._subscription: contextlib.AbstractAsyncContextManager[Subscriber] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def __len__(self) -> int:
        return len(self._sockets)

    async def start(self) -> None:
        """Listens to the channel (subscribed before returning: no announcement made after
        start is missed) and starts the periodic re-check."""
        self._subscription = self.fanout.subscribe(REVOCATION_CHANNEL, maxsize=256)
        sub = await self._subscription.__aenter__()
        self._tasks = [
            asyncio.create_task(self._listen(sub), name="live-revocations"),
            asyncio.create_task(self._periodic(), name="live-recheck"),
        ]

    async def stop(self) -> None:
        for task in (*self._tasks, *self._closing):
            await cancel_and_wait(task)
        self._tasks = []
        if self._subscription is not None:
            await self._subscription.__aexit__(None, None, None)
            self._subscription = None

    @contextlib.asynccontextmanager
    async def watch(self, sock: LiveSocket) -> AsyncIterator[None]:
        """Registers `sock` for the block; raises Refusal before it if its token is revoked
        already. (Registered before that check: a revocation racing the connection is
        caught by one or the other.)"""
        self._sockets.add(sock)
        try:
            await self.check(sock.claims)
            yield
        finally:
            self._sockets.discard(sock)

    async def check(self, claims: Claims) -> None:
        """Refusal(UNAUTHORIZED, REVOKED) if the user's record revokes `claims`."""
        try:
            await ensure_current(self.users(), claims)
        except TokenError:
            raise Refusal(UNAUTHORIZED, REVOKED) from None

    async def announce(self, username: str) -> None:
        """After a change of `username` committed: every node re-checks its sockets."""
        try:
            await self.fanout.publish(REVOCATION_CHANNEL, json.dumps({"user": username}))
        except (LiveUnavailable, OSError) as exc:
            log.warning("revocation of %s not announced (%s): other nodes close its sockets "
                        "within %.0f s", username, exc, self.recheck_s)
            await self.recheck(username)

    async def recheck(self, username: str | None = None) -> int:
        """Closes this node's sockets (of `username`, else all) whose token the user's
        current record revokes; returns how many. A user that cannot be read is logged and
        its sockets kept, until the next check."""
        by_user: dict[str, list[LiveSocket]] = {}
        for sock in self._sockets:
            name = sock.claims.username
            if username is None or name == username:
                by_user.setdefault(name, []).append(sock)
        closed = 0
        for name, socks in by_user.items():
            try:
                user = await self.users().get(name)
            except Exception as exc:  # the database is away: keep the sockets, retry later
                log.warning("cannot re-check the live sockets of %s: %r", name, exc)
                continue
            for sock in socks:
                # the socket may have gone, or renewed its token, during the read
                if sock in self._sockets and is_revoked(user, sock.claims):
                    self._sockets.discard(sock)
                    self._spawn(sock.revoke())
                    closed += 1
        self.revoked += closed
        return closed

    def _spawn(self, close: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(close)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _listen(self, sub: Subscriber) -> None:
        while True:
            await sub.wait()
            names = [_user_of(m) for m in sub.drain()]
            if sub.overflowed or RESYNC in names:
                sub.overflowed = False  # announcements may have been lost: check everybody
                await self.recheck()
                continue
            for name in dict.fromkeys(names):
                if name is not None:
                    await self.recheck(name)

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            await self.recheck()


#: what `_user_of` makes of the bus's notice that messages were lost
RESYNC = ""


def _user_of(message: str) -> str | None:
    """The user an announcement names; RESYNC for the bus's gap notice; None (logged) for
    anything else."""
    try:
        msg = json.loads(message)
    except ValueError:
        msg = None
    if isinstance(msg, dict):
        if msg.get("type") == "resync":  # hotline.store.live.RESYNC
            return RESYNC
        if isinstance(msg.get("user"), str) and msg["user"]:
            return msg["user"]  # type: ignore[no-any-return]
    log.error("ignored a message on %s without a user: %.200r", REVOCATION_CHANNEL, message)
    return None


__all__ = ["REVOCATION_CHANNEL", "REVOKED", "LiveSocket", "LiveSocketRegistry"]
