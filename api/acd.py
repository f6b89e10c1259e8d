"""The routes' one way to the ACD, in this process or in another (docs/command-bus.md).

`AcdPort` is what the routes await: the agents as the router sees them, an agent's desk,
agent commands, spy, callbacks, skill edits. Two ports:

- `LocalAcd` over the in-process controller (`Services.controller`, the sync `Acd`);
- `RemoteAcd` in an API process without a controller (`hotline api`): commands over the
  Redis Streams command bus (hotline.store.command_bus), reads from the agent records the
  controller publishes (hotline.store.acd_views).

Both answer errors alike (`command_error`): an unknown agent 404 `no-such-agent`, an illegal
move 409 `illegal-transition`, no call to spy on 409 `agent-not-on-call`, Asterisk's refusal
502 `telephony-failed`, a node or store out of reach 503 `unavailable`; the remote one also
503 `controller-unavailable` when no controller is active or none answered by the command's
deadline. The controller's side of the bus (hotline.process.acd_server) executes a command
through a `LocalAcd`, so the two paths run the same code. The argument models below are
checked where a command enters the controller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from hotline.api.errors import ApiError, status_of
from hotline.api.remote_config import ConfigureArgs
from hotline.api.schemas import USERNAME_MAX_LEN, AgentOut, DeskCall, Skills
from hotline.api.services import Acd, Services
from hotline.core import ids
from hotline.core.errors import HotlineError, PeerRefused, Unavailable
from hotline.core.lifecycle import AgentState, AgentTrigger, IllegalTransition
from hotline.core.values import ServiceType
from hotline.history.desk import CallContext
from hotline.router.errors import UnknownAgent
from hotline.store.acd_views import AcdViews, ViewsUnavailable
from hotline.store.command_bus import CommandBus, CommandRefused

#: States in which the desk shows a call: offered, ringing, talking, wrapping up (and in which
#: the agent is "talking to" the call's caller for the work-order scope).
WITH_CALL = {
    AgentState.RESERVED,
    AgentState.RINGING,
    AgentState.ON_CALL,
    AgentState.AFTER_CALL_WORK,
}
SpyMode = Literal["listen", "whisper", "barge"]


@dataclass(frozen=True, slots=True)
class DeskState:
    agent: AgentOut
    since: float | None  # when its current state began (the desk's last change)
    call: DeskCall | None  # its current call, in a state of WITH_CALL


@dataclass(frozen=True, slots=True)
class Moved:
    """An agent command done: the agent before and after."""

    before: AgentOut
    after: AgentOut


class AcdPort(Protocol):
    async def agent(self, agent_id: str) -> AgentOut: ...

    async def agents(self) -> list[AgentOut]: ...

    async def desk(self, agent_id: str) -> DeskState: ...

    async def agent_command(self, agent_id: str, trigger: AgentTrigger,
                            reason: str = "") -> Moved: ...

    async def queue_callback(self, service: ServiceType, number: str) -> str: ...

    async def spy(self, supervisor_endpoint: str, agent_id: str, mode: SpyMode) -> str: ...


# ---- the commands' arguments, checked where they enter


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentCommandArgs(_Args):
    agent_id: ids.AgentId
    trigger: AgentTrigger
    reason: Annotated[str, Field(max_length=64)] = ""


class SpyArgs(_Args):
    supervisor_endpoint: ids.AgentId
    agent_id: ids.AgentId
    mode: SpyMode


class CallbackArgs(_Args):
    service: ServiceType
    number: Annotated[str, Field(min_length=1, max_length=64)]


FigureView = Literal["wallboard", "queues", "agents"]


class FiguresArgs(_Args):
    """A read of the controller's figures: /api/wallboard (`queues`: only these),
    /api/queues and /api/agents (a page)."""

    view: FigureView
    limit: Annotated[int, Field(ge=1, le=500)] = 500
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    queues: Annotated[list[ids.QueueName], Field(max_length=200)] | None = None


class ExplainArgs(_Args):
    call_id: Annotated[str, Field(min_length=1, max_length=128)]
    limit: Annotated[int, Field(ge=1, le=500)] = 500
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class SkillsArgs(_Args):
    who: Annotated[str, Field(min_length=1, max_length=USERNAME_MAX_LEN)]  # any user name
    agent_id: ids.AgentId
    skills: Skills


ReserveStep = Literal["apply", "dismiss", "take_back"]


class ReserveArgs(_Args):
    """A supervisor's step on a queue's emergency reserve (hotline.centre.reserve), made by
    the controller's ReserveService and audited as `who`."""

    step: ReserveStep
    queue: ids.QueueName
    who: Annotated[str, Field(min_length=1, max_length=USERNAME_MAX_LEN)]  # any user name


