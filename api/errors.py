"""Errors as JSON with a stable id: {"error": {"id", "message", "details"}}.

Routes raise `ApiError` (or one of the named ones); framework errors (404 of a route, a body
that fails validation, an unexpected exception) are mapped here too, so every error a client
sees has the same shape and an id it can switch on.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("hotline.api")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_id: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message
        self.details = details or {}
        self.headers = headers


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


def _body(error_id: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"id": error_id, "message": message, "details": jsonable_encoder(details)}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.error_id, exc.message, exc.details), exc.status, headers=exc.headers
        )

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
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(_body("internal-error", "internal error", {}), 500)


__all__ = ["ApiError", "ErrorResponse", "forbidden", "install", "not_authenticated"]
