"""Shared dependencies as Annotated aliases, so routes read `user: Supervisor`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from hotline.api.errors import forbidden, not_authenticated
from hotline.api.login_limits import LoginLimits
from hotline.api.security import (
    ALL_ROLES,
    FLOOR_WATCHERS,
    INSPECTORS,
    KB_EDITORS,
    PLANNERS,
    REPORT_READERS,
    SCORE_KEEPERS,
    SCORECARD_READERS,
    STEERING,
    WARNING_READERS,
    Authenticator,
    Claims,
    Role,
    TokenError,
    TokenSigner,
    ensure_current,
)
from hotline.api.services import Services
from hotline.core.settings import Settings


def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings  # type: ignore[no-any-return]


def get_services(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]


def get_signer(conn: HTTPConnection) -> TokenSigner:
    return conn.app.state.signer  # type: ignore[no-any-return]


def get_authenticator(conn: HTTPConnection) -> Authenticator:
    return conn.app.state.authenticator  # type: ignore[no-any-return]


def get_login_limits(conn: HTTPConnection) -> LoginLimits:
    return conn.app.state.login_limits  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]
SignerDep = Annotated[TokenSigner, Depends(get_signer)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]
LoginLimitsDep = Annotated[LoginLimits, Depends(get_login_limits)]

_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/token")


async def current_claims(
    signer: SignerDep,
    auth: AuthenticatorDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    try:
        claims = signer.verify(credentials.credentials if credentials else None)
        # A user an admin disabled, or whose roles or password changed (api/routes/users.py),
        # loses its tokens at once rather than at their expiry (the live sockets too:
        # api/live_registry.py applies the same rule).
        await ensure_current(auth.users, claims)
    except TokenError as exc:
        raise not_authenticated(exc.reason) from None
    return claims


CurrentUser = Annotated[Claims, Depends(current_claims)]


def require_roles(*roles: Role) -> Callable[[Claims], Awaitable[Claims]]:
    """A dependency that lets through users holding one of `roles` (admin always)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> Claims:
        if not user.has_any(allowed):
            raise forbidden(sorted({*allowed, Role.ADMIN}))
        return user

    return check


# The role aliases, once (the role sets are api/security.py's; admin passes every check).
#: Anyone logged in: the wallboard and the queue figures are for the whole floor.
Viewer = Annotated[Claims, Depends(require_roles(*ALL_ROLES))]
#: Live agent states: the people who watch the floor (supervisors and planners).
FloorWatcher = Annotated[Claims, Depends(require_roles(*FLOOR_WATCHERS))]
#: Changes to the floor (moving agents, skills, not-ready reasons): supervisors.
Steering = Annotated[Claims, Depends(require_roles(*STEERING))]
#: Routing explanations: supervisors and quality inspectors.
Inspector = Annotated[Claims, Depends(require_roles(*INSPECTORS))]
#: Workforce planning (the forecast, event days, required agents): planners.
Planner = Annotated[Claims, Depends(require_roles(*PLANNERS))]
#: The reports (figures by agent, team, vendor, queue, service, unit): supervisors, planners.
ReportReader = Annotated[Claims, Depends(require_roles(*REPORT_READERS))]
#: The warning lists: report readers, and the back office (its unit's only).
WarningReader = Annotated[Claims, Depends(require_roles(*WARNING_READERS))]
#: The balanced scorecard: report readers, QA, and an agent (its own card only).
ScorecardReader = Annotated[Claims, Depends(require_roles(*SCORECARD_READERS))]
#: Exam and typing scores, conduct points: supervisors and QA.
ScoreKeeper = Annotated[Claims, Depends(require_roles(*SCORE_KEEPERS))]
#: The knowledge base's drafts, reviews, publishing and retirement: editors.
Editor = Annotated[Claims, Depends(require_roles(*KB_EDITORS))]
#: Users and the centre's configuration: admins only.
Admin = Annotated[Claims, Depends(require_roles(Role.ADMIN))]

__all__ = [
    "Admin",
    "AuthenticatorDep",
    "CurrentUser",
    "Editor",
    "FloorWatcher",
    "Inspector",
    "LoginLimitsDep",
    "Planner",
    "ReportReader",
    "ScoreKeeper",
    "ScorecardReader",
    "ServicesDep",
    "SettingsDep",
    "SignerDep",
    "Steering",
    "Viewer",
    "WarningReader",
    "get_services",
    "get_settings",
    "require_roles",
]
