"""The centre's configuration: agents, skills, teams and vendors, queues, not-ready reasons,
outages, VIP numbers, the IVR
menu tree, and the audit of every change. Admins change everything; supervisors edit skills
and reasons and read the IVR menu tree.

Each change goes through `hotline.centre.service.Configuration`: stored and audited in
PostgreSQL, applied to the router and (for agents) to Asterisk without a restart. The module
docstring there says what takes effect when.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.requests import HTTPConnection

from hotline.api.deps import Admin, ServicesDep, SettingsDep, Steering, Viewer
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import DAY_S, MAX_LIST_SPAN_S, MAX_PAGE, Limit, Offset, page
from hotline.api.remote_config import RemoteConfiguration
from hotline.api.routes.campaigns import BoundsIn, create_campaign
from hotline.api.schemas import Skills
from hotline.api.services import Services
from hotline.centre.model import (
    DEFAULT_TEAM,
    GROUP_NAME_MAX_LEN,
    AgentSpec,
    QueueSpec,
    TeamSpec,
    VendorKind,
    VendorSpec,
)
from hotline.centre.queries import AgentRow
from hotline.centre.service import Configuration, outage_from
from hotline.core import ids
from hotline.core.settings import Settings
from hotline.core.values import OutageKind, ServiceType
from hotline.realtime.targets import QueueTargets

router = APIRouter(prefix="/api/config", tags=["configuration"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422, 503)}

Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\"\\;\[\]]*$")]
# the secret and contact are written into pjsip_agents.conf: nothing that breaks a line
Secret = Annotated[str, Field(min_length=4, max_length=128, pattern=r"^[!-~]+$")]
Contact = Annotated[str, Field(max_length=200, pattern=r"^(sips?:[!-~]+)?$")]

Epoch = Annotated[float, Field(ge=0, le=4_102_444_800)]  # seconds, up to the year 2100
AgentId = Annotated[ids.AgentId, Path(examples=["agent1"])]
OutageId = Annotated[int, Path(ge=1, le=2**62)]
Code = Annotated[ids.ReasonCode, Path(examples=["break"])]
GroupPath = Annotated[ids.GroupId, Path(examples=["day"])]
#: an area code (or the area of an account): what a caller types, as the IVR looks it up
AreaCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")]


def _wired(conn: HTTPConnection) -> Configuration | None:
    """Platform's configuration service (services.configuration), showing the agents' queues
    on this API's live feed; None on an API without Platform's wiring."""
    services = conn.app.state.services
    configuration: Configuration | None = getattr(services, "configuration", None)
    if configuration is not None and configuration.live is None:
        configuration.live = services.live
    return configuration


def get_configuration(conn: HTTPConnection) -> Configuration:
    """The configuration service, for changes that need the database (503 without one): an
    API without Platform's wiring gets one over its database and router, no Asterisk
    files."""
    configuration = _wired(conn)
    if configuration is not None:
        return configuration
    services, state = conn.app.state.services, conn.app.state
    if services.db_pool is None:
        raise ApiError(503, "no-database", "configuration needs the database")
    made = getattr(state, "configuration", None)
    if made is None or made.pool is not services.db_pool:  # (a test may swap the pool)
        if services.remote is not None:  # an API process: live changes over the bus
            made = state.configuration = RemoteConfiguration(
                services.db_pool, None, clock=services.clock, live=services.live,
                bus=services.remote.bus)
        else:
            made = state.configuration = Configuration(
                services.db_pool, services.controller, clock=services.clock,
                live=services.live)
    return made  # type: ignore[no-any-return]


def skill_editor(conn: HTTPConnection) -> Configuration:
    """Where a skill edit goes: Platform's configuration service; on an API without it, the
    router alone where a controller runs (its database need not hold the centre), else the
    database alone."""
    configuration = _wired(conn)
    if configuration is not None:
        return configuration
    services = conn.app.state.services
    if services.controller is not None:
        return Configuration(None, services.controller, clock=services.clock,
                             live=services.live)
    return get_configuration(conn)


ConfigDep = Annotated[Configuration, Depends(get_configuration)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentCreate(_In):
    id: ids.AgentId
    name: Text = ""
    secret: Secret
    contact: Contact = ""
    skills: Skills = {}
    #: the agent's team (GET /api/config/teams), whose vendor its figures roll up to
    team: ids.GroupId = DEFAULT_TEAM


class AgentUpdate(_In):
    name: Text | None = None
    secret: Secret | None = None
    contact: Contact | None = None
    team: ids.GroupId | None = None


class AgentOut(BaseModel):
    id: str
    name: str
    contact: str
    skills: dict[str, int]
    active: bool
    team: str


GroupName = Annotated[str, Field(max_length=GROUP_NAME_MAX_LEN,
                                 pattern=r"^[^\x00-\x1f\"\\;\[\]]*$")]


class VendorIn(_In):
    name: GroupName = ""
    #: own staff (自营) or an outsourced vendor or project (外包)
    kind: VendorKind


class VendorOut(VendorIn):
    id: str


class TeamIn(_In):
    name: GroupName = ""
    vendor: ids.GroupId


class TeamOut(TeamIn):
    id: str


class GroupChange(BaseModel):
    created: bool


class AgentChange(BaseModel):
    agent: AgentOut | None
    #: node -> "reloaded" or what failed; empty when Asterisk had nothing to reload
    asterisk: dict[str, str]


class Overflow(_In):
    """After `after_s` of waiting, agents of queue `to` (another, existing queue) may take
    the call too."""

    to: ids.QueueName
    after_s: Annotated[float, Field(gt=0, le=3600)]


class QueueIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "service": "billing", "required": {"billing": 2}, "policy": "most_skilled",
        "priority": 0, "sl_target": 0.8, "sl_seconds": 20,
        "overflow": {"to": "general", "after_s": 60}}]})

    service: ServiceType
    #: skill -> minimum level; the first listed is the one most_skilled ranks by
    required: Skills = {}
    policy: Literal["most_skilled", "longest_idle", "least_calls", "round_robin"] = (
        "most_skilled")
    priority: int = Field(0, ge=-100, le=100)
    sl_target: float = Field(0.8, ge=0, le=1)
    sl_seconds: float = Field(20.0, gt=0, le=3600)
    overflow: Overflow | None = None


class QueueOut(QueueIn):
    name: str


class QueueChange(BaseModel):
    queue: QueueOut
    created: bool
    #: the router uses the queue from this change on, waiting calls included
    takes_effect: str = "at once"


class ReasonIn(_In):
    label: Text = Field(min_length=1)


class Reason(BaseModel):
    code: str
    label: str


class OutageIn(_In):
    area_code: AreaCode
    kind: OutageKind
    starts_at: Epoch
    #: how long it lasts (None: until further notice); a duration rather than an end time,
    #: so that "ends after it starts" is part of the published schema
    duration_s: Annotated[float, Field(ge=1, le=366 * 86400)] | None = None
    description_zh: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""
    description_en: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""
    #: with bounds, the area's registered numbers are told of the outage by a campaign
    #: (docs/campaigns.md; POST /api/campaigns makes one for an outage later)
    notify: BoundsIn | None = None


class OutageOut(BaseModel):
    id: int
    area_code: str
    kind: str
    starts_at: float
    ends_at: float | None
    description_zh: str
    description_en: str
    #: the notice campaign made with the outage (POST with `notify`), else None
    campaign_id: int | None = None


class AuditOut(BaseModel):
    id: int
    who: str
    at: float
    what: str
    details: dict[str, Any]


def agent_out(row: AgentRow | None) -> AgentOut | None:
    if row is None:
        return None
    s = row.spec
    return AgentOut(id=s.id, name=s.name, contact=s.contact, skills=s.skills, active=row.active,
                    team=s.team)


async def _agent_change(config: Configuration, agent_id: str,
                        asterisk: dict[str, str]) -> AgentChange:
    """The agent as stored now (the service has shown the live view which queues it
    serves)."""
    return AgentChange(agent=agent_out(await config.agent(agent_id)), asterisk=asterisk)


# ---- agents


@router.get("/agents", responses=ERRORS)
async def list_agents(_: Steering, config: ConfigDep,
                      include_inactive: bool = False, limit: Limit = MAX_PAGE,
                      offset: Offset = 0) -> list[AgentOut]:
    return page([a for r in await config.agents() if (a := agent_out(r)) and (a.active or
                                                                          include_inactive)],
                limit, offset)


@router.post("/agents", status_code=201, responses=ERRORS)
async def create_agent(body: AgentCreate, user: Admin, config: ConfigDep) -> AgentChange:
    """A new agent: its SIP endpoint, auth and AOR on every node (reloaded, no restart), a
    static member of the failsafe queue, and in the router (logged out)."""
    spec = AgentSpec(id=body.id, name=body.name, secret=body.secret, contact=body.contact,
                     skills={k: v for k, v in body.skills.items() if v > 0}, team=body.team)
    asterisk = await config.create_agent(user.username, spec)
    return await _agent_change(config, body.id, asterisk)


@router.patch("/agents/{agent_id}", responses=ERRORS)
async def update_agent(agent_id: AgentId, body: AgentUpdate,
                       user: Admin, config: ConfigDep) -> AgentChange:
    asterisk = await config.update_agent(user.username, agent_id, name=body.name,
                                         secret=body.secret, contact=body.contact,
                                         team=body.team)
    return await _agent_change(config, agent_id, asterisk)


# PUT /agents/{agent_id}/skills: the one skill edit, api/routes/supervision.py's set_skills


@router.delete("/agents/{agent_id}", responses=ERRORS)
async def deactivate_agent(agent_id: AgentId, user: Admin, config: ConfigDep) -> AgentChange:
    """The agent leaves the router and Asterisk (409 while on a call); the row stays, marked
    inactive, for history; creating the id again brings it back."""
    asterisk = await config.deactivate_agent(user.username, agent_id)
    return await _agent_change(config, agent_id, asterisk)


# ---- teams and vendors: the roll-up chain agent -> team -> vendor -> centre


@router.get("/vendors", responses=ERRORS)
async def list_vendors(_: Steering, config: ConfigDep, limit: Limit = MAX_PAGE,
                       offset: Offset = 0) -> list[VendorOut]:
    return [VendorOut(id=v.id, name=v.name, kind=v.kind)
            for v in page(await config.vendors(), limit, offset)]


@router.put("/vendors/{vendor_id}", responses=ERRORS)
async def put_vendor(vendor_id: GroupPath, body: VendorIn, user: Admin,
                     config: ConfigDep) -> GroupChange:
    """Adds or changes a vendor or project: own staff (自营) or outsourced (外包)."""
    return GroupChange(created=await config.put_vendor(
        user.username, VendorSpec(vendor_id, body.name, body.kind)))


@router.get("/teams", responses=ERRORS)
async def list_teams(_: Steering, config: ConfigDep, limit: Limit = MAX_PAGE,
                     offset: Offset = 0) -> list[TeamOut]:
    return [TeamOut(id=t.id, name=t.name, vendor=t.vendor)
            for t in page(await config.teams(), limit, offset)]


@router.put("/teams/{team_id}", responses=ERRORS)
async def put_team(team_id: GroupPath, body: TeamIn, user: Admin,
                   config: ConfigDep) -> GroupChange:
    """Adds or changes a team and the vendor it belongs to (404 `vendor-not-found`); agents
    join it through POST or PATCH /api/config/agents (`team`)."""
    return GroupChange(created=await config.put_team(
        user.username, TeamSpec(team_id, body.name, body.vendor)))


# ---- queues


def _queue(q: QueueSpec) -> QueueOut:
    return QueueOut(name=q.name, service=q.service, required=q.required,
                    policy=q.policy, priority=q.priority,  # type: ignore[arg-type]
                    sl_target=q.sl_target, sl_seconds=q.sl_seconds,
                    overflow=None if q.overflow_to is None or q.overflow_wait_s is None else
                    Overflow(to=q.overflow_to, after_s=q.overflow_wait_s))


async def queues_changed(config: Configuration, services: Services) -> None:
    """The live panels follow a queue change: the queue is shown and its service-level
    target used (the service has shown which queues every agent serves)."""
    queues = await config.queues()
    services.live.declare_queues(q.name for q in queues)
    for q in queues:
        services.metrics.config.targets[q.name] = QueueTargets(q.sl_seconds, q.sl_target)


QueueName = Annotated[ids.QueueName, Path(examples=["billing"])]


@router.get("/queues", responses=ERRORS)
async def list_queues(_: Steering, config: ConfigDep, limit: Limit = MAX_PAGE,
                      offset: Offset = 0) -> list[QueueOut]:
    return [_queue(q) for q in page(await config.queues(), limit, offset)]


@router.put("/queues/{name}", responses=ERRORS)
async def put_queue(name: QueueName, body: QueueIn, user: Admin, config: ConfigDep,
                    services: ServicesDep) -> QueueChange:
    """Creates or replaces a queue; the running router uses it at once (calls waiting in it
    are matched against the new requirements on this change). 409 `invalid-overflow` when
    the overflow names no existing queue, or the queue itself."""
    spec = QueueSpec(name=name, service=body.service,
                     required={k: v for k, v in body.required.items() if v > 0},
                     policy=body.policy, priority=body.priority, sl_target=body.sl_target,
                     sl_seconds=body.sl_seconds,
                     overflow_to=body.overflow.to if body.overflow else None,
                     overflow_wait_s=body.overflow.after_s if body.overflow else None)
    created = await config.put_queue(user.username, spec)
    await queues_changed(config, services)
    return QueueChange(queue=_queue(spec), created=created)


@router.delete("/queues/{name}", status_code=204, responses=ERRORS)
async def delete_queue(name: QueueName, user: Admin, config: ConfigDep,
                       services: ServicesDep) -> None:
    """Removes a queue at once. 409 `queue-in-use` while calls wait in it or are offered
    from it, while another queue overflows to it, while an IVR menu sends callers to it, and
    always for `general` (the IVR's fallback): a queue is drained and unhooked before it is
    closed, callers are never moved silently to requirements they did not choose."""
    await config.delete_queue(user.username, name)
    await queues_changed(config, services)


# ---- not-ready reasons


@router.get("/not-ready-reasons", responses=ERRORS)
async def list_reasons(_: Viewer, config: ConfigDep, limit: Limit = MAX_PAGE,
                       offset: Offset = 0) -> list[Reason]:
    return [Reason(code=c, label=label)
            for c, label in page(list((await config.reasons()).items()), limit, offset)]


@router.put("/not-ready-reasons/{code}", responses=ERRORS)
async def put_reason(code: Code, body: ReasonIn,
                     user: Steering, config: ConfigDep) -> Reason:
    await config.put_reason(user.username, code, body.label)
    return Reason(code=code, label=body.label)


@router.delete("/not-ready-reasons/{code}", status_code=204, responses=ERRORS)
async def delete_reason(code: Code, user: Steering,
                        config: ConfigDep) -> None:
    await config.delete_reason(user.username, code)


# ---- outages (the IVR reads them at once)


@router.get("/outages", responses=ERRORS)
async def list_outages(_: Steering, config: ConfigDep,
                       area_code: Annotated[AreaCode, Query()],
                       at: Annotated[float, Query(ge=0, le=4_102_444_800)],
                       horizon_s: Annotated[float, Query(ge=0, le=MAX_LIST_SPAN_S)] = 7 * DAY_S,
                       limit: Limit = MAX_PAGE, offset: Offset = 0,
                       ) -> list[OutageOut]:
    """What a caller of the area hears at `at`: in force then, or starting within horizon
    (a span of at most a year)."""
    return [OutageOut.model_validate(o, from_attributes=True)
            for o in page(await config.outages(area_code, at, horizon_s), limit, offset)]


async def _put_outage(body: OutageIn, who: str, config: Configuration,
                      outage_id: int | None) -> OutageOut:
    stored = await config.add_outage(who, outage_from(
        body.area_code, body.kind, body.starts_at,
        None if body.duration_s is None else body.starts_at + body.duration_s,
        body.description_zh,
        body.description_en, outage_id))
    return OutageOut.model_validate(stored, from_attributes=True)


async def _put_notified(body: OutageIn, who: str, config: Configuration, services: Services,
                        settings: Settings, outage_id: int | None) -> OutageOut:
    """The outage stored; with `notify`, a notice campaign to the area's registered numbers
    (its id in `campaign_id`; audited `campaign.created`)."""
    bounds = body.notify.bounds() if body.notify is not None else None
    stored = await _put_outage(body, who, config, outage_id)
    if bounds is not None:
        made = await create_campaign(services, stored.id, bounds, who,
                                     settings.campaign_utc_offset_h)
        stored.campaign_id = made.id
    return stored


@router.post("/outages", status_code=201, responses=ERRORS)
async def add_outage(body: OutageIn, user: Admin, config: ConfigDep, services: ServicesDep,
                     settings: SettingsDep) -> OutageOut:
    return await _put_notified(body, user.username, config, services, settings, None)


@router.put("/outages/{outage_id}", responses=ERRORS)
async def put_outage(outage_id: OutageId, body: OutageIn, user: Admin, config: ConfigDep,
                     services: ServicesDep, settings: SettingsDep) -> OutageOut:
    return await _put_notified(body, user.username, config, services, settings, outage_id)


@router.delete("/outages/{outage_id}", status_code=204, responses=ERRORS)
async def delete_outage(outage_id: OutageId, user: Admin, config: ConfigDep) -> None:
    await config.delete_outage(user.username, outage_id)


# ---- VIP numbers (the router raises their calls at once: docs/customer-story.md, "VIP")

VipNumber = Annotated[ids.PhoneNumber, Path(examples=["13900000888"])]


class VipIn(_In):
    note: Text = ""


class VipOut(BaseModel):
    number: str
    note: str
    added_by: str
    added_at: float


@router.get("/vip-numbers", responses=ERRORS)
async def list_vips(_: Steering, config: ConfigDep, limit: Limit = MAX_PAGE,
                    offset: Offset = 0) -> list[VipOut]:
    return [VipOut.model_validate(v, from_attributes=True)
            for v in page(await config.vip_numbers(), limit, offset)]


@router.put("/vip-numbers/{number}", responses=ERRORS)
async def put_vip(number: VipNumber, body: VipIn, user: Admin, config: ConfigDep) -> VipOut:
    """Adds the number (or changes its note): stored, audited (`vip.added`) and raising its
    calls in the router at once, waiting ones included."""
    await config.put_vip(user.username, number, body.note)
    found = next(v for v in await config.vip_numbers() if v.number == number)
    return VipOut.model_validate(found, from_attributes=True)


@router.delete("/vip-numbers/{number}", status_code=204, responses=ERRORS)
async def delete_vip(number: VipNumber, user: Admin, config: ConfigDep) -> None:
    await config.delete_vip(user.username, number)


# ---- the IVR menu tree (the shape of asterisk-config/ivr.toml, as JSON)

_KEY = r"^[A-Za-z0-9_-]{1,40}$"
_LANG = r"^[a-z]{2,8}$"
# no control characters (jsonb, the AGI line) and no leading '-' (an espeak-ng argument)
_SPOKEN = r"^[^\x00-\x1f-][^\x00-\x1f]*$"
MenuKey = Annotated[str, Field(pattern=_KEY)]
Lang = Annotated[str, Field(pattern=_LANG)]
Digit = Annotated[str, Field(pattern=r"^[0-9*]$")]
Seconds = Annotated[float, Field(gt=0, le=60)]
Spoken = Annotated[str, Field(min_length=1, max_length=1000, pattern=_SPOKEN)]
# language -> key -> text; the schema stated whole, so that no other keys pass (see Skills)
Texts = Annotated[dict[Lang, Annotated[dict[MenuKey, Spoken], Field(max_length=200)]],
                  Field(max_length=8), WithJsonSchema({
    "type": "object", "propertyNames": {"pattern": _LANG}, "maxProperties": 8,
    "additionalProperties": {
        "type": "object", "propertyNames": {"pattern": _KEY}, "maxProperties": 200,
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 1000,
                                 "pattern": _SPOKEN}}})]


class IvrQueueLeaf(_In):
    """Callers go to this queue with this service type (default: the queue's name)."""

    queue: ids.QueueName
    service: ServiceType | None = None
    #: a boost on top of the queue's own priority
    priority: int = Field(0, ge=-100, le=100)


class IvrTarget(_In):
    """Exactly one of `goto` (another menu, optionally switching `language`), `queue` (with
    `service`, `priority`) or `action` (self-service; `agent` is where "0" then goes)."""

    goto: MenuKey | None = None
    language: Lang | None = None
    queue: ids.QueueName | None = None
    service: ServiceType | None = None
    priority: int | None = Field(None, ge=-100, le=100)
    action: Literal["outage_lookup"] | None = None
    agent: IvrQueueLeaf | None = None


class IvrChoiceIn(IvrTarget):
    digit: Digit


class IvrMenuIn(_In):
    prompt: MenuKey
    choices: list[IvrChoiceIn] = Field(min_length=1, max_length=11)
    #: taken at once on the first timeout (e.g. the default language)
    on_timeout: IvrTarget | None = None


class IvrSettings(_In):
    start: MenuKey
    languages: list[Lang] = Field(min_length=1, max_length=8)
    default_language: Lang
    timezone: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*"
                                                          r"(/[A-Za-z0-9_+-]+){0,3}$")] = (
        "Asia/Shanghai")
    timeout_s: Seconds = 5.0
    max_misses: int = Field(3, ge=1, le=10)
    repeat_digit: Digit = "*"
    invalid_prompt: MenuKey = "invalid"
    fallback: IvrQueueLeaf = IvrQueueLeaf(queue="general", service=ServiceType.GENERAL)


