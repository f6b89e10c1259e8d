"""What every live socket obeys, whichever server carries it (the ASGI /ws/live of
api/routes/live.py and api/live_socket.py, or the dedicated server of api/live_broadcast.py):
who may connect, with which close code a refusal ends, and what a client may say.

Client messages (JSON): {"type": "subscribe", "queues": [..] | null} to change the queues it
sees (answered with a snapshot); {"type": "token", "token": ".."} to renew its token (its
own user's only: another user's closes the socket with FORBIDDEN);
{"type": "ping"}. Anything else closes the socket with BAD_REQUEST. A socket may send
`MESSAGE_BURST` messages at once and `MESSAGE_RATE` a second after that (a token bucket per
socket, `MessageBudget`); one more closes it with TOO_MANY.

What a socket shows of the agents depends on its user's roles (`sight_of`, applied by both
servers to the snapshot and to every delta, `Sight.scoped`): the people who may read
GET /api/agents (security.FLOOR_WATCHERS, and admins) see every agent's row; an agent sees its
own row only; any other role (a wallboard screen) sees no agent rows. The low survey answers
(`survey_alerts`) and the emergency reserve (`reserve`) go with the rows of every agent: the
floor watchers' only. Everyone sees the
queue figures and the aggregates (`all`, `queues`, `agents_by_state`, `occupancy`, `sl_trend`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from hotline.api.security import (
    ALL_ROLES,
    FLOOR_WATCHERS,
    Claims,
    Role,
    TokenError,
    TokenSigner,
)
from hotline.realtime.live import RESERVE, SURVEY_ALERTS, encode

UNAUTHORIZED = 4401  # 4000 + HTTP status, the usual convention for application close codes
FORBIDDEN = 4403
BAD_REQUEST = 4400
TOO_MANY = 4429  # more client messages than MessageBudget allows
MAX_QUEUES = 200
#: Client messages a socket may send at once, and a second after that. The pages send one
#: token renewal every few minutes; a screen's reconnection starts a new budget.
MESSAGE_BURST = 20
MESSAGE_RATE = 2.0


#: The close reason of a renewal with another user's token (code FORBIDDEN).
OTHER_USER = "a token of another user: a socket renews with its own user's token only"


class Refusal(Exception):
    """The socket must be closed with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Subscribe:
    queues: frozenset[str] | None


@dataclass(frozen=True)
class Renew:
    claims: Claims