COMMANDS: dict[str, type[BaseModel]] = {
    "agent_command": AgentCommandArgs, "spy": SpyArgs, "queue_callback": CallbackArgs,
    "set_skills": SkillsArgs, "configure": ConfigureArgs,  # (api/remote_config.py)
    "figures": FiguresArgs, "explain": ExplainArgs, "reserve": ReserveArgs,
}


# ---- one error rule for both paths


def no_such_agent(agent_id: str) -> ApiError:
    return ApiError(404, "no-such-agent", f"unknown agent {agent_id!r}", {"agent_id": agent_id})


def command_error(exc: Exception, agent_id: str = "") -> ApiError | None:
    """The API's answer to what a command raised (None: not an error a client is told)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnknownAgent):  # before LookupError: it is one too
        return no_such_agent(agent_id or exc.agent_id)
    if isinstance(exc, IllegalTransition):
        return ApiError(409, "illegal-transition",
                        f"agent {agent_id} is {exc.state}: cannot {exc.trigger}",
                        {"agent_id": agent_id, "state": str(exc.state),
                         "command": str(exc.trigger)})
    if isinstance(exc, PeerRefused):  # an Asterisk node was reached and said no
        return ApiError(502, "telephony-failed", f"Asterisk refused the action: {exc}",
                        {"agent_id": agent_id} if agent_id else {})
    if isinstance(exc, Unavailable):  # a node or a store that cannot be reached now: retry
        return ApiError(503, exc.error_id, exc.message, exc.details)
    if isinstance(exc, LookupError):
        return ApiError(409, "agent-not-on-call", f"agent {agent_id} is on no call",
                        {"agent_id": agent_id})
    if isinstance(exc, HotlineError):
        return ApiError(status_of(exc), exc.error_id, exc.message, exc.details)
    return None


# ---- in this process


def desk_call(context: CallContext) -> DeskCall:
    """The call as the controller saw it: caller, queue, service, IVR path, times."""
    return DeskCall(
        call_id=context.call_id,
        caller=context.caller,
        queue=context.queue,
        service=context.service,
        ivr_path=list(context.ivr_path),
        entered_at=context.entered_at,
        queued_at=context.queued_at,
        answered_at=context.answered_at,
    )


@dataclass
class LocalAcd:
    """The port over the controller in this process."""

    acd: Acd

    def agent_now(self, agent_id: str) -> AgentOut:
        try:
            view = self.acd.router.agent(agent_id)
        except UnknownAgent:
            raise no_such_agent(agent_id) from None
        return AgentOut(agent_id=view.agent_id, name=view.name, state=view.state.value,
                        reason=view.reason, call_id=view.call_id, skills=dict(view.skills))

    def desk_now(self, agent_id: str) -> DeskState:
        agent = self.agent_now(agent_id)
        change = self.acd.desk.last_change(agent_id)
        call_id = agent.call_id or (change.call_id if change else "")
        context = (self.acd.desk.call(agent_id, call_id)
                   if call_id and AgentState(agent.state) in WITH_CALL else None)
        return DeskState(agent, change.at if change else None,
                         desk_call(context) if context is not None else None)

    def record(self, agent_id: str, order: int = 0) -> dict[str, Any]:
        """The agent as RemoteAcd reads it (hotline.store.acd_views)."""
        desk = self.desk_now(agent_id)
        return {**desk.agent.model_dump(), "order": order, "since": desk.since,
                "call": desk.call.model_dump() if desk.call is not None else None}

    def agent_ids(self) -> list[str]:
        return [v.agent_id for v in self.acd.router.agents()]

    async def agent(self, agent_id: str) -> AgentOut:
        return self.agent_now(agent_id)

    async def agents(self) -> list[AgentOut]:
        return [self.agent_now(a) for a in self.agent_ids()]

    async def desk(self, agent_id: str) -> DeskState:
        return self.desk_now(agent_id)

    async def agent_command(self, agent_id: str, trigger: AgentTrigger,
                            reason: str = "") -> Moved:
        before = self.agent_now(agent_id)
        try:
            self.acd.agent_command(agent_id, trigger, reason)
        except IllegalTransition as exc:
            raise command_error(exc, agent_id) from None  # type: ignore[misc]
        return Moved(before, self.agent_now(agent_id))

    async def queue_callback(self, service: ServiceType, number: str) -> str:
        return self.acd.queue_callback(service, number)

    async def spy(self, supervisor_endpoint: str, agent_id: str, mode: SpyMode) -> str:
        self.agent_now(agent_id)  # 404 first: UnknownAgent is a LookupError too
        try:
            return await self.acd.spy(supervisor_endpoint, agent_id, mode)
        except (LookupError, PeerRefused, Unavailable) as exc:
            raise command_error(exc, agent_id) from None  # type: ignore[misc]


# ---- in another process


def _unavailable(why: str) -> ApiError:
    return ApiError(503, "controller-unavailable", why, {})


@dataclass
class RemoteAcd:
    """The port of an API process without a controller: commands over the bus, reads from
    the records the controller publishes. A read while no controller is active is 503
    `controller-unavailable` too: the records would be the last ones a gone controller
    wrote."""

    bus: CommandBus
    views: AcdViews

    async def _call(self, command: str, args: _Args) -> Any:
        try:
            return await self.bus.call(command, args.model_dump(mode="json"))
        except CommandRefused as exc:
            raise ApiError(exc.status, exc.error_id, exc.message, exc.details) from None

    async def _record(self, agent_id: str) -> dict[str, Any]:
        try:
            active, record = await self.views.agent(agent_id)
        except ViewsUnavailable as exc:
            raise _unavailable(f"Redis unreachable: {exc}") from None
        if not active:
            raise _unavailable("no controller is active: the agents' state is not known")
        if record is None:
            raise no_such_agent(agent_id)
        return record

    async def agent(self, agent_id: str) -> AgentOut:
        return _agent_of(await self._record(agent_id))

    async def agents(self) -> list[AgentOut]:
        try:
            active, records = await self.views.agents()
        except ViewsUnavailable as exc:
            raise _unavailable(f"Redis unreachable: {exc}") from None
        if not active:
            raise _unavailable("no controller is active: the agents' state is not known")
        return [_agent_of(r) for r in records]

    async def figures(self, view: FigureView, *, limit: int = 500, offset: int = 0,
                      queues: list[str] | None = None) -> Any:
        """The controller's REST figures, computed there on demand as the routes compute
        them in one process (a page of them, as asked)."""
        return await self._call("figures", FiguresArgs(view=view, limit=limit, offset=offset,
                                                       queues=queues))

    async def explain(self, call_id: str, *, limit: int = 500, offset: int = 0) -> Any:
        """The router's explanations of the call's offers (404 `no-such-call`)."""
        return await self._call("explain", ExplainArgs(call_id=call_id, limit=limit,
                                                       offset=offset))

    async def desk(self, agent_id: str) -> DeskState:
        record = await self._record(agent_id)
        call = record.get("call")
        return DeskState(_agent_of(record), record.get("since"),
                         DeskCall.model_validate(call) if call is not None else None)

    async def agent_command(self, agent_id: str, trigger: AgentTrigger,
                            reason: str = "") -> Moved:
        done = await self._call("agent_command", AgentCommandArgs(
            agent_id=agent_id, trigger=trigger, reason=reason))
        return Moved(AgentOut.model_validate(done["before"]),
                     AgentOut.model_validate(done["after"]))

    async def queue_callback(self, service: ServiceType, number: str) -> str:
        return str(await self._call("queue_callback",
                                    CallbackArgs(service=service, number=number)))

    async def spy(self, supervisor_endpoint: str, agent_id: str, mode: SpyMode) -> str:
        return str(await self._call("spy", SpyArgs(
            supervisor_endpoint=supervisor_endpoint, agent_id=agent_id, mode=mode)))

    async def set_skills(self, who: str, agent_id: str, skills: dict[str, int]
                         ) -> dict[str, Any]:
        """The controller's skill edit (its configuration service: database, router, live
        view): {"before", "after", "stored": the stored agent or None, "agent": AgentOut}."""
        return dict(await self._call("set_skills",
                                     SkillsArgs(who=who, agent_id=agent_id, skills=skills)))

    async def reserve(self, step: ReserveStep, queue: str, who: str) -> Any:
        """The controller's emergency reserve step: apply and dismiss answer the queue's
        reserve state, take_back None; its refusals (404 `no-reserve-rule`, 409
        `reserve-applied` ...) as in one process."""
        return await self._call("reserve", ReserveArgs(step=step, queue=queue, who=who))


def _agent_of(record: dict[str, Any]) -> AgentOut:
    return AgentOut.model_validate({k: record[k] for k in AgentOut.model_fields})


def acd_of(services: Services) -> AcdPort:
    """This node's port: the remote one when set, else over the in-process controller; 503
    `controller-unavailable` when there is neither."""
    if services.remote is not None:
        return services.remote  # type: ignore[no-any-return]
    if services.controller is None:
        raise _unavailable("this API node has no controller")
    return LocalAcd(services.controller)


__all__ = ["COMMANDS", "WITH_CALL", "AcdPort", "DeskState", "LocalAcd", "Moved", "RemoteAcd",
           "ReserveArgs", "ReserveStep", "acd_of", "command_error", "desk_call"]
