"""The caller's whole story (客户 360) for the agent page: GET /api/calls/{call_id}/story.

Who may read which call's story: the agent the call is offered to, ringing at or connected to
(its current call, offered through after-call work, as the controller's desk knows it), and
the agent who handled it (the history's agent); supervisors and admins any call. Any other
agent gets 404 `no-such-call`, as if the call did not exist (call ids can be counted). What
the story holds: hotline/customer/story.py and docs/customer-story.md. Recordings are linked
only for the calls the reader may hear (api/routes/recordings.py `may_listen`, the one rule);
work orders are those in the reader's scope (the work orders' one rule).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from hotline.api.acd import acd_of
from hotline.api.deps import ServicesDep, SettingsDep, require_roles
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.routes.history import ID_PATTERN, no_such_call, store
from hotline.api.routes.recordings import may_listen
from hotline.api.routes.work_orders import viewer_of
from hotline.api.schemas import DeskCall
from hotline.api.security import Claims, Role
from hotline.api.services import Services
from hotline.customer import story as customer_story
from hotline.store import queries

log = logging.getLogger("hotline.api.story")
router = APIRouter(prefix="/api", tags=["customer story"])

StoryReader = Annotated[Claims, Depends(require_roles(Role.AGENT, Role.SUPERVISOR))]
CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN,
                             examples=["1795432233.17"])]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 422, 503)}


class OutageOut(BaseModel):
    id: int | None
    kind: str
    starts_at: float
    ends_at: float | None
    description_zh: str
    description_en: str


class AccountOut(BaseModel):
    account_no: str
    holder: str
    address: str
    area_code: str
    sensitive: bool
    sensitive_note: str
    outages: list[OutageOut]


class PastCallOut(BaseModel):
    call_id: str
    entered_at: float | None
    queue: str | None
    service: str | None
    agent_id: str | None
    outcome: str | None
    wait_s: float | None
    talk_s: float | None
    recording_url: str | None  # only where the reader may hear it


class OrderOut(BaseModel):
    id: int
    service: str
    state: str
    description: str
    created_at: float
    created_by: str
    unit: str
    reply: str
    closed_at: float | None
    final_answer: str  # 最终答复
    substantiated: bool | None


class SurveyOut(BaseModel):
    call_id: str
    at: float
    agent_id: str
    satisfaction: int | None
    scale: int | None
    nps: int | None
    score: int | None


class FlagsOut(BaseModel):
    vip: bool
    vip_note: str
    sensitive: bool
    sensitive_notes: list[str]
    repeat: bool
    repeat_open_order: int | None
    repeat_answered_order: int | None


class StoryOut(BaseModel):
    caller: str
    call_id: str
    flags: FlagsOut
    accounts: list[AccountOut]
    calls: list[PastCallOut]
    orders: list[OrderOut]
    surveys: list[SurveyOut]


def sees_every_story(user: Claims) -> bool:
    return user.has_any({Role.SUPERVISOR})


async def live_call(services: Services, user: Claims, call_id: str) -> DeskCall | None:
    """The call as the controller's desk has it now, if the reader may see it there: an
    agent's own current call; for a supervisor, any agent's. None without a controller."""
    try:
        acd = acd_of(services)
        if not sees_every_story(user):
            call = (await acd.desk(user.username)).call
            return call if call is not None and call.call_id == call_id else None
        for agent in await acd.agents():
            if agent.call_id == call_id:
                call = (await acd.desk(agent.agent_id)).call
                if call is not None and call.call_id == call_id:
                    return call
    except ApiError:  # no controller here, or the reader is no agent it knows
        return None
    return None


@router.get("/calls/{call_id}/story", responses=ERRORS)
async def story(call_id: CallId, user: StoryReader, services: ServicesDep,
                settings: SettingsDep) -> StoryOut:
    """The caller's whole story on this call: accounts (holder, address, area and the
    outages in force there now), past calls (recordings linked where the reader may hear
    them), work orders (open and closed, with final answers), survey scores, and the VIP,
    sensitive and repeat-caller flags."""
    live = await live_call(services, user, call_id)
    async with store(services) as conn:
        if live is not None:
            caller, entered = live.caller, live.entered_at or live.queued_at
        else:
            found = await queries.get_call(conn, call_id)
            if found is None or not (sees_every_story(user)
                                     or found.agent_id == user.username):
                log.info("story of %s refused to %s: not its call", call_id, user.username)
                raise no_such_call(call_id)
            caller, entered = found.caller, found.entered_at
        now = services.clock()
        told = await customer_story.load(
            conn, caller, call_id, entered_at=entered if entered is not None else now,
            now=now, viewer=await viewer_of(user, services), window_s=settings.repeat_window_s)
    return StoryOut(
        caller=told.caller, call_id=told.call_id,
        flags=FlagsOut.model_validate(told.flags, from_attributes=True),
        accounts=[AccountOut(**{k: getattr(a.account, k) for k in (
            "account_no", "holder", "address", "area_code", "sensitive", "sensitive_note")},
            outages=[OutageOut.model_validate(o, from_attributes=True) for o in a.outages])
            for a in told.accounts],
        calls=[PastCallOut(
            call_id=c.call_id, entered_at=c.entered_at, queue=c.queue, service=c.service,
            agent_id=c.agent_id, outcome=c.outcome, wait_s=c.wait_s, talk_s=c.talk_s,
            recording_url=(f"/api/recordings/{c.call_id}"
                           if c.recording_path and may_listen(user, c.agent_id) else None))
            for c in told.calls],
        orders=[OrderOut(id=o.id or 0, service=str(o.service), state=str(o.state),
                         description=o.description, created_at=o.created_at,
                         created_by=o.created_by, unit=o.unit, reply=o.reply,
                         closed_at=o.closed_at, final_answer=o.final_answer,
                         substantiated=o.substantiated) for o in told.orders],
        surveys=[SurveyOut.model_validate(s, from_attributes=True) for s in told.surveys],
    )
