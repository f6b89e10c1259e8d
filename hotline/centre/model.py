"""Reads the contact centre's configuration file (centre.toml): its queues, its agents, and the
teams and vendors they belong to.

The roll-up chain is agent -> team -> vendor -> centre: an agent belongs to one team, a team
to one vendor (own staff 自营, or an outsourced vendor or project 外包), and every vendor to the
centre. `Centre.rollup` is that chain in Python; the `agent_rollup` view (migration 016) is the
same chain in PostgreSQL, which the reports group by (hotline/reports/queries.py)."""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hotline.core.errors import InvalidRequest
from hotline.core.ids import (
    AGENT_ID_PATTERN,
    GROUP_ID_PATTERN,
    PHONE_NUMBER_PATTERN,
    QUEUE_NAME_PATTERN,
    SKILL_NAME_PATTERN,
    is_valid,
    rule,
)
from hotline.core.values import ServiceType


class CentreFileError(InvalidRequest, ValueError):
    """The centre file (or data in its shape) breaks a rule; the message says where."""

    error_id = "invalid-centre-file"


class VendorKind(enum.StrEnum):
    OWN = "own"  # 自营: the centre's own staff
    OUTSOURCED = "outsourced"  # 外包: an outsourced vendor or project


#: A centre file without teams and vendors puts every agent in this team of this vendor (own
#: staff); migration 016 gives the agents already stored the same.
DEFAULT_TEAM = "main"
DEFAULT_VENDOR = "own"
#: A team's or vendor's name: the CHECK of teams.name and vendors.name (migration 016)
GROUP_NAME_MAX_LEN = 200


@dataclass(frozen=True, slots=True)
class VendorSpec:
    id: str
    name: str = ""
    kind: VendorKind = VendorKind.OWN


@dataclass(frozen=True, slots=True)
class TeamSpec:
    id: str
    name: str = ""
    vendor: str = DEFAULT_VENDOR


@dataclass(frozen=True, slots=True)
class AgentSpec:
    id: str
    name: str = ""
    secret: str = ""
    contact: str = ""  # a fixed SIP URI instead of REGISTER (SIPp phones, desk phones)
    skills: dict[str, int] = field(default_factory=dict)
    team: str = DEFAULT_TEAM


@dataclass(frozen=True, slots=True)
class Rollup:
    """Where an agent's figures roll up: its team, the team's vendor and the vendor's kind
    (then the centre)."""

    team: str
    vendor: str
    kind: VendorKind


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    service: ServiceType
    required: dict[str, int] = field(default_factory=dict)
    policy: str = "most_skilled"
    priority: int = 0
    sl_target: float = 0.8
    sl_seconds: float = 20.0
    #: after overflow_wait_s of waiting, agents of overflow_to may take the call too
    overflow_to: str | None = None
    overflow_wait_s: float | None = None


def default_teams() -> list[TeamSpec]:
    return [TeamSpec(DEFAULT_TEAM, "Main team", DEFAULT_VENDOR)]


def default_vendors() -> list[VendorSpec]:
    return [VendorSpec(DEFAULT_VENDOR, "Own staff", VendorKind.OWN)]


@dataclass(frozen=True, slots=True)
class Centre:
    queues: list[QueueSpec]
    agents: list[AgentSpec]
    teams: list[TeamSpec] = field(default_factory=default_teams)
    vendors: list[VendorSpec] = field(default_factory=default_vendors)
    #: numbers whose calls the router raises by VIP_BOOST (docs/customer-story.md, "VIP")
    vip_numbers: list[str] = field(default_factory=list)

    def rollup(self) -> dict[str, Rollup]:
        """agent id -> its team, vendor and the vendor's kind (the roll-up chain)."""
        vendors = {v.id: v for v in self.vendors}
        teams = {t.id: t for t in self.teams}
        return {a.id: Rollup(a.team, teams[a.team].vendor, vendors[teams[a.team].vendor].kind)
                for a in self.agents}


def _levels(raw: dict, what: str) -> dict[str, int]:
    levels = {str(k): int(v) for k, v in raw.items()}
    for skill, level in levels.items():
        if not is_valid(SKILL_NAME_PATTERN, skill):
            raise CentreFileError(f"{what}: skill name {skill!r} must be "
                                  f"{rule(SKILL_NAME_PATTERN)}")
        if not 1 <= level <= 5:
            raise CentreFileError(f"{what}: skill {skill!r} level {level} is not 1-5")
    return levels


