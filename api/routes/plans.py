"""Staffing plans (#19.3) and adherence (#19.4): the month plan's head count per day and queue,
the week's shifts assigned by the CP-SAT model (in a worker process, with a time limit), the
day's fine-tuning and its gap per interval, publishing to agents (an agent reads its own
published shift), and adherence and conformance of a day. Every change is audited (plan.*).
Definitions: docs/planning.md, "Plans" and "Adherence"."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from hotline.api.deps import FloorWatcher, Planner, ServicesDep, SettingsDep, require_roles
from hotline.api.errors import ApiError
from hotline.api.limits import MAX_PLAN_CHOICES, MAX_PLAN_SECONDS, Limit, Offset, page
from hotline.api.routes.history import store as history_store
from hotline.api.routes.planning import (
    ERRORS,
    MAX_WEEKS,
    Erlang,
    Queue,
    Shrinkage,
    SlSeconds,
    SlTarget,
    check_days,
    hhmm,
    sized,
)
from hotline.api.security import Claims, Role
from hotline.api.services import Services
from hotline.api.workers import SOLVER, WorkerBusy, WorkerFailed
from hotline.core import ids
from hotline.planning import plan_queries as pq
from hotline.planning.adherence import day_adherence, fits
from hotline.planning.plans import agent_specs, day_gaps, headcount_for, planned, week_problem
from hotline.planning.queries import day_start
from hotline.planning.rostering import ProblemTooLarge, Rules, check_size, solve_week
from hotline.planning.service import DEFAULT_WEEKS
from hotline.planning.shifts import DAY_MIN, Break, InvalidShift, Shift, check, length_of, templates

router = APIRouter(prefix="/api", tags=["plans"])

AgentId = Annotated[ids.AgentId, Path(examples=["agent1"])]
Minute = Annotated[int, Field(ge=0, le=DAY_MIN)]
WEEK_DAYS = 7


class SizeIn(BaseModel):
    """How the need per interval is computed: the forecast and its staffing (GET
    /api/planning/forecast's parameters). Breaks and lunch are in the shifts, so the
    shrinkage here is the rest (absence, training)."""

    weeks: int = Field(DEFAULT_WEEKS, ge=1, le=MAX_WEEKS)
    shrinkage: float = Field(0.0, ge=0, le=0.9)
    sl_target: float | None = Field(None, gt=0, lt=1)
    sl_seconds: float | None = Field(None, gt=0, le=3600)
    erlang: Literal["a", "c"] = "a"


async def need_of(services: Services, offset: int, queue: str, day: date,
                  s: SizeIn) -> list[int]:
    """Agents to have on the phones per interval (the forecast's `scheduled`)."""
    z = await sized(services, offset, queue, day, s.weeks, s.shrinkage, s.sl_target,
                    s.sl_seconds, s.erlang)
    return [n.scheduled for n in z.needs]


# ---- contracts


class ContractIn(BaseModel):
    hours_week: float = Field(ge=0, le=84, description="paid hours a week, worked exactly")
    days_off_wish: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        [], max_length=7, description="weekdays (Monday 0) the agent would rather not work")
    earliest_start_min: Minute | None = None
    latest_start_min: Minute | None = None


class ContractOut(ContractIn):
    agent_id: str
    queues: list[str]  # the queues its skills qualify it for
    contracted: bool


@router.get("/plans/contracts", responses=ERRORS)
async def list_contracts(_: Planner, services: ServicesDep, limit: Limit = 100,
                         offset: Offset = 0) -> list[ContractOut]:
    """Every active agent by id, a page of them: its queues and its contract (hours 0 and
    `contracted` false without one: such an agent is not planned)."""
    async with history_store(services) as conn:
        queues = await pq.agent_queues(conn)
        cs = await pq.contracts(conn)
    out = []
    for agent_id, qs in page(list(queues.items()), limit, offset):
        c = cs.get(agent_id)
        out.append(ContractOut(
            agent_id=agent_id, queues=list(qs), contracted=c is not None,
            hours_week=c.hours_week if c else 0.0,
            days_off_wish=list(c.days_off_wish) if c else [],
            earliest_start_min=c.earliest_start_min if c else None,
            latest_start_min=c.latest_start_min if c else None))
    return out


@router.put("/plans/contracts/{agent_id}", responses=ERRORS)
async def set_contract(user: Planner, services: ServicesDep, agent_id: AgentId,
                       body: ContractIn) -> ContractIn:
    """Audited ("plan.contract.set"); 404 for an unknown agent."""
    c = pq.Contract(agent_id, body.hours_week, tuple(sorted(set(body.days_off_wish))),
                    body.earliest_start_min, body.latest_start_min)
    async with history_store(services) as conn:
        try:
            await pq.set_contract(conn, c, user.username, services.clock())
        except asyncpg.ForeignKeyViolationError:
            raise ApiError(404, "agent-not-found", f"no agent {agent_id!r}") from None
    return body


# ---- the month plan


class MonthDayOut(BaseModel):
    day: date
    suggested: int | None  # from the forecast; None without history
    headcount: int | None  # the plan's, None when not set


class MonthOut(BaseModel):
    queue: str
    month: str
    shift_paid_min: int
    days: list[MonthDayOut]


ShiftHours = Annotated[float, Query(ge=2, le=12, description="a shift's length, lunch in it")]


#: years 1970..9998, so a date can be made of it (check_days keeps it within
#: FIRST_DAY..LAST_DAY)
MONTH = r"^(19[7-9]\d|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-(0[1-9]|1[0-2])$"


@router.get("/plans/month", responses=ERRORS)
async def month_plan(
    _: Planner, services: ServicesDep, settings: SettingsDep, queue: Queue,
    month: Annotated[str, Query(pattern=MONTH, examples=["2026-07"])],
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = DEFAULT_WEEKS,
    shrinkage: Shrinkage = 0.0, sl_target: SlTarget = None, sl_seconds: SlSeconds = None,
    erlang: Erlang = "a", shift_hours: ShiftHours = 9.0,
) -> MonthOut:
    """Per day of the month: the head count the forecast suggests (agent-hours needed / a
    shift's paid hours) and the one set."""
    first = date.fromisoformat(month + "-01")
    end = (first + timedelta(days=32)).replace(day=1)
    check_days(first=first, end=end)
    paid = templates([0], length_of(shift_hours), (0,))[0].paid_min
    s = SizeIn(weeks=weeks, shrinkage=shrinkage, sl_target=sl_target, sl_seconds=sl_seconds,
               erlang=erlang)
    async with history_store(services) as conn:
        set_ = await pq.headcount(conn, first, end, queue)
    days = []
    d = first
    while d < end:
        try:
            suggested: int | None = headcount_for(
                await need_of(services, settings.utc_offset_s, queue, d, s), paid)
        except ApiError:
            suggested = None  # no history before the day
        days.append(MonthDayOut(day=d, suggested=suggested, headcount=set_.get((d, queue))))
        d += timedelta(days=1)
    return MonthOut(queue=queue, month=month, shift_paid_min=paid, days=days)


class HeadcountIn(BaseModel):
    queue: str = Field(min_length=1, max_length=128)
    days: dict[date, Annotated[int, Field(ge=0, le=100_000)]] = Field(max_length=62)


@router.put("/plans/month", status_code=204, responses=ERRORS)
async def set_month(user: Planner, services: ServicesDep, body: HeadcountIn) -> Response:
    """Sets the head count of days of a queue (the week's model keeps within it). Audited
    ("plan.headcount.set")."""
    check_days(**{f"day{i}": d for i, d in enumerate(body.days)})
    async with history_store(services) as conn:
        await pq.set_headcount(conn, body.queue, body.days, user.username, services.clock())
    return Response(status_code=204)


# ---- the week


class WeekIn(SizeIn):
    first: date = Field(description="the week's first day")
    queues: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        min_length=1, max_length=20)
    shift_hours: float = Field(9.0, ge=2, le=12, description="a shift's length, lunch in it")
    starts_min: list[Minute] = Field(
        [h * 60 for h in range(6, 16)], min_length=1, max_length=96,
        description="the shifts' possible starts")
    min_rest_h: float = Field(11.0, ge=0, le=24)
    max_consecutive_days: int = Field(5, ge=1, le=7)
    time_limit_s: float = Field(10.0, gt=0, le=MAX_PLAN_SECONDS)


