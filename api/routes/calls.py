"""Why a call went where it went: the router's explanations of its offers."""

from __future__ import annotations

import logging
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path

from hotline.api.deps import Inspector, ServicesDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import MAX_PAGE, Limit, Offset, page
from hotline.api.routes.history import readable, store
from hotline.api.routes.wallboard import ERRORS
from hotline.api.schemas import ExplanationOut
from hotline.api.services import Explainer, Services
from hotline.store import queries

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/calls", tags=["calls"])


@router.get("/{call_id}/explanation", responses={**ERRORS, 404: {"model": ErrorResponse}})
async def explanation(
    _: Inspector,
    services: ServicesDep,
    call_id: Annotated[str, Path(max_length=128, examples=["1795432233.17"])],
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> list[ExplanationOut]:
    """Every offer decision for the call, oldest first (a ring with no answer makes another):
    the history's (every decision is stored, a little after it is made) and the router's
    not stored yet (it remembers its recent calls' decisions, `explain_keep`), by time. 404
    `no-such-call` when neither has any; the router's own error when it cannot answer and
    the history has none."""
    refused: ApiError | None = None
    try:
        recent = await from_router(services, call_id)
    except ApiError as exc:
        if not router_may_not_know(exc) or services.db_pool is None:
            raise
        recent, refused = [], exc
    stored = await from_store(services, call_id) if services.db_pool is not None else []
    seen = {e.at for e in stored}  # the router's that are stored already
    found = sorted([*stored, *(e for e in recent if e.at not in seen)], key=lambda e: e.at)
    if not found:
        raise refused or no_decision(call_id)
    return page(found, limit, offset)


def router_may_not_know(exc: ApiError) -> bool:
    """A refusal the history may answer for: the router does not remember the call (404), or
    no router answered (no controller active, Redis or the command bus down: 5xx)."""
    return exc.error_id == "no-such-call" or exc.status >= 500


async def from_router(services: Services, call_id: str) -> list[ExplanationOut]:
    if services.explainer is None and services.remote is not None:  # an API process
        return [ExplanationOut.model_validate(e) for e in
                await services.remote.explain(call_id, limit=MAX_PAGE, offset=0)]
    if services.explainer is None:
        raise ApiError(503, "router-unavailable", "no router is attached to this API node")
    return explanations(services.explainer, call_id, MAX_PAGE, 0)


async def from_store(services: Services, call_id: str) -> list[ExplanationOut]:
    """The call's stored decisions (none when the history cannot be read: the router's
    are then all there is)."""
    try:
        async with store(services) as conn:
            return readable(call_id, await queries.explanations(conn, call_id,
                                                                limit=MAX_PAGE))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("call %s: stored explanations unreadable (%s)", call_id, exc)
        return []


def no_decision(call_id: str) -> ApiError:
    return ApiError(404, "no-such-call", "no routing decision is known for this call",
                    {"call_id": call_id})


def explanations(explainer: Explainer, call_id: str, limit: int, offset: int
                 ) -> list[ExplanationOut]:
    """A page of the call's offer decisions; 404 `no-such-call` when none is known."""
    found = explainer.explain(call_id)
    if not found:
        raise no_decision(call_id)
    return [ExplanationOut.of(e) for e in page(list(found), limit, offset)]