class IvrSurvey(_In):
    """The two questions (docs/metrics.md, "Survey"); the scale and thresholds are checked
    with the tree (hotline/ivr_menu/model.py SurveyConfig.faults)."""

    prompt: MenuKey = "survey-satisfaction"
    nps_prompt: MenuKey = "survey-nps"
    thanks: MenuKey = "survey-thanks"
    invalid: MenuKey = "invalid"
    timeout_s: Seconds = 6.0
    attempts: int = Field(2, ge=1, le=5)
    scale: int = Field(5, ge=2, le=9)
    satisfied_to: int = Field(2, ge=1, le=9)
    dissatisfied_from: int = Field(4, ge=1, le=9)
    low_satisfaction_from: int = Field(4, ge=1, le=10)
    low_nps_to: int = Field(6, ge=-1, le=10)
    callback_within_s: float = Field(86400.0, gt=0, le=30 * 86400)


class IvrOutageLookup(_In):
    enter_prompt: MenuKey = "outage-enter"
    none_prompt: MenuKey = "outage-none"
    found_prompt: MenuKey = "outage-found"
    after_prompt: MenuKey = "outage-after"
    goodbye_prompt: MenuKey = "goodbye"
    max_digits: int = Field(20, ge=1, le=40)
    timeout_s: Seconds = 8.0


