"""Logins: a username and password for a short-lived token; a token for a fresh one."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hotline.api.deps import (
    AuthenticatorDep,
    CurrentUser,
    LoginLimitsDep,
    ServicesDep,
    SignerDep,
)
from hotline.api.errors import ApiError, ErrorResponse, not_authenticated
from hotline.api.login_limits import TooManyLogins
from hotline.api.schemas import Me, TokenRequest, TokenResponse
from hotline.api.security import Claims, Role, TokenError

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _response(token: str, claims: Claims) -> TokenResponse:
    return TokenResponse(
        access_token=token,
        expires_at=claims.expires_at,
        username=claims.username,
        roles=sorted(claims.roles),
    )


@router.post("/token", responses={401: {"model": ErrorResponse}, 429: {"model": ErrorResponse}})
async def token(
    body: TokenRequest,
    request: Request,
    auth: AuthenticatorDep,
    signer: SignerDep,
    limits: LoginLimitsDep,
) -> TokenResponse:
    """A token for a user name and password. Too many tries for the user name or from the
    client's address (api/login_limits.py): 429 with Retry-After, the password unchecked."""
    try:
        limits.admit(body.username, request.client.host if request.client else "")
    except TooManyLogins as exc:
        raise ApiError(429, "too-many-logins", str(exc),
                       {"retry_after_s": exc.retry_after_s, "limit": exc.limit},
                       {"Retry-After": str(exc.retry_after_s)}) from None
    user = await auth.authenticate(body.username, body.password)
    if user is None:
        raise ApiError(401, "bad-credentials", "unknown user or wrong password")
    limits.succeeded(user.username)
    return _response(*signer.issue(user.username, user.roles))


@router.post("/refresh", responses={401: {"model": ErrorResponse}})
async def refresh(user: CurrentUser, signer: SignerDep) -> TokenResponse:
    """A fresh token for the holder of a valid one (roles as in the old token), within the
    chain's absolute lifetime (HOTLINE_API_SESSION_MAX_S after the password log-in; then
    401 "session ended": log in again)."""
    try:
        return _response(*signer.renew(user))
    except TokenError as exc:
        raise not_authenticated(exc.reason) from None


@router.get("/me", responses={401: {"model": ErrorResponse}})
async def me(user: CurrentUser, services: ServicesDep) -> Me:
    """Who the token is for; a back office user's unit too (its pages open on that unit)."""
    unit = ""
    if Role.BACK_OFFICE in user.roles:
        record = await services.users.get(user.username)
        unit = record.unit if record is not None else ""
    return Me(username=user.username, roles=sorted(user.roles), expires_at=user.expires_at,
              unit=unit)
