"""Call history from PostgreSQL: pages of calls, one call in full, an agent's state log.

Agents see only their own calls and their own state log (the token's subject is the agent id).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query

from hotline.api.deps import ServicesDep, require_roles
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import (
    DEFAULT_PAGE,
    MAX_EPOCH,
    MAX_LIST_SPAN_S,
    MAX_PAGE,
    Limit,
    Offset,
    SpanTooLong,
    check_span,
)
from hotline.api.schemas import (
    AgentStateOut,
    AgentStatesOut,
    CallDetail,
    CallPageOut,
    CallSummary,
    ExplanationOut,
    TimelineStep,
)
from hotline.api.security import Claims, Role
from hotline.api.services import Services
from hotline.history import queries as history
from hotline.router import Explanation
from hotline.router.decisions import Considered
from hotline.store import queries
from hotline.store.records import CallFilter, CallRecord, RecordError, RoutingExplanation

log = logging.getLogger("hotline.api.history")
router = APIRouter(prefix="/api", tags=["history"])

#: Identifiers in filters and paths: no control characters (PostgreSQL refuses NUL).
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"

HistoryReader = Annotated[Claims, Depends(require_roles(Role.SUPERVISOR, Role.QA, Role.AGENT))]
StateReader = Annotated[
    Claims, Depends(require_roles(Role.SUPERVISOR, Role.PLANNER, Role.AGENT))
]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


@asynccontextmanager
async def store(services: Services) -> AsyncIterator[asyncpg.Connection]:
    """A connection from the history pool, or 503 on a node without one."""
    if services.db_pool is None:
        raise ApiError(503, "history-unavailable", "no history database on this API node")
    async with services.db_pool.acquire() as conn:
        yield conn


def invalid(loc: list[str], msg: str, kind: str = "value_error") -> ApiError:
    """A 422 shaped like the framework's own validation errors."""
    return ApiError(422, "invalid-request", "the request is not valid",
                    {"errors": [{"loc": loc, "msg": msg, "type": kind}]})


def sees_everything(user: Claims) -> bool:
    """Supervisors, QA and admins read every call; an agent only their own."""
    return user.has_any({Role.SUPERVISOR, Role.QA})


def recording_url(call: CallRecord) -> str | None:
    return f"/api/recordings/{call.call_id}" if call.recording_path else None


def summary_fields(call: CallRecord) -> dict[str, Any]:
    return {
        "call_id": call.call_id, "node": call.node, "caller": call.caller,
        "dialed": call.dialed, "queue": call.queue, "service": call.service,
        "entered_at": call.entered_at, "queued_at": call.queued_at,
        "answered_at": call.answered_at, "ended_at": call.ended_at,
        "agent_id": call.agent_id, "outcome": call.outcome, "wait_s": call.wait_s,
        "talk_s": call.talk_s, "hold_s": call.hold_s, "acw_s": call.acw_s,
        "ivr_path": call.ivr_path, "recording_url": recording_url(call),
    }


Epoch = Annotated[float | None, Query(ge=0, le=MAX_EPOCH, description="epoch seconds",
                                      examples=[1795432233.9])]
Ident = Annotated[str | None, Query(min_length=1, max_length=128, pattern=ID_PATTERN)]


@router.get("/calls", responses=ERRORS)
async def calls(
    user: HistoryReader,
    services: ServicesDep,
    since: Epoch = None,
    until: Epoch = None,
    queue: Ident = None,
    agent: Ident = None,
    caller: Ident = None,
    outcome: Ident = None,
    service: Ident = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(pattern=history.CURSOR_PATTERN,
                                        description="next_cursor of the previous page",
                                        examples=["1795432233900000~1795432233.17"])] = None,
) -> CallPageOut:
    """Calls entered in [since, until) matching every filter, newest first (until <= since:
    an empty page; a span of at most a year, an open end allowed). An agent's request is
    limited to the calls that agent handled, whatever `agent` says."""
    _span(since, until)
    if not sees_everything(user):
        agent = user.username
    try:
        after = history.Cursor.decode(cursor) if cursor is not None else None
        filters = CallFilter(queue=queue, agent_id=agent, caller=caller, outcome=outcome,
                             service=service, since=since, until=until, limit=limit)
    except history.BadCursor as exc:
        raise invalid(["query", "cursor"], str(exc)) from None
    except RecordError as exc:
        raise invalid(["query", exc.field], exc.problem) from None
    async with store(services) as conn:
        page = await history.calls_page(conn, filters, after)
    return CallPageOut(
        calls=[CallSummary(**summary_fields(c)) for c in page.calls],
        next_cursor=page.next_cursor.encode() if page.next_cursor else None,
    )


