"""Users of the API, managed by admins: list, create with roles and a password, change roles,
reset a password, disable and enable. Users live in PostgreSQL (the users table); passwords
are argon2id hashes made by the app's Authenticator (never stored, logged or audited in
clear). Every change writes an audit_log row (what = "user.<change>").

A disabled user cannot sign in, and its tokens stop working at once, as do the tokens of a
user whose roles or password changed (api/deps.py checks the user on every request); its live
sockets close too, on every API node (each change is announced through the node's registry of
live sockets: api/live_registry.py); enabling a user again does not revive its old tokens.
An admin cannot
disable itself nor take its own admin role away: the centre is never left without one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.deps import Admin, AuthenticatorDep, ServicesDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import MAX_PAGE, Limit, Offset
from hotline.api.schemas import USERNAME_PATTERN
from hotline.api.security import ROLE_ORDER, Authenticator, PostgresUserRepository, Role
from hotline.api.services import Services
from hotline.centre import queries as store
from hotline.core import ids

router = APIRouter(prefix="/api/users", tags=["users"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422, 503)}
_NAME = USERNAME_PATTERN  # within the users table's CHECK (api/schemas.py)
Username = Annotated[str, Path(pattern=_NAME, examples=["chen.jie"])]
Roles = Annotated[list[Role], Field(min_length=1, max_length=5)]
Password = Annotated[str, Field(min_length=8, max_length=256)]


class UserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "username": "agent7", "display_name": "Chen Jie", "roles": ["agent"],
        "agent_id": "agent7", "active": True}]})

    username: str
    display_name: str
    roles: list[Role]
    #: the agent this login acts as (users with role agent: their own user name)
    agent_id: str
    active: bool
    #: the responsible unit a back-office user works for ("" for other roles)
    unit: str = ""


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "username": "agent7", "password": "a-long-password", "roles": ["agent"],
        "display_name": "Chen Jie"}]})

    username: Annotated[str, Field(pattern=_NAME)]
    password: Password
    roles: Roles
    display_name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f]*$")] = ""
    #: required with role back_office (the unit whose work orders it works), else ""
    unit: ids.UnitId | Literal[""] = ""


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"roles": ["supervisor", "qa"]}, {"roles": ["back_office"], "unit": "repair_crew"}]})
    roles: Roles
    #: required with role back_office, else ""
    unit: ids.UnitId | Literal[""] = ""


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"password": "a-new-long-one"}]})
    password: Password


def _pool(services: Services, auth: Authenticator) -> asyncpg.Pool:
    """The database that sign-ins read users from (503 when they come from elsewhere)."""
    users = auth.users
    if services.db_pool is None or not isinstance(users, PostgresUserRepository):
        raise ApiError(503, "users-unavailable", "users are managed in the database; this "
                       "API signs users in from another source")
    return users.pool


def _roles(roles: list[Role]) -> tuple[str, ...]:
    return tuple(r.value for r in sorted(set(roles), key=ROLE_ORDER.index))


def _unit(roles: tuple[str, ...], unit: str) -> str:
    """The unit a user with these roles works for: a back-office user has one (422
    `unit-required`); other users none (422 `unit-without-back-office`)."""
    if Role.BACK_OFFICE.value in roles and not unit:
        raise ApiError(422, "unit-required", "a back-office user works for a unit: give `unit`")
    if unit and Role.BACK_OFFICE.value not in roles:
        raise ApiError(422, "unit-without-back-office",
                       "only a back-office user works for a unit", {"unit": unit})
    return unit


def _out(row: store.UserRow) -> UserOut:
    return UserOut(username=row.username, display_name=row.display_name,
                   roles=[Role(r) for r in row.roles], agent_id=row.agent_id,
                   active=row.active, unit=row.unit)


def _no_user(username: str) -> ApiError:
    return ApiError(404, "no-such-user", f"no user {username!r}", {"username": username})


async def _hash(auth: Authenticator, password: str) -> str:
    return await asyncio.to_thread(auth.hash, password)  # argon2 is slow on purpose


async def _change(services: Services, auth: Authenticator, who: str, username: str,
                  what: str, details: dict[str, Any], **fields: Any) -> UserOut:
    """One change and its audit row, in one transaction; the user's current tokens stop
    working (issued before now by the API's clock, which signs them)."""
    async with _pool(services, auth).acquire() as conn, conn.transaction():
        if not await store.update_user(conn, username, tokens_after=services.clock(),
                                       **fields):
            raise _no_user(username)
        await store.audit(conn, who, what, {"username": username, **details})
        row = await store.get_user(conn, username)
    assert row is not None
    # committed: every node's live sockets of this user now read the new record
    await services.live_sockets.announce(username)
    return _out(row)


@router.get("", responses=ERRORS)
async def list_users(_: Admin, services: ServicesDep,
                     auth: AuthenticatorDep, limit: Limit = MAX_PAGE,
                     offset: Offset = 0) -> list[UserOut]:
    """Users by name, disabled ones included (never a password hash), a page of them."""
    async with _pool(services, auth).acquire() as conn:
        return [_out(r) for r in await store.list_users(conn, limit=limit, offset=offset)]


@router.post("", status_code=201, responses=ERRORS)
async def create_user(body: UserCreate, user: Admin, services: ServicesDep,
                      auth: AuthenticatorDep) -> UserOut:
    """A new user with roles and a password (at least 8 characters); 409 `user-exists`.
    A user with role agent acts as the agent of its own user name."""
    pool = _pool(services, auth)
    roles = _roles(body.roles)
    unit = _unit(roles, body.unit)
    row = store.UserRow(body.username, await _hash(auth, body.password), roles,
                        body.display_name, body.username if "agent" in roles else "", True,
                        unit=unit)
    async with pool.acquire() as conn, conn.transaction():
        if not await store.insert_user(conn, row):
            raise ApiError(409, "user-exists", f"user {body.username!r} exists",
                           {"username": body.username})
        await store.audit(conn, user.username, "user.created", {
            "username": body.username, "roles": list(roles),
            "display_name": body.display_name, "unit": unit})
    return _out(row)


@router.put("/{username}/roles", responses=ERRORS)
async def set_roles(username: Username, body: RolesIn, user: Admin,
                    services: ServicesDep, auth: AuthenticatorDep) -> UserOut:
    """Replaces the user's roles (and a back-office user's unit); its current tokens stop
    working (it signs in again)."""
    roles = _roles(body.roles)
    unit = _unit(roles, body.unit)
    if username == user.username and "admin" not in roles:
        raise ApiError(409, "own-admin-role", "you cannot take away your own admin role")
    async with _pool(services, auth).acquire() as conn:
        before = await store.get_user(conn, username)
    if before is None:
        raise _no_user(username)
    return await _change(services, auth, user.username, username, "user.roles_changed",
                         {"before": list(before.roles), "after": list(roles),
                          "unit_before": before.unit, "unit": unit}, roles=roles,
                         agent_id=username if "agent" in roles else "", unit=unit)


@router.put("/{username}/password", status_code=204, responses=ERRORS)
async def reset_password(username: Username, body: PasswordIn, user: Admin,
                         services: ServicesDep, auth: AuthenticatorDep) -> None:
    """Sets a new password (at least 8 characters); the user's tokens stop working; the
    audit row never holds the password."""
    await _change(services, auth, user.username, username, "user.password_reset", {},
                  password_hash=await _hash(auth, body.password))


@router.post("/{username}/disable", responses=ERRORS)
async def disable_user(username: Username, user: Admin, services: ServicesDep,
                       auth: AuthenticatorDep) -> UserOut:
    """The user can no longer sign in, and its tokens stop working at once."""
    if username == user.username:
        raise ApiError(409, "own-account", "you cannot disable your own account")
    return await _change(services, auth, user.username, username, "user.disabled", {},
                         active=False)


@router.post("/{username}/enable", responses=ERRORS)
async def enable_user(username: Username, user: Admin, services: ServicesDep,
                      auth: AuthenticatorDep) -> UserOut:
    """The user can sign in again (with the password it had)."""
    return await _change(services, auth, user.username, username, "user.enabled", {}, active=True)
