"""The agent page's softphone account (api/static/softphone.js): where its SIP-over-websocket
phone registers, and with which credentials.

Only the agent itself gets its account (the token's subject is the agent id, role agent):
not a supervisor, not an admin, since the SIP secret lets its holder answer the agent's calls
(docs/security.md, "Softphones"). The secret is the agent's own endpoint secret, read from
the centre's configuration in PostgreSQL; only agents configured for the page's softphone
(Settings.webrtc_agents) have one here (a desk phone's endpoint does not speak WebRTC).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from hotline.api.deps import CurrentUser, ServicesDep, SettingsDep
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.security import Role
from hotline.centre import queries as centre_queries
from hotline.core import ids

router = APIRouter(prefix="/api/agents", tags=["agent desk"])
AgentId = Annotated[ids.AgentId, Path(examples=["agent7"])]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 503)}
#: how an agent transfers the caller to a queue: a blind transfer to *8<queue>
#: (asterisk-config/extensions.conf, [hotline-agent])
TRANSFER_PREFIX = "*8"


class PhoneAccount(BaseModel):
    agent_id: str
    display_name: str
    websocket_url: str  # wss://host:port/ws, Asterisk's secure websocket
    sip_uri: str
    username: str
    password: str
    transfer_prefix: str


@router.get("/{agent_id}/phone", response_model=PhoneAccount, responses=ERRORS)
async def phone_account(agent_id: AgentId, user: CurrentUser, services: ServicesDep,
                        settings: SettingsDep, request: Request) -> PhoneAccount:
    if Role.AGENT not in user.roles or user.username != agent_id:
        raise ApiError(403, "not-your-phone", "only the agent itself gets its phone account",
                       {"agent_id": agent_id})
    if agent_id not in settings.webrtc_agents:
        raise ApiError(404, "no-softphone",
                       "this agent's phone is not the page's softphone (HOTLINE_WEBRTC_AGENTS)",
                       {"agent_id": agent_id})
    if services.db_pool is None:
        raise ApiError(503, "unavailable", "no database: the agents' secrets are there")
    async with services.db_pool.acquire() as conn:
        row = await centre_queries.get_agent(conn, agent_id)
    if row is None or not row.active:
        raise ApiError(404, "not-found", f"no agent {agent_id}", {"agent_id": agent_id})
    # the host the browser reached this page by: Asterisk's websocket is on the same machine
    # unless HOTLINE_SOFTPHONE_WS_URL says where
    host = request.url.hostname or settings.bind_host
    url = settings.softphone_ws_url or f"wss://{host}:{settings.wss_port}/ws"
    return PhoneAccount(agent_id=agent_id, display_name=row.spec.name or agent_id,
                        websocket_url=url, sip_uri=f"sip:{agent_id}@{host}",
                        username=agent_id, password=row.spec.secret or agent_id,
                        transfer_prefix=TRANSFER_PREFIX)
