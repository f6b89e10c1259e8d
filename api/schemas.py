"""Request and response models, split by direction; figures reuse realtime's dataclasses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from hotline.core.ids import SKILL_NAME_PATTERN, AgentId, SkillName
from hotline.realtime import AgentFigures, QueueFigures
from hotline.router import Considered, Explanation

# Free text that must say something and that PostgreSQL can hold (no NUL). Whitespace is
# spelled out rather than written \S: the schema's readers (ECMAScript regexes, e.g. the
# fuzzer) and the validator (pydantic-core's Rust regex, Unicode White_Space) disagree on
# U+0085 and U+FEFF, so "\u0085" passed the schema and failed validation.
_SPACE = r"\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
SOME_TEXT = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
#: A login name: at most what the users table keeps (CHECK length(username) <= 128,
#: migration 001). A new user's name is drawn from USERNAME_PATTERN; a login may name any
#: user without a control character (users seeded from HOTLINE_API_USERS may be named
#: otherwise), and PostgreSQL text holds no NUL.
USERNAME_MAX_LEN = 128
USERNAME_PATTERN = rf"^[A-Za-z0-9_.@-]{{1,{USERNAME_MAX_LEN}}}$"
LOGIN_NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "supervisor", "password": "s3cret"}]}
    )
    username: str = Field(min_length=1, max_length=USERNAME_MAX_LEN,
                          pattern=LOGIN_NAME_PATTERN)
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
    #: the back office's unit (the one whose orders it works); "" for every other role
    unit: str = ""


class QueueSummary(BaseModel):
    """One queue now: its target, who waits, agents by state, today's and this interval's
    figures (formulas in docs/metrics.md)."""

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


# ---- call history (api/routes/history.py)

_CALL_EXAMPLE: dict[str, Any] = {
    "call_id": "1795432233.17",
    "node": "node1",
    "caller": "13800000001",
    "dialed": "95598",
    "queue": "billing",
    "service": "billing",
    "entered_at": 1795432233.9,
    "queued_at": 1795432251.2,
    "answered_at": 1795432262.0,
    "ended_at": 1795432410.5,
    "agent_id": "agent3",
    "outcome": "answered",
    "wait_s": 10.8,
    "talk_s": 140.5,
    "hold_s": 8.0,
    "acw_s": 30.0,
    "ivr_path": ["lang=1", "main=2"],
    "recording_url": "/api/recordings/1795432233.17",
}


class CallSummary(BaseModel):
    """One call of the history: who, where, when, how it ended, its durations (seconds)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CALL_EXAMPLE]})
    call_id: str
    node: str
    caller: str
    dialed: str
    queue: str | None
    service: str | None
    entered_at: float | None
    queued_at: float | None
    answered_at: float | None
    ended_at: float | None
    agent_id: str | None
    outcome: str | None
    wait_s: float | None
    talk_s: float | None
    hold_s: float | None
    acw_s: float | None
    ivr_path: list[str] = Field(description="menu=digit, in the order the caller pressed")
    recording_url: str | None = Field(description="where to listen; null: not recorded")


class CallPageOut(BaseModel):
    """A page of calls, newest first; pass next_cursor as ?cursor= for the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"calls": [_CALL_EXAMPLE], "next_cursor": "MTc5NXwx"}]}
    )
    calls: list[CallSummary]
    next_cursor: str | None = Field(description="null: this is the last page")


class TimelineStep(BaseModel):
    at: float
    what: str = Field(description="e.g. entered, queued:billing, answered:agent3, ended")


class CallDetail(CallSummary):
    """One call with its timeline and the router's reasons for each offer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_CALL_EXAMPLE,
                    "timeline": [
                        {"at": 1795432233.9, "what": "entered"},
                        {"at": 1795432251.2, "what": "queued:billing"},
                        {"at": 1795432262.0, "what": "answered:agent3"},
                        {"at": 1795432410.5, "what": "ended"},
                    ],
                    "explanations": [],
                    "explanations_from": "store",
                }
            ]
        }
    )
    timeline: list[TimelineStep]
    explanations: list[ExplanationOut]
    explanations_from: str = Field(description="store, router (a live call) or none")


