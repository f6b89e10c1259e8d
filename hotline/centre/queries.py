"""Queries for the centre's configuration: agents and their skills, teams and vendors, queues,
not-ready reasons,
the IVR menu tree (every version), users and the audit log. (Outages are in `queries`: the
IVR reads them there.)

Every function takes a connection, so a caller can put a change and its audit row in one
transaction. jsonb values go in and come out as Python values (the codec of `db.connect`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hotline.centre.model import AgentSpec, QueueSpec, TeamSpec, VendorKind, VendorSpec
from hotline.core.values import ServiceType

# ---- agents


@dataclass(frozen=True, slots=True)
class AgentRow:
    spec: AgentSpec
    active: bool


async def list_agents(conn: asyncpg.Connection, *, active_only: bool = False) -> list[AgentRow]:
    rows = await conn.fetch(
        "SELECT a.id, a.name, a.secret, a.contact, a.active, a.team_id,"
        " coalesce(jsonb_object_agg(s.skill, s.level) FILTER (WHERE s.skill IS NOT NULL),"
        " '{}') AS skills"
        " FROM agents a LEFT JOIN agent_skills s ON s.agent_id = a.id"
        " WHERE a.active OR NOT $1 GROUP BY a.id ORDER BY a.id", active_only)
    return [_agent(r) for r in rows]


async def get_agent(conn: asyncpg.Connection, agent_id: str) -> AgentRow | None:
    for row in await list_agents(conn):
        if row.spec.id == agent_id:
            return row
    return None


def _agent(r: asyncpg.Record) -> AgentRow:
    skills = r["skills"]
    if isinstance(skills, str):  # a connection without the project's jsonb codec
        skills = json.loads(skills)
    return AgentRow(AgentSpec(id=r["id"], name=r["name"], secret=r["secret"],
                              contact=r["contact"],
                              skills={str(k): int(v) for k, v in skills.items()},
                              team=r["team_id"]),
                    active=r["active"])


async def insert_agent(conn: asyncpg.Connection, spec: AgentSpec) -> bool:
    """Adds the agent, or brings back a deactivated one with this id; False when an active
    agent has the id already."""
    added = await conn.fetchval(
        "INSERT INTO agents (id, name, sip_endpoint, secret, contact, active, team_id)"
        " VALUES ($1, $2, $1, $3, $4, true, $5)"
        " ON CONFLICT (id) DO UPDATE SET name = $2, secret = $3, contact = $4, active = true,"
        " team_id = $5 WHERE NOT agents.active RETURNING id",
        spec.id, spec.name, spec.secret, spec.contact, spec.team)
    if added is None:
        return False
    await set_skills(conn, spec.id, spec.skills)
    return True


async def update_agent(conn: asyncpg.Connection, agent_id: str, *, name: str | None = None,
                       secret: str | None = None, contact: str | None = None,
                       team: str | None = None) -> bool:
    """Changes the given fields of an active agent; False when there is none with the id."""
    found = await conn.fetchval(
        "UPDATE agents SET name = coalesce($2, name), secret = coalesce($3, secret),"
        " contact = coalesce($4, contact), team_id = coalesce($5, team_id)"
        " WHERE id = $1 AND active RETURNING id",
        agent_id, name, secret, contact, team)
    return found is not None


async def set_skills(conn: asyncpg.Connection, agent_id: str, skills: dict[str, int]) -> None:
    """Replaces the agent's skills; level 0 means the agent has not the skill."""
    await conn.execute("DELETE FROM agent_skills WHERE agent_id = $1", agent_id)
    await conn.executemany(
        "INSERT INTO agent_skills (agent_id, skill, level) VALUES ($1, $2, $3)",
        [(agent_id, skill, level) for skill, level in sorted(skills.items()) if level > 0])


async def deactivate_agent(conn: asyncpg.Connection, agent_id: str) -> bool:
    found = await conn.fetchval(
        "UPDATE agents SET active = false WHERE id = $1 AND active RETURNING id", agent_id)
    return found is not None


async def add_agents(conn: asyncpg.Connection, agents: list[AgentSpec]) -> None:
    for spec in agents:
        await insert_agent(conn, spec)


# ---- teams and vendors (the roll-up chain: hotline/centre/model.py)


async def list_vendors(conn: asyncpg.Connection) -> list[VendorSpec]:
    return [VendorSpec(r["id"], r["name"], VendorKind(r["kind"]))
            for r in await conn.fetch("SELECT * FROM vendors ORDER BY id")]


async def list_teams(conn: asyncpg.Connection) -> list[TeamSpec]:
    return [TeamSpec(r["id"], r["name"], r["vendor_id"])
            for r in await conn.fetch("SELECT * FROM teams ORDER BY id")]


