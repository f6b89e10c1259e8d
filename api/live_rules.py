"""What every live socket obeys, whichever server carries it (the ASGI /ws/live of
api/routes/live.py and api/live_socket.py, or the dedicated server of api/live_broadcast.py):
who may connect, with which close code a refusal ends, and what a client may say.

Client messages (JSON): {"type": "subscribe", "queues": [..] | null} to change the queues it
sees (answered with a snapshot); {"type": "token", "token": ".."} to renew its token;
{"type": "ping"}. Anything else closes the socket with BAD_REQUEST.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hotline.api.security import ALL_ROLES, Claims, TokenError, TokenSigner

UNAUTHORIZED = 4401  # 4000 + HTTP status, the usual convention for application close codes
FORBIDDEN = 4403
BAD_REQUEST = 4400
MAX_QUEUES = 200


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


def read_client_message(text: str | bytes, signer: TokenSigner) -> Subscribe | Renew | None:
    """What a client asked for (None: a ping), or a Refusal."""
    try:
        msg = json.loads(text)
        kind = msg["type"]
        if kind == "subscribe":
            return Subscribe(parse_queues(msg.get("queues")))
        if kind == "token":
            token = msg.get("token")
            return Renew(signer.verify(token if isinstance(token, str) else None))
        if kind != "ping":
            raise ValueError(f"unknown message type {kind!r}")
        return None
    except TokenError as exc:
        raise Refusal(UNAUTHORIZED, f"token {exc.reason}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise Refusal(BAD_REQUEST, f"bad message: {exc}"[:120]) from None


__all__ = [
    "BAD_REQUEST",
    "FORBIDDEN",
    "MAX_QUEUES",
    "UNAUTHORIZED",
    "Refusal",
    "Renew",
    "Subscribe",
    "admit",
    "parse_queues",
    "read_client_message",
]
