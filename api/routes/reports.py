"""The centre's figures over a period from history (docs/metrics.md, "Report figures"), for
supervisors and planners (api/security.py REPORT_READERS): answer rate, first-call resolution
and repeat-call rate, complaints, callbacks, report orders year on year, utilisation and
occupancy, grouped by agent, team, vendor, centre, queue, service type or responsible unit.

PostgreSQL counts (hotline/reports/queries.py): this process holds one row per group. A
period is at most MAX_REPORT_SPAN_S (api/limits.py).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_type_hints

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, create_model

from hotline.api.deps import (
    ReportReader,
    ScorecardReader,
    ScoreKeeper,
    ServicesDep,
    SettingsDep,
    Steering,
    WarningReader,
)
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import (
    MAX_BREAKDOWN_STEPS,
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
from hotline.api.security import REPORT_READERS, Role
from hotline.core import ids
from hotline.ivr_menu.model import SurveyConfig
from hotline.reports import queries, scheduler
from hotline.reports import scorecard as sc
from hotline.reports.exports import MEDIA_TYPES, Format, bucket_label, export
from hotline.reports.model import By, Counts, Figures, Rules, figures
from hotline.reports.periods import Period

router = APIRouter(prefix="/api/reports", tags=["reports"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 422, 503)}
Epoch = Annotated[float, Query(ge=0, le=MAX_EPOCH)]


def _model_of(cls: type, name: str, doc: str | None = None,
              retyped: dict[str, Any] | None = None, **extra: Any) -> type[BaseModel]:
    """A response model with the fields of the dataclass `cls` (hotline/reports/): a figure,
    a count or a row's field is declared there once. `retyped` gives some of them another
    type in their place (a nested dataclass: its response model); `extra` gives fields after
    the dataclass's own (one of its own moves there)."""
    hints = get_type_hints(cls)
    retyped = retyped or {}
    declared = {f.name: retyped.get(f.name, (hints[f.name], ...)) for f in fields(cls)
                if f.name not in extra}
    return create_model(name, __doc__=doc, **declared, **extra)


CountsOut = _model_of(Counts, "CountsOut", "The sums one group's figures are made of.")
#: One group's figures; a figure its grouping does not have is null, as is a ratio over
#: nothing (docs/metrics.md, "Report figures").
GroupOut = _model_of(Figures, "GroupOut", "One group's figures (docs/metrics.md).",
                     counts=(CountsOut, ...))
FIGURE_NAMES = tuple(f.name for f in fields(Figures) if f.name not in ("key", "counts"))


def group_out(f: Figures) -> BaseModel:
    return GroupOut(counts=CountsOut(**asdict(f.counts)),
                    **{name: getattr(f, name) for name in ("key", *FIGURE_NAMES)})


class ReportOut(BaseModel):
    since: float
    until: float
    by: By
    #: the centre's rules the figures were made with, stated on every report
    repeat_window_h: int
    utilisation_excused_reasons: list[str]
    total_groups: int  # `groups` is a page of them, by key
    groups: list[GroupOut]  # type: ignore[valid-type]


@router.get("/figures", responses=ERRORS)
async def report_figures(_: ReportReader, services: ServicesDep, settings: SettingsDep,
                         since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                         until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                         by: By = By.CENTRE, limit: Limit = MAX_PAGE,
                         offset: Offset = 0) -> ReportOut:
    """The figures of [from, to) (epoch seconds, at most 31 days; `to` <= `from` is an empty
    period), one row per group of `by` (a page of them, by key); counts that need a moment
    to have passed (deadlines, agent time) stop at now."""
    _period(since, until)
    rules = Rules.of(settings)
    async with history_store(services) as conn:
        found = await queries.report(conn, by, since, until, services.clock(), rules)
    return ReportOut(
        since=since, until=until, by=by, repeat_window_h=settings.repeat_window_h,
        utilisation_excused_reasons=sorted(rules.excused_reasons), total_groups=len(found),
        groups=[group_out(f) for f in page(found, limit, offset)])


class Step(enum.IntEnum):
    QUARTER = 900
    HOUR = 3600
    DAY = 86400


#: A group's key in a query (the longest key of any grouping: a queue name)
GroupKey = Annotated[str, Query(min_length=1, max_length=128)]


