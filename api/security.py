"""Users, roles, password hashes (argon2) and signed short-lived tokens (JWT, HS256).

A token is a JWT (PyJWT) signed with HS256 and nothing else; its claims are {sub, roles, iat,
exp, auth_time}. Tokens are stateless: the roles in a valid token are trusted until it
expires, which is why tokens are short-lived (renewed by /api/auth/refresh or over the
live socket); only a user an admin disabled, re-roled or gave a new password loses its older
tokens at once (`User.tokens_after`; the rule is `is_revoked`, checked by api/deps.py on every
HTTP request and by api/live_registry.py for every live socket).

The secret comes from `Settings.api_secret` when that field exists, else HOTLINE_API_SECRET;
the environment from `Settings.environment` or HOTLINE_ENVIRONMENT (default "development").
Outside development a missing, default or short secret is refused at start-up.
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hotline.core.errors import Unavailable

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
    #: writes, reviews, publishes and retires knowledge-base articles (docs/knowledge-base.md)
    EDITOR = "editor"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
#: The role sets the API checks (api/deps.py names them for routes); an admin passes every
#: check. Defined here only.
FLOOR_WATCHERS = frozenset({Role.SUPERVISOR, Role.PLANNER})  # live agent states
STEERING = frozenset({Role.SUPERVISOR})  # who changes the floor: agents, skills, reasons
INSPECTORS = frozenset({Role.SUPERVISOR, Role.QA})  # routing explanations
PLANNERS = frozenset({Role.PLANNER})  # the forecast, its event days and its staffing
#: the centre's figures by agent, team, vendor, queue, service and unit (GET /api/reports/*):
#: the people who manage the floor and plan it
REPORT_READERS = frozenset({Role.SUPERVISOR, Role.PLANNER})
#: the warning lists of overdue, substantiated and slow orders: report readers, and the back
#: office for its own unit only (api/routes/reports.py)
WARNING_READERS = REPORT_READERS | {Role.BACK_OFFICE}
#: the balanced scorecard: report readers and QA see every agent, team and vendor; an agent
#: sees only its own card (api/routes/reports.py)
SCORECARD_READERS = REPORT_READERS | {Role.QA, Role.AGENT}
#: who enters exam and typing scores and conduct points (rewards, deductions)
SCORE_KEEPERS = frozenset({Role.SUPERVISOR, Role.QA})
#: the knowledge base's drafts, versions and life cycle (everyone signed in reads what is
#: published)
KB_EDITORS = frozenset({Role.EDITOR})
#: The users table's `role` holds the first of these a user has (the others: more_roles).
ROLE_ORDER = (Role.ADMIN, Role.SUPERVISOR, Role.PLANNER, Role.QA, Role.BACK_OFFICE,
              Role.EDITOR, Role.AGENT)


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


#: A refresh chain's absolute lifetime by default (HOTLINE_API_SESSION_MAX_S): a working day.
SESSION_MAX_S = 12 * 3600.0


def session_max_s(settings: object) -> float:
    return float(getattr(settings, "api_session_max_s", 0)
                 or os.environ.get("HOTLINE_API_SESSION_MAX_S", SESSION_MAX_S))


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
    auth_time: float = 0.0  # the password log-in that began this token's chain (0: unknown)

    def has_any(self, roles: Iterable[Role]) -> bool:
        return Role.ADMIN in self.roles or not self.roles.isdisjoint(roles)


#: The only algorithm a token may name: HMAC-SHA256 with the API secret. `alg: none`, other
#: HMACs and public-key algorithms are refused whatever the token's header says.
ALGORITHM = "HS256"
#: Claims every token carries (auth_time: when the password log-in that began its chain was).
REQUIRED_CLAIMS = ("sub", "roles", "iat", "exp", "auth_time")
_DECODE_OPTIONS: dict[str, Any] = {
    # expiry is checked against the signer's clock (tests and the live sockets inject one),
    # not PyJWT's wall clock; presence of every claim is PyJWT's check
    "verify_exp": False, "verify_iat": False, "verify_nbf": False,
    "require": list(REQUIRED_CLAIMS),
}


class TokenSigner:
    """Issues and verifies the API's tokens: JWTs (RFC 7519, PyJWT) signed with HS256.

    A token lives `ttl_s`; renewing it (/api/auth/refresh, the live socket's "token" message)
    gives a new token of the same chain, which keeps the `auth_time` of the password log-in
    that began it: no token of a chain expires later than `session_max_s` after that log-in,
    and a chain that has reached it is not renewed ("session ended": log in again)."""

    def __init__(self, secret: str, ttl_s: float, clock: Callable[[], float],
                 session_max_s: float = SESSION_MAX_S) -> None:
        self._key = secret
        self.ttl_s = ttl_s
        self.session_max_s = session_max_s
        self.clock = clock

    def issue(self, username: str, roles: Iterable[Role],
              auth_time: float | None = None) -> tuple[str, Claims]:
        """A token for a fresh log-in, or (with `auth_time`) one more of an existing chain."""
        now = self.clock()
        start = now if auth_time is None else auth_time
        end = start + self.session_max_s
        if now >= end:
            raise TokenError("session ended")
        claims = Claims(username, frozenset(roles), now, min(now + self.ttl_s, end), start)
        payload = {
            "sub": username,
            "roles": sorted(claims.roles),
            "iat": now,
            "exp": claims.expires_at,
            "auth_time": start,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def renew(self, claims: Claims) -> tuple[str, Claims]:
        """The next token of `claims`' chain (roles as in the old token), or
        TokenError("session ended")."""
        return self.issue(claims.username, claims.roles, claims.auth_time or claims.issued_at)

    def verify(self, token: str | None) -> Claims:
        if not token:
            raise TokenError("missing")
        if not token.isascii():  # a header may carry latin-1: malformed, never a 500
            raise TokenError("malformed")
        try:
            payload: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options=_DECODE_OPTIONS)
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise TokenError("invalid") from None
        except jwt.InvalidTokenError:  # not a JWT, a claim missing or of the wrong type
            raise TokenError("malformed") from None
        try:
            claims = Claims(
                str(payload["sub"]),
                frozenset(Role(r) for r in payload["roles"]),
                float(payload["iat"]),
                float(payload["exp"]),
                float(payload["auth_time"]),
            )
        except (ValueError, KeyError, TypeError):
            raise TokenError("malformed") from None
        if claims.expires_at <= self.clock():
            raise TokenError("expired")
        return claims


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
    the development logins at every start keeps a password someone changed.

    While PostgreSQL cannot be reached, `get` answers from the last record it read of that
    user (docs/outages.md): every request checks its token against the user's record, and
    screens that serve figures from memory must keep working through a database outage.
    Nothing can change a user meanwhile (that needs the database), so the record is as old
    as the outage at most. A user not read since the start gets `Unavailable` (503)."""

    pool: Any
    _last_known: dict[str, User | None] = field(default_factory=dict, repr=False)

    async def get(self, username: str) -> User | None:
        from hotline.centre import queries as store
        from hotline.store.db import is_unreachable

        try:
            async with self.pool.acquire() as conn:
                row = await store.get_user(conn, username)
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            if username in self._last_known:
                return self._last_known[username]
            raise Unavailable("the users' database cannot be reached now",
                              error_id="database-unavailable") from exc
        user = None if row is None else User(
            row.username, row.password_hash, frozenset(Role(r) for r in row.roles),
            display_name=row.display_name, agent_id=row.agent_id, disabled=not row.active,
            tokens_after=row.tokens_after, unit=row.unit)
        if len(self._last_known) >= 10_000 and username not in self._last_known:
            self._last_known.clear()  # bounded: names that do not exist are read too
        self._last_known[username] = user
        return user

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


#: Password checks running at once (each an argon2 hash on a worker thread, 64 MiB by
#: argon2-cffi's defaults); more wait their turn in the loop, so log-ins never take over the
#: shared thread pool (file reads, DNS) however many arrive.
HASH_SLOTS = 2


class Authenticator:
    """Checks passwords against the repository without blocking the loop (argon2 is slow on
    purpose), at most HASH_SLOTS at once, and without telling, by timing, whether the user
    exists. The log-in limits (api/login_limits.py) refuse a flood before it gets here."""

    def __init__(self, users: UserRepository, hasher: PasswordHasher | None = None) -> None:
        self.users = users
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("not a password of anyone")
        self._slots = asyncio.Semaphore(HASH_SLOTS)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    async def authenticate(self, username: str, password: str) -> User | None:
        user = await self.users.get(username)
        stored = user.password_hash if user is not None else self._dummy
        async with self._slots:
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
    per role and one per agent of `agent_ids` (role agent, password = its id). A user the
    repository holds already is left as it is."""
    spec = getattr(settings, "api_users", "") or os.environ.get("HOTLINE_API_USERS", "")
    users = parse_user_specs(spec)
    if not spec and environment(settings) == DEVELOPMENT:
        users = parse_user_specs(DEV_USERS)
        users += [(a, a, frozenset({Role.AGENT}), "") for a in agent_ids]
    slots = asyncio.Semaphore(HASH_SLOTS)

    async def add(name: str, password: str, roles: frozenset[Role], unit: str) -> None:
        if await auth.users.get(name) is not None:
            return  # stored already (a password changed since stays): nothing to hash
        async with slots:  # argon2 is slow on purpose: on worker threads, never the loop
            password_hash = await asyncio.to_thread(auth.hash, password)
        agent_id = name if Role.AGENT in roles else ""
        await auth.users.add(User(name, password_hash, roles, agent_id=agent_id, unit=unit))

    await asyncio.gather(*(add(*user) for user in users))


__all__ = [
    "ALGORITHM",
    "ALL_ROLES",
    "DEV_SECRET",
    "DEV_USERS",
    "FLOOR_WATCHERS",
    "INSPECTORS",
    "KB_EDITORS",
    "REPORT_READERS",
    "ROLE_ORDER",
    "SESSION_MAX_S",
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
    "session_max_s",
    "token_ttl_s",
]
