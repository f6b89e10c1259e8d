"""Agents' live states with today's figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hotline.api.deps import FloorWatcher, ServicesDep
from hotline.api.limits import MAX_PAGE, Limit, Offset, page
from hotline.api.routes.wallboard import ERRORS
from hotline.api.schemas import AgentLive
from hotline.api.services import Services

router = APIRouter(prefix="/api", tags=["agents"])


def agent_rows(services: Services, rows: list[tuple[str, dict[str, Any]]]) -> list[AgentLive]:
    now = services.clock()
    return [AgentLive(agent_id=agent_id,
                      today=services.metrics.agent_figures(agent_id, "today", now), **row)
            for agent_id, row in rows]


@router.get("/agents", responses=ERRORS)
async def agents(_: FloorWatcher, services: ServicesDep, limit: Limit = MAX_PAGE,
                 offset: Offset = 0) -> list[AgentLive]:
    """Agents by id, a page of them (the figures are computed for the page only)."""
    if services.controller is None and services.remote is not None:  # an API process
        return [AgentLive.model_validate(a) for a in
                await services.remote.figures("agents", limit=limit, offset=offset)]
    return agent_page(services, limit, offset)


def agent_page(services: Services, limit: int, offset: int) -> list[AgentLive]:
    """A page of agents with their figures (computed for the page only)."""
    return agent_rows(services, page(sorted(services.live.agents().items()), limit, offset))
