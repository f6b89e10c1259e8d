"""The centre's configuration: agents, skills, queues, not-ready reasons, outages, and the
audit of every change. Admins change everything; supervisors edit skills and reasons.

Each change goes through `hotline.configuration.Configuration`: stored and audited in
PostgreSQL, applied to the router and (for agents) to Asterisk without a restart. The module
docstring there says what takes effect when.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.requests import HTTPConnection

from hotline.centre_file import AgentSpec, Centre, QueueSpec
from hotline.configuration import ConfigError, Configuration, outage_from
from hotline.domain import ServiceType
from hotline.store.config import AgentRow

from ..deps import ServicesDep, require_roles
from ..errors import ApiError, ErrorResponse
from ..security import ALL_ROLES, Claims, Role
from ..services import Services
from ..wiring import agent_queues

router = APIRouter(prefix="/api/config", tags=["configuration"])

Admin = Annotated[Claims, Depends(require_roles())]  # admin passes every check
Steering = Annotated[Claims, Depends(require_roles(Role.SUPERVISOR))]
Viewer = Annotated[Claims, Depends(require_roles(*ALL_ROLES))]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422, 503)}
_STATUS = {"not-found": 404, "conflict": 409, "invalid": 422}

Name = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,40}$")]
_SKILL = r"^[A-Za-z0-9_]{1,40}$"
# pydantic would publish the key rule as patternProperties, which lets other keys through
# with any value; the published schema states the whole rule
Skills = Annotated[
    dict[Annotated[str, Field(pattern=_SKILL)], Annotated[int, Field(ge=0, le=5)]],
    Field(max_length=64),
    WithJsonSchema({"type": "object", "propertyNames": {"pattern": _SKILL}, "maxProperties": 64,
                    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 5}}),
]
Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\"\\;\[\]]*$")]
# the secret and contact are written into pjsip_agents.conf: nothing that breaks a line
Secret = Annotated[str, Field(min_length=4, max_length=128, pattern=r"^[!-~]+$")]
Contact = Annotated[str, Field(max_length=200, pattern=r"^(sips?:[!-~]+)?$")]

Epoch = Annotated[float, Field(ge=0, le=4_102_444_800)]  # seconds, up to the year 2100
AgentId = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,40}$")]
OutageId = Annotated[int, Path(ge=1, le=2**62)]
Code = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


def get_configuration(conn: HTTPConnection) -> Configuration:
    services = conn.app.state.services
    configuration = getattr(services, "configuration", None)
    if configuration is None:
        if services.db_pool is None:
            raise ApiError(503, "no-database", "configuration needs the database")
        # an API without Platform's wiring: database and router only, no Asterisk files
        configuration = Configuration(services.db_pool, services.controller, clock=services.clock)
        services.configuration = configuration
    return configuration  # type: ignore[no-any-return]


ConfigDep = Annotated[Configuration, Depends(get_configuration)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentCreate(_In):
    id: Name
    name: Text = ""
    secret: Secret
    contact: Contact = ""
    skills: Skills = {}


class AgentUpdate(_In):
    name: Text | None = None
    secret: Secret | None = None
    contact: Contact | None = None


class SkillsIn(_In):
    skills: Skills


class AgentOut(BaseModel):
    id: str
    name: str
    contact: str
    skills: dict[str, int]
    active: bool


class AgentChange(BaseModel):
    agent: AgentOut | None
    #: node -> "reloaded" or what failed; empty when Asterisk had nothing to reload
    asterisk: dict[str, str]


class QueueIn(_In):
    service: ServiceType
    required: Skills = {}
    policy: Literal["most_skilled", "longest_idle", "least_calls", "round_robin"] = (
        "most_skilled")
    priority: int = Field(0, ge=-100, le=100)
    sl_target: float = Field(0.8, ge=0, le=1)
    sl_seconds: float = Field(20.0, gt=0, le=3600)


class QueueOut(QueueIn):
    name: str


class QueueChange(BaseModel):
    queue: QueueOut
    created: bool
    takes_effect: str = "at the router's next start"


class ReasonIn(_In):
    label: Text = Field(min_length=1)


class Reason(BaseModel):
    code: str
    label: str


class OutageIn(_In):
    area_code: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$")]
    kind: Literal["planned", "unplanned"]
    starts_at: Epoch
    #: how long it lasts (None: until further notice); a duration rather than an end time,
    #: so that "ends after it starts" is part of the published schema
    duration_s: Annotated[float, Field(ge=1, le=366 * 86400)] | None = None
    description_zh: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""
    description_en: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""


class OutageOut(BaseModel):
    id: int
    area_code: str
    kind: str
    starts_at: float
    ends_at: float | None
    description_zh: str
    description_en: str


class AuditOut(BaseModel):
    id: int
    who: str
    at: float
    what: str
    details: dict[str, Any]


def _error(exc: ConfigError) -> ApiError:
    return ApiError(_STATUS[exc.problem], exc.error_id, exc.message, exc.details)


def _agent(row: AgentRow | None) -> AgentOut | None:
    if row is None:
        return None
    s = row.spec
    return AgentOut(id=s.id, name=s.name, contact=s.contact, skills=s.skills, active=row.active)


async def _agent_change(config: Configuration, services: Services, agent_id: str,
                        asterisk: dict[str, str]) -> AgentChange:
    """The agent as stored now; the live panels learn which queues it serves."""
    rows = [r for r in await config.agents() if r.spec.id == agent_id]
    row = rows[0] if rows else None
    serves: list[str] = []
    if row is not None and row.active:
        serves = agent_queues(Centre(queues=await config.queues(), agents=[row.spec]))[agent_id]
    services.live.set_agent_queues(agent_id, serves)
    return AgentChange(agent=_agent(row), asterisk=asterisk)


# ---- agents


@router.get("/agents", responses=ERRORS)
async def list_agents(_: Steering, config: ConfigDep,
                      include_inactive: bool = False) -> list[AgentOut]:
    return [a for r in await config.agents() if (a := _agent(r)) and (a.active or
                                                                     include_inactive)]


@router.post("/agents", status_code=201, responses=ERRORS)
async def create_agent(body: AgentCreate, user: Admin, config: ConfigDep,
                       services: ServicesDep) -> AgentChange:
    """A new agent: its SIP endpoint, auth and AOR on every node (reloaded, no restart), a
    static member of the failsafe queue, and in the router (logged out)."""
    spec = AgentSpec(id=body.id, name=body.name, secret=body.secret, contact=body.contact,
                     skills={k: v for k, v in body.skills.items() if v > 0})
    try:
        asterisk = await config.create_agent(user.username, spec)
    except ConfigError as exc:
        raise _error(exc) from None
    return await _agent_change(config, services, body.id, asterisk)


@router.patch("/agents/{agent_id}", responses=ERRORS)
async def update_agent(agent_id: AgentId, body: AgentUpdate,
                       user: Admin, config: ConfigDep, services: ServicesDep) -> AgentChange:
    try:
        asterisk = await config.update_agent(user.username, agent_id, name=body.name,
                                             secret=body.secret, contact=body.contact)
    except ConfigError as exc:
        raise _error(exc) from None
    return await _agent_change(config, services, agent_id, asterisk)


@router.put("/agents/{agent_id}/skills", responses=ERRORS)
async def set_skills(agent_id: AgentId, body: SkillsIn,
                     user: Steering, config: ConfigDep, services: ServicesDep) -> AgentChange:
    """Replaces the agent's skills (stored; the router's next decision uses them)."""
    try:
        await config.update_agent(user.username, agent_id, skills=dict(body.skills))
    except ConfigError as exc:
        raise _error(exc) from None
    return await _agent_change(config, services, agent_id, {})


@router.delete("/agents/{agent_id}", responses=ERRORS)
async def deactivate_agent(agent_id: AgentId, user: Admin,
                           config: ConfigDep, services: ServicesDep) -> AgentChange:
    """The agent leaves the router and Asterisk (409 while on a call); the row stays, marked
    inactive, for history; creating the id again brings it back."""
    try:
        asterisk = await config.deactivate_agent(user.username, agent_id)
    except ConfigError as exc:
        raise _error(exc) from None
    return await _agent_change(config, services, agent_id, asterisk)


# ---- queues


@router.get("/queues", responses=ERRORS)
async def list_queues(_: Steering, config: ConfigDep) -> list[QueueOut]:
    return [QueueOut(name=q.name, service=q.service, required=q.required,
                     policy=q.policy, priority=q.priority,  # type: ignore[arg-type]
                     sl_target=q.sl_target, sl_seconds=q.sl_seconds)
            for q in await config.queues()]


@router.put("/queues/{name}", responses=ERRORS)
async def put_queue(name: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,40}$")], body: QueueIn,
                    user: Admin, config: ConfigDep) -> QueueChange:
    spec = QueueSpec(name=name, service=body.service,
                     required={k: v for k, v in body.required.items() if v > 0},
                     policy=body.policy, priority=body.priority, sl_target=body.sl_target,
                     sl_seconds=body.sl_seconds)
    try:
        created = await config.put_queue(user.username, spec)
    except ConfigError as exc:
        raise _error(exc) from None
    return QueueChange(queue=QueueOut(name=name, **body.model_dump()), created=created)


# ---- not-ready reasons


@router.get("/not-ready-reasons", responses=ERRORS)
async def list_reasons(_: Viewer, config: ConfigDep) -> list[Reason]:
    return [Reason(code=c, label=label) for c, label in (await config.reasons()).items()]


@router.put("/not-ready-reasons/{code}", responses=ERRORS)
async def put_reason(code: Code, body: ReasonIn,
                     user: Steering, config: ConfigDep) -> Reason:
    try:
        await config.put_reason(user.username, code, body.label)
    except ConfigError as exc:
        raise _error(exc) from None
    return Reason(code=code, label=body.label)


@router.delete("/not-ready-reasons/{code}", status_code=204, responses=ERRORS)
async def delete_reason(code: Code, user: Steering,
                        config: ConfigDep) -> None:
    try:
        await config.delete_reason(user.username, code)
    except ConfigError as exc:
        raise _error(exc) from None


# ---- outages (the IVR reads them at once)


@router.get("/outages", responses=ERRORS)
async def list_outages(_: Steering, config: ConfigDep,
                       area_code: Annotated[str, Query(pattern=r"^[0-9A-Za-z_-]{1,40}$")],
                       at: Annotated[float, Query(ge=0, le=4_102_444_800)],
                       horizon_s: Annotated[float, Query(ge=0, le=366 * 86400)] = 7 * 86400,
                       ) -> list[OutageOut]:
    """What a caller of the area hears at `at`: in force then, or starting within horizon."""
    return [OutageOut.model_validate(o, from_attributes=True)
            for o in await config.outages(area_code, at, horizon_s)]


async def _put_outage(body: OutageIn, who: str, config: Configuration,
                      outage_id: int | None) -> OutageOut:
    try:
        stored = await config.add_outage(who, outage_from(
            body.area_code, body.kind, body.starts_at,
            None if body.duration_s is None else body.starts_at + body.duration_s,
            body.description_zh,
            body.description_en, outage_id))
    except ConfigError as exc:
        raise _error(exc) from None
    return OutageOut.model_validate(stored, from_attributes=True)


@router.post("/outages", status_code=201, responses=ERRORS)
async def add_outage(body: OutageIn, user: Admin, config: ConfigDep) -> OutageOut:
    return await _put_outage(body, user.username, config, None)


@router.put("/outages/{outage_id}", responses=ERRORS)
async def put_outage(outage_id: OutageId, body: OutageIn, user: Admin,
                     config: ConfigDep) -> OutageOut:
    return await _put_outage(body, user.username, config, outage_id)


@router.delete("/outages/{outage_id}", status_code=204, responses=ERRORS)
async def delete_outage(outage_id: OutageId, user: Admin, config: ConfigDep) -> None:
    try:
        await config.delete_outage(user.username, outage_id)
    except ConfigError as exc:
        raise _error(exc) from None


# ---- audit


@router.get("/audit", responses=ERRORS)
async def audit(_: Admin, config: ConfigDep,
                what: Annotated[str, Query(pattern=r"^[a-z_.]{0,40}$")] = "",
                limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[AuditOut]:
    """The audit log, newest first; `what` narrows by prefix (e.g. "agent.")."""
    return [AuditOut(id=r.id, who=r.who, at=r.at, what=r.what, details=r.details)
            for r in await config.audit_log(what, limit)]
