"""Applies a configuration change everywhere it matters, without restarting Asterisk.

One change = one PostgreSQL transaction (the change and its audit_log row), inside which the
router (through the controller) takes it, so a change the router refuses is never stored;
then, for the agent set, every node's pjsip_agents.conf and queues_members.conf are rewritten
and reloaded over AMI (res_pjsip and the failsafe queue's members).

What takes effect when:
- agents (create, rename, deactivate, secret/contact): at once in the router and on every
  node whose /etc/asterisk is on this host (files rewritten, `Reload res_pjsip.so`,
  `QueueReload hotline-failsafe members`); other nodes get the reload only, so their files
  must be rendered there (`hotline asterisk start` renders from the same database).
- skills: at once (the next routing decision uses them).
- not-ready reasons and outages: at once (read from the database when used).
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
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import asyncpg

from hotline.centre import queries as store
from hotline.centre.model import AgentSpec, Centre, QueueSpec, load_centre
from hotline.core.errors import PeerRefused, Unavailable
from hotline.core.settings import Settings
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import IvrMenu, MenuError
from hotline.router import POLICIES, AgentBusy, QueueInUse, RouterError
from hotline.store import queries
from hotline.store.records import Outage, RecordError
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node.box import root_dir
from hotline.telephony.node.render import write_agent_files

log = logging.getLogger("hotline.centre.service")

FAILSAFE_QUEUE = "hotline-failsafe"
ID = re.compile(r"^[0-9A-Za-z]{1,40}$")  # an agent id is a SIP endpoint and an extension
SKILL = re.compile(r"^[A-Za-z0-9_]{1,40}$")
REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
Problem = Literal["not-found", "conflict", "invalid"]
#: the not-ready reasons without a database (migration 005 seeds the same into PostgreSQL)
DEFAULT_REASONS = {"break": "Break", "meal": "Meal", "training": "Training",
                   "meeting": "Meeting", "callback_work": "Callback work", "other": "Other"}


class ConfigError(Exception):
    """A change that cannot be made: `problem` says whose fault (the API maps it to 404 /
    409 / 422), `error_id` is stable for clients."""

    def __init__(self, problem: Problem, error_id: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.problem, self.error_id, self.message, self.details = (
            problem, error_id, message, details)


# ---- start-up


async def load_or_seed_centre(pool: asyncpg.Pool, centre_file: Path | Centre) -> Centre:
    """The centre from the database when it holds agents or queues; else the database is
    seeded from centre.toml (so a fresh install starts as before) and that centre returned."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE agents, queues IN EXCLUSIVE MODE")  # two starters
        agents = [r.spec for r in await store.list_agents(conn, active_only=True)]
        queues = await store.list_queues(conn)
        if agents or queues:
            return Centre(queues=queues, agents=agents)
        centre = centre_file if isinstance(centre_file, Centre) else load_centre(centre_file)
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


# ---- Asterisk


@dataclass(frozen=True, slots=True)
class NodeFiles:
    """Where a node's /etc/asterisk is on this host (None: another host, reload only)."""

    node: str
    etc_dir: Path | None


def local_nodes(settings: Settings) -> list[NodeFiles]:
    out = []
    for node in settings.nodes():
        etc = root_dir(settings.model_copy(update={"node_name": node.name})) / "etc/asterisk"
        out.append(NodeFiles(node.name, etc if etc.is_dir() else None))
    return out


async def sync_asterisk(agents: list[AgentSpec], nodes: list[NodeFiles],
                        links: dict[str, AmiLink]) -> dict[str, str]:
    """Rewrites the agent files of every node and reloads them; node -> "reloaded" or what
    failed (the change stays stored: the next change or start renders the files again)."""
    results: dict[str, str] = {}
    for node in nodes:
        try:
            if node.etc_dir is not None:
                await asyncio.to_thread(write_agent_files, agents, node.etc_dir)
            link = links.get(node.node)
            if link is None:
                results[node.node] = "files written, no AMI link to reload"
                continue
            await link.reload_module("res_pjsip.so")
            await link.queue_reload_members(FAILSAFE_QUEUE)
            results[node.node] = "reloaded"
        except (OSError, Unavailable, PeerRefused) as exc:  # the files, or the node's AMI
            log.warning("agent files of %s not applied: %r", node.node, exc)
            results[node.node] = f"failed: {exc!r}"
    return results


# ---- the service


