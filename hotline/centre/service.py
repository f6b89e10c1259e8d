"""Applies a configuration change everywhere it matters, without restarting Asterisk.

One change = one PostgreSQL transaction (the change and its audit_log row), inside which the
router (through the controller) takes it, so a change the router refuses is never stored;
then, for the agent set, every node's pjsip_agents.conf and queues_members.conf are rewritten
and reloaded over AMI (res_pjsip and the failsafe queue's members).

What takes effect when:
- agents (create, rename, deactivate, secret/contact): at once in the router and on every
  node, through the injected `AgentFiles` (the process layer's NodeAgentFiles in
  hotline/process/wiring.py: files rewritten where a node's /etc/asterisk is on this host,
  `Reload res_pjsip.so`, `QueueReload hotline-failsafe members`; other nodes get the reload
  only, so their files must be rendered there: `hotline asterisk start` renders from the
  same database).
- skills (`set_skills`, the one skill edit): at once (the next routing decision uses them).
- the live view's "which queues does this agent serve" (`live`): after every agent, skill
  and queue change, as the router answers it (hotline.router: Router.queues_of).
- not-ready reasons and outages: at once (read from the database when used).
- VIP numbers: at once in the router, for calls queued after the change and for the calls
  of that number waiting now (docs/customer-story.md, "VIP").
- teams and vendors, and an agent's team: stored only (the reports read them; routing does not
  use them). An agent's figures roll up to the team it is in when a report is run.
- queues (new, changed, removed): at once in the router; calls waiting in a changed queue
  are matched against its new requirements on the same change. Removing a queue is refused
  while calls wait in it, while another queue overflows to it, while an IVR menu sends
  callers to it, and always for "general" (the IVR's fallback).
- the IVR menu tree (the whole tree, versioned): its changed prompts are spoken first, then
  it is stored and the running IVR takes it for the next caller (a caller in the menus
  finishes on the tree they started with). A change based on an older version is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from hotline.centre import queries as store
from hotline.centre.model import (
    AgentSpec,
    Centre,
    QueueSpec,
    TeamSpec,
    VendorSpec,
    load_centre,
)
from hotline.core.errors import (
    Conflict,
    HotlineError,
    InvalidRequest,
    NotFound,
    Unavailable,
)
from hotline.core.ids import (
    AGENT_ID_PATTERN,
    GROUP_ID_PATTERN,
    PHONE_NUMBER_PATTERN,
    QUEUE_NAME_PATTERN,
    REASON_CODE_PATTERN,
    SKILL_NAME_PATTERN,
    is_valid,
    rule,
)
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import IvrMenu, MenuError
from hotline.router import POLICIES, AgentBusy, QueueInUse, RouterError, UnknownAgent, queues_served
from hotline.store import queries
from hotline.store.records import Outage, RecordError

log = logging.getLogger("hotline.centre.service")

#: app_queue's queue of the failsafe: every agent is a static member (queues_members.conf)
FAILSAFE_QUEUE = "hotline-failsafe"
#: the not-ready reasons without a database (migration 005 seeds the same into PostgreSQL)
DEFAULT_REASONS = {"break": "Break", "meal": "Meal", "training": "Training",
                   "meeting": "Meeting", "callback_work": "Callback work", "other": "Other"}


class ConfigError(HotlineError):
    """A change that cannot be made; its kind (below) says whose fault, `error_id` is stable
    for clients, `details` says what it was about."""


class ConfigInvalid(ConfigError, InvalidRequest):
    """The change breaks a rule (a bad name, a level out of range)."""


class ConfigNotFound(ConfigError, NotFound):
    """The change names an agent, queue, reason or outage that does not exist."""


class ConfigConflict(ConfigError, Conflict):
    """The state of things refuses the change (an agent on a call, a queue in use, a stale
    version of the menu tree)."""


class ConfigUnavailable(ConfigError, Unavailable):
    """Neither a database nor a router to change on this node."""


# ---- start-up


async def load_or_seed_centre(pool: asyncpg.Pool, centre_file: Path | Centre) -> Centre:
    """The centre from the database when it holds agents or queues; else the database is
    seeded from centre.toml (so a fresh install starts as before) and that centre returned."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE agents, queues IN EXCLUSIVE MODE")  # two starters
        agents = [r.spec for r in await store.list_agents(conn, active_only=True)]
        queues = await store.list_queues(conn)
        if agents or queues:
            return Centre(queues=queues, agents=agents, teams=await store.list_teams(conn),
                          vendors=await store.list_vendors(conn),
                          vip_numbers=[v.number for v in await store.list_vips(conn)])
        centre = centre_file if isinstance(centre_file, Centre) else load_centre(centre_file)
        for number in centre.vip_numbers:
            await store.upsert_vip(conn, number, "centre file", "system")
        for v in centre.vendors:
            await store.upsert_vendor(conn, v)
        for t in centre.teams:
            await store.upsert_team(conn, t)
        await store.add_agents(conn, centre.agents)
        for q in centre.queues:
            await store.upsert_queue(conn, q)
        await store.audit(conn, "system", "centre.seeded",
                          {"agents": len(centre.agents), "queues": len(centre.queues)})
        return centre