class MessageBudget:
    """A token bucket per socket: `burst` messages at once, refilled at `rate` a second."""

    __slots__ = ("_at", "_clock", "_left", "burst", "rate")

    def __init__(
        self,
        burst: int = MESSAGE_BURST,
        rate: float = MESSAGE_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._left = float(burst)
        self._at = clock()

    def spend(self) -> None:
        """Takes one message from the budget, or raises Refusal(TOO_MANY)."""
        now = self._clock()
        self._left = min(self.burst, self._left + (now - self._at) * self.rate)
        self._at = now
        if self._left < 1.0:
            raise Refusal(
                TOO_MANY, f"too many messages: at most {self.rate:g} a second, {self.burst} at once"
            )
        self._left -= 1.0


@dataclass(frozen=True, slots=True)
class Sight:
    """Which agent rows a socket may see: "all", "own" (the row of `agent_id`) or "none"."""

    agents: Literal["all", "own", "none"]
    agent_id: str = ""

    def scoped(self, text: str) -> str:
        """A feed message (snapshot or delta, as encoded by realtime/live.py) as this sight
        sees it. Cached per message text: every socket of the same sight gets the same text
        object (the dedicated server writes one frame per distinct text)."""
        if self.agents == "all":
            return text
        cut = _cut(text)
        if self.agents == "own" and self.agent_id in cut.rows:
            return cut.own(self.agent_id)
        return cut.text


ALL_AGENTS = Sight("all")
NO_AGENTS = Sight("none")


def sight_of(claims: Claims) -> Sight:
    """The rule of who sees which agents on the live socket (see the module docstring)."""
    if claims.has_any(FLOOR_WATCHERS):  # the readers of GET /api/agents (admins included)
        return ALL_AGENTS
    if Role.AGENT in claims.roles:  # an agent's login is its agent id (agent_desk.may_act_on)
        return Sight("own", claims.username)
    return NO_AGENTS


@dataclass(slots=True)
class _Cut:
    """A message without its agent rows (`text`), the rows, and its text with one agent's
    row back, by agent (made on demand)."""

    text: str
    rows: dict[str, Any]
    msg: dict[str, Any] | None = None
    _own: dict[str, str] = field(default_factory=dict)

    def own(self, agent_id: str) -> str:
        text = self._own.get(agent_id)
        if text is None:
            assert self.msg is not None  # rows come from a parsed message
            m = self.msg
            data = {**m["data"], "agents": {agent_id: self.rows[agent_id]}}
            text = self._own[agent_id] = encode(m["type"], m["seq"], m["changed"], data,
                                                m.get("sent"))
        return text


@lru_cache(maxsize=512)
def _cut(text: str) -> _Cut:
    # most deltas: nothing to take out, no parse
    if ('"agents"' not in text and f'"{SURVEY_ALERTS}"' not in text
            and f'"{RESERVE}"' not in text):
        return _Cut(text, {})
    msg = json.loads(text)
    rows = msg["data"].pop("agents", None)
    # low survey answers name an agent and a call: the floor watchers' only, like the rows
    alerts = msg["data"].pop(SURVEY_ALERTS, None)
    reserve = msg["data"].pop(RESERVE, None)  # names the reserve agents: like the rows
    # none of them: "agents" was a queue's name, not the rows
    if rows is None and alerts is None and reserve is None:
        return _Cut(text, {})
    rows = rows or {}
    kind, seq, changed, sent = msg["type"], msg["seq"], msg["changed"], msg.get("sent")
    return _Cut(encode(kind, seq, changed, msg["data"], sent), rows, msg)


def parse_queues(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or len(names) > MAX_QUEUES:
        raise ValueError("queues must be a list of names")
    out = frozenset(str(n).strip() for n in names if str(n).strip())
    if any(len(n) > 64 for n in out):
        raise ValueError("queue names are at most 64 characters")
    return out or None


def admit(
    signer: TokenSigner, token: str, queues: str
) -> tuple[Claims, frozenset[str] | None]:
    """The claims and chosen queues of a connecting socket (`?token=..&queues=a,b`), or a
    Refusal. The server accepts the socket before closing it: a close before accepting
    reaches a browser as a bare HTTP 403, without the code that tells the page to log in."""
    try:
        claims = signer.verify(token)
    except TokenError as exc:
        raise Refusal(UNAUTHORIZED, f"token {exc.reason}: log in again") from None
    if not claims.has_any(ALL_ROLES):
        raise Refusal(FORBIDDEN, "your role may not watch the live feed")
    try:
        return claims, parse_queues(queues or None)
    except ValueError as exc:
        raise Refusal(BAD_REQUEST, str(exc)) from None


def read_client_message(
    text: str | bytes, signer: TokenSigner, budget: MessageBudget, user: str
) -> Subscribe | Renew | None:
    """What the client of `user`'s socket asked for (None: a ping), or a Refusal (also when
    the message is over the socket's budget, or renews with another user's token)."""
    budget.spend()
    try:
        msg = json.loads(text)
        kind = msg["type"]
        if kind == "subscribe":
            return Subscribe(parse_queues(msg.get("queues")))
        if kind == "token":
            token = msg.get("token")
            claims = signer.verify(token if isinstance(token, str) else None)
            if claims.username != user:  # a socket's user never changes: no borrowed sight
                raise Refusal(FORBIDDEN, OTHER_USER)
            return Renew(claims)
        if kind != "ping":
            raise ValueError(f"unknown message type {kind!r}")
        return None
    except TokenError as exc:
        raise Refusal(UNAUTHORIZED, f"token {exc.reason}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise Refusal(BAD_REQUEST, f"bad message: {exc}"[:120]) from None


__all__ = [
    "ALL_AGENTS",
    "BAD_REQUEST",
    "FORBIDDEN",
    "MAX_QUEUES",
    "MESSAGE_BURST",
    "MESSAGE_RATE",
    "NO_AGENTS",
    "OTHER_USER",
    "TOO_MANY",
    "UNAUTHORIZED",
    "MessageBudget",
    "Refusal",
    "Renew",
    "Sight",
    "Subscribe",
    "admit",
    "parse_queues",
    "read_client_message",
    "sight_of",
]
