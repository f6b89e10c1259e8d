"""Users, roles, password hashes (argon2) and signed short-lived tokens (HMAC-SHA256).

A token is `v1.<payload>.<signature>`, both parts base64url without padding; the payload is
JSON {sub, roles, iat, exp}. Tokens are stateless: the roles in a valid token are trusted until
it expires, which is why tokens are short-lived (renewed by /api/auth/refresh or over the
live socket); only a user an admin disabled, re-roled or gave a new password loses its older
tokens at once (`User.tokens_after`; the rule is `is_revoked`, checked by api/deps.py on every
HTTP request and by api/live_registry.py for every live socket).

The secret comes from `Settings.api_secret` when that field exists, else HOTLINE_API_SECRET;
the environment from `Settings.environment` or HOTLINE_ENVIRONMENT (default "development").
Outside development a missing, default or short secret is refused at start-up.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEV_SECRET = "hotline-dev-api-secret-do-not-deploy"
DEVELOPMENT = "development"
MIN_SECRET_LEN = 32


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    QA = "qa"
    PLANNER = "planner"
    #: a responsible unit's staff (the repair crew, the billing office, ...): works the work
    #: orders of its unit (User.unit), nothing else
    BACK_OFFICE = "back_office"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
#: The role sets the API checks (api/deps.py names them for routes); an admin passes every
#: check. Defined here only.
FLOOR_WATCHERS = frozenset({Role.SUPERVISOR, Role.PLANNER})  # live agent states
STEERING = frozenset({Role.SUPERVISOR})  # who changes the floor: agents, skills, reasons
INSPECTORS = frozenset({Role.SUPERVISOR, Role.QA})  # routing explanations
#: The users table's `role` holds the first of these a user has (the others: more_roles).
ROLE_ORDER = (Role.ADMIN, Role.SUPERVISOR, Role.PLANNER, Role.QA, Role.BACK_OFFICE,
              Role.AGENT)


class InsecureSecret(RuntimeError):
    """The API secret is unset or the development default outside development."""


def environment(settings: object) -> str:
    return getattr(settings, "environment", "") or os.environ.get(
        "HOTLINE_ENVIRONMENT", DEVELOPMENT
    )


def api_secret(settings: object) -> str:
    """The signing secret; raises InsecureSecret if it is unfit for this environment."""
    secret = getattr(settings, "api_secret", "") or os.environ.get("HOTLINE_API_SECRET", "")
    if environment(settings) == DEVELOPMENT:
        return secret or DEV_SECRET
    if not secret or secret == DEV_SECRET or len(secret) < MIN_SECRET_LEN:
        raise InsecureSecret(
            f"HOTLINE_API_SECRET must be set to a random string of at least {MIN_SECRET_LEN} "
            f"characters outside development (environment is {environment(settings)!r})"
        )
    return secret


def token_ttl_s(settings: object) -> float:
    return float(
        getattr(settings, "api_token_ttl_s", 0) or os.environ.get("HOTLINE_API_TOKEN_TTL_S", 900)
    )


# ---- tokens


class TokenError(Exception):
    """A token was missing, malformed, forged or expired; `reason` is one of those words."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claims:
    username: str
    roles: frozenset[Role]
    issued_at: float
    expires_at: float

    def has_any(self, roles: Iterable[Role]) -> bool:
        return Role.ADMIN in self.roles or not self.roles.isdisjoint(roles)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    PREFIX = "v1"

    def __init__(self, secret: str, ttl_s: float, clock: Callable[[], float]) -> None:
        self._key = secret.encode()
        self.ttl_s = ttl_s
        self.clock = clock

    def issue(self, username: str, roles: Iterable[Role]) -> tuple[str, Claims]:
        now = self.clock()
        claims = Claims(username, frozenset(roles), now, now + self.ttl_s)
        payload = {
            "sub": username,
            "roles": sorted(claims.roles),
            "iat": now,
            "exp": claims.expires_at,
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{self.PREFIX}.{body}.{self._sign(body)}", claims

    def verify(self, token: str | None) -> Claims:
        if not token:
            raise TokenError("missing")
        if not token.isascii():  # compare_digest refuses non-ASCII str (TypeError, a 500)
            raise TokenError("malformed")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != self.PREFIX:
            raise TokenError("malformed")
        _, body, signature = parts
        if not hmac.compare_digest(signature, self._sign(body)):
            raise TokenError("invalid")
        try:
            payload: dict[str, Any] = json.loads(_unb64(body))
            claims = Claims(
                str(payload["sub"]),
                frozenset(Role(r) for r in payload["roles"]),
                float(payload["iat"]),
                float(payload["exp"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise TokenError("malformed") from None
        if claims.expires_at <= self.clock():
            raise TokenError("expired")
        return claims

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, f"{self.PREFIX}.{body}".encode(), hashlib.sha256).digest())


# ---- users


@dataclass(frozen=True, slots=True)
class User:
    username: str
    password_hash: str
    roles: frozenset[Role]
    display_name: str = ""
    agent_id: str = ""  # the agent this login is, for role agent
    disabled: bool = False
    tokens_after: float = 0.0  # tokens issued before this are revoked (api/routes/users.py)
    unit: str = ""  # the responsible unit a back-office user works for


class UserRepository(Protocol):
    """Where users live: in memory now, the store's PostgreSQL users table later."""

    async def get(self, username: str) -> User | None: ...
    async def add(self, user: User) -> None: ...


@dataclass
class InMemoryUserRepository:
    users: dict[str, User] = field(default_factory=dict)

    async def get(self, username: str) -> User | None:
        return self.users.get(username)

    async def add(self, user: User) -> None:
        self.users[user.username] = user


@dataclass
class PostgresUserRepository:
    """Users in the store's users table (an asyncpg pool). `add` never overwrites: seeding
    the development logins at every start keeps a password someone changed."""

    pool: Any

    async def get(self, username: str) -> User | None:
        from hotline.centre import queries as store

        async with self.pool.acquire() as conn:
            row = await store.get_user(conn, username)
        if row is None:
            return None
        return User(row.username, row.password_hash, frozenset(Role(r) for r in row.roles),
                    display_name=row.display_name, agent_id=row.agent_id,
                    disabled=not row.active, tokens_after=row.tokens_after, unit=row.unit)

    async def add(self, user: User) -> None:
        from hotline.centre import queries as store

        roles = sorted(user.roles, key=ROLE_ORDER.index) or [Role.AGENT]
        async with self.pool.acquire() as conn:
            await store.insert_user(conn, store.UserRow(
                user.username, user.password_hash, tuple(roles), user.display_name,
                user.agent_id, not user.disabled, unit=user.unit))


def is_revoked(user: User | None, claims: Claims) -> bool:
    """The user's record revokes the token: the user is disabled, or the token was issued
    before `tokens_after` (an admin changed its roles or password). A token of a user the
    repository does not know is judged by its signature alone."""
    return user is not None and (user.disabled or claims.issued_at < user.tokens_after)


async def ensure_current(users: UserRepository, claims: Claims) -> None:
    """Raises TokenError("revoked") if the user's current record revokes the token."""
    if is_revoked(await users.get(claims.username), claims):
        raise TokenError("revoked")


class Authenticator:
    """Checks passwords against the repository without blocking the loop (argon2 is slow on
    purpose) and without telling, by timing, whether the user exists."""

    def __init__(self, users: UserRepository, hasher: PasswordHasher | None = None) -> None:
        self.users = users
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    async def authenticate(self, username: str, password: str) -> User | None:
        user = await self.users.get(username)
        stored = user.password_hash if user is not None else self._dummy
        ok = await asyncio.to_thread(self._verify, stored, password)
        if user is None or user.disabled or not ok:
            return None
        return user

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def parse_user_specs(text: str) -> list[tuple[str, str, frozenset[Role], str]]:
    """`name:password:role+role[@unit];...` (HOTLINE_API_USERS) -> (name, password, roles,
    unit); the unit is a back-office user's."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(";"))):
        name, password, rest = item.split(":", 2)
        roles, _, unit = rest.partition("@")
        out.append((name, password, frozenset(Role(r) for r in roles.split("+") if r), unit))
    return out


#: Development logins: one per role, password = user name (the back office's works the
#: general service's unit). Refused outside development.
DEV_BACK_OFFICE_UNIT = "service_office"
DEV_USERS = ";".join(
    f"{r.value}:{r.value}:{r.value}" + (f"@{DEV_BACK_OFFICE_UNIT}" if r is Role.BACK_OFFICE else "")
    for r in Role)


async def seed_users(settings: object, auth: Authenticator, agent_ids: Iterable[str] = ()) -> None:
    """Adds the users of HOTLINE_API_USERS, or the development logins in development: one
    per role and one per agent of `agent_ids` (role agent, password = its id)."""
    spec = getattr(settings, "api_users", "") or os.environ.get("HOTLINE_API_USERS", "")
    users = parse_user_specs(spec)
    if not spec and environment(settings) == DEVELOPMENT:
        users = parse_user_specs(DEV_USERS)
        users += [(a, a, frozenset({Role.AGENT}), "") for a in agent_ids]
    for name, password, roles, unit in users:
        agent_id = name if Role.AGENT in roles else ""
        await auth.users.add(User(name, auth.hash(password), roles, agent_id=agent_id,
                                  unit=unit))


__all__ = [
    "ALL_ROLES",
    "DEV_SECRET",
    "DEV_USERS",
    "FLOOR_WATCHERS",
    "INSPECTORS",
    "ROLE_ORDER",
    "STEERING",
    "Authenticator",
    "Claims",
    "InMemoryUserRepository",
    "InsecureSecret",
    "PostgresUserRepository",
    "Role",
    "TokenError",
    "TokenSigner",
    "User",
    "UserRepository",
    "api_secret",
    "ensure_current",
    "environment",
    "is_revoked",
    "parse_user_specs",
    "seed_users",
    "token_ttl_s",
]