async def load_or_seed_ivr(pool: asyncpg.Pool,
                           menu_file: Path = ivr_menu.DEFAULT_PATH) -> tuple[IvrMenu, int]:
    """The live IVR menu tree and its version from the database; a database without one is
    seeded from ivr.toml as version 1."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE ivr_menus IN EXCLUSIVE MODE")  # two starters
        row = await store.current_ivr(conn)
        if row is not None:
            return ivr_menu.parse(row.tree, f"ivr_menus version {row.version}"), row.version
        menu = ivr_menu.load(menu_file)
        await store.insert_ivr(conn, 1, ivr_menu.to_data(menu), "system")
        await store.audit(conn, "system", "ivr.seeded", {"version": 1, "file": str(menu_file)})
        return menu, 1


class LiveIvr(Protocol):
    """The running IVR (hotline.ivr_menu.service.LiveMenu): a new tree is prepared (its prompts
    spoken) before it goes live."""

    async def prepare(self, menu: IvrMenu) -> int: ...

    def go_live(self, menu: IvrMenu, version: int) -> None: ...


class AgentFiles(Protocol):
    """Puts the agent set on every Asterisk node: its agent files rewritten where they are on
    this host, res_pjsip and the failsafe queue's members reloaded. Returns node ->
    "reloaded" or what failed (the change stays stored: the next change or start renders the
    files again). The process layer provides it (hotline.process.wiring.NodeAgentFiles)."""

    async def apply(self, agents: list[AgentSpec]) -> dict[str, str]: ...


class AgentQueuesView(Protocol):
    """Who shows which queues an agent serves (the live feed: hotline.realtime.live.LiveFeed)."""

    def set_agent_queues(self, agent_id: str, queues: Iterable[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class SkillsChange:
    """A skill edit done: the agent's skills before and after, its stored row (None without a
    database) and the queues it serves now."""

    agent_id: str
    before: dict[str, int]
    after: dict[str, int]
    row: store.AgentRow | None
    serves: list[str]


# ---- the service


def check_skills(skills: Mapping[str, int], low: int = 1) -> None:
    for skill, level in skills.items():
        if not is_valid(SKILL_NAME_PATTERN, skill):
            raise ConfigInvalid(f"skill name {skill!r} is not valid: "
                                f"{rule(SKILL_NAME_PATTERN)}", error_id="invalid-skill")
        if not low <= level <= 5:
            raise ConfigInvalid(f"skill {skill!r}: level {level} is not {low}-5",
                                error_id="invalid-skill")


@dataclass
class Configuration:
    """The one path for configuration changes (the API calls it). `pool` is None on a node
    without a database: then only `set_skills` works (on the router alone). `controller` is
    the live hotline.process.controller.Controller, or None on a node without one (database
    only)."""

    pool: asyncpg.Pool | None
    controller: Any = None
    #: puts the agent set on the Asterisk nodes (None: database and router only)
    agent_files: AgentFiles | None = None
    clock: Callable[[], float] | None = None
    #: the queues the running IVR's menus send callers to (they cannot be removed)
    ivr_queues: Callable[[], Collection[str]] = frozenset
    #: the running IVR, which takes a changed menu tree at once (None: stored only, the
    #: next platform start uses it)
    ivr: LiveIvr | None = None
    #: told which queues an agent serves after each change (None: nobody shows it)
    live: AgentQueuesView | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def _at(self) -> datetime | None:
        return datetime.fromtimestamp(self.clock(), UTC) if self.clock else None

    def _db(self) -> asyncpg.Pool:
        if self.pool is None:
            raise ConfigUnavailable("configuration needs the database", error_id="no-database")
        return self.pool

    # -- agents

    async def agents(self) -> list[store.AgentRow]:
        async with self._db().acquire() as conn:
            return await store.list_agents(conn)

    async def agent(self, agent_id: str) -> store.AgentRow | None:
        async with self._db().acquire() as conn:
            return await store.get_agent(conn, agent_id)

    async def create_agent(self, who: str, spec: AgentSpec) -> dict[str, str]:
        """Stores the agent, adds it to the router (logged out) and to every node's pjsip
        and failsafe queue; returns the per-node Asterisk result."""
        if not is_valid(AGENT_ID_PATTERN, spec.id):
            raise ConfigInvalid(f"agent id {spec.id!r} must be {rule(AGENT_ID_PATTERN)}",
                                error_id="invalid-agent-id")
        check_skills(spec.skills)
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                await self._known_team(conn, spec.team)
                if not await store.insert_agent(conn, spec):
                    raise ConfigConflict(f"agent {spec.id} exists", error_id="agent-exists",
                                         details={"agent_id": spec.id})
                await store.audit(conn, who, "agent.created", {
                    "agent_id": spec.id, "name": spec.name, "skills": spec.skills,
                    "contact": spec.contact, "team": spec.team},
                    self._at())  # never the secret
                self._router(lambda c: c.add_agent(spec.id, spec.skills, spec.name))
            await self._show_agent(spec.id)
            return await self.sync()

    async def update_agent(self, who: str, agent_id: str, *, name: str | None = None,
                           secret: str | None = None, contact: str | None = None,
                           team: str | None = None) -> dict[str, str]:
        """Changes what is given (skills: `set_skills`); the SIP side is reloaded when name,
        secret or contact changed (the name is the endpoint's caller id)."""
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                before = await self._active_row(conn, agent_id)
                if team is not None:
                    await self._known_team(conn, team)
                await store.update_agent(conn, agent_id, name=name, secret=secret,
                                         contact=contact, team=team)
                details: dict[str, Any] = {"agent_id": agent_id}
                if team is not None:
                    details["team"] = {"before": before.spec.team, "after": team}
                if name is not None:
                    details["name"] = {"before": before.spec.name, "after": name}
                if contact is not None:
                    details["contact"] = {"before": before.spec.contact, "after": contact}
                if secret is not None:
                    details["secret"] = "changed"
                await store.audit(conn, who, "agent.updated", details, self._at())
            await self._show_agent(agent_id)
            if name is None and secret is None and contact is None:
                return {}
            return await self.sync()

    async def set_skills(self, who: str, agent_id: str, skills: Mapping[str, int]
                         ) -> SkillsChange:
        """The one skill edit (PUT /api/agents/{id}/skills, also answered at
        /api/config/agents/{id}/skills): the skills replace the agent's (level 0 removes
        one); stored and audited (`agent.updated`) with a database, applied to the router in
        the same transaction (a refusal stores nothing), then the live view learns which
        queues the agent serves now. Without a database: the router alone."""
        after = dict(skills)
        check_skills(after, low=0)
        async with self._lock:
            if self.pool is None:
                before = self._router_skills(agent_id)
                self._router(lambda c: c.set_skills(agent_id, after))
                row = None
            else:
                async with self.pool.acquire() as conn, conn.transaction():
                    stored = await self._active_row(conn, agent_id)
                    before = (self._router_skills(agent_id) if self.controller is not None
                              else dict(stored.spec.skills))
                    await store.set_skills(conn, agent_id, after)
                    await store.audit(conn, who, "agent.updated", {
                        "agent_id": agent_id,
                        "skills": {"before": stored.spec.skills, "after": after}}, self._at())
                    self._router(lambda c: c.set_skills(agent_id, after))
                    row = await store.get_agent(conn, agent_id)
            serves = await self._show_agent(agent_id)
        return SkillsChange(agent_id, before, after, row, serves)

    async def deactivate_agent(self, who: str, agent_id: str) -> dict[str, str]:
        """The agent leaves the router (refused while on a call) and every node."""
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                if not await store.deactivate_agent(conn, agent_id):
                    raise _no_agent(agent_id)
                await store.audit(conn, who, "agent.deactivated", {"agent_id": agent_id},
                                  self._at())
                self._router(lambda c: c.remove_agent(agent_id))
            await self._show_agent(agent_id)
            return await self.sync()

    @staticmethod
    async def _known_team(conn: asyncpg.Connection, team: str) -> None:
        if team not in {t.id for t in await store.list_teams(conn)}:
            raise ConfigNotFound(f"no team {team}", error_id="team-not-found",
                                 details={"team": team})

    # -- teams and vendors (the roll-up chain: hotline/centre/model.py)

    async def teams(self) -> list[TeamSpec]:
        async with self._db().acquire() as conn:
            return await store.list_teams(conn)

    async def vendors(self) -> list[VendorSpec]:
        async with self._db().acquire() as conn:
            return await store.list_vendors(conn)

    async def put_vendor(self, who: str, vendor: VendorSpec) -> bool:
        """Adds or changes a vendor (its name and kind, own or outsourced); True when new."""
        if not is_valid(GROUP_ID_PATTERN, vendor.id):
            raise ConfigInvalid(f"vendor id {vendor.id!r} must be {rule(GROUP_ID_PATTERN)}",
                                error_id="invalid-vendor-id")
        async with self._lock, self._db().acquire() as conn, conn.transaction():
            new = await store.upsert_vendor(conn, vendor)
            await store.audit(conn, who, "vendor.created" if new else "vendor.updated",
                              {"vendor": vendor.id, "name": vendor.name,
                               "kind": str(vendor.kind)}, self._at())
            return new

    async def put_team(self, who: str, team: TeamSpec) -> bool:
        """Adds or changes a team (its name and vendor); True when new."""
        if not is_valid(GROUP_ID_PATTERN, team.id):
            raise ConfigInvalid(f"team id {team.id!r} must be {rule(GROUP_ID_PATTERN)}",
                                error_id="invalid-team-id")
        async with self._lock, self._db().acquire() as conn, conn.transaction():
            if team.vendor not in {v.id for v in await store.list_vendors(conn)}:
                raise ConfigNotFound(f"no vendor {team.vendor}", error_id="vendor-not-found",
                                     details={"vendor": team.vendor})
            new = await store.upsert_team(conn, team)
            await store.audit(conn, who, "team.created" if new else "team.updated",
                              {"team": team.id, "name": team.name, "vendor": team.vendor},
                              self._at())
            return new

    @staticmethod
    async def _active_row(conn: asyncpg.Connection, agent_id: str) -> store.AgentRow:
        row = await store.get_agent(conn, agent_id)
        if row is None or not row.active:
            raise _no_agent(agent_id)
        return row

    def _router_skills(self, agent_id: str) -> dict[str, int]:
        """The agent's skills as the router has them (ConfigUnavailable: no router here)."""
        if self.controller is None:
            raise ConfigUnavailable("this node has neither a database nor a controller",
                                    error_id="controller-unavailable")
        try:
            return dict(self.controller.router.agent(agent_id).skills)
        except UnknownAgent:
            raise _no_agent(agent_id) from None

    def _router(self, change: Callable[[Any], None]) -> None:
        """Applies a change to the live router; a refusal raises (rolling back the store)."""
        if self.controller is None:
            return
        try:
            change(self.controller)
        except AgentBusy as exc:
            raise ConfigConflict(str(exc), error_id="agent-busy") from None
        except QueueInUse as exc:
            raise ConfigConflict(str(exc), error_id="queue-in-use") from None
        except UnknownAgent as exc:
            raise _no_agent(exc.agent_id) from None
        except (RouterError, ValueError) as exc:
            raise ConfigInvalid(str(exc), error_id=getattr(exc, "error_id", "router-refused")
                                ) from None

    async def sync(self) -> dict[str, str]:
        """Renders every node's agent files from the database and reloads them (also at
        start: the node may have been started from centre.toml)."""
        if self.agent_files is None:
            return {}
        async with self._db().acquire() as conn:
            agents = [r.spec for r in await store.list_agents(conn, active_only=True)]
        return await self.agent_files.apply(agents)

    # -- which queues agents serve (the live view)

    async def _show_agent(self, agent_id: str) -> list[str]:
        """Tells the live view which queues the agent serves now ([] once it has left)."""
        if self.controller is not None:
            try:
                serves = self.controller.router.queues_of(agent_id)
            except UnknownAgent:
                serves = []
        else:
            serves = (await self.serves()).get(agent_id, [])
        if self.live is not None:
            self.live.set_agent_queues(agent_id, serves)
        return serves

    async def show_all_agents(self) -> None:
        """Tells the live view which queues every agent serves (after a queue change)."""
        if self.live is not None:
            for agent_id, serves in (await self.serves()).items():
                self.live.set_agent_queues(agent_id, serves)

    async def serves(self) -> dict[str, list[str]]:
        """agent id -> the queues it serves: the router's answer (Router.queues_of) where a
        router runs, else the same rule over the stored agents and queues."""
        if self.controller is not None:
            router = self.controller.router
            return {a.agent_id: router.queues_of(a.agent_id) for a in router.agents()}
        async with self._db().acquire() as conn:
            agents = await store.list_agents(conn, active_only=True)
            queues = [(q.name, q.required) for q in await store.list_queues(conn)]
        return {a.spec.id: queues_served(a.spec.skills, queues) for a in agents}

    # -- queues

    async def queues(self) -> list[QueueSpec]:
        async with self._db().acquire() as conn:
            return await store.list_queues(conn)

    async def put_queue(self, who: str, queue: QueueSpec) -> bool:
        """Stores the queue (True: new) and hands it to the live router in the same
        transaction: a queue the router refuses is not stored."""
        if not is_valid(QUEUE_NAME_PATTERN, queue.name):
            raise ConfigInvalid(f"queue name {queue.name!r} is not "
                                f"{rule(QUEUE_NAME_PATTERN)}", error_id="invalid-queue")
        if queue.policy not in POLICIES:
            raise ConfigInvalid(f"policy {queue.policy!r} is not one of {', '.join(POLICIES)}",
                                error_id="invalid-queue")
        if (queue.overflow_to is None) != (queue.overflow_wait_s is None):
            raise ConfigInvalid("overflow_to and overflow_wait_s go together",
                                error_id="invalid-queue")
        if queue.overflow_to == queue.name:
            raise ConfigConflict(f"queue {queue.name!r} cannot overflow to itself",
                                 error_id="invalid-overflow")
        check_skills(queue.required)
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                queues = {q.name: q for q in await store.list_queues(conn)}
                if queue.overflow_to is not None and queue.overflow_to not in queues:
                    raise ConfigConflict(f"queue {queue.name!r} overflows to "
                                         f"{queue.overflow_to!r}: no such queue",
                                         error_id="invalid-overflow")
                before = queues.get(queue.name)
                created = await store.upsert_queue(conn, queue)
                await store.audit(conn, who, "queue.created" if created else "queue.updated", {
                    "queue": queue.name, "after": _queue_dict(queue),
                    "before": _queue_dict(before) if before else None}, self._at())
                self._router(lambda c: c.put_queue(queue))
            await self.show_all_agents()
            return created

    async def delete_queue(self, who: str, name: str) -> None:
        """Removes a queue no caller can reach any more (see the module docstring)."""
        if name == "general":
            raise ConfigConflict("queue 'general' is the IVR's fallback and cannot be removed",
                                 error_id="queue-in-use")
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                if name in await self._ivr_queues(conn):
                    raise ConfigConflict(f"queue {name!r} is a target of the IVR menus: "
                                         "change the menus first", error_id="queue-in-use",
                                         details={"queue": name})
                queues = {q.name: q for q in await store.list_queues(conn)}
                if name not in queues:
                    raise ConfigNotFound(f"no queue {name!r}", error_id="no-such-queue",
                                         details={"queue": name})
                feeders = sorted(q.name for q in queues.values() if q.overflow_to == name)
                if feeders:
                    raise ConfigConflict(f"queue {name!r} is the overflow of "
                                         f"{', '.join(feeders)}", error_id="queue-in-use",
                                         details={"queue": name})
                await store.delete_queue(conn, name)
                await store.audit(conn, who, "queue.deleted", {
                    "queue": name, "before": _queue_dict(queues[name])}, self._at())
                self._router(lambda c: c.remove_queue(name))
            await self.show_all_agents()

    async def _ivr_queues(self, conn: asyncpg.Connection) -> set[str]:
        """The queues the running IVR and the stored menu tree send callers to."""
        out = set(self.ivr_queues())
        row = await store.current_ivr(conn)
        if row is not None:
            out |= ivr_menu.parse(row.tree, f"ivr_menus version {row.version}").used_queues()
        return out

    # -- the IVR menu tree

    async def ivr_tree(self) -> store.IvrRow | None:
        async with self._db().acquire() as conn:
            return await store.current_ivr(conn)

    async def put_ivr(self, who: str, based_on: int, tree: dict[str, Any]
                      ) -> tuple[store.IvrRow, int]:
        """Replaces the whole menu tree (the stored row, and how many prompts were spoken).
        Refused (conflict) when `based_on` is not the current version, when the tree breaks
        a rule of hotline/ivr_menu/model.py or sends callers to a queue that does not exist.
        The new prompts are spoken before anything is stored, so the IVR never plays one
        that is missing; the running IVR switches after the commit."""
        try:
            menu = ivr_menu.parse(tree, "menu tree")
        except MenuError as exc:
            raise ConfigConflict(str(exc), error_id="invalid-ivr") from None
        stored = ivr_menu.to_data(menu)
        current = await self.ivr_tree()
        self._check_version(current, based_on)  # early: no speech for a stale change
        built = 0
        if self.ivr is not None:
            try:
                built = await self.ivr.prepare(menu)
            except (OSError, RuntimeError) as exc:  # PromptError: no voice, espeak failed
                raise ConfigConflict("the prompts of the menu tree could not be spoken: "
                                     f"{exc}", error_id="prompts-failed") from None
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                current = await store.current_ivr(conn)
                version = self._check_version(current, based_on) + 1
                queues = {q.name for q in await store.list_queues(conn)}
                unknown = [(w, q) for w, q in menu.queue_refs() if q not in queues]
                if unknown:
                    raise ConfigConflict(
                        "the menu tree sends callers to queues that do not exist: "
                        + "; ".join(f"{w}: queue {q!r}" for w, q in unknown)
                        + " (create them under /api/config/queues first)",
                        error_id="unknown-queue", details={"queues": sorted({q for _, q in
                                                                            unknown})})
                if not await store.insert_ivr(conn, version, stored, who, self._at()):
                    raise ConfigConflict(f"version {version} of the menu tree was stored "
                                         "meanwhile: read it and try again",
                                         error_id="stale-version", details={"version": version})
                await store.audit(conn, who, "ivr.updated", {
                    "version": version, "based_on": based_on, "prompts_built": built,
                    "changed": changed_paths(current.tree if current else {}, stored)},
                    self._at())
                row = await store.current_ivr(conn)
            if self.ivr is not None:
                self.ivr.go_live(menu, version)
        assert row is not None
        return row, built

    @staticmethod
    def _check_version(current: store.IvrRow | None, based_on: int) -> int:
        version = current.version if current is not None else 0
        if based_on != version:
            raise ConfigConflict(f"the menu tree is at version {version}, the change was based "
                                 f"on version {based_on}: read it again and make the change on "
                                 "that", error_id="stale-version", details={"version": version})
        return version

    # -- not-ready reasons

    async def reasons(self) -> dict[str, str]:
        async with self._db().acquire() as conn:
            return await store.list_reasons(conn)

    async def put_reason(self, who: str, code: str, label: str) -> None:
        if not is_valid(REASON_CODE_PATTERN, code):
            raise ConfigInvalid(f"reason code {code!r} must be {rule(REASON_CODE_PATTERN)}",
                                error_id="invalid-reason")
        async with self._db().acquire() as conn, conn.transaction():
            await store.upsert_reason(conn, code, label)
            await store.audit(conn, who, "reason.put", {"code": code, "label": label},
                              self._at())

    async def delete_reason(self, who: str, code: str) -> None:
        async with self._db().acquire() as conn, conn.transaction():
            if not await store.delete_reason(conn, code):
                raise ConfigNotFound(f"no reason {code!r}", error_id="no-such-reason")
            await store.audit(conn, who, "reason.deleted", {"code": code}, self._at())

    # -- outages (the IVR reads them from the database on every lookup; the Outage record
    # checks its own fields: hotline.store.records.Outage)

    async def add_outage(self, who: str, outage: Outage) -> Outage:
        async with self._db().acquire() as conn, conn.transaction():
            try:
                stored = await queries.add_outage(conn, outage)
            except LookupError:
                raise ConfigNotFound(f"no outage {outage.id}",
                                     error_id="no-such-outage") from None
            await store.audit(conn, who, "outage.put", {
                "id": stored.id, "area_code": outage.area_code, "kind": outage.kind,
                "starts_at": outage.starts_at, "ends_at": outage.ends_at}, self._at())
            return stored

    async def outages(self, area_code: str, at: float, horizon_s: float) -> list[Outage]:
        async with self._db().acquire() as conn:
            return await queries.outages_for_callers(conn, area_code, at, horizon_s)

    async def delete_outage(self, who: str, outage_id: int) -> None:
        async with self._db().acquire() as conn, conn.transaction():
            if not await store.delete_outage(conn, outage_id):
                raise ConfigNotFound(f"no outage {outage_id}", error_id="no-such-outage")
            await store.audit(conn, who, "outage.deleted", {"id": outage_id}, self._at())

    # -- VIP numbers (the router raises their calls: router/definitions.py VIP_BOOST)

    async def vip_numbers(self) -> list[store.VipRow]:
        async with self._db().acquire() as conn:
            return await store.list_vips(conn)

    async def put_vip(self, who: str, number: str, note: str = "") -> bool:
        """Adds a VIP number (or changes its note; True when new), stored, audited
        (`vip.added` / `vip.updated`) and handed to the live router in one transaction."""
        if not is_valid(PHONE_NUMBER_PATTERN, number):
            raise ConfigInvalid(f"vip number {number!r} must be {rule(PHONE_NUMBER_PATTERN)}",
                                error_id="invalid-vip-number")
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                new = await store.upsert_vip(conn, number, note, who, self._at())
                await store.audit(conn, who, "vip.added" if new else "vip.updated",
                                  {"number": number, "note": note}, self._at())
                numbers = [v.number for v in await store.list_vips(conn)]
                self._router(lambda c: c.set_vip_numbers(numbers))
            return new

    async def delete_vip(self, who: str, number: str) -> None:
        async with self._lock:
            async with self._db().acquire() as conn, conn.transaction():
                if not await store.delete_vip(conn, number):
                    raise ConfigNotFound(f"no vip number {number!r}", error_id="no-such-vip",
                                         details={"number": number})
                await store.audit(conn, who, "vip.removed", {"number": number}, self._at())
                numbers = [v.number for v in await store.list_vips(conn)]
                self._router(lambda c: c.set_vip_numbers(numbers))

    # -- audit

    async def audit_log(self, what_prefix: str = "", limit: int = 200,
                        offset: int = 0) -> list[store.AuditRow]:
        async with self._db().acquire() as conn:
            return await store.list_audit(conn, what_prefix=what_prefix, limit=limit,
                                          offset=offset)


def _no_agent(agent_id: str) -> ConfigNotFound:
    return ConfigNotFound(f"no agent {agent_id}", error_id="no-such-agent",
                          details={"agent_id": agent_id})


def _queue_dict(q: QueueSpec) -> dict[str, Any]:
    return {"service": str(q.service), "required": q.required, "policy": q.policy,
            "priority": q.priority, "sl_target": q.sl_target, "sl_seconds": q.sl_seconds,
            "overflow_to": q.overflow_to, "overflow_wait_s": q.overflow_wait_s}


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Where two JSON trees differ, as dotted paths down to the first non-object value."""
    if before == after:
        return []
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [prefix or "."]
    out: list[str] = []
    for key in sorted(set(before) | set(after)):
        out += changed_paths(before.get(key), after.get(key), f"{prefix}{key}" if not prefix
                             else f"{prefix}.{key}")
    return out


def outage_from(area_code: str, kind: str, starts_at: float, ends_at: float | None,
                description_zh: str, description_en: str, outage_id: int | None = None
                ) -> Outage:
    """An Outage record, its field checks turned into a ConfigInvalid (invalid-outage)."""
    try:
        return Outage(area_code=area_code, kind=kind, starts_at=starts_at, ends_at=ends_at,
                      description_zh=description_zh, description_en=description_en,
                      id=outage_id)
    except RecordError as exc:
        raise ConfigInvalid(str(exc), error_id="invalid-outage") from None


__all__ = ["DEFAULT_REASONS", "FAILSAFE_QUEUE", "AgentFiles", "AgentQueuesView", "ConfigConflict",
           "ConfigError", "ConfigInvalid", "ConfigNotFound", "ConfigUnavailable",
           "Configuration", "LiveIvr", "SkillsChange", "changed_paths", "check_skills",
           "load_or_seed_centre", "load_or_seed_ivr", "outage_from"]