class WeekOut(BaseModel):
    first: date
    status: str  # optimal, feasible (the time limit ran out first)
    agents: int
    shifts: int
    short: int  # agent-intervals short over the week
    over: int
    preference_misses: int
    solve_s: float


@router.post("/plans/week", responses={**ERRORS, 409: {}, 429: {}})
async def build_week(user: Planner, services: ServicesDep, settings: SettingsDep,
                     body: WeekIn) -> WeekOut:
    """Builds the week's draft shifts by the CP-SAT model for the agents under contract who
    qualify for the queues: replaces their draft shifts of the week. Audited
    ("plan.week.build"). 409 `plan-infeasible` when the rules leave no plan."""
    check_days(first=body.first)
    end = body.first + timedelta(days=WEEK_DAYS)
    offset = settings.utc_offset_s
    need = {q: [await need_of(services, offset, q, body.first + timedelta(days=d), body)
                for d in range(WEEK_DAYS)] for q in dict.fromkeys(body.queues)}
    async with history_store(services) as conn:
        queues_of = await pq.agent_queues(conn)
        contracts = await pq.contracts(conn)
        before = await pq.shifts(conn, body.first - timedelta(days=WEEK_DAYS), body.first)
        caps = await pq.headcount(conn, body.first, end)
    agents = agent_specs(body.first, WEEK_DAYS, contracts, queues_of, list(need), before)
    tpl = templates(sorted(set(body.starts_min)), length_of(body.shift_hours))
    try:
        check_size(WEEK_DAYS, len(agents), len(tpl), len(need), MAX_PLAN_CHOICES)
    except ProblemTooLarge as exc:
        raise ApiError(422, "plan-too-large", str(exc),
                       {"max_choices": MAX_PLAN_CHOICES}) from None
    problem = week_problem(body.first, WEEK_DAYS, agents, tpl, need,
                           Rules(body.min_rest_h, body.max_consecutive_days), caps,
                           body.time_limit_s)
    try:
        roster = await SOLVER.run(solve_week, problem)
    except WorkerBusy:
        raise ApiError(429, "plan-busy", "another plan is being built; try again shortly",
                       headers={"Retry-After": "5"}) from None
    except WorkerFailed:
        raise ApiError(503, "plan-failed", "the solver's worker process died") from None
    if roster.status not in ("optimal", "feasible"):
        raise ApiError(409, "plan-infeasible", "no plan meets the contracts and rules"
                       if roster.status == "infeasible" else "no plan found in the time limit",
                       {"status": roster.status})
    rows = planned(body.first, roster)
    summary = {"queues": list(need), "status": roster.status, "short": roster.short,
               "over": roster.over, "preference_misses": roster.preference_misses}
    async with history_store(services) as conn:
        await pq.replace_week(conn, body.first, WEEK_DAYS, [a.agent_id for a in agents], rows,
                              summary, user.username, services.clock())
    return WeekOut(first=body.first, status=roster.status, agents=len(agents),
                   shifts=len(rows), short=roster.short, over=roster.over,
                   preference_misses=roster.preference_misses,
                   solve_s=round(roster.wall_s, 3))


