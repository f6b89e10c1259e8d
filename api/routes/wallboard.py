"""The wallboard's full snapshot (the live socket sends the same figures as they change)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hotline.api.deps import ServicesDep, Viewer
from hotline.api.errors import ErrorResponse
from hotline.api.schemas import WALLBOARD_EXAMPLE
from hotline.api.services import Services

router = APIRouter(prefix="/api", tags=["wallboard"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


def parse_queues(text: str | None) -> frozenset[str] | None:
    """`a,b` -> {a, b}; empty -> None (every queue)."""
    names = frozenset(q.strip() for q in (text or "").split(",") if q.strip())
    return names or None


@router.get(
    "/wallboard",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": WALLBOARD_EXAMPLE}}}},
)
async def wallboard(
    _: Viewer,
    services: ServicesDep,
    queues: Annotated[str | None, Query(max_length=2000, description="a,b: only these")] = None,
) -> dict[str, Any]:
    """Every figure of every queue in three scopes (interval, today, window), agents by
    state, occupancy and today's service-level trend."""
    chosen = parse_queues(queues)
    if services.controller is None and services.remote is not None:  # an API process
        return await services.remote.figures(  # type: ignore[no-any-return]
            "wallboard", queues=sorted(chosen) if chosen is not None else None)
    return wallboard_view(services, chosen)


def wallboard_view(services: Services, chosen: frozenset[str] | None) -> dict[str, Any]:
    """The metrics' snapshot now, of the `chosen` queues only (None: every one)."""
    snap = services.metrics.snapshot(services.clock())
    if chosen is not None:
        snap["queues"] = {q: v for q, v in snap["queues"].items() if q in chosen}
        snap["agents_by_state"] = {
            k: v for k, v in snap["agents_by_state"].items() if k == "all" or k in chosen
        }
        snap["sl_trend"] = [p for p in snap["sl_trend"] if p["queue"] in chosen]
    return snap
