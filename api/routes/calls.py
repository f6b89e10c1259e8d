"""Why a call went where it went: the router's explanations of its offers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hotline.api.deps import Inspector, ServicesDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import MAX_PAGE, Limit, Offset, page
from hotline.api.routes.wallboard import ERRORS
from hotline.api.schemas import ExplanationOut
from hotline.api.services import Explainer

router = APIRouter(prefix="/api/calls", tags=["calls"])


@router.get("/{call_id}/explanation", responses={**ERRORS, 404: {"model": ErrorResponse}})
async def explanation(
    _: Inspector,
    services: ServicesDep,
    call_id: Annotated[str, Path(max_length=128, examples=["1795432233.17"])],
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> list[ExplanationOut]:
    """Every offer decision for the call, oldest first (a ring with no answer makes another)."""
    if services.explainer is None and services.remote is not None:  # an API process
        return [ExplanationOut.model_validate(e) for e in
                await services.remote.explain(call_id, limit=limit, offset=offset)]
    if services.explainer is None:
        raise ApiError(503, "router-unavailable", "no router is attached to this API node")
    return explanations(services.explainer, call_id, limit, offset)


def explanations(explainer: Explainer, call_id: str, limit: int, offset: int
                 ) -> list[ExplanationOut]:
    """A page of the call's offer decisions; 404 `no-such-call` when none is known."""
    found = explainer.explain(call_id)
    if not found:
        raise ApiError(
            404, "no-such-call", "no routing decision is known for this call", {"call_id": call_id}
        )
    return [ExplanationOut.of(e) for e in page(list(found), limit, offset)]
