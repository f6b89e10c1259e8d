"""Agents' live states with today's figures."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import ServicesDep, Supervisor
from ..schemas import AgentLive
from .wallboard import ERRORS

router = APIRouter(prefix="/api", tags=["agents"])


@router.get("/agents", responses=ERRORS)
async def agents(_: Supervisor, services: ServicesDep) -> list[AgentLive]:
    now = services.clock()
    return [
        AgentLive(
            agent_id=agent_id,
            today=services.metrics.agent_figures(agent_id, "today", now),
            **row,
        )
        for agent_id, row in sorted(services.live.agents().items())
    ]
