"""Proactive outage notices (issue #18.6, docs/campaigns.md): bounded outbound campaigns that
call an outage's area's registered numbers and speak the notice. Supervisors create them
(or an admin, with the outage: POST /api/config/outages with `notify`), list and read them
with every attempt's result, and cancel them; creating and cancelling are audited. The rows
hold customers' phone numbers, so only the floor's supervisors (and admins) read them: no
agent, QA, planner or back office. The campaign job in the platform places the calls
(hotline/campaigns/runner.py); these routes only store and read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.deps import ServicesDep, SettingsDep, Steering
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import DEFAULT_PAGE, Limit, Offset
from hotline.api.routes.history import store as history_store
from hotline.campaigns import model, queries
from hotline.campaigns.queries import CampaignRow

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422, 503)}
CampaignId = Annotated[int, Path(ge=1, le=2**62)]
Hour = Annotated[int, Field(ge=0, le=23)]


class BoundsIn(BaseModel):
    """How far a campaign goes (hotline/campaigns/model.py Bounds; the defaults are its)."""

    model_config = ConfigDict(extra="forbid")
    max_numbers: Annotated[int, Field(ge=1, le=model.MAX_NUMBERS)] = 500
    max_concurrent: Annotated[int, Field(ge=1, le=model.MAX_CONCURRENT)] = 2
    calls_per_s: Annotated[float, Field(ge=model.MIN_CALLS_PER_S,
                                        le=model.MAX_CALLS_PER_S)] = 1.0
    retries: Annotated[int, Field(ge=0, le=model.MAX_RETRIES)] = 2
    retry_after_s: Annotated[float, Field(ge=model.MIN_RETRY_AFTER_S,
                                          le=model.MAX_RETRY_AFTER_S)] = 600.0
    #: no calls from this hour (the centre's local time) ...
    quiet_from_h: Hour = 21
    #: ... to this one (equal: no quiet hours)
    quiet_to_h: Hour = 8

    def bounds(self) -> model.Bounds:
        return model.Bounds(self.max_numbers, self.max_concurrent, self.calls_per_s,
                            self.retries, self.retry_after_s, self.quiet_from_h,
                            self.quiet_to_h).check()


class CampaignIn(BoundsIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "outage_id": 1, "max_numbers": 200, "max_concurrent": 2, "calls_per_s": 0.5,
        "retries": 2, "retry_after_s": 900}]})
    outage_id: Annotated[int, Field(ge=1, le=2**62)]


class CampaignOut(BaseModel):
    id: int
    outage_id: int | None
    area_code: str
    state: Literal["running", "done", "cancelled"]
    bounds: dict[str, float]
    text_zh: str
    text_en: str
    truncated: bool
    created_by: str
    created_at: float
    ended_by: str
    ended_at: float | None
    #: numbers per state: waiting, calling, done (answered), unreached, cancelled
    numbers: dict[str, int]


class NumberOut(BaseModel):
    number: str
    state: Literal["waiting", "calling", "done", "unreached", "cancelled"]
    attempts: int
    next_at: float
    last_result: str


class AttemptOut(BaseModel):
    id: int
    number: str
    attempt: int
    started_at: float
    answered_at: float | None
    ended_at: float | None
    result: Literal["pending", "played", "hung_up", "no_answer", "busy", "failed"]
    detail: str


def out(row: CampaignRow) -> CampaignOut:
    b = row.bounds
    return CampaignOut(
        id=row.id, outage_id=row.outage_id, area_code=row.area_code, state=row.state,  # type: ignore[arg-type]
        bounds={"max_numbers": b.max_numbers, "max_concurrent": b.max_concurrent,
                "calls_per_s": b.calls_per_s, "retries": b.retries,
                "retry_after_s": b.retry_after_s, "quiet_from_h": b.quiet_from_h,
                "quiet_to_h": b.quiet_to_h},
        text_zh=row.text_zh, text_en=row.text_en, truncated=row.truncated,
        created_by=row.created_by, created_at=row.created_at, ended_by=row.ended_by,
        ended_at=row.ended_at, numbers=row.numbers)


async def create_campaign(services: Any, outage_id: int, bounds: model.Bounds, who: str,
                          utc_offset_h: float) -> CampaignOut:
    """Stores a running campaign for the outage (the job starts calling within seconds)."""
    async with history_store(services) as conn:
        try:
            row = await queries.create(conn, outage_id, bounds, who, services.clock(),
                                       utc_offset_h)
        except queries.NoSuchOutage:
            raise ApiError(404, "no-such-outage", f"no outage {outage_id}") from None
    return out(row)


@router.post("", status_code=201, responses=ERRORS)
async def create(user: Steering, services: ServicesDep, settings: SettingsDep,
                 body: CampaignIn) -> CampaignOut:
    """A campaign for an outage: its area's registered numbers (at most `max_numbers`;
    `truncated` says some were left out), called by the platform's campaign job; audited
    (`campaign.created`). 404 `no-such-outage`."""
    return await create_campaign(services, body.outage_id, body.bounds(), user.username,
                                 settings.campaign_utc_offset_h)


@router.get("", responses=ERRORS)
async def list_all(_: Steering, services: ServicesDep,
                   state: Annotated[Literal["running", "done", "cancelled"] | None,
                                    Query()] = None,
                   limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> list[CampaignOut]:
    """Campaigns, newest first."""
    async with history_store(services) as conn:
        return [out(r) for r in await queries.list_campaigns(conn, state, limit, offset)]


async def _get(conn: Any, campaign_id: int) -> CampaignRow:
    row = await queries.get(conn, campaign_id)
    if row is None:
        raise ApiError(404, "no-such-campaign", f"no campaign {campaign_id}")
    return row


@router.get("/{campaign_id}", responses=ERRORS)
async def one(campaign_id: CampaignId, _: Steering, services: ServicesDep) -> CampaignOut:
    async with history_store(services) as conn:
        return out(await _get(conn, campaign_id))


@router.get("/{campaign_id}/numbers", responses=ERRORS)
async def numbers(campaign_id: CampaignId, _: Steering, services: ServicesDep,
                  limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> list[NumberOut]:
    """The campaign's numbers in number order, each with its state and last result."""
    async with history_store(services) as conn:
        await _get(conn, campaign_id)
        rows = await queries.numbers(conn, campaign_id, limit, offset)
    return [NumberOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/{campaign_id}/attempts", responses=ERRORS)
async def attempts(campaign_id: CampaignId, _: Steering, services: ServicesDep,
                   limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> list[AttemptOut]:
    """Every call placed, in order, with its result and times (`pending` while in flight)."""
    async with history_store(services) as conn:
        await _get(conn, campaign_id)
        rows = await queries.attempts(conn, campaign_id, limit, offset)
    return [AttemptOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/{campaign_id}/cancel", responses=ERRORS)
async def cancel(campaign_id: CampaignId, user: Steering,
                 services: ServicesDep) -> CampaignOut:
    """Stops a running campaign: no further call starts (calls in flight end as they end);
    audited (`campaign.cancelled`). 409 `campaign-not-running` when it has ended."""
    async with history_store(services) as conn:
        await _get(conn, campaign_id)
        if not await queries.cancel(conn, campaign_id, user.username, services.clock()):
            raise ApiError(409, "campaign-not-running", "the campaign has ended",
                           {"campaign_id": campaign_id})
        return out(await _get(conn, campaign_id))
