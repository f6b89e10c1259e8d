"""Errors as JSON with a stable id: {"error": {"id", "message", "details"}}.

One handler answers every project error (hotline.core.errors.HotlineError): its kind gives the
status (`STATUS_OF_KIND`), its `error_id` and `details` the body. Routes raise the services'
errors as they come, or `ApiError` for what only HTTP knows (a status of its own, headers).
Framework errors (404 of a route, a body that fails validation, an unexpected exception) are
mapped here too, so every error a client sees has the same shape and an id it can switch on.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.core.errors import (
    Conflict,
    HotlineError,
    InvalidRequest,
    NotFound,
    PeerRefused,
    Unavailable,
)

log = logging.getLogger("hotline.api")

#: The HTTP status of each kind of error (hotline/core/errors.py); anything else of ours: 500.
STATUS_OF_KIND: tuple[tuple[type[HotlineError], int], ...] = (
    (InvalidRequest, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
    (PeerRefused, 502),
)


class ApiError(HotlineError):
    """An error only HTTP knows how to say: its own status (401, 403, 410, 416...) and
    headers."""

    def __init__(
        self,
        status: int,
        error_id: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, error_id=error_id, details=details)
        self.status = status
        self.headers = headers


def status_of(exc: HotlineError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    for kind, status in STATUS_OF_KIND:
        if isinstance(exc, kind):
            return status
    return 500


def not_authenticated(reason: str) -> ApiError:
    return ApiError(
        401,
        "not-authenticated",
        f"a valid bearer token is required (token {reason})",
        {"reason": reason},
        {"WWW-Authenticate": "Bearer"},
    )


def forbidden(needed: list[str]) -> ApiError:
    return ApiError(403, "forbidden", "your role may not do this", {"roles_allowed": needed})


class ErrorBody(BaseModel):
    id: str
    message: str
    details: dict[str, Any] = {}


class ErrorResponse(BaseModel):
    """The shape of every error response."""

    error: ErrorBody


_STATUS_IDS = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    422: "invalid-request",
}


DATABASE_UNAVAILABLE = "database-unavailable"


def database_unreachable(exc: BaseException) -> bool:
    """PostgreSQL refused or lost the connection (it is down, restarting, out of slots):
    what a route that reads or writes the database meets during an outage."""
    return isinstance(exc, ConnectionError | asyncpg.PostgresConnectionError
                      | asyncpg.exceptions.OperatorInterventionError
                      | asyncpg.exceptions.InsufficientResourcesError) or (
        isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError))


def _body(error_id: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"id": error_id, "message": message, "details": jsonable_encoder(details)}}


def install(app: FastAPI) -> None:
    @app.exception_handler(HotlineError)
    async def _project_error(_: Request, exc: HotlineError) -> JSONResponse:
        status = status_of(exc)
        if status == 500:  # a bug of ours: logged, and its message kept to ourselves
            log.exception("unhandled error", exc_info=exc)
            return JSONResponse(_body("internal-error", "internal error", {}), 500)
        return JSONResponse(_body(exc.error_id, exc.message, exc.details), status,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_id = _STATUS_IDS.get(exc.status_code, f"http-{exc.status_code}")
        return JSONResponse(
            _body(error_id, str(exc.detail), {}), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(
            _body("invalid-request", "the request is not valid", {"errors": errors}), 422
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if database_unreachable(exc):  # an outage, not a bug: said plainly, at once
            log.warning("%s: %s", DATABASE_UNAVAILABLE, exc)
            return JSONResponse(_body(DATABASE_UNAVAILABLE, "the database cannot be reached "
                                      "now; try again shortly", {}), 503,
                                headers={"Retry-After": "5"})
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(_body("internal-error", "internal error", {}), 500)


__all__ = [
    "DATABASE_UNAVAILABLE",
    "STATUS_OF_KIND",
    "ApiError",
    "ErrorResponse",
    "database_unreachable",
    "forbidden",
    "install",
    "not_authenticated",
    "status_of",
]