class IvrTree(_In):
    """The whole menu tree, as in asterisk-config/ivr.toml (README "Changing the IVR")."""

    ivr: IvrSettings
    menus: dict[MenuKey, IvrMenuIn] = Field(
        max_length=100, json_schema_extra={"additionalProperties": False})
    prompts: Texts
    #: spoken at run time with {area} {start} {end} {reason} (the outage read-out)
    templates: Texts = {}
    survey: IvrSurvey = IvrSurvey()
    outage: IvrOutageLookup = IvrOutageLookup()


class IvrIn(_In):
    """The whole new tree and the version it was based on (from GET /api/config/ivr)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "version": 1, "tree": {
            "ivr": {"start": "main", "languages": ["en"], "default_language": "en"},
            "menus": {"main": {"prompt": "main", "choices": [
                {"digit": "1", "queue": "billing", "service": "billing"},
                {"digit": "0", "queue": "general", "service": "general"}]}},
            "prompts": {"en": {
                "main": "For billing, press 1. For an agent, press 0.",
                "invalid": "Sorry, that is not a valid choice.",
                "survey-satisfaction": "How satisfied are you? 1 very satisfied .. 5 very"
                                       " dissatisfied.",
                "survey-nps": "How likely are you to recommend us? 0 to 10, then pound.",
                "survey-thanks": "Thank you. Goodbye."}}}}]})

    version: int = Field(ge=0, le=2**31 - 1)
    tree: IvrTree


class IvrOut(BaseModel):
    version: int
    tree: IvrTree
    updated_at: float
    updated_by: str


class IvrChange(IvrOut):
    #: prompt files spoken for this change (texts not heard before)
    prompts_built: int
    takes_effect: str = "for the next caller"


@router.get("/ivr", responses=ERRORS, response_model_exclude_none=True)
async def get_ivr(_: Steering, config: ConfigDep) -> IvrOut:
    """The live IVR menu tree and its version (404 `no-ivr-menu` before the platform first
    started and seeded it from ivr.toml)."""
    row = await config.ivr_tree()
    if row is None:
        raise ApiError(404, "no-ivr-menu", "no IVR menu tree is stored yet")
    return IvrOut(version=row.version, tree=IvrTree.model_validate(row.tree),
                  updated_at=row.created_at, updated_by=row.created_by)


@router.put("/ivr", responses=ERRORS, response_model_exclude_none=True)
async def put_ivr(body: IvrIn, user: Admin, config: ConfigDep) -> IvrChange:
    """Replaces the whole menu tree. Its new prompts are spoken first; then the running IVR
    uses it for the next caller (callers in the menus finish on the tree they started with).
    409 `stale-version` when `version` is not the current one (someone changed it since it
    was read), `invalid-ivr` when the tree breaks a menu rule (unknown or unreachable menus,
    duplicate digits, missing prompts: the message says where), `unknown-queue` when a
    choice sends callers to a queue that does not exist, `prompts-failed` when a prompt
    cannot be spoken (e.g. a language without a voice)."""
    row, built = await config.put_ivr(user.username, body.version,
                                      body.tree.model_dump(exclude_none=True))
    return IvrChange(version=row.version, tree=IvrTree.model_validate(row.tree),
                     updated_at=row.created_at, updated_by=row.created_by, prompts_built=built)


# ---- audit


@router.get("/audit", responses=ERRORS)
async def audit(_: Admin, config: ConfigDep,
                what: Annotated[str, Query(pattern=r"^[a-z_.]{0,40}$")] = "",
                limit: Limit = 200, offset: Offset = 0) -> list[AuditOut]:
    """The audit log, newest first; `what` narrows by prefix (e.g. "agent.")."""
    return [AuditOut(id=r.id, who=r.who, at=r.at, what=r.what, details=r.details)
            for r in await config.audit_log(what, limit, offset)]
