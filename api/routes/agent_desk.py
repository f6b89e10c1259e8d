"""Agent commands (login, ready, not ready, end wrap-up, logout) and the agent's desk.

An agent acts only on itself (the token's subject is the agent id); supervisors and admins
may act on anyone. Every command goes through the controller's own command path
(`Controller.agent_command`) and is written to the audit list (see `AuditLog`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from hotline.api.acd import WITH_CALL as WITH_CALL  # re-exported: the work orders' scope
from hotline.api.acd import AcdPort, acd_of
from hotline.api.acd import desk_call as desk_call
from hotline.api.deps import ServicesDep, SettingsDep, require_roles
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.schemas import (
    AgentOut,
    AuditEntry,
    DeskOut,
    OpenOrder,
    RecentCall,
)
from hotline.api.security import Claims, Role
from hotline.api.services import Services
from hotline.centre.service import DEFAULT_REASONS
from hotline.core import ids
from hotline.core.lifecycle import AgentTrigger
from hotline.store.records import AuditRecord

if TYPE_CHECKING:
    from hotline.work_orders.model import WorkOrder

log = logging.getLogger("hotline.api.audit")
router = APIRouter(prefix="/api/agents", tags=["agent desk"])
RECENT_CALLS = 10
ANSWERED_ORDERS = 10  # the caller's answered orders the desk shows, last moved first
AgentId = Annotated[ids.AgentId, Path(examples=["agent1"])]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 503)
}
REASON_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 422: {"model": ErrorResponse}}


class NotReadyIn(BaseModel):
    """Not ready with one of the configured reason codes (GET /api/config/not-ready-reasons)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"reason": "break"}]})
    reason: Annotated[ids.ReasonCode, Field(examples=["break"])]


async def configured_reasons(conn: HTTPConnection) -> dict[str, str]:
    """code -> label: the reasons configured in PostgreSQL (read on every use, so a change
    through the configuration API applies to the next command), or the built-in ones when
    the API runs without a database."""
    from hotline.api.routes.centre import (
        get_configuration,  # the configuration routes own the service
    )

    if conn.app.state.services.db_pool is None:
        return dict(DEFAULT_REASONS)
    return await get_configuration(conn).reasons()


Reasons = Annotated[dict[str, str], Depends(configured_reasons)]

# ---- the audit list


@dataclass
class AuditLog:
    """Who changed what, newest last, in memory (GET /api/audit); each entry is also written
    to the store's audit_log (what = "agent_desk.<action>"). With the store's writer (the
    controller's node) it goes through the writer's on-disk outbox: accepted at once, never
    lost while PostgreSQL is down, written once it is back (docs/outbox.md). Without one but
    with a pool (an API node built without the writer) it is written directly, and a failure
    is logged."""

    entries: deque[AuditEntry]
    pool: Any = None  # an asyncpg pool, or None
    writer: Any = None  # hotline.store.writer.Writer, or None
    _writes: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @classmethod
    def empty(cls, limit: int = 10_000, pool: Any = None, writer: Any = None) -> AuditLog:
        return cls(deque(maxlen=limit), pool, writer)

    def add(self, at: float, actor: str, agent_id: str, action: str, **detail: Any) -> None:
        self.entries.append(
            AuditEntry(at=at, actor=actor, agent_id=agent_id, action=action, detail=detail)
        )
        if self.writer is not None:  # the command has happened: do not make it wait
            self.writer.submit(AuditRecord(
                key=uuid.uuid4().hex, who=actor, at=at, what=f"agent_desk.{action}",
                details=json.loads(json.dumps({"agent_id": agent_id, **detail}, default=str))))
        elif self.pool is not None:
            task = asyncio.get_running_loop().create_task(
                self._write(at, actor, agent_id, action, detail))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _write(self, at: float, actor: str, agent_id: str, action: str,
                     detail: dict[str, Any]) -> None:
        from hotline.centre import queries as store

        try:
            async with self.pool.acquire() as conn:
                await store.audit(conn, actor, f"agent_desk.{action}",
                                  {"agent_id": agent_id, **detail},
                                  datetime.fromtimestamp(at, UTC))
        except Exception:  # the in-memory entry stays; the loss is logged
            log.exception("audit row not written: %s %s %s", actor, action, agent_id)

    async def flush(self) -> None:
        """Waits until every entry is durable: in the outbox, or written (tests, shutdown)."""
        if self.writer is not None:
            await self.writer.sync()
        while self._writes:
            await asyncio.gather(*list(self._writes))


def get_audit(conn: HTTPConnection) -> AuditLog:
    state = conn.app.state
    if getattr(state, "audit", None) is None:  # one per app, made on first use
        services = state.services
        state.audit = AuditLog.empty(pool=getattr(services, "db_pool", None),
                                     writer=getattr(services, "writer", None))
    return state.audit  # type: ignore[no-any-return]


Audit = Annotated[AuditLog, Depends(get_audit)]

# ---- who may act on whom


def may_act_on(user: Claims, agent_id: str) -> bool:
    return user.username == agent_id or user.has_any((Role.SUPERVISOR,))


async def _self_or_supervisor(
    agent_id: AgentId,
    user: Annotated[Claims, Depends(require_roles(Role.AGENT, Role.SUPERVISOR))],
) -> Claims:
    if not may_act_on(user, agent_id):
        raise ApiError(
            403,
            "forbidden",
            "an agent may act only on itself",
            {"agent_id": agent_id, "username": user.username},
        )
    return user


SelfOrSupervisor = Annotated[Claims, Depends(_self_or_supervisor)]

# ---- the command path


def controller_of(services: Services) -> AcdPort:
    """This node's way to the ACD (in-process or over the command bus); 503 without one."""
    return acd_of(services)


