"""Emergency staffing (#19.5): today's calls so far against the forecast, the coming intervals
re-forecast by that ratio, the agents they need against the published plan's, and who could be
called in. Supervisors and planners; the contracted hours left are a planner's figure (a
supervisor sees only whether a call-in stays within the contract). Rules: docs/planning.md,
"Emergency staffing"."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import timedelta
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel

from hotline.api.deps import FloorWatcher, ServicesDep, SettingsDep
from hotline.api.limits import Limit, Offset, page
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
    no_history,
)
from hotline.api.routes.plans import local_today
from hotline.api.routes.wallboard import wallboard_view
from hotline.api.security import Role
from hotline.api.services import Services
from hotline.planning import emergency as em
from hotline.planning import emergency_queries as eq
from hotline.planning import plan_queries as pq
from hotline.planning import queries
from hotline.planning.forecast import INTERVAL_S, SLOTS
from hotline.planning.model import patience_estimate
from hotline.planning.queries import day_start
from hotline.planning.required import IntervalNeed, required_agents
from hotline.planning.rostering import Rules
from hotline.planning.service import DEFAULT_WEEKS, NoHistory, day_forecast
from hotline.planning.shifts import Shift, coverage
from hotline.realtime.targets import QueueTargets

router = APIRouter(prefix="/api", tags=["plans"])

MAX_HORIZON = 16  # intervals: 4 hours
MAX_WINDOW = 16


class WindowSlotOut(BaseModel):
    time: str
    forecast: float
    actual: float


class ComingOut(BaseModel):
    start: float  # epoch seconds
    time: str  # local HH:MM
    forecast: float  # the day's forecast calls
    calls: float  # re-forecast: forecast x factor
    aht_s: float | None
    planned_need: int  # agents to have on the phones by the forecast (with shrinkage)
    need: int  # by the re-forecast
    scheduled: int  # on the phones by the published plan (breaks and lunch out)
    gap: int  # scheduled - need: < 0 short


class CallInOut(BaseModel):
    agent_id: str
    name: str
    team: str
    level: int  # for the queue: the lowest of its required skills' levels
    state: str
    from_time: str  # local HH:MM (from now, or when its rest ends)
    until_time: str
    covers_short: int  # coming short intervals it could work in
    later_shift: str | None  # its own shift today starts then (come in early)
    worked_today: bool
    hours_left: float | None  # planners only: contracted hours this week not yet planned
    within_contract: bool | None  # the call-in fits in the hours left (None: no contract)


class EmergencyOut(BaseModel):
    queue: str
    day: str
    now: float
    now_time: str
    open_interval: str  # the interval in progress (the first coming one)
    open_offered: int | None  # its offered calls so far (the live metrics); None: not known
    window: list[WindowSlotOut]  # the closed intervals the ratio is taken over
    actual: float
    forecast: float
    ratio: float | None  # None: too few forecast calls in the window to tell
    factor: float  # what the coming intervals are scaled by
    sl_target: float
    sl_seconds: float
    shrinkage: float
    coming: list[ComingOut]
    short: int  # agent-intervals short in the coming intervals
    call_ins_total: int
    call_ins: list[CallInOut]  # a page of them (limit, offset), in order
    #: qualified agents who may not be called in, by reason: on_shift, on_break,
    #: on_the_phones, rest, consecutive_days
    excluded: dict[str, int]


async def _open_offered(services: Services, queue: str) -> int | None:
    """The open interval's offered calls from the live metrics (the controller's, over the
    command bus from an API process without it)."""
    chosen = None if queue == "*" else [queue]
    if services.controller is None and services.remote is not None:
        snap = await services.remote.figures("wallboard", queues=chosen)
    else:
        snap = wallboard_view(services, None if chosen is None else frozenset(chosen))
    figs = snap["all"] if queue == "*" else snap["queues"].get(queue)
    return None if figs is None else int(figs["interval"]["offered"])


@router.get("/plans/emergency", responses=ERRORS)
async def emergency(
    user: FloorWatcher, services: ServicesDep, settings: SettingsDep, queue: Queue,
    horizon: Annotated[int, Query(ge=1, le=MAX_HORIZON, description="coming intervals, the "
                                                                    "open one first")] = 8,
    window: Annotated[int, Query(ge=1, le=MAX_WINDOW, description="closed intervals the "
                                                                  "ratio is taken over")] = 4,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = DEFAULT_WEEKS,
    shrinkage: Shrinkage = 0.0, sl_target: SlTarget = None, sl_seconds: SlSeconds = None,
    erlang: Erlang = "a",
    min_rest_h: Annotated[float, Query(ge=0, le=24)] = 11.0,
    max_consecutive_days: Annotated[int, Query(ge=1, le=7)] = 5,
    limit: Limit = 100, offset: Offset = 0,
) -> EmergencyOut:
    """Today's live ratio, the coming intervals' re-forecast need against the published
    plan, and who could be called in (docs/planning.md, "Emergency staffing")."""
    utc = settings.utc_offset_s
    now = services.clock()
    today = local_today(services, utc)
    midnight = day_start(today, utc)
    open_slot = min(SLOTS - 1, int((now - midnight) // INTERVAL_S))
    coming = list(range(open_slot, min(SLOTS, open_slot + horizon)))
    check_days(day=today)
    back = max(7, max_consecutive_days + 1)
    async with history_store(services) as conn:
        try:
            f = await day_forecast(conn, queue, today, utc, weeks)
        except NoHistory as exc:
            raise no_history(exc) from None
        target = await queries.queue_target(conn, queue)
        w = await queries.waits(conn, queue, today - timedelta(weeks=weeks), today, utc)
        actual = await eq.offered_today(conn, queue, today, utc, midnight + open_slot * 900.0)
        published = await pq.shifts(conn, today - timedelta(days=back),
                                     today + timedelta(days=back + 1), published=True)
        contracts = await pq.contracts(conn)
        segs = await pq.state_segments(conn, today, utc, now)
        agents = await eq.active_agents(conn)
        required = await eq.required_skills(conn)
    default = QueueTargets()  # as the forecast's sizing (routes/planning.py `sized`)
    sl = sl_target if sl_target is not None else (target[0] if target else default.sl_target)
    secs = sl_seconds if sl_seconds is not None else (target[1] if target
                                                      else default.sl_seconds)
    patience = math.inf if erlang == "c" else patience_estimate(
        w.wait_answered_s, w.wait_abandoned_s, w.abandoned)
    fc = f.forecast
    rules = Rules(min_rest_h, max_consecutive_days)
    live = em.live_ratio(actual, fc.calls.tolist(), open_slot, window)
    calls = em.reforecast(fc.calls.tolist(), coming, live.factor)
    planned_calls = em.reforecast(fc.calls.tolist(), coming, 1.0)

    def size() -> tuple[list[IntervalNeed], list[IntervalNeed]]:
        """Only the coming intervals have calls: only they are sized (Erlang A is CPU)."""
        def one(c: list[float]) -> list[IntervalNeed]:
            return required_agents(dataclasses.replace(fc, calls=np.asarray(c)), sl, secs,
                                   patience, shrinkage)
        return one(calls), one(planned_calls)

    needs, planned = await asyncio.to_thread(size)
    todays = [p for p in published if p.day == today and (queue == "*" or p.queue == queue)]
    on_phones = coverage(p.shift for p in todays)
    rows = [ComingOut(
        start=midnight + s * INTERVAL_S, time=hhmm(s), forecast=round(fc.calls[s], 3),
        calls=round(calls[s], 3), aht_s=None if needs[s].aht_s is None else
        round(needs[s].aht_s, 3), planned_need=planned[s].scheduled, need=needs[s].scheduled,
        scheduled=on_phones[s], gap=on_phones[s] - needs[s].scheduled) for s in coming]
    short_slots = [s for s, r in zip(coming, rows, strict=True) if r.gap < 0]

    # who could be called in: qualified for the queue (for *, for any queue)
    people = []
    for agent_id, name, team, skills in agents:
        reqs = list(required.values()) if queue == "*" else (
            [required[queue]] if queue in required else [])
        fits = [r for r in reqs if em.qualifies(skills, r)]
        if fits:
            people.append(em.Person(agent_id, name, team,
                                    max(em.level_for(skills, r) for r in fits)))
    by_agent: dict[str, dict[int, Shift]] = {}
    for p in published:
        by_agent.setdefault(p.agent_id, {})[(p.day - today).days] = p.shift
    monday = today - timedelta(days=today.weekday())
    left = {a: em.week_hours_left(c.hours_week, [
        p.shift.paid_min for p in published if p.agent_id == a
        and monday <= p.day < monday + timedelta(days=7)]) for a, c in contracts.items()}
    states = {a: [g for g in gs if g.start <= now] for a, gs in segs.items()}
    last = {a: gs[-1].state for a, gs in states.items() if gs}
    now_min = (now - midnight) / 60.0
    horizon_end = (coming[-1] + 1) * INTERVAL_S / 60.0
    found, excluded = em.call_ins(people, by_agent, last, left, now_min, horizon_end,
                                  short_slots, rules)
    planner = user.has_any((Role.PLANNER,))

    def minute(m: float) -> str:
        m = math.ceil(m)
        return f"{int(m) // 60:02d}:{int(m) % 60:02d}"

    out = [CallInOut(
        agent_id=c.agent_id, name=c.name, team=c.team, level=c.level, state=c.state,
        from_time=minute(c.from_min), until_time=minute(c.until_min),
        covers_short=c.covers_short,
        later_shift=None if c.later_shift_min is None else minute(c.later_shift_min),
        worked_today=c.worked_today,
        hours_left=None if not planner or c.hours_left is None else round(c.hours_left, 2),
        within_contract=None if c.hours_left is None else
        c.hours_left * 60.0 >= c.until_min - c.from_min) for c in page(found, limit, offset)]
    reasons: dict[str, int] = {}
    for x in excluded:
        reasons[x.reason] = reasons.get(x.reason, 0) + 1
    return EmergencyOut(
        queue=queue, day=today.isoformat(), now=now, now_time=minute(now_min),
        open_interval=hhmm(open_slot), open_offered=await _open_offered(services, queue),
        window=[WindowSlotOut(time=hhmm(s), forecast=round(fc.calls[s], 3),
                              actual=actual[s]) for s in live.slots],
        actual=live.actual, forecast=round(live.forecast, 3),
        ratio=None if live.ratio is None else round(live.ratio, 4),
        factor=round(live.factor, 4), sl_target=sl, sl_seconds=secs,
        shrinkage=shrinkage, coming=rows, short=-sum(r.gap for r in rows if r.gap < 0),
        call_ins_total=len(found), call_ins=out, excluded=reasons)


__all__ = ["router"]