async def upsert_vendor(conn: asyncpg.Connection, v: VendorSpec) -> bool:
    """Stores the vendor; True when it is new."""
    return bool(await conn.fetchval(
        "INSERT INTO vendors (id, name, kind) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET name = $2, kind = $3 RETURNING (xmax = 0)",
        v.id, v.name, str(v.kind)))


async def upsert_team(conn: asyncpg.Connection, t: TeamSpec) -> bool:
    """Stores the team (its vendor must exist: a foreign key); True when it is new."""
    return bool(await conn.fetchval(
        "INSERT INTO teams (id, name, vendor_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET name = $2, vendor_id = $3 RETURNING (xmax = 0)",
        t.id, t.name, t.vendor))


# ---- queues


async def list_queues(conn: asyncpg.Connection) -> list[QueueSpec]:
    rows = await conn.fetch("SELECT * FROM queues ORDER BY priority DESC, name")
    out: list[QueueSpec] = []
    for r in rows:
        required = r["required_skills"]
        if isinstance(required, str):
            required = json.loads(required)
        out.append(QueueSpec(name=r["name"], service=ServiceType(r["service"]),
                             required={str(k): int(v) for k, v in required.items()},
                             policy=r["policy"], priority=r["priority"],
                             sl_target=r["sl_target"], sl_seconds=r["sl_seconds"],
                             overflow_to=r["overflow_to"],
                             overflow_wait_s=r["overflow_after_s"]))
    return out


async def upsert_queue(conn: asyncpg.Connection, q: QueueSpec) -> bool:
    """Stores the queue; True when it is new."""
    return bool(await conn.fetchval(
        "INSERT INTO queues (name, service, required_skills, policy, priority, sl_target,"
        " sl_seconds, overflow_to, overflow_after_s)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (name) DO UPDATE SET service = $2, required_skills = $3::jsonb,"
        " policy = $4, priority = $5, sl_target = $6, sl_seconds = $7, overflow_to = $8,"
        " overflow_after_s = $9 RETURNING (xmax = 0)",
        q.name, str(q.service), dict(q.required), q.policy, q.priority, q.sl_target,
        q.sl_seconds, q.overflow_to, q.overflow_wait_s))


async def delete_queue(conn: asyncpg.Connection, name: str) -> bool:
    return await conn.fetchval(
        "DELETE FROM queues WHERE name = $1 RETURNING name", name) is not None


# ---- not-ready reasons