async def agent_out(controller: AcdPort, agent_id: str) -> AgentOut:
    return await controller.agent(agent_id)


async def run_command(
    services: Services,
    audit: AuditLog,
    actor: str,
    agent_id: str,
    trigger: AgentTrigger,
    reason: str = "",
) -> AgentOut:
    """One agent command through the controller; 404 unknown agent, 409 illegal move (503
    `controller-unavailable` when it goes over the bus and no controller takes it)."""
    moved = await controller_of(services).agent_command(agent_id, trigger, reason)
    audit.add(
        services.clock(), actor, agent_id, trigger.value, reason=reason,
        state_before=moved.before.state
    )
    return moved.after


def _command_route(trigger: AgentTrigger) -> None:
    async def command(
        agent_id: AgentId, user: SelfOrSupervisor, services: ServicesDep, audit: Audit
    ) -> AgentOut:
        return await run_command(services, audit, user.username, agent_id, trigger)

    command.__doc__ = f"The agent's {trigger.value} command."
    router.add_api_route(
        f"/{{agent_id}}/{trigger.value.replace('_', '-')}",
        command,
        methods=["POST"],
        responses=ERRORS,
        name=f"agent_{trigger.value}",
    )


for _trigger in (
    AgentTrigger.LOGIN,
    AgentTrigger.LOGOUT,
    AgentTrigger.READY,
    AgentTrigger.END_WRAP_UP,
):
    _command_route(_trigger)


@router.post("/{agent_id}/not-ready", responses=REASON_ERRORS)
async def not_ready(
    agent_id: AgentId,
    body: NotReadyIn,
    user: SelfOrSupervisor,
    services: ServicesDep,
    audit: Audit,
    reasons: Reasons,
) -> AgentOut:
    """Not ready with one of the configured reason codes (break, meal, ... as configured
    under /api/config/not-ready-reasons); any other is refused with 409 `unknown-reason`
    (the request is well-formed but the centre's configuration has no such reason)."""
    if body.reason not in reasons:
        raise ApiError(409, "unknown-reason",
                       f"{body.reason!r} is not a configured not-ready reason"
                       + (f" (one of {', '.join(reasons)})" if reasons else
                          " (none are configured)"),
                       {"reason": body.reason, "reasons": list(reasons)})
    return await run_command(
        services, audit, user.username, agent_id, AgentTrigger.NOT_READY, body.reason
    )


# ---- the desk: read-only views of the controller's desk projection


async def recent_calls(services: Services, caller: str, skip: str) -> list[RecentCall]:
    if services.db_pool is None or not caller:
        return []
    from hotline.store.queries import calls_by  # asyncpg only where a store is wired
    from hotline.store.records import CallFilter

    async with services.db_pool.acquire() as conn:
        rows = await calls_by(conn, CallFilter(caller=caller, limit=RECENT_CALLS + 1))
    return [
        RecentCall(
            call_id=r.call_id,
            entered_at=r.entered_at,
            queue=r.queue,
            service=r.service,
            agent_id=r.agent_id,
            outcome=r.outcome,
            talk_s=r.talk_s,
        )
        for r in rows
        if r.call_id != skip
    ][:RECENT_CALLS]


@dataclass(frozen=True, slots=True)
class CallerOrders:
    open: list[OpenOrder]
    answered: list[OpenOrder]  # closed with a final answer
    final_answer_repeat: int | None  # the answered matter this call repeats


async def caller_orders(services: Services, caller: str, user: Claims,
                        window_s: float) -> CallerOrders:
    """The caller's open orders, and its closed ones with a final answer (最终答复), that
    `user` may see (the work-order scope rule); which answered one this call repeats
    (model.answered_matter, the rule repeat detection uses)."""
    if services.db_pool is None or not caller:
        return CallerOrders([], [], None)
    # asyncpg only where a store is wired; the routes of work orders own the scope
    from hotline.api.routes.work_orders import viewer_of
    from hotline.work_orders import queries as work_orders
    from hotline.work_orders.model import answered_matter

    viewer = await viewer_of(user, services)
    async with services.db_pool.acquire() as conn:
        found = await work_orders.open_for_caller(conn, caller, viewer)
        answered = await work_orders.answered_for_caller(conn, caller, viewer,
                                                         limit=ANSWERED_ORDERS)
    matter = answered_matter(services.clock(), answered, window_s)
    return CallerOrders(
        [_order_out(o) for o in found], [_order_out(o) for o in answered],
        matter.id if matter is not None else None)


def _order_out(o: WorkOrder) -> OpenOrder:
    return OpenOrder(id=o.id or 0, service=str(o.service), state=str(o.state),
                     description=o.description, created_at=o.created_at,
                     created_by=o.created_by, final_answer=o.final_answer)


@router.get("/{agent_id}/desk", responses=ERRORS)
async def desk(agent_id: AgentId, user: SelfOrSupervisor, services: ServicesDep,
               settings: SettingsDep, reasons: Reasons) -> DeskOut:
    """The agent's state and time in it, its current call and the caller's recent calls."""
    state = await controller_of(services).desk(agent_id)
    agent, call, since = state.agent, state.call, state.since
    now = services.clock()
    orders = (await caller_orders(services, call.caller, user, settings.repeat_window_s)
              if call else CallerOrders([], [], None))
    return DeskOut(
        agent_id=agent.agent_id,
        name=agent.name,
        state=agent.state,
        reason=agent.reason,
        since=since,
        time_in_state_s=round(now - since, 3) if since is not None else None,
        now=now,
        skills=agent.skills,
        call=call,
        recent_calls=await recent_calls(services, call.caller, call.call_id) if call else [],
        open_orders=orders.open,
        answered_orders=orders.answered,
        final_answer_repeat=orders.final_answer_repeat,
        reasons=list(reasons),
    )
