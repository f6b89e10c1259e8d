"""Configuration changes from an API process without the controller (docs/command-bus.md).

`RemoteConfiguration` is the configuration service of `hotline api`: it reads PostgreSQL as
any (agents, queues, reasons, outages, the IVR tree, the audit), keeps the changes that are
the database's alone (reasons, outages) here, and sends every change the controller must take
at once (agents, queues, the IVR tree, VIP numbers) as a `configure` command over the bus;
the controller applies it through its own service (hotline.centre.service.Configuration:
database, router, nodes' files and the running IVR in one step) with `apply_configure`.
Refusals come back with the service's own status and id (409 `queue-in-use`, 422
`invalid-ivr`, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.api.errors import ApiError
from hotline.centre.model import AgentSpec, QueueSpec
from hotline.centre.queries import IvrRow
from hotline.centre.service import Configuration
from hotline.core import ids
from hotline.store.command_bus import CommandBus, CommandRefused

Who = Annotated[str, Field(min_length=1, max_length=64)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateAgent(_Args):
    method: Literal["create_agent"]
    who: Who
    agent: AgentSpec


class UpdateAgent(_Args):
    method: Literal["update_agent"]
    who: Who
    agent_id: Id
    name: Annotated[str, Field(max_length=200)] | None = None
    secret: Annotated[str, Field(max_length=200)] | None = None
    contact: Annotated[str, Field(max_length=200)] | None = None
    team: Annotated[str, Field(max_length=64)] | None = None


class DeactivateAgent(_Args):
    method: Literal["deactivate_agent"]
    who: Who
    agent_id: Id


class PutQueue(_Args):
    method: Literal["put_queue"]
    who: Who
    queue: QueueSpec


class DeleteQueue(_Args):
    method: Literal["delete_queue"]
    who: Who
    name: Id


class PutIvr(_Args):
    method: Literal["put_ivr"]
    who: Who
    based_on: int
    tree: dict[str, Any]


class PutVip(_Args):
    method: Literal["put_vip"]
    who: Who
    number: ids.PhoneNumber
    note: Annotated[str, Field(max_length=200)] = ""


class DeleteVip(_Args):
    method: Literal["delete_vip"]
    who: Who
    number: ids.PhoneNumber


class ConfigureArgs(_Args):
    """The `configure` command: one change, checked where it enters the controller."""

    change: Annotated[CreateAgent | UpdateAgent | DeactivateAgent | PutQueue | DeleteQueue
                      | PutIvr | PutVip | DeleteVip, Field(discriminator="method")]


async def apply_configure(config: Configuration, args: ConfigureArgs) -> Any:
    """The controller's side: the change through its configuration service; a JSON-able
    result (the service's own errors propagate: the bus answers them)."""
    c = args.change
    match c:
        case CreateAgent():
            return await config.create_agent(c.who, c.agent)
        case UpdateAgent():
            return await config.update_agent(c.who, c.agent_id, name=c.name, secret=c.secret,
                                             contact=c.contact, team=c.team)
        case DeactivateAgent():
            return await config.deactivate_agent(c.who, c.agent_id)
        case PutQueue():
            return await config.put_queue(c.who, c.queue)
        case DeleteQueue():
            await config.delete_queue(c.who, c.name)
            return None
        case PutIvr():
            row, built = await config.put_ivr(c.who, c.based_on, c.tree)
            return {"row": asdict(row), "built": built}
        case PutVip():
            return await config.put_vip(c.who, c.number, c.note)
        case DeleteVip():
            await config.delete_vip(c.who, c.number)
            return None
    raise AssertionError(c)  # the discriminated union has no other member


@dataclass
class RemoteConfiguration(Configuration):
    """The configuration service of an API process: reads here, live changes over `bus`."""

    bus: CommandBus | None = None

    async def _configure(self, change: BaseModel) -> Any:
        assert self.bus is not None
        args = ConfigureArgs.model_validate({"change": change.model_dump(mode="json")})
        try:
            return await self.bus.call("configure", args.model_dump(mode="json"))
        except CommandRefused as exc:
            raise ApiError(exc.status, exc.error_id, exc.message, exc.details) from None

    async def create_agent(self, who: str, spec: AgentSpec) -> dict[str, str]:
        return dict(await self._configure(CreateAgent(method="create_agent", who=who,
                                                      agent=spec)))

    async def update_agent(self, who: str, agent_id: str, *, name: str | None = None,
                           secret: str | None = None, contact: str | None = None,
                           team: str | None = None) -> dict[str, str]:
        return dict(await self._configure(UpdateAgent(
            method="update_agent", who=who, agent_id=agent_id, name=name, secret=secret,
            contact=contact, team=team)))

    async def deactivate_agent(self, who: str, agent_id: str) -> dict[str, str]:
        return dict(await self._configure(DeactivateAgent(method="deactivate_agent", who=who,
                                                          agent_id=agent_id)))

    async def put_queue(self, who: str, queue: QueueSpec) -> bool:
        return bool(await self._configure(PutQueue(method="put_queue", who=who, queue=queue)))

    async def delete_queue(self, who: str, name: str) -> None:
        await self._configure(DeleteQueue(method="delete_queue", who=who, name=name))

    async def put_ivr(self, who: str, based_on: int, tree: dict[str, Any]
                      ) -> tuple[IvrRow, int]:
        done = await self._configure(PutIvr(method="put_ivr", who=who, based_on=based_on,
                                            tree=tree))
        return IvrRow(**done["row"]), int(done["built"])

    async def put_vip(self, who: str, number: str, note: str = "") -> bool:
        return bool(await self._configure(PutVip(method="put_vip", who=who, number=number,
                                                 note=note)))

    async def delete_vip(self, who: str, number: str) -> None:
        await self._configure(DeleteVip(method="delete_vip", who=who, number=number))


__all__ = ["ConfigureArgs", "RemoteConfiguration", "apply_configure"]
