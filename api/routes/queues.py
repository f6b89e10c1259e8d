"""Queues now: figures, who waits, agents by state."""

from __future__ import annotations

from fastapi import APIRouter

from hotline.api.deps import ServicesDep, Viewer
from hotline.api.limits import MAX_PAGE, Limit, Offset
from hotline.api.routes.wallboard import ERRORS
from hotline.api.schemas import QueueSummary
from hotline.api.services import Services

router = APIRouter(prefix="/api", tags=["queues"])


def queue_summaries(services: Services, names: list[str] | None = None) -> list[QueueSummary]:
    """The queues now (`names`: these only, else every one)."""
    m, now = services.metrics, services.clock()
    out = []
    for name in m.queues() if names is None else names:
        today = m.queue_figures(name, "today", now)
        out.append(
            QueueSummary(
                name=name,
                sl_target=today.sl_target,
                sl_seconds=today.sl_seconds,
                waiting=today.waiting_now,
                longest_wait_s=today.longest_wait_s,
                agents_by_state={s.value: n for s, n in m.agents_by_state(name).items() if n},
                today=today,
                interval=m.queue_figures(name, "interval", now),
            )
        )
    return out


@router.get("/queues", responses=ERRORS)
async def queues(_: Viewer, services: ServicesDep, limit: Limit = MAX_PAGE,
                 offset: Offset = 0) -> list[QueueSummary]:
    if services.controller is None and services.remote is not None:  # an API process
        return [QueueSummary.model_validate(q) for q in
                await services.remote.figures("queues", limit=limit, offset=offset)]
    return queue_page(services, limit, offset)


def queue_page(services: Services, limit: int, offset: int) -> list[QueueSummary]:
    return queue_summaries(services, services.metrics.queues()[offset:offset + limit])