async def list_reasons(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch("SELECT code, label FROM not_ready_reasons ORDER BY code")
    return {r["code"]: r["label"] for r in rows}


async def upsert_reason(conn: asyncpg.Connection, code: str, label: str) -> None:
    await conn.execute(
        "INSERT INTO not_ready_reasons (code, label) VALUES ($1, $2)"
        " ON CONFLICT (code) DO UPDATE SET label = $2", code, label)


async def delete_reason(conn: asyncpg.Connection, code: str) -> bool:
    return await conn.fetchval(
        "DELETE FROM not_ready_reasons WHERE code = $1 RETURNING code", code) is not None


async def delete_outage(conn: asyncpg.Connection, outage_id: int) -> bool:
    return await conn.fetchval(
        "DELETE FROM outages WHERE id = $1 RETURNING id", outage_id) is not None


# ---- VIP numbers (migration 019)


@dataclass(frozen=True, slots=True)
class VipRow:
    number: str
    note: str
    added_by: str
    added_at: float


async def list_vips(conn: asyncpg.Connection) -> list[VipRow]:
    rows = await conn.fetch("SELECT * FROM vip_numbers ORDER BY number")
    return [VipRow(r["number"], r["note"], r["added_by"], r["added_at"].timestamp())
            for r in rows]


async def upsert_vip(conn: asyncpg.Connection, number: str, note: str, who: str,
                     at: datetime | None = None) -> bool:
    """Adds the number or changes its note; True when new."""
    return bool(await conn.fetchval(
        "INSERT INTO vip_numbers (number, note, added_by, added_at)"
        " VALUES ($1, $2, $3, coalesce($4, now()))"
        " ON CONFLICT (number) DO UPDATE SET note = $2 RETURNING xmax = 0",
        number, note, who, at))


async def delete_vip(conn: asyncpg.Connection, number: str) -> bool:
    return await conn.fetchval(
        "DELETE FROM vip_numbers WHERE number = $1 RETURNING number", number) is not None


# ---- users


@dataclass(frozen=True, slots=True)
class UserRow:
    username: str
    password_hash: str
    roles: tuple[str, ...]
    display_name: str
    agent_id: str
    active: bool
    tokens_after: float = 0.0  # tokens issued before this (epoch seconds) are revoked
    unit: str = ""  # a back-office user's responsible unit


async def get_user(conn: asyncpg.Connection, username: str) -> UserRow | None:
    r = await conn.fetchrow("SELECT * FROM users WHERE username = $1", username)
    if r is None:
        return None
    return _user(r)


def _user(r: asyncpg.Record) -> UserRow:
    return UserRow(r["username"], r["password_hash"], (r["role"], *r["more_roles"]),
                   r["display_name"], r["agent_id"] or "", r["active"], r["tokens_after"],
                   r["unit"])


async def insert_user(conn: asyncpg.Connection, user: UserRow) -> bool:
    """Adds the user unless the name is taken (seeding never overwrites a changed password);
    True when it was added."""
    first, *more = user.roles
    return await conn.fetchval(
        "INSERT INTO users (username, display_name, role, more_roles, password_hash,"
        " agent_id, active, unit) VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7, $8)"
        " ON CONFLICT (username) DO NOTHING RETURNING id",
        user.username, user.display_name, first, more, user.password_hash, user.agent_id,
        user.active, user.unit) is not None


async def count_users(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM users"))


async def list_users(conn: asyncpg.Connection, *, limit: int | None = None,
                     offset: int = 0) -> list[UserRow]:
    return [_user(r) for r in await conn.fetch(
        "SELECT * FROM users ORDER BY username LIMIT $1 OFFSET $2", limit, offset)]


async def update_user(conn: asyncpg.Connection, username: str, *,
                      roles: tuple[str, ...] | None = None, password_hash: str | None = None,
                      active: bool | None = None, agent_id: str | None = None,
                      tokens_after: float | None = None, unit: str | None = None) -> bool:
    """Changes the given fields (roles: the first goes to `role`, the rest to more_roles);
    False when there is no such user."""
    first, more = (roles[0], list(roles[1:])) if roles else (None, None)
    found = await conn.fetchval(
        "UPDATE users SET role = coalesce($2, role), more_roles = coalesce($3, more_roles),"
        " password_hash = coalesce($4, password_hash), active = coalesce($5, active),"
        " agent_id = CASE WHEN $6::text IS NULL THEN agent_id ELSE nullif($6, '') END,"
        " tokens_after = coalesce($7, tokens_after), unit = coalesce($8, unit)"
        " WHERE username = $1 RETURNING id",
        username, first, more, password_hash, active, agent_id, tokens_after, unit)
    return found is not None


# ---- the IVR menu tree: one row per version, the highest is live


@dataclass(frozen=True, slots=True)
class IvrRow:
    version: int
    tree: dict[str, Any]
    created_at: float
    created_by: str


async def current_ivr(conn: asyncpg.Connection) -> IvrRow | None:
    r = await conn.fetchrow("SELECT * FROM ivr_menus ORDER BY version DESC LIMIT 1")
    if r is None:
        return None
    tree = r["tree"]
    if isinstance(tree, str):  # a connection without the project's jsonb codec
        tree = json.loads(tree)
    return IvrRow(r["version"], tree, r["created_at"].timestamp(), r["created_by"])


async def insert_ivr(conn: asyncpg.Connection, version: int, tree: dict[str, Any],
                     who: str, at: datetime | None = None) -> bool:
    """Stores the tree as `version`; False when that version exists already (another
    writer got there first)."""
    return await conn.fetchval(
        "INSERT INTO ivr_menus (version, tree, created_at, created_by)"
        " VALUES ($1, $2::jsonb, coalesce($3, now()), $4)"
        " ON CONFLICT (version) DO NOTHING RETURNING version",
        version, tree, at, who) is not None


# ---- audit


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    who: str
    at: float
    what: str
    details: dict[str, Any]


async def audit(conn: asyncpg.Connection, who: str, what: str, details: dict[str, Any],
                at: datetime | None = None) -> int:
    """One audit row (`at` defaults to the database's now()); returns its id. Values JSON
    cannot hold (times, enums) are written as their text."""
    return int(await conn.fetchval(
        "INSERT INTO audit_log (who, at, what, details) VALUES ($1, coalesce($2, now()), $3,"
        " $4::jsonb) RETURNING id", who, at, what,
        json.loads(json.dumps(details, default=str))))


async def list_audit(conn: asyncpg.Connection, *, what_prefix: str = "",
                     limit: int = 200, offset: int = 0) -> list[AuditRow]:
    """The newest rows first; `what_prefix` narrows to e.g. "agent." entries."""
    rows = await conn.fetch(
        "SELECT * FROM audit_log WHERE starts_with(what, $1) ORDER BY id DESC"
        " LIMIT $2 OFFSET $3", what_prefix, limit, offset)
    out = []
    for r in rows:
        details = r["details"]
        if isinstance(details, str):
            details = json.loads(details)
        out.append(AuditRow(r["id"], r["who"], r["at"].timestamp(), r["what"], details))
    return out