def _span(since: float | None, until: float | None) -> None:
    try:
        check_span(since, until, MAX_LIST_SPAN_S)
    except SpanTooLong as exc:
        raise invalid(["query", "until"], str(exc)) from None


CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN,
                             examples=["1795432233.17"])]


def no_such_call(call_id: str) -> ApiError:
    return ApiError(404, "no-such-call", "no call with this id in the history",
                    {"call_id": call_id})


def explanation_of(detail: dict[str, Any]) -> ExplanationOut:
    """A stored explanation (the recorder's JSON of router.Explanation) for the API."""
    return ExplanationOut.of(Explanation(
        call_id=detail["call_id"], at=detail["at"], queue=detail["queue"],
        policy=detail["policy"],
        requirements=tuple((str(s), int(n)) for s, n in detail["requirements"]),
        reason=detail["reason"], chosen=detail["chosen"], eligible=tuple(detail["eligible"]),
        # dataclasses.asdict kept each Considered (a NamedTuple) as a list of its fields
        passed_over=tuple(Considered(**c) if isinstance(c, dict) else Considered(*c)
                          for c in detail["passed_over"]),
        omitted=int(detail.get("omitted", 0)),
    ))


def readable(call_id: str, stored: list[RoutingExplanation]) -> list[ExplanationOut]:
    """The stored explanations the API can show; one an older recorder wrote unreadably is
    logged and left out."""
    shown: list[ExplanationOut] = []
    for e in stored:
        try:
            shown.append(explanation_of(e.detail))
        except (KeyError, TypeError, ValueError):
            log.warning("call %s: unreadable routing explanation at %s", call_id, e.at)
    return shown


@router.get("/calls/{call_id}", responses={**ERRORS, 404: {"model": ErrorResponse}})
async def call(user: HistoryReader, services: ServicesDep, call_id: CallId) -> CallDetail:
    """The call with its timeline, durations, IVR path, recording link and the router's
    explanation of every offer (from the store; from the router while the call is live).
    An agent asking for someone else's call gets 404, as if it did not exist."""
    async with store(services) as conn:
        found = await queries.get_call(conn, call_id)
        # the first page of them (GET /api/calls/{id}/explanation pages the router's)
        stored = (await queries.explanations(conn, call_id, limit=MAX_PAGE)
                  if found is not None else [])
    if found is None or (not sees_everything(user) and found.agent_id != user.username):
        raise no_such_call(call_id)
    explanations = readable(call_id, stored)
    source = "store" if explanations else "none"
    if not explanations and services.explainer is not None:
        explanations = [ExplanationOut.of(e) for e in services.explainer.explain(call_id)]
        source = "router" if explanations else "none"
    return CallDetail(
        **summary_fields(found),
        timeline=[TimelineStep(at=float(s.get("at", 0.0)), what=str(s.get("what", "")))
                  for s in found.timeline if isinstance(s, dict)],
        explanations=explanations,
        explanations_from=source,
    )


@router.get("/agents/{agent_id}/states", responses=ERRORS)
async def agent_states(
    user: StateReader,
    services: ServicesDep,
    agent_id: Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN,
                                  examples=["agent3"])],
    since: Epoch = None,
    until: Epoch = None,
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> AgentStatesOut:
    """The agent's states that started in [since, until), oldest first, a page of them (a
    span of at most a year, an open end allowed; next_offset: where the next page starts).
    Supervisors, planners and admins may read anyone's; an agent only their own."""
    _span(since, until)
    if not user.has_any({Role.SUPERVISOR, Role.PLANNER}) and user.username != agent_id:
        raise ApiError(403, "forbidden", "an agent may read only their own state history",
                       {"roles_allowed": sorted({Role.SUPERVISOR, Role.PLANNER, Role.ADMIN})})
    async with store(services) as conn:
        entries = await queries.agent_states(conn, agent_id, since or 0.0, until,
                                             limit=limit + 1, offset=offset)
    more = len(entries) > limit
    return AgentStatesOut(agent_id=agent_id, states=[
        AgentStateOut(state=e.state, started_at=e.started_at, ended_at=e.ended_at,
                      reason=e.reason, call_id=e.call_id) for e in entries[:limit]],
        next_offset=offset + limit if more else None)


__all__ = ["ID_PATTERN", "MAX_EPOCH", "router", "store"]
