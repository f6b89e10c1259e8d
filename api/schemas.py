"""Request and response models, split by direction; figures reuse realtime's dataclasses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hotline.realtime import AgentFigures, QueueFigures
from hotline.router import Considered, Explanation


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "supervisor", "password": "s3cret"}]}
    )
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "v1.eyJzdWIiOiJzdXBlcnZpc29yIn0.c2lnbmF0dXJl",
                    "token_type": "bearer",
                    "expires_at": 1795432233.9,
                    "username": "supervisor",
                    "roles": ["supervisor"],
                }
            ]
        }
    )
    access_token: str
    token_type: str = "bearer"
    expires_at: float
    username: str
    roles: list[str]


class Me(BaseModel):
    username: str
    roles: list[str]
    expires_at: float


class QueueSummary(BaseModel):
    """One queue now: its target, who waits, agents by state, today's and this interval's
    figures (formulas in domain.md)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "billing",
                    "sl_target": 0.8,
                    "sl_seconds": 20.0,
                    "waiting": 3,
                    "longest_wait_s": 41.5,
                    "agents_by_state": {"ready": 4, "on_call": 12},
                    "today": {"offered": 812, "answered": 790, "service_level": 0.83},
                    "interval": {"offered": 41, "answered": 38, "service_level": 0.79},
                }
            ]
        }
    )
    name: str
    sl_target: float | None
    sl_seconds: float | None
    waiting: int
    longest_wait_s: float
    agents_by_state: dict[str, int]
    today: QueueFigures
    interval: QueueFigures


class AgentLive(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent_id": "agent7",
                    "state": "not_ready",
                    "reason": "break",
                    "since": 1795432233.9,
                    "call_id": "",
                    "queues": ["billing"],
                    "today": {"answered": 31, "handled": 30, "occupancy": 0.86},
                }
            ]
        }
    )
    agent_id: str
    state: str
    reason: str
    since: float
    call_id: str
    queues: list[str]
    today: AgentFigures


class ConsideredOut(BaseModel):
    agent_id: str
    verdict: str = Field(description="chosen, ranked_lower, state, skill or not_preferred")
    detail: str = Field(description="the verdict in words, e.g. 'billing level 1 < 2'")
    rank: int = 0
    policy: str = ""
    skill: str = ""
    level: int = 0
    minimum: int = 0
    state: str = ""
    reason: str = ""
    idle_since: float = 0.0
    calls_today: int = 0
    preferred: str = ""

    @classmethod
    def of(cls, c: Considered) -> ConsideredOut:
        return cls(detail=c.detail, **c._asdict())


class ExplanationOut(BaseModel):
    """One offer decision of the router for the call."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "1795432233.17",
                    "at": 1795432240.2,
                    "queue": "billing",
                    "policy": "longest_idle",
                    "requirements": {"billing": 2},
                    "reason": "policy",
                    "chosen": "agent3",
                    "eligible": ["agent3", "agent5"],
                    "passed_over": [
                        {
                            "agent_id": "agent5",
                            "verdict": "ranked_lower",
                            "detail": "rank 2 by longest_idle: billing level 2, idle since "
                            "1795432100, 4 calls today",
                            "rank": 2,
                        }
                    ],
                    "omitted": 0,
                }
            ]
        }
    )
    call_id: str
    at: float
    queue: str
    policy: str
    requirements: dict[str, int]
    reason: str
    chosen: str
    eligible: list[str]
    passed_over: list[ConsideredOut]
    omitted: int

    @classmethod
    def of(cls, e: Explanation) -> ExplanationOut:
        return cls(
            call_id=e.call_id,
            at=e.at,
            queue=e.queue,
            policy=e.policy,
            requirements=dict(e.requirements),
            reason=e.reason,
            chosen=e.chosen,
            eligible=list(e.eligible),
            passed_over=[ConsideredOut.of(c) for c in e.passed_over],
            omitted=e.omitted,
        )


WALLBOARD_EXAMPLE: dict[str, Any] = {
    "now": 1795432233.9,
    "interval": {"start": 1795431600.0, "end": 1795432500.0},
    "all": {"today": {"offered": 812, "service_level": 0.83}, "interval": {}, "window": {}},
    "queues": {"billing": {"today": {"offered": 812}, "interval": {}, "window": {}}},
    "agents_by_state": {"all": {"ready": 4, "on_call": 12}},
    "occupancy": {"today": 0.86, "interval": 0.9, "window": 0.88},
    "sl_trend": [
        {
            "queue": "billing",
            "start": 1795430700.0,
            "end": 1795431600.0,
            "service_level": 0.81,
            "sl_target": 0.8,
        }
    ],
}