class BucketFiguresOut(BaseModel):
    start: float
    end: float
    figures: GroupOut  # type: ignore[valid-type]


class BreakdownOut(BaseModel):
    since: float
    until: float
    by: By
    key: str
    step: Step
    repeat_window_h: int
    utilisation_excused_reasons: list[str]
    total: GroupOut  # type: ignore[valid-type]  # the whole period's figures of the group
    buckets: list[BucketFiguresOut]  # every local day, hour or quarter, in time order


def _breakdown_span(since: float, until: float, step: Step) -> None:
    _period(since, until, min(MAX_REPORT_SPAN_S, MAX_BREAKDOWN_STEPS * float(step)))


@router.get("/breakdown", responses=ERRORS)
async def report_breakdown(_: ReportReader, services: ServicesDep, settings: SettingsDep,
                           since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                           until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                           key: GroupKey, by: By = By.CENTRE,
                           step: Step = Step.DAY) -> BreakdownOut:
    """One group's figures (`key` of `by`, e.g. a team or a queue; by centre: `centre`) in
    each local day, hour or 15 minutes of [from, to): a report's row drilled down
    (docs/metrics.md, "Drilling down"). At most MAX_BREAKDOWN_STEPS steps and 31 days. The
    same figures as GET /api/reports/figures, each bucket a report of its own; `total` is
    the whole period's, whose counts the buckets' sum to."""
    _breakdown_span(since, until, step)
    rules = Rules.of(settings)
    async with history_store(services) as conn:
        found = await queries.by_time(conn, by, key, since, until, services.clock(), rules,
                                      int(step), settings.utc_offset_s)
        whole = await queries.counts(conn, by, since, until, services.clock(), rules)
    return BreakdownOut(
        since=since, until=until, by=by, key=key, step=step,
        repeat_window_h=settings.repeat_window_h,
        utilisation_excused_reasons=sorted(rules.excused_reasons),
        total=group_out(figures(key, whole.get(key, Counts()), by)),
        buckets=[BucketFiguresOut(start=a, end=b, figures=group_out(f)) for a, b, f in found])


def _period(since: float, until: float, max_span_s: float = MAX_REPORT_SPAN_S) -> None:
    try:
        check_span(since, until, max_span_s)
    except SpanTooLong as exc:
        raise ApiError(422, "invalid-request", "the request is not valid", {"errors": [
            {"loc": ["query", "to"], "msg": str(exc), "type": "value_error"}],
            "max_span_s": max_span_s}) from None


# --- exports ------------------------------------------------------------------------------

@router.get("/export", responses={**ERRORS, 200: {"content": {
    t: {} for t in MEDIA_TYPES.values()}, "description": "the report as a file"}},
    response_class=Response)
