"""The centre's figures over a period from history (docs/metrics.md, "Report figures"), for
supervisors and planners (api/security.py REPORT_READERS): answer rate, first-call resolution
and repeat-call rate, complaints, callbacks, report orders year on year, utilisation and
occupancy, grouped by agent, team, vendor, centre, queue, service type or responsible unit.

PostgreSQL counts (hotline/reports/queries.py): this process holds one row per group. A
period is at most MAX_REPORT_SPAN_S (api/limits.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hotline.api.deps import ReportReader, ServicesDep, SettingsDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import (
    MAX_EPOCH,
    MAX_PAGE,
    MAX_REPORT_SPAN_S,
    Limit,
    Offset,
    SpanTooLong,
    check_span,
    page,
)
from hotline.api.routes.history import store as history_store
from hotline.reports import queries
from hotline.reports.model import By, Rules

router = APIRouter(prefix="/api/reports", tags=["reports"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 422, 503)}
Epoch = Annotated[float, Query(ge=0, le=MAX_EPOCH)]


class CountsOut(BaseModel):
    offered: int
    answered: int
    handled: int
    resolved_first: int
    entered: int
    repeats: int
    complaints: int
    verdicts: int
    substantiated: int
    complaints_due: int
    complaints_on_time: int
    callbacks_due: int
    callbacks_on_time: int
    callbacks_done: int
    reports: int
    reports_last_year: int
    busy_s: float
    available_s: float
    logged_in_s: float
    excused_s: float


class GroupOut(BaseModel):
    """One group's figures; a figure its grouping does not have is null, as is a ratio over
    nothing (docs/metrics.md, "Report figures")."""

    key: str
    answer_rate: float | None
    first_call_resolution: float | None
    repeat_call_rate: float | None
    complaint_rate: float | None
    substantiated_complaint_rate: float | None
    complaint_timeliness: float | None
    callback_timeliness: float | None
    callbacks_done: int | None
    report_orders: int | None
    report_orders_last_year: int | None
    report_orders_yoy: float | None
    utilisation: float | None
    occupancy: float | None
    counts: CountsOut


class ReportOut(BaseModel):
    since: float
    until: float
    by: By
    #: the centre's rules the figures were made with, stated on every report
    repeat_window_h: int
    utilisation_excused_reasons: list[str]
    total_groups: int  # `groups` is a page of them, by key
    groups: list[GroupOut]


@router.get("/figures", responses=ERRORS)
async def report_figures(_: ReportReader, services: ServicesDep, settings: SettingsDep,
                         since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                         until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                         by: By = By.CENTRE, limit: Limit = MAX_PAGE,
                         offset: Offset = 0) -> ReportOut:
    """The figures of [from, to) (epoch seconds, at most 31 days; `to` <= `from` is an empty
    period), one row per group of `by` (a page of them, by key); counts that need a moment
    to have passed (deadlines, agent time) stop at now."""
    try:
        check_span(since, until, MAX_REPORT_SPAN_S)
    except SpanTooLong as exc:
        raise ApiError(422, "invalid-request", "the request is not valid", {"errors": [
            {"loc": ["query", "to"], "msg": str(exc), "type": "value_error"}],
            "max_span_s": MAX_REPORT_SPAN_S}) from None
    rules = Rules(settings.repeat_window_s, frozenset(settings.utilisation_excused_reasons))
    async with history_store(services) as conn:
        found = await queries.report(conn, by, since, until, services.clock(), rules)
    return ReportOut(
        since=since, until=until, by=by, repeat_window_h=settings.repeat_window_h,
        utilisation_excused_reasons=sorted(rules.excused_reasons), total_groups=len(found),
        groups=[GroupOut(counts=CountsOut(**vars_of(f.counts)),
                         **{name: getattr(f, name) for name in GroupOut.model_fields
                            if name != "counts"}) for f in page(found, limit, offset)])


def vars_of(counts: object) -> dict[str, Any]:
    return {name: getattr(counts, name) for name in CountsOut.model_fields}


__all__ = ["router"]
