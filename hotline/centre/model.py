"""Reads the contact centre's configuration file (centre.toml): its queues and its agents."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hotline.core.errors import InvalidRequest
from hotline.core.ids import (
    AGENT_ID_PATTERN,
    QUEUE_NAME_PATTERN,
    SKILL_NAME_PATTERN,
    is_valid,
    rule,
)
from hotline.core.values import ServiceType


class CentreFileError(InvalidRequest, ValueError):
    """The centre file (or data in its shape) breaks a rule; the message says where."""

    error_id = "invalid-centre-file"


@dataclass(frozen=True, slots=True)
class AgentSpec:
    id: str
    name: str = ""
    secret: str = ""
    contact: str = ""  # a fixed SIP URI instead of REGISTER (SIPp phones, desk phones)
    skills: dict[str, int] = field(default_factory=dict)


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


@dataclass(frozen=True, slots=True)
class Centre:
    queues: list[QueueSpec]
    agents: list[AgentSpec]


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
        ))
    return agents


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


def parse_centre(data: dict) -> Centre:
    return Centre(queues=parse_queues(data.get("queues", [])),
                  agents=parse_agents(data.get("agents", [])))


def load_centre(path: Path) -> Centre:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CentreFileError(f"centre file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CentreFileError(f"centre file {path}: {exc}") from None
    return parse_centre(data)