async def export_figures(_: ReportReader, services: ServicesDep, settings: SettingsDep,
                         since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                         until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                         by: By = By.CENTRE, format: Format = Format.CSV,
                         key: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
                         step: Step | None = None) -> Response:
    """GET /api/reports/figures's every group as a CSV or XLSX file: the same figures and
    counts, one row a group, a column a figure (hotline/reports/exports.py). With `key`
    and `step`: GET /api/reports/breakdown's view, one row a bucket (its local start)."""
    if (key is None) != (step is None):
        raise ApiError(422, "invalid-request", "the request is not valid", {"errors": [
            {"loc": ["query", "step" if step is None else "key"],
             "msg": "a drilled-down export needs both key and step", "type": "value_error"}]})
    if key is not None and step is not None:
        _breakdown_span(since, until, step)
        async with history_store(services) as conn:
            drilled = await queries.by_time(conn, by, key, since, until, services.clock(),
                                            Rules.of(settings), int(step),
                                            settings.utc_offset_s)
        content = export([f for _, _, f in drilled], format, starts=[
            bucket_label(a, settings.utc_offset_s, step < Step.DAY) for a, _, _ in drilled])
        name = f"{by}-{_safe(key)}-{step.name.lower()}-{int(since)}-{int(until)}.{format}"
    else:
        _period(since, until)
        async with history_store(services) as conn:
            found = await queries.report(conn, by, since, until, services.clock(),
                                         Rules.of(settings))
        content = export(found, format)
        name = f"{by}-{int(since)}-{int(until)}.{format}"
    return Response(content, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- reports on schedule ------------------------------------------------------------------

class ScheduleIn(BaseModel):
    period: Period
    by: By
    format: Format


class ScheduleOut(ScheduleIn):
    id: int
    created_by: str
    created_at: float


FileOut = _model_of(scheduler.Made, "FileOut")


class FilesOut(BaseModel):
    total: int
    files: list[FileOut]  # type: ignore[valid-type]


def _schedule_out(s: scheduler.Schedule) -> ScheduleOut:
    return ScheduleOut(id=s.id, period=s.period, by=s.by, format=s.format,
                       created_by=s.created_by, created_at=s.created_at)


@router.get("/schedules", responses=ERRORS)
async def list_schedules(_: ReportReader, services: ServicesDep, limit: Limit = MAX_PAGE,
                         offset: Offset = 0) -> list[ScheduleOut]:
    """The reports made on schedule (a page of them, by id): each made once its day, week
    or month has ended."""
    async with history_store(services) as conn:
        return [_schedule_out(s) for s in await scheduler.schedules(conn, limit=limit,
                                                                    offset=offset)]


@router.post("/schedules", status_code=201, responses=ERRORS)
async def add_schedule(user: ReportReader, services: ServicesDep,
                       body: ScheduleIn) -> ScheduleOut:
    async with history_store(services) as conn:
        return _schedule_out(await scheduler.add(conn, body.period, body.by, body.format,
                                                 user.username, services.clock()))


@router.delete("/schedules/{schedule_id}", status_code=204, responses={**ERRORS, 404: {
    "model": ErrorResponse}})
async def delete_schedule(_: ReportReader, services: ServicesDep,
                          schedule_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> None:
    """The schedule and the reports it made."""
    async with history_store(services) as conn:
        if not await scheduler.delete(conn, schedule_id):
            raise ApiError(404, "schedule-not-found", f"no schedule {schedule_id}")


@router.get("/files", responses=ERRORS)
async def list_files(_: ReportReader, services: ServicesDep, limit: Limit = MAX_PAGE,
                     offset: Offset = 0) -> FilesOut:
    """The reports made on schedule, newest period first."""
    async with history_store(services) as conn:
        total, made = await scheduler.files(conn, limit=limit, offset=offset)
    return FilesOut(total=total, files=[FileOut(**asdict(m)) for m in made])


@router.get("/files/{file_id}", response_class=Response, responses={
    **ERRORS, 404: {"model": ErrorResponse}, 200: {"content": {
        t: {} for t in MEDIA_TYPES.values()}, "description": "the report as a file"}})
async def get_file(_: ReportReader, services: ServicesDep,
                   file_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
    async with history_store(services) as conn:
        found = await scheduler.file(conn, file_id)
    if found is None:
        raise ApiError(404, "file-not-found", f"no report file {file_id}")
    name, content = found
    return Response(content, media_type=MEDIA_TYPES[Format(name.rsplit(".", 1)[1])],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- warning lists ------------------------------------------------------------------------

class WarningKind(enum.StrEnum):
    MONTHLY = "monthly"  # per unit: overdue orders and substantiated complaints
    SLOW = "slow"  # the week's slow orders


WarnedOut = _model_of(queries.Warned, "WarnedOut")


class WarningsOut(BaseModel):
    kind: WarningKind
    since: float
    until: float
    slow_share: float
    total: int  # `orders` is a page of them
    orders: list[WarnedOut]  # type: ignore[valid-type]


@router.get("/warnings", responses=ERRORS)
async def warning_list(
        user: WarningReader, services: ServicesDep,
        since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
        until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
        kind: WarningKind = WarningKind.MONTHLY,
        unit: Annotated[ids.UnitId | None, Query()] = None,
        slow_share: Annotated[float, Query(gt=0, le=1)] = 0.8,
        limit: Limit = MAX_PAGE, offset: Offset = 0) -> WarningsOut:
    """The monthly warning list per unit (orders overdue, substantiated complaints) or the
    weekly list of slow orders (docs/metrics.md, "Warning lists"), of [from, to) (at most 31
    days). The back office reads its own unit's only (403 `not-your-unit`)."""
    _period(since, until)
    if not user.has_any(REPORT_READERS):
        record = await services.users.get(user.username)
        own = record.unit if record is not None else ""
        if unit is not None and unit != own:
            raise ApiError(403, "not-your-unit", f"{user.username} works for "
                           f"{own or 'no unit'}, not {unit}", {"unit": unit})
        unit = own
    async with history_store(services) as conn:
        found = await queries.warnings(conn, kind, since, until, services.clock(), unit,
                                       slow_share)
    return WarningsOut(kind=kind, since=since, until=until, slow_share=slow_share,
                       total=len(found),
                       orders=[WarnedOut(**asdict(w)) for w in page(found, limit, offset)])


# --- the balanced scorecard ---------------------------------------------------------------

class CardBy(enum.StrEnum):
    AGENT = "agent"
    TEAM = "team"
    VENDOR = "vendor"


LineOut = _model_of(sc.Line, "LineOut")
CardOut = _model_of(sc.Card, "CardOut", retyped={
    "lines": (list[LineOut], ...), "errors": (dict[str, int], ...)})  # type: ignore[valid-type]


class ScorecardOut(BaseModel):
    since: float
    until: float
    by: CardBy
    total_cards: int  # `cards` is a page of them, by key
    cards: list[CardOut]  # type: ignore[valid-type]


@router.get("/scorecard", responses=ERRORS)
async def balanced_scorecard(user: ScorecardReader, services: ServicesDep,
                             settings: SettingsDep,
                             since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                             until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                             by: CardBy = CardBy.AGENT, limit: Limit = MAX_PAGE,
                             offset: Offset = 0) -> ScorecardOut:
    """The balanced scorecard of [from, to) (at most 31 days) by agent, team or vendor
    (docs/metrics.md, "Balanced scorecard"). An agent reads its own card only (by agent:
    403 `not-your-card` otherwise)."""
    _period(since, until)
    only = None
    if not user.has_any(REPORT_READERS | {Role.QA}):
        if by is not CardBy.AGENT:
            raise ApiError(403, "not-your-card", "an agent reads its own card only")
        only = user.username
    async with history_store(services) as conn:
        values = await queries.scorecard_values(conn, By(by), since, until, services.clock(),
                                                Rules.of(settings))
        indicators = sc.with_targets(await queries.targets(conn))
    cards = [sc.card(key, v.values, indicators, v.conduct, v.errors, v.fatal_errors)
             for key, v in values.items() if only is None or key == only]
    return ScorecardOut(since=since, until=until, by=by, total_cards=len(cards), cards=[
        CardOut(**{**asdict(c), "lines": [LineOut(**asdict(ln)) for ln in c.lines]})
        for c in page(cards, limit, offset)])


class TargetIn(BaseModel):
    target: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
    weight: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


Indicator = enum.StrEnum("Indicator", {i.name: i.name for i in sc.INDICATORS})  # type: ignore[misc]


@router.get("/scorecard/targets", responses=ERRORS)
async def scorecard_targets(_: ScorecardReader, services: ServicesDep) -> list[LineOut]:
    """Every indicator's target and weight (the centre's, or the default)."""
    async with history_store(services) as conn:
        indicators = sc.with_targets(await queries.targets(conn))
    return [LineOut(name=i.name, value=None, target=i.target, weight=i.weight, score=None)
            for i in indicators]


@router.put("/scorecard/targets/{indicator}", status_code=204, responses=ERRORS)
async def set_target(user: Steering, services: ServicesDep, indicator: Indicator,
                     body: TargetIn) -> None:
    """The centre's target and weight of an indicator (supervisors)."""
    async with history_store(services) as conn:
        await conn.execute(
            "INSERT INTO scorecard_targets (indicator, target, weight, updated_by, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (indicator) DO UPDATE SET"
            " target = $2, weight = $3, updated_by = $4, updated_at = $5",
            str(indicator), body.target, body.weight, user.username,
            datetime.fromtimestamp(services.clock(), UTC))


class ScoreIn(BaseModel):
    agent_id: ids.AgentId
    kind: Literal["exam", "typing"]
    taken_at: Annotated[float, Field(ge=0, le=MAX_EPOCH)]
    score: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class ConductIn(BaseModel):
    agent_id: ids.AgentId
    at: Annotated[float, Field(ge=0, le=MAX_EPOCH)]
    points: Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class EnteredOut(BaseModel):
    id: int


@router.post("/scorecard/scores", status_code=201, responses=ERRORS)
async def add_score(user: ScoreKeeper, services: ServicesDep, body: ScoreIn) -> EnteredOut:
    """A monthly exam (0-100) or typing test (characters a minute) an agent took."""
    async with history_store(services) as conn:
        return EnteredOut(id=await conn.fetchval(
            "INSERT INTO scorecard_scores (agent_id, kind, taken_at, score, entered_by,"
            " entered_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", body.agent_id,
            body.kind, _at(body.taken_at), body.score, user.username,
            _at(services.clock())))


@router.post("/scorecard/conduct", status_code=201, responses=ERRORS)
async def add_conduct(user: ScoreKeeper, services: ServicesDep,
                      body: ConductIn) -> EnteredOut:
    """A reward (points > 0) or a deduction (points < 0), with its reason."""
    async with history_store(services) as conn:
        return EnteredOut(id=await conn.fetchval(
            "INSERT INTO scorecard_conduct (agent_id, at, points, reason, entered_by,"
            " entered_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", body.agent_id,
            _at(body.at), body.points, body.reason, user.username, _at(services.clock())))


# --- the charts ---------------------------------------------------------------------------

class BucketOut(BaseModel):
    start: float
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    sl_target: float | None


@router.get("/intervals", responses=ERRORS)
async def interval_chart(
        _: ReportReader, services: ServicesDep, settings: SettingsDep,
        since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
        until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
        queue: Annotated[str, Query(min_length=1, max_length=128)] = "*",
        step: Step = Step.QUARTER) -> list[BucketOut]:
    """A queue's volume, answers, abandons and service level against its target per 15
    minutes, hour or local day (queue `*`: all queues), from the interval rows."""
    _period(since, until)
    async with history_store(services) as conn:
        found = await queries.intervals(conn, queue, since, until, step,
                                        settings.utc_offset_s)
    return [BucketOut(**asdict(b)) for b in found]


class NpsDayOut(BaseModel):
    start: float
    nps: float | None
    nps_answers: int
    satisfaction_rate: float | None


@router.get("/nps", responses=ERRORS)
async def nps_trend(_: ReportReader, services: ServicesDep, settings: SettingsDep,
                    since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                    until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                    ) -> list[NpsDayOut]:
    """NPS and the satisfaction rate of each local day (docs/metrics.md, "Survey"); the
    centre's satisfaction scale is the IVR tree's default (SurveyConfig)."""
    _period(since, until)
    survey = SurveyConfig()
    async with history_store(services) as conn:
        days = await queries.nps_by_day(conn, since, until, settings.utc_offset_s,
                                        survey.satisfied_to, survey.dissatisfied_from)
    return [NpsDayOut(start=start, nps=f.nps if f else None,
                      nps_answers=f.nps_answers if f else 0,
                      satisfaction_rate=f.satisfaction_rate if f else None)
            for start, f in days]


class SpanOut(BaseModel):
    agent_id: str
    state: str
    start: float
    end: float


class SpansOut(BaseModel):
    spans: list[SpanOut]  # a page: ask for the next while a page comes back full


#: An agent state timeline covers at most a day
MAX_TIMELINE_S = 86400.0


@router.get("/states", responses=ERRORS)
async def state_timeline(_: ReportReader, services: ServicesDep,
                         since: Annotated[float, Query(alias="from", ge=0, le=MAX_EPOCH)],
                         until: Annotated[float, Query(alias="to", ge=0, le=MAX_EPOCH)],
                         limit: Limit = MAX_PAGE, offset: Offset = 0) -> SpansOut:
    """Every agent's states over [from, to) (at most a day; up to now), logged-out time
    left out: the agent state timeline, a page of spans by agent and time."""
    _period(since, until, MAX_TIMELINE_S)
    async with history_store(services) as conn:
        spans = await queries.state_spans(conn, since, until, services.clock(), limit=limit,
                                          offset=offset)
    return SpansOut(spans=[SpanOut(agent_id=a, state=s, start=b, end=e)
                           for a, s, b, e in spans])


def _safe(key: str) -> str:
    """A group key as a piece of an ASCII file name."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in key)


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


__all__ = ["router"]