# ---- a day's shifts and its gaps


class BreakIO(BaseModel):
    start_min: Minute
    length_min: int = Field(gt=0, le=DAY_MIN)
    kind: Literal["break", "lunch"] = "break"


class ShiftIn(BaseModel):
    queue: str = Field(min_length=1, max_length=128)
    start_min: Minute
    end_min: Minute
    breaks: list[BreakIO] = Field([], max_length=10)


class ShiftOut(ShiftIn):
    day: date
    agent_id: str
    start: str  # local HH:MM
    end: str
    paid_min: int
    published: bool  # the agent sees this very shift


def shift_out(p: pq.PlannedShift, published: bool) -> ShiftOut:
    s = p.shift
    return ShiftOut(day=p.day, agent_id=p.agent_id, queue=p.queue, start_min=s.start_min,
                    end_min=s.end_min, start=hhmm(s.start_min // 15),
                    end=hhmm(s.end_min // 15), paid_min=s.paid_min, published=published,
                    breaks=[BreakIO(start_min=b.start_min, length_min=b.length_min,
                                    kind=b.kind) for b in s.breaks])  # type: ignore[arg-type]


class GapOut(BaseModel):
    start: float
    time: str
    need: int
    scheduled: int
    gap: int  # scheduled - need: < 0 short


class DayOut(BaseModel):
    day: date
    queue: str
    shifts: list[ShiftOut]  # the queue's draft shifts of the day
    unpublished: int  # draft shifts differing from what agents see (all queues)
    short: int  # agent-intervals
    over: int
    intervals: list[GapOut]  # 96


Day = Annotated[date, Query(description="the centre's local date")]


@router.get("/plans/day", responses=ERRORS)
async def day_plan(
    _: Planner, services: ServicesDep, settings: SettingsDep, queue: Queue, day: Day,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = DEFAULT_WEEKS,
    shrinkage: Shrinkage = 0.0, sl_target: SlTarget = None, sl_seconds: SlSeconds = None,
    erlang: Erlang = "a",
) -> DayOut:
    """The day's draft shifts of a queue and, per 15-minute interval, the agents needed, on
    the phones by the shifts (breaks and lunch out) and the gap."""
    check_days(day=day)
    s = SizeIn(weeks=weeks, shrinkage=shrinkage, sl_target=sl_target, sl_seconds=sl_seconds,
               erlang=erlang)
    need = await need_of(services, settings.utc_offset_s, queue, day, s)
    nxt = day + timedelta(days=1)
    async with history_store(services) as conn:
        draft = await pq.shifts(conn, day, nxt)
        pub = {(p.agent_id, p.queue, p.shift) for p in
               await pq.shifts(conn, day, nxt, published=True)}
        n_pub = len(pub)
    scheduled, gap = day_gaps(draft, queue, need)
    mine = [p for p in draft if p.queue == queue]
    unpublished = sum((p.agent_id, p.queue, p.shift) not in pub for p in draft) + max(
        0, n_pub - len(draft))
    midnight = day_start(day, settings.utc_offset_s)
    return DayOut(
        day=day, queue=queue,
        shifts=[shift_out(p, (p.agent_id, p.queue, p.shift) in pub) for p in mine],
        unpublished=unpublished, short=-sum(g for g in gap if g < 0),
        over=sum(g for g in gap if g > 0),
        intervals=[GapOut(start=midnight + i * 900, time=hhmm(i), need=n, scheduled=c, gap=g)
                   for i, (n, c, g) in enumerate(zip(need, scheduled, gap, strict=True))])


@router.put("/plans/shifts/{day}/{agent_id}", responses={
    **ERRORS, 201: {"model": ShiftOut, "description": "a new shift"}})
async def set_shift(user: Planner, services: ServicesDep, response: Response,
                    day: Annotated[date, Path()], agent_id: AgentId,
                    body: ShiftIn) -> ShiftOut:
    """The day's fine-tuning: one agent's draft shift (start, end, breaks, lunch). Audited
    ("plan.shift.set", with the shift before). 201 when new."""
    check_days(day=day)
    try:
        shift = check(Shift(body.start_min, body.end_min, tuple(
            Break(b.start_min, b.length_min, b.kind) for b in body.breaks)))
    except InvalidShift as exc:
        raise ApiError(422, "invalid-shift", str(exc)) from None
    p = pq.PlannedShift(day, agent_id, body.queue, shift)
    async with history_store(services) as conn:
        new = await pq.set_shift(conn, p, user.username, services.clock())
    response.status_code = 201 if new else 200
    return shift_out(p, False)


@router.delete("/plans/shifts/{day}/{agent_id}", status_code=204, responses=ERRORS)
async def delete_shift(user: Planner, services: ServicesDep, day: Annotated[date, Path()],
                       agent_id: AgentId) -> Response:
    """Audited ("plan.shift.delete"); 404 when the agent has no draft shift that day."""
    async with history_store(services) as conn:
        gone = await pq.delete_shift(conn, day, agent_id, user.username, services.clock())
    if not gone:
        raise ApiError(404, "shift-not-found", f"no shift of {agent_id!r} on {day}")
    return Response(status_code=204)


class PublishIn(BaseModel):
    first: date
    days: int = Field(WEEK_DAYS, ge=1, le=62)


class PublishOut(BaseModel):
    first: date
    days: int
    shifts: int


@router.post("/plans/publish", responses=ERRORS)
async def publish(user: Planner, services: ServicesDep, body: PublishIn) -> PublishOut:
    """The draft of the days becomes what agents see (and adherence measures against).
    Audited ("plan.publish")."""
    check_days(first=body.first)
    async with history_store(services) as conn:
        n = await pq.publish(conn, body.first, body.first + timedelta(days=body.days),
                             user.username, services.clock())
    return PublishOut(first=body.first, days=body.days, shifts=n)


# ---- an agent's own shift


async def _own_or_staff(
    agent_id: AgentId,
    user: Annotated[Claims, Depends(require_roles(Role.AGENT, Role.SUPERVISOR,
                                                  Role.PLANNER))],
) -> Claims:
    if user.username != agent_id and not user.has_any((Role.SUPERVISOR, Role.PLANNER)):
        raise ApiError(403, "forbidden", "an agent sees only its own shift",
                       {"agent_id": agent_id, "username": user.username})
    return user


class AgentShiftOut(BaseModel):
    agent_id: str
    day: date
    shift: ShiftOut | None  # None: no published shift that day
    now_min: float | None  # the centre's local minute now when the day is today, else None


def local_today(services: Services, offset: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int((services.clock() + offset) // 86_400))


@router.get("/agents/{agent_id}/shift", responses=ERRORS)
async def agent_shift(agent_id: AgentId, _: Annotated[Claims, Depends(_own_or_staff)],
                      services: ServicesDep, settings: SettingsDep,
                      day: Annotated[date | None, Query(description="default: today")] = None,
                      ) -> AgentShiftOut:
    """The agent's published shift of the day (today by default). Agents: their own only."""
    d = day or local_today(services, settings.utc_offset_s)
    check_days(day=d)
    async with history_store(services) as conn:
        found = await pq.shifts(conn, d, d + timedelta(days=1), published=True,
                                agent_id=agent_id)
    now = services.clock()
    minute = (now - day_start(d, settings.utc_offset_s)) / 60.0
    return AgentShiftOut(agent_id=agent_id, day=d,
                         shift=shift_out(found[0], True) if found else None,
                         now_min=round(minute, 2) if 0 <= minute < DAY_MIN else None)


# ---- adherence


class AgentAdherenceOut(BaseModel):
    agent_id: str
    queue: str | None
    start: str | None
    end: str | None
    activity: str | None  # scheduled now (today only): work, break, lunch, off
    state: str | None  # the last state logged (today only)
    in_adherence: bool | None  # now
    scheduled_s: float
    in_adherence_s: float
    scheduled_work_s: float
    on_phone_s: float
    adherence: float | None
    conformance: float | None


class AdherenceOut(BaseModel):
    day: date
    until: float  # figures counted up to (the day's end, or now)
    adherence: float | None  # over every agent: Σ in adherence / Σ scheduled
    conformance: float | None
    agents: list[AgentAdherenceOut]


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


@router.get("/plans/adherence", responses=ERRORS)
async def adherence(_: FloorWatcher, services: ServicesDep, settings: SettingsDep,
                    day: Annotated[date | None, Query(description="default: today")] = None,
                    limit: Limit = 100, offset: Offset = 0) -> AdherenceOut:
    """Each agent with a published shift (or a state) that day, by id, a page of them:
    adherence and conformance up to now (today) or over the day (docs/planning.md,
    "Adherence"); the floor's figures over every agent."""
    utc = settings.utc_offset_s
    d = day or local_today(services, utc)
    check_days(day=d)
    now = services.clock()
    midnight = day_start(d, utc)
    until = min(now, midnight + 86_400.0)
    async with history_store(services) as conn:
        shifts = {p.agent_id: p for p in await pq.shifts(conn, d, d + timedelta(days=1),
                                                         published=True)}
        segs = await pq.state_segments(conn, d, utc, now)
    rows = await asyncio.to_thread(_adherence_rows, shifts, segs, midnight, now, until)
    sched = sum(r.scheduled_s for r in rows)
    work = sum(r.scheduled_work_s for r in rows)
    return AdherenceOut(
        day=d, until=until,
        adherence=_r(sum(r.in_adherence_s for r in rows) / sched) if sched else None,
        conformance=_r(sum(r.on_phone_s for r in rows if r.queue is not None) / work)
        if work else None, agents=page(rows, limit, offset))


def _adherence_rows(shifts: dict[str, pq.PlannedShift], segs: dict[str, list[Any]],
                    midnight: float, now: float, until: float) -> list[AgentAdherenceOut]:
    today = midnight <= now < midnight + 86_400.0
    out = []
    for agent_id in sorted(set(shifts) | set(segs)):
        p = shifts.get(agent_id)
        s = p.shift if p else None
        a = day_adherence(s, segs.get(agent_id, []), midnight, until)
        state = activity = fits_now = None
        if today:
            mine = [g for g in segs.get(agent_id, []) if g.start <= now]
            state = mine[-1].state if mine else "logged_out"
            activity = s.activity_at((now - midnight) / 60.0) if s else "off"
            fits_now = fits(activity, state) if activity != "off" else None
        out.append(AgentAdherenceOut(
            agent_id=agent_id, queue=p.queue if p else None,
            start=hhmm(s.start_min // 15) if s else None,
            end=hhmm(s.end_min // 15) if s else None, activity=activity, state=state,
            in_adherence=fits_now, scheduled_s=round(a.scheduled_s, 3),
            in_adherence_s=round(a.in_adherence_s, 3),
            scheduled_work_s=round(a.scheduled_work_s, 3), on_phone_s=round(a.on_phone_s, 3),
            adherence=_r(a.adherence), conformance=_r(a.conformance)))
    return out


__all__ = ["router"]
