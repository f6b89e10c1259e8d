"""Supervisor commands: move an agent, edit its skills, listen / whisper / barge; the audit.

Moves and spying go through the controller (`agent_command`, `spy`); a skill edit through the
configuration service's one skill edit (`Configuration.set_skills`: database, router and the
live view together). Every change is written to the in-memory audit list, read at
GET /api/audit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from starlette.requests import HTTPConnection

from hotline.api.deps import AuthenticatorDep, ServicesDep, SettingsDep, Steering
from hotline.api.errors import ApiError
from hotline.api.limits import MAX_PAGE, Limit, Offset, page
from hotline.api.routes import centre
from hotline.api.routes.agent_desk import (
    ERRORS,
    AgentId,
    Audit,
    Reasons,
    agent_out,
    controller_of,
    run_command,
)
from hotline.api.schemas import (
    AgentCommandName,
    AgentOut,
    AuditEntry,
    SkillsRequest,
    SpyOut,
    SpyRequest,
)
from hotline.api.spy_target import spy_endpoint
from hotline.centre.service import Configuration
from hotline.core import ids
from hotline.core.lifecycle import AgentTrigger

router = APIRouter(prefix="/api", tags=["supervision"])


class StateCommandIn(BaseModel):
    """A supervisor moves an agent; `reason` (required for not_ready) is one of the
    configured reason codes (GET /api/config/not-ready-reasons)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"command": "not_ready", "reason": "meeting"}]}
    )
    command: AgentCommandName
    reason: ids.ReasonCode | None = None


@router.get("/roster", responses=ERRORS)
async def roster(_: Steering, services: ServicesDep, limit: Limit = MAX_PAGE,
                 offset: Offset = 0) -> list[AgentOut]:
    """The agents as the router sees them now, with their skills (for the skill editor), a
    page of them."""
    return page(await controller_of(services).agents(), limit, offset)


@router.post("/agents/{agent_id}/state", responses=ERRORS)
async def change_state(
    agent_id: AgentId,
    body: StateCommandIn,
    user: Steering,
    services: ServicesDep,
    audit: Audit,
    reasons: Reasons,
) -> AgentOut:
    """Move an agent (login, logout, ready, not_ready with a reason, end_wrap_up). A reason
    that is not configured is refused with 409 `unknown-reason`, as on the agent's own
    not-ready command."""
    if body.command == "not_ready" and body.reason is None:
        raise ApiError(
            422,
            "invalid-request",
            "not_ready needs a reason",
            {"errors": [{"loc": ["body", "reason"], "msg": "required"}]},
        )
    if body.command == "not_ready" and body.reason not in reasons:
        raise ApiError(409, "unknown-reason",
                       f"{body.reason!r} is not a configured not-ready reason"
                       + (f" (one of {', '.join(reasons)})" if reasons else
                          " (none are configured)"),
                       {"reason": body.reason, "reasons": list(reasons)})
    return await run_command(
        services, audit, user.username, agent_id, AgentTrigger(body.command), body.reason or ""
    )


class SkillsOut(BaseModel):
    """The agent after a skill edit: as the router sees it now (the fields of AgentOut, which
    the supervisor page reads; `state` None on a node without a router) and as stored
    (`agent`, as GET /api/config/agents lists it; None without a database)."""

    agent_id: str
    name: str
    state: str | None
    reason: str
    call_id: str
    skills: dict[str, int]
    agent: centre.AgentOut | None
    #: a skill edit needs no Asterisk reload: always empty (the shape of an agent change)
    asterisk: dict[str, str] = {}


def _skill_editor(conn: HTTPConnection) -> Configuration | None:
    """None on an API process without the controller: the edit goes over the command bus to
    the controller's configuration service."""
    services = conn.app.state.services
    if services.remote is not None and services.configuration is None:
        return None
    return centre.skill_editor(conn)


SkillEditor = Annotated[Configuration | None, Depends(_skill_editor)]


@router.put("/agents/{agent_id}/skills", responses={**ERRORS, 422: ERRORS[409]})
@centre.router.put("/agents/{agent_id}/skills", responses=centre.ERRORS)
async def set_skills(agent_id: AgentId, body: SkillsRequest, user: Steering,
                     services: ServicesDep, audit: Audit, editor: SkillEditor) -> SkillsOut:
    """Replace the agent's skills (level 0 removes one): stored and audited where there is a
    database, and the next routing decision uses them (a waiting call may be offered at once
    to an agent who now qualifies); the live view shows the queues the agent now serves.
    The one skill edit, also at PUT /api/config/agents/{agent_id}/skills."""
    if editor is None:
        done = await services.remote.set_skills(user.username, agent_id, dict(body.skills))
        audit.add(services.clock(), user.username, agent_id, "set_skills",
                  before=done["before"], after=done["after"])
        stored = done["stored"]
        return SkillsOut(**done["agent"],
                         agent=centre.AgentOut.model_validate(stored) if stored else None)
    change = await editor.set_skills(user.username, agent_id, dict(body.skills))
    audit.add(services.clock(), user.username, agent_id, "set_skills",
              before=change.before, after=change.after)
    stored = centre.agent_out(change.row)
    if services.controller is not None or services.remote is not None:
        now = await agent_out(controller_of(services), agent_id)
        return SkillsOut(**now.model_dump(), agent=stored)
    assert stored is not None  # no router: the service went to the database
    return SkillsOut(agent_id=agent_id, name=stored.name, state=None, reason="", call_id="",
                     skills=stored.skills, agent=stored)


@router.post("/agents/{agent_id}/spy", responses={**ERRORS, 502: ERRORS[409]})
async def spy(
    agent_id: AgentId, body: SpyRequest, user: Steering, services: ServicesDep, audit: Audit,
    settings: SettingsDep, auth: AuthenticatorDep,
) -> SpyOut:
    """Ring the supervisor's own endpoint into the agent's live call: listen, whisper or
    barge. Another endpoint only for an admin (403 `not-your-endpoint`; 409 `no-own-endpoint`
    when the supervisor has none: api/spy_target.py). 409 when the agent is on no call."""
    controller = controller_of(services)
    await agent_out(controller, agent_id)  # 404 first: UnknownAgent is a LookupError too
    endpoint = spy_endpoint(settings, user, await auth.users.get(user.username),
                            body.supervisor_endpoint)
    call_id = await controller.spy(endpoint, agent_id, body.mode)
    audit.add(
        services.clock(),
        user.username,
        agent_id,
        f"spy:{body.mode}",
        call_id=call_id,
        supervisor_endpoint=endpoint,
    )
    return SpyOut(agent_id=agent_id, call_id=call_id, mode=body.mode)


@router.get("/audit", responses=ERRORS)
async def audit_list(
    _: Steering,
    audit: Audit,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[AuditEntry]:
    """The latest changes made through the API, newest first."""
    entries = [e for e in reversed(audit.entries) if agent_id is None or e.agent_id == agent_id]
    return page(entries, limit, offset)
