"""Agents' live states with today's figures."""

from __future__ import annotations

from fastapi import APIRouter

from hotline.api.deps import FloorWatcher, ServicesDep
from hotline.api.limits import MAX_PAGE, Limit, Offset, page
from hotline.api.routes.wallboard import ERRORS
from hotline.api.schemas import AgentLive

router = APIRouter(prefix="/api", tags=["agents"])


@router.get("/agents", responses=ERRORS)
async def agents(_: FloorWatcher, services: ServicesDep, limit: Limit = MAX_PAGE,
                 offset: Offset = 0) -> list[AgentLive]:
    """Agents by id, a page of them (the figures are computed for the page only)."""
    now = services.clock()
    return [
        AgentLive(
            agent_id=agent_id,
            today=services.metrics.agent_figures(agent_id, "today", now),
            **row,
        )
        for agent_id, row in page(sorted(services.live.agents().items()), limit, offset)
    ]