def parse_agents(items: list[dict]) -> list[AgentSpec]:
    agents: list[AgentSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        agent_id = str(raw.get("id", ""))
        if not is_valid(AGENT_ID_PATTERN, agent_id):
            raise CentreFileError(f"agent #{i + 1}: id {agent_id!r} must be "
                                  f"{rule(AGENT_ID_PATTERN)}")
        if agent_id in seen:
            raise CentreFileError(f"agent {agent_id!r} is listed twice")
        seen.add(agent_id)
        agents.append(AgentSpec(
            id=agent_id, name=str(raw.get("name", "")), secret=str(raw.get("secret", "")),
            contact=str(raw.get("contact", "")),
            skills=_levels(raw.get("skills", {}), f"agent {agent_id!r}"),
            team=str(raw.get("team", DEFAULT_TEAM)),
        ))
    return agents


def parse_vendors(items: list[dict]) -> list[VendorSpec]:
    vendors: list[VendorSpec] = []
    for i, raw in enumerate(items):
        vendor_id = _group_id(raw, f"vendor #{i + 1}")
        try:
            kind = VendorKind(raw.get("kind", VendorKind.OWN))
        except ValueError:
            raise CentreFileError(f"vendor {vendor_id!r}: kind {raw.get('kind')!r} is not one "
                                  f"of {', '.join(VendorKind)}") from None
        vendors.append(VendorSpec(vendor_id, str(raw.get("name", "")), kind))
    _unique([v.id for v in vendors], "vendor")
    return vendors


def parse_teams(items: list[dict]) -> list[TeamSpec]:
    teams = [TeamSpec(_group_id(raw, f"team #{i + 1}"), str(raw.get("name", "")),
                      str(raw.get("vendor", DEFAULT_VENDOR)))
             for i, raw in enumerate(items)]
    _unique([t.id for t in teams], "team")
    return teams


def _group_id(raw: dict, what: str) -> str:
    value = str(raw.get("id", ""))
    if not is_valid(GROUP_ID_PATTERN, value):
        raise CentreFileError(f"{what}: id {value!r} must be {rule(GROUP_ID_PATTERN)}")
    return value


def _unique(ids: list[str], what: str) -> None:
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CentreFileError(f"{what} {twice[0]!r} is listed twice")


def check_rollup(centre: Centre) -> None:
    """Every agent's team exists, and every team's vendor: the roll-up chain is whole."""
    vendors = {v.id for v in centre.vendors}
    teams = {t.id for t in centre.teams}
    for t in centre.teams:
        if t.vendor not in vendors:
            raise CentreFileError(f"team {t.id!r}: vendor {t.vendor!r} is not listed")
    for a in centre.agents:
        if a.team not in teams:
            raise CentreFileError(f"agent {a.id!r}: team {a.team!r} is not listed")


def parse_queues(items: list[dict]) -> list[QueueSpec]:
    queues: list[QueueSpec] = []
    for i, raw in enumerate(items):
        name = str(raw.get("name", ""))
        if not is_valid(QUEUE_NAME_PATTERN, name):
            raise CentreFileError(f"queue #{i + 1}: name {name!r} must be "
                                  f"{rule(QUEUE_NAME_PATTERN)}")
        try:
            service = ServiceType(raw.get("service", name))
        except ValueError:
            raise CentreFileError(f"queue {name!r}: unknown service {raw.get('service')!r}; "
                                  f"one of {', '.join(ServiceType)}") from None
        queues.append(QueueSpec(
            name=name, service=service,
            required=_levels(raw.get("required", {}), f"queue {name!r}"),
            policy=str(raw.get("policy", "most_skilled")),
            priority=int(raw.get("priority", 0)),
            sl_target=float(raw.get("sl_target", 0.8)),
            sl_seconds=float(raw.get("sl_seconds", 20.0)),
        ))
    if not any(q.name == "general" for q in queues):
        raise CentreFileError("a queue named 'general' is required: callers who press 0, or "
                              "whose IVR choice fails, wait there")
    return queues


def parse_vip_numbers(items: object) -> list[str]:
    """The file's `vip_numbers = ["13900000888", ...]`: phone numbers, each once."""
    if not isinstance(items, list):
        raise CentreFileError("vip_numbers must be a list of phone numbers")
    numbers = [str(n) for n in items]
    for n in numbers:
        if not is_valid(PHONE_NUMBER_PATTERN, n):
            raise CentreFileError(f"vip number {n!r} must be {rule(PHONE_NUMBER_PATTERN)}")
    _unique(numbers, "vip number")
    return numbers


def parse_centre(data: dict) -> Centre:
    """Teams and vendors are optional in the file: without them, every agent is in the
    default team of own staff."""
    centre = Centre(queues=parse_queues(data.get("queues", [])),
                    agents=parse_agents(data.get("agents", [])),
                    teams=parse_teams(data["teams"]) if "teams" in data else default_teams(),
                    vendors=(parse_vendors(data["vendors"]) if "vendors" in data
                             else default_vendors()),
                    vip_numbers=parse_vip_numbers(data.get("vip_numbers", [])))
    check_rollup(centre)
    return centre


def load_centre(path: Path) -> Centre:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CentreFileError(f"centre file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CentreFileError(f"centre file {path}: {exc}") from None
    return parse_centre(data)