class AgentStateOut(BaseModel):
    """An agent's stay in one state; ended_at null: still in it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "state": "not_ready",
                    "started_at": 1795432233.9,
                    "ended_at": 1795432533.9,
                    "reason": "break",
                    "call_id": "",
                }
            ]
        }
    )
    state: str
    started_at: float
    ended_at: float | None
    reason: str
    call_id: str


class AgentStatesOut(BaseModel):
    agent_id: str
    states: list[AgentStateOut]
    next_offset: int | None = None  # pass as ?offset= for the next page; None: the last


# ---- agent desk and supervision (api/routes/agent_desk.py, api/routes/supervision.py)

AgentCommandName = Literal["login", "logout", "ready", "not_ready", "end_wrap_up"]
SpyModeName = Literal["listen", "whisper", "barge"]


#: skill -> level 0-5 (hotline.core.ids.SkillName). pydantic would publish the key rule as
#: patternProperties, which lets other keys through with any value; the published schema
#: states the whole rule.
Skills = Annotated[
    dict[SkillName, Annotated[int, Field(ge=0, le=5)]],
    Field(max_length=64),
    WithJsonSchema({"type": "object", "propertyNames": {"pattern": SKILL_NAME_PATTERN},
                    "maxProperties": 64,
                    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 5}}),
]


class SkillsRequest(BaseModel):
    """The agent's whole skill set; level 0 removes a skill."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"skills": {"general": 4, "billing": 2}}]}
    )
    skills: Skills


class SpyRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"mode": "listen", "supervisor_endpoint": "agent4"}]}
    )
    mode: SpyModeName
    #: the supervisor's phone: an endpoint of the same kind as an agent's; only its own
    #: (api/spy_target.py) unless an admin asks
    supervisor_endpoint: AgentId | None = Field(
        default=None, description="the PJSIP endpoint that rings: the supervisor's own "
        "(the default); another only for an admin (403 not-your-endpoint)")


class SpyOut(BaseModel):
    agent_id: str
    call_id: str
    mode: str


class AgentOut(BaseModel):
    """An agent as the router sees it now."""

    agent_id: str
    name: str
    state: str
    reason: str
    call_id: str
    skills: dict[str, int]


class DeskCall(BaseModel):
    """The call the agent is offered, talking on, or wrapping up."""

    call_id: str
    caller: str
    queue: str
    service: str
    ivr_path: list[str] = Field(description="menu=digit, in the order the caller pressed")
    entered_at: float | None
    queued_at: float | None
    answered_at: float | None


class RecentCall(BaseModel):
    call_id: str
    entered_at: float | None
    queue: str | None
    service: str | None
    agent_id: str | None
    outcome: str | None
    talk_s: float | None


class OpenOrder(BaseModel):
    """A work order of the caller still open, or closed with a final answer (最终答复): the
    agent sees what the repeat call is about."""

    id: int
    service: str
    state: str
    description: str
    created_at: float
    created_by: str
    final_answer: str


class DeskOut(BaseModel):
    """Everything the agent panel shows."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent_id": "agent3",
                    "name": "Agent 3",
                    "state": "on_call",
                    "reason": "",
                    "since": 1795432262.0,
                    "time_in_state_s": 12.5,
                    "now": 1795432274.5,
                    "skills": {"general": 4},
                    "call": {
                        "call_id": "1795432233.17",
                        "caller": "13800000001",
                        "queue": "billing",
                        "service": "billing",
                        "ivr_path": ["lang=1", "main=2"],
                        "entered_at": 1795432233.9,
                        "queued_at": 1795432251.2,
                        "answered_at": 1795432262.0,
                    },
                    "recent_calls": [],
                    "reasons": ["break", "meal", "training", "meeting", "callback_work", "other"],
                }
            ]
        }
    )
    agent_id: str
    name: str
    state: str
    reason: str
    since: float | None = Field(description="when this state began; null: not seen yet")
    time_in_state_s: float | None
    now: float
    skills: dict[str, int]
    call: DeskCall | None
    recent_calls: list[RecentCall] = Field(description="the caller's earlier calls, newest first")
    open_orders: list[OpenOrder] = Field(
        default_factory=list, description="the caller's open work orders, newest first")
    answered_orders: list[OpenOrder] = Field(
        default_factory=list,
        description="the caller's closed work orders with a final answer (最终答复), last "
                    "moved first (at most 10)")
    final_answer_repeat: int | None = Field(
        None, description="the answered order this call repeats: closed with a final answer "
                          "and last moved within the repeat window (docs/metrics.md, "
                          "\"Repeat calls\"); null: none")
    reasons: list[str] = Field(description="the not-ready reason codes")


class AuditEntry(BaseModel):
    at: float
    actor: str
    agent_id: str
    action: str = Field(description="e.g. ready, not_ready, set_skills, spy:listen")
    detail: dict[str, Any]
