"""The controller's side of the command bus (docs/command-bus.md): executes the commands API
processes send over Redis Streams on the in-process controller, and publishes the agent
records those processes read (hotline.store.acd_views).

A command runs through `hotline.api.acd.LocalAcd`, the very port the in-process routes use,
so an agent command answers the same over HTTP in either kind of process. An agent's record
is written again before the reply of a command that changed it (a read after the reply shows
the change), within `flush_s` of any controller item that names the agent, and all of them
every `full_every_s` (a safety net). The REST figures (`figures`) are computed on demand, a
page at a time, from the controller's live side (`live_side`: its metrics and feed), as the
routes compute them in one process.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter, ValidationError

from hotline.api.acd import COMMANDS, FiguresArgs, LocalAcd, ReserveArgs, command_error
from hotline.api.remote_config import apply_configure
from hotline.api.routes.agents import agent_page
from hotline.api.routes.calls import explanations
from hotline.api.routes.centre import agent_out as stored_agent
from hotline.api.routes.centre import queues_changed
from hotline.api.routes.queues import queue_page
from hotline.api.routes.wallboard import wallboard_view
from hotline.api.schemas import AgentLive, ExplanationOut, QueueSummary
from hotline.api.services import Services
from hotline.centre.reserve import ReserveService
from hotline.centre.service import Configuration
from hotline.core.tasks import cancel_and_wait
from hotline.process.controller import Controller
from hotline.store.acd_views import AcdViews, ViewsUnavailable
from hotline.store.command_bus import CommandRefused, CommandServer
from hotline.store.leadership import Leadership

log = logging.getLogger("hotline.process.acd_server")
_QUEUES, _AGENTS = TypeAdapter(list[QueueSummary]), TypeAdapter(list[AgentLive])
_EXPLAINED = TypeAdapter(list[ExplanationOut])


def _refused(exc: Exception, args: dict[str, Any]) -> CommandRefused | None:
    agent_id = args.get("agent_id", "")
    error = command_error(exc, agent_id if isinstance(agent_id, str) else "")
    if error is None:
        return None
    return CommandRefused(error.status, error.error_id, error.message, error.details)


@dataclass
class AcdServer:
    controller: Controller
    client: Any  # a redis.asyncio client (hotline.store.live.connect_redis)
    #: the skill edit's service (database, router, live view); None: the router alone
    configuration: Configuration | None = None
    #: the controller's live feed and metrics: they follow a queue change made over the bus
    #: as the route makes them follow one in-process
    live_side: Services | None = None
    #: the emergency reserve's steps (`reserve` commands); None: refused 503
    reserve: ReserveService | None = None
    flush_s: float = 0.1
    #: every record again this often (a safety net: changes are written as they happen);
    #: ~60 ms of the loop for 10,000 agents
    full_every_s: float = 30.0
    claim_idle_s: float = 5.0
    #: the controller's term: commands are served and records written only while it holds
    #: (None: always, a single controller's own lease on the bus)
    leadership: Leadership | None = None
    server: CommandServer = field(init=False)
    views: AcdViews = field(init=False)
    _acd: LocalAcd = field(init=False)
    _dirty: set[str] = field(default_factory=set, init=False)
    _full_due: bool = field(default=False, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._acd = LocalAcd(self.controller)
        self.views = AcdViews(self.client)
        term = self.leadership
        self.server = CommandServer(self.client, self.execute,
                                    lambda _c, args, exc: _refused(exc, args),
                                    claim_idle_s=self.claim_idle_s,
                                    **({} if term is None else {
                                        "name": term.name, "lease_s": term.ttl_s,
                                        "leading": lambda: term.leading}))
        if self.configuration is None:
            self.configuration = Configuration(None, self.controller)
        self.controller.observe(self._on_item)

    def _on_item(self, item: object) -> None:
        agent_id = getattr(item, "agent_id", None)
        if isinstance(agent_id, str) and agent_id:
            self._dirty.add(agent_id)

    # ---- the commands

    async def execute(self, command: str, raw: dict[str, Any]) -> Any:
        model = COMMANDS.get(command)
        if model is None:
            raise CommandRefused(422, "invalid-command", f"no command {command!r}",
                                 {"commands": sorted(COMMANDS)})
        try:
            args: Any = model.model_validate(raw)
        except ValidationError as exc:
            raise CommandRefused(422, "invalid-command", f"bad arguments of {command!r}",
                                 {"errors": exc.errors(include_url=False, include_input=False,
                                                       include_context=False)}) from None
        if command == "agent_command":
            moved = await self._acd.agent_command(args.agent_id, args.trigger, args.reason)
            await self._written([args.agent_id])
            return {"before": moved.before.model_dump(), "after": moved.after.model_dump()}
        if command == "spy":
            return await self._acd.spy(args.supervisor_endpoint, args.agent_id, args.mode)
        if command == "queue_callback":
            return await self._acd.queue_callback(args.service, args.number)
        if command == "figures":
            return self._figures(args)
        if command == "reserve":
            return await self._reserve(args)
        if command == "explain":
            return _EXPLAINED.dump_python(explanations(
                self.controller.router, args.call_id, args.limit, args.offset), mode="json")
        assert self.configuration is not None
        if command == "configure":  # agents, queues, the IVR: as an in-process change does
            done = await apply_configure(self.configuration, args)
            if self.live_side is not None and args.change.method in ("put_queue",
                                                                     "delete_queue"):
                await queues_changed(self.configuration, self.live_side)
            await self._written(None)  # agents may have come or gone
            return done
        change = await self.configuration.set_skills(args.who, args.agent_id, args.skills)
        await self._written([args.agent_id])
        stored = stored_agent(change.row)
        return {"before": change.before, "after": change.after,
                "stored": stored.model_dump() if stored is not None else None,
                "agent": self._acd.agent_now(args.agent_id).model_dump()}

    async def _reserve(self, args: ReserveArgs) -> Any:
        """A supervisor's reserve step, as the route makes it in one process: the skill
        edits go through the configuration service, so the records follow."""
        if self.reserve is None:
            raise CommandRefused(503, "reserve-unavailable",
                                 "this controller runs no emergency reserve")
        if args.step == "apply":
            done: Any = await self.reserve.apply(args.queue, args.who)
        elif args.step == "dismiss":
            done = await self.reserve.dismiss(args.queue, args.who)
        else:
            done = await self.reserve.take_back(args.queue, args.who)
        if args.step != "dismiss":
            await self._written(None)  # the reserve team's skills changed
        return jsonable_encoder(done)

    def _figures(self, args: FiguresArgs) -> Any:
        side = self.live_side
        if side is None:
            raise CommandRefused(503, "figures-unavailable",
                                 "this controller keeps no figures for API processes")
        if args.view == "wallboard":
            chosen = frozenset(args.queues) if args.queues is not None else None
            return jsonable_encoder(wallboard_view(side, chosen))
        if args.view == "queues":
            return _QUEUES.dump_python(queue_page(side, args.limit, args.offset), mode="json")
        return _AGENTS.dump_python(agent_page(side, args.limit, args.offset), mode="json")

    # ---- the records

    async def _written(self, agent_ids: list[str] | None) -> None:
        """The records a command changed, before its reply. The command is done whatever
        happens here: Redis away, they are left to the next rounds (and the reply, over the
        same Redis, will likely not arrive either: the asker answers 503)."""
        try:
            await self.publish(agent_ids)
        except ViewsUnavailable as exc:
            log.warning("agent records after a command not written: %s", exc)
            if agent_ids is None:
                self._full_due = True
            else:
                self._dirty.update(agent_ids)

    async def publish(self, agent_ids: list[str] | None = None) -> None:
        """These agents' records (None: every agent's, and the gone ones removed)."""
        order = {a: i for i, a in enumerate(self._acd.agent_ids())}
        wanted = list(order) if agent_ids is None else [a for a in agent_ids if a in order]
        records = {a: self._acd.record(a, order[a]) for a in wanted}
        gone: list[str] = []
        if agent_ids is None:
            gone = [a for a in await self.views.known() if a not in order]
        else:
            gone = [a for a in agent_ids if a not in order]
        await self.views.publish(records, gone)

    async def _publish_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_full = 0.0
        while True:
            if self.leadership is not None and not self.leadership.leading:
                await asyncio.sleep(self.flush_s)  # a former active writes no record
                continue
            try:
                if self._full_due or loop.time() - last_full >= self.full_every_s:
                    self._dirty.clear()
                    self._full_due = False
                    await self.publish()
                    last_full = loop.time()
                elif self._dirty:
                    dirty, self._dirty = list(self._dirty), set()
                    await self.publish(dirty)
            except ViewsUnavailable as exc:  # Redis away: the next full round catches up
                log.warning("agent records not published: %s", exc)
                last_full = 0.0
                await asyncio.sleep(1.0)  # and not a warning every flush while it is away
            await asyncio.sleep(self.flush_s)

    async def start(self) -> None:
        await self.server.ensure_group()
        await self.publish()
        self._tasks = [asyncio.create_task(self.server.run(), name="command-bus"),
                       asyncio.create_task(self._publish_loop(), name="acd-records")]

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        await self.server.release_lease()


__all__ = ["AcdServer"]