def check_skills(skills: dict[str, int], low: int = 1) -> None:
    for skill, level in skills.items():
        if not SKILL.match(skill):
            raise ConfigError("invalid", "invalid-skill", f"skill name {skill!r} is not valid")
        if not low <= level <= 5:
            raise ConfigError("invalid", "invalid-skill",
                              f"skill {skill!r}: level {level} is not {low}-5")


@dataclass
class Configuration:
    """The one path for configuration changes (the API calls it); `controller` is the live
    hotline.process.controller.Controller, or None on a node without one (database only)."""

    pool: asyncpg.Pool
    controller: Any = None
    nodes: list[NodeFiles] = field(default_factory=list)
    clock: Callable[[], float] | None = None
    #: the queues the running IVR's menus send callers to (they cannot be removed)
    ivr_queues: Callable[[], Collection[str]] = frozenset
    #: the running IVR, which takes a changed menu tree at once (None: stored only, the
    #: next platform start uses it)
    ivr: LiveIvr | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def _at(self) -> datetime | None:
        return datetime.fromtimestamp(self.clock(), UTC) if self.clock else None

    # -- agents

    async def agents(self) -> list[store.AgentRow]:
        async with self.pool.acquire() as conn:
            return await store.list_agents(conn)

    async def create_agent(self, who: str, spec: AgentSpec) -> dict[str, str]:
        """Stores the agent, adds it to the router (logged out) and to every node's pjsip
        and failsafe queue; returns the per-node Asterisk result."""
        if not ID.match(spec.id):
            raise ConfigError("invalid", "invalid-agent-id",
                              f"agent id {spec.id!r} must be 1-40 letters or digits")
        check_skills(spec.skills)
        async with self._lock:
            async with self.pool.acquire() as conn, conn.transaction():
                if not await store.insert_agent(conn, spec):
                    raise ConfigError("conflict", "agent-exists", f"agent {spec.id} exists",
                                      agent_id=spec.id)
                await store.audit(conn, who, "agent.created", {
                    "agent_id": spec.id, "name": spec.name, "skills": spec.skills,
                    "contact": spec.contact}, self._at())  # never the secret
                self._router(lambda c: c.add_agent(spec.id, spec.skills, spec.name))
            return await self.sync()

    async def update_agent(self, who: str, agent_id: str, *, name: str | None = None,
                           secret: str | None = None, contact: str | None = None,
                           skills: dict[str, int] | None = None) -> dict[str, str]:
        """Changes what is given; the SIP side is reloaded when name, secret or contact
        changed (the name is the endpoint's caller id)."""
        if skills is not None:
            check_skills(skills, low=0)
        async with self._lock:
            async with self.pool.acquire() as conn, conn.transaction():
                before = await store.get_agent(conn, agent_id)
                if before is None or not before.active:
                    raise ConfigError("not-found", "no-such-agent", f"no agent {agent_id}",
                                      agent_id=agent_id)
                await store.update_agent(conn, agent_id, name=name, secret=secret,
                                         contact=contact)
                details: dict[str, Any] = {"agent_id": agent_id}
                if name is not None:
                    details["name"] = {"before": before.spec.name, "after": name}
                if contact is not None:
                    details["contact"] = {"before": before.spec.contact, "after": contact}
                if secret is not None:
                    details["secret"] = "changed"
                if skills is not None:
                    await store.set_skills(conn, agent_id, skills)
                    details["skills"] = {"before": before.spec.skills, "after": skills}
                    self._router(lambda c: c.set_skills(agent_id, skills))
                await store.audit(conn, who, "agent.updated", details, self._at())
            if name is None and secret is None and contact is None:
                return {}
            return await self.sync()

    async def deactivate_agent(self, who: str, agent_id: str) -> dict[str, str]:
        """The agent leaves the router (refused while on a call) and every node."""
        async with self._lock:
            async with self.pool.acquire() as conn, conn.transaction():
                if not await store.deactivate_agent(conn, agent_id):
                    raise ConfigError("not-found", "no-such-agent", f"no agent {agent_id}",
                                      agent_id=agent_id)
                await store.audit(conn, who, "agent.deactivated", {"agent_id": agent_id},
                                  self._at())
                self._router(lambda c: c.remove_agent(agent_id))
            return await self.sync()

    def _router(self, change: Callable[[Any], None]) -> None:
        """Applies a change to the live router; a refusal raises (rolling back the store)."""
        if self.controller is None:
            return
        try:
            change(self.controller)
        except AgentBusy as exc:
            raise ConfigError("conflict", "agent-busy", str(exc)) from None
        except QueueInUse as exc:
            raise ConfigError("conflict", "queue-in-use", str(exc)) from None
        except (RouterError, ValueError) as exc:
            raise ConfigError("invalid", getattr(exc, "error_id", "router-refused"),
                              str(exc)) from None

    async def sync(self) -> dict[str, str]:
        """Renders every node's agent files from the database and reloads them (also at
        start: the node may have been started from centre.toml)."""
        async with self.pool.acquire() as conn:
            agents = [r.spec for r in await store.list_agents(conn, active_only=True)]
        links = self.controller.links if self.controller is not None else {}
        return await sync_asterisk(agents, self.nodes, links)

    # -- queues

    async def queues(self) -> list[QueueSpec]:
        async with self.pool.acquire() as conn:
            return await store.list_queues(conn)

    async def put_queue(self, who: str, queue: QueueSpec) -> bool:
        """Stores the queue (True: new) and hands it to the live router in the same
        transaction: a queue the router refuses is not stored."""
        if not ID.match(queue.name):
            raise ConfigError("invalid", "invalid-queue", f"queue name {queue.name!r} is not "
                              "1-40 letters or digits")
        if queue.policy not in POLICIES:
            raise ConfigError("invalid", "invalid-queue", f"policy {queue.policy!r} is not "
                              f"one of {', '.join(POLICIES)}")
        if (queue.overflow_to is None) != (queue.overflow_wait_s is None):
            raise ConfigError("invalid", "invalid-queue",
                              "overflow_to and overflow_wait_s go together")
        if queue.overflow_to == queue.name:
            raise ConfigError("conflict", "invalid-overflow",
                              f"queue {queue.name!r} cannot overflow to itself")
        check_skills(queue.required)
        async with self._lock, self.pool.acquire() as conn, conn.transaction():
            queues = {q.name: q for q in await store.list_queues(conn)}
            if queue.overflow_to is not None and queue.overflow_to not in queues:
                raise ConfigError("conflict", "invalid-overflow", f"queue {queue.name!r} "
                                  f"overflows to {queue.overflow_to!r}: no such queue")
            before = queues.get(queue.name)
            created = await store.upsert_queue(conn, queue)
            await store.audit(conn, who, "queue.created" if created else "queue.updated", {
                "queue": queue.name, "after": _queue_dict(queue),
                "before": _queue_dict(before) if before else None}, self._at())
            self._router(lambda c: c.put_queue(queue))
            return created

    async def delete_queue(self, who: str, name: str) -> None:
        """Removes a queue no caller can reach any more (see the module docstring)."""
        if name == "general":
            raise ConfigError("conflict", "queue-in-use",
                              "queue 'general' is the IVR's fallback and cannot be removed")
        async with self._lock, self.pool.acquire() as conn, conn.transaction():
            if name in await self._ivr_queues(conn):
                raise ConfigError("conflict", "queue-in-use", f"queue {name!r} is a target "
                                  "of the IVR menus: change the menus first", queue=name)
            queues = {q.name: q for q in await store.list_queues(conn)}
            if name not in queues:
                raise ConfigError("not-found", "no-such-queue", f"no queue {name!r}",
                                  queue=name)
            feeders = sorted(q.name for q in queues.values() if q.overflow_to == name)
            if feeders:
                raise ConfigError("conflict", "queue-in-use", f"queue {name!r} is the "
                                  f"overflow of {', '.join(feeders)}", queue=name)
            await store.delete_queue(conn, name)
            await store.audit(conn, who, "queue.deleted", {
                "queue": name, "before": _queue_dict(queues[name])}, self._at())
            self._router(lambda c: c.remove_queue(name))

    async def _ivr_queues(self, conn: asyncpg.Connection) -> set[str]:
        """The queues the running IVR and the stored menu tree send callers to."""
        out = set(self.ivr_queues())
        row = await store.current_ivr(conn)
        if row is not None:
            out |= ivr_menu.parse(row.tree, f"ivr_menus version {row.version}").used_queues()
        return out

    # -- the IVR menu tree

    async def ivr_tree(self) -> store.IvrRow | None:
        async with self.pool.acquire() as conn:
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
            raise ConfigError("conflict", "invalid-ivr", str(exc)) from None
        stored = ivr_menu.to_data(menu)
        current = await self.ivr_tree()
        self._check_version(current, based_on)  # early: no speech for a stale change
        built = 0
        if self.ivr is not None:
            try:
                built = await self.ivr.prepare(menu)
            except (OSError, RuntimeError) as exc:  # PromptError: no voice, espeak failed
                raise ConfigError("conflict", "prompts-failed", "the prompts of the menu "
                                  f"tree could not be spoken: {exc}") from None
        async with self._lock:
            async with self.pool.acquire() as conn, conn.transaction():
                current = await store.current_ivr(conn)
                version = self._check_version(current, based_on) + 1
                queues = {q.name for q in await store.list_queues(conn)}
                unknown = [(w, q) for w, q in menu.queue_refs() if q not in queues]
                if unknown:
                    raise ConfigError(
                        "conflict", "unknown-queue", "the menu tree sends callers to queues "
                        "that do not exist: " + "; ".join(f"{w}: queue {q!r}" for w, q in unknown)
                        + " (create them under /api/config/queues first)",
                        queues=sorted({q for _, q in unknown}))
                if not await store.insert_ivr(conn, version, stored, who, self._at()):
                    raise ConfigError("conflict", "stale-version", f"version {version} of the "
                                      "menu tree was stored meanwhile: read it and try again",
                                      version=version)
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
            raise ConfigError("conflict", "stale-version", f"the menu tree is at version "
                              f"{version}, the change was based on version {based_on}: read "
                              "it again and make the change on that", version=version)
        return version

    # -- not-ready reasons

    async def reasons(self) -> dict[str, str]:
        async with self.pool.acquire() as conn:
            return await store.list_reasons(conn)

    async def put_reason(self, who: str, code: str, label: str) -> None:
        if not REASON.match(code):
            raise ConfigError("invalid", "invalid-reason", f"reason code {code!r} must be "
                              "lower-case letters, digits and _ (at most 40)")
        async with self.pool.acquire() as conn, conn.transaction():
            await store.upsert_reason(conn, code, label)
            await store.audit(conn, who, "reason.put", {"code": code, "label": label},
                              self._at())

    async def delete_reason(self, who: str, code: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.delete_reason(conn, code):
                raise ConfigError("not-found", "no-such-reason", f"no reason {code!r}")
            await store.audit(conn, who, "reason.deleted", {"code": code}, self._at())

    # -- outages (the IVR reads them from the database on every lookup)

    async def add_outage(self, who: str, outage: Outage) -> Outage:
        if outage.kind not in ("planned", "unplanned"):
            raise ConfigError("invalid", "invalid-outage", "kind must be planned or unplanned")
        if outage.ends_at is not None and outage.ends_at <= outage.starts_at:
            raise ConfigError("invalid", "invalid-outage", "ends_at must be after starts_at")
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                stored = await queries.add_outage(conn, outage)
            except LookupError:
                raise ConfigError("not-found", "no-such-outage",
                                  f"no outage {outage.id}") from None
            await store.audit(conn, who, "outage.put", {
                "id": stored.id, "area_code": outage.area_code, "kind": outage.kind,
                "starts_at": outage.starts_at, "ends_at": outage.ends_at}, self._at())
            return stored

    async def outages(self, area_code: str, at: float, horizon_s: float) -> list[Outage]:
        async with self.pool.acquire() as conn:
            return await queries.outages_for_callers(conn, area_code, at, horizon_s)

    async def delete_outage(self, who: str, outage_id: int) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.delete_outage(conn, outage_id):
                raise ConfigError("not-found", "no-such-outage", f"no outage {outage_id}")
            await store.audit(conn, who, "outage.deleted", {"id": outage_id}, self._at())

    # -- audit

    async def audit_log(self, what_prefix: str = "", limit: int = 200) -> list[store.AuditRow]:
        async with self.pool.acquire() as conn:
            return await store.list_audit(conn, what_prefix=what_prefix, limit=limit)


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
    """An Outage record, its field checks turned into a ConfigError."""
    try:
        return Outage(area_code=area_code, kind=kind, starts_at=starts_at, ends_at=ends_at,
                      description_zh=description_zh, description_en=description_en,
                      id=outage_id)
    except RecordError as exc:
        raise ConfigError("invalid", "invalid-outage", str(exc)) from None


__all__ = ["DEFAULT_REASONS", "ConfigError", "Configuration", "LiveIvr", "NodeFiles",
           "changed_paths", "load_or_seed_centre", "load_or_seed_ivr", "local_nodes",
           "outage_from", "sync_asterisk"]
