"""One source per rule: the id types, a call's outcome, the error kinds and their statuses,
the outage a caller hears, which queues an agent serves. Each rule is stated once; these
tests hold its users to it."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from hotline.api import errors as api_errors
from hotline.api.errors import ApiError
from hotline.centre.model import CentreFileError, parse_centre
from hotline.centre.service import ConfigConflict, ConfigInvalid, ConfigNotFound, check_skills
from hotline.core import ids
from hotline.core.errors import HotlineError
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallQueued,
    FailsafeTaken,
)
from hotline.core.lifecycle import CallOutcome, IllegalTransition, call_outcome
from hotline.core.values import OPEN_ENDED_READOUT_S, ServiceType
from hotline.core_ext import metrics_py
from hotline.core_ext.select import load_compiled
from hotline.history.call_log import CallLog
from hotline.history.queries import BadCursor
from hotline.process.controller.hold_desk import BadHold, HoldRequest
from hotline.process.controller.ledger import LedgerError, parse
from hotline.process.wiring import agent_queues
from hotline.qa.model import QaError
from hotline.router import AgentBusy, AgentConfig, QueueConfig, Router, RouterConfig, UnknownAgent
from hotline.store.records import Outage, RecordError
from hotline.telephony.agi.server import AgiEnvironment
from hotline.telephony.ami.call_model import CallModel
from hotline.work_orders.model import WorkOrderError

# ---- the id types


class _Ids(BaseModel):
    agent: ids.AgentId
    queue: ids.QueueName
    skill: ids.SkillName


@pytest.mark.parametrize("agent_id", ["agent1", "A7", "x" * 40])
def test_an_agent_id_the_rule_takes_is_taken_by_the_centre_file_and_the_api(
        agent_id: str) -> None:
    _Ids(agent=agent_id, queue="general", skill="general")
    parse_centre({"queues": [{"name": "general"}], "agents": [{"id": agent_id}]})


@pytest.mark.parametrize("agent_id", [
    "a",  # the dialplan's _[0-9a-zA-Z]. needs two characters
    "agent-1", "agent.1", "agent_1", "agent 1", "x" * 41, "agent1\n", "",
    "agent1;evil", "agent1&Hangup", "ägent1",
])
def test_an_agent_id_the_rule_refuses_is_refused_everywhere(agent_id: str) -> None:
    assert not ids.is_valid(ids.AGENT_ID_PATTERN, agent_id)
    with pytest.raises(ValidationError):
        _Ids(agent=agent_id, queue="general", skill="general")
    with pytest.raises(CentreFileError, match="letters or digits"):
        parse_centre({"queues": [{"name": "general"}], "agents": [{"id": agent_id}]})


@pytest.mark.parametrize("skill", ["General Skill", "bill-ing", "x" * 41, "général", ""])
def test_a_skill_name_is_refused_alike_by_the_api_the_service_and_the_centre_file(
        skill: str) -> None:
    with pytest.raises(ValidationError):
        _Ids(agent="agent1", queue="general", skill=skill)
    with pytest.raises(ConfigInvalid) as info:
        check_skills({skill: 1})
    assert info.value.error_id == "invalid-skill"
    with pytest.raises(CentreFileError, match="skill name"):
        parse_centre({"queues": [{"name": "general"}],
                      "agents": [{"id": "agent1", "skills": {skill: 1}}]})


def test_queue_names_follow_their_rule() -> None:
    for bad in ("bill ing", "bill-ing", "", "q" * 41):
        with pytest.raises(ValidationError):
            _Ids(agent="agent1", queue=bad, skill="general")
        with pytest.raises(CentreFileError, match="letters or digits"):
            parse_centre({"queues": [{"name": "general"}, {"name": bad}]})


# ---- a call's outcome


def test_call_outcome() -> None:
    def outcome(**facts: Any) -> CallOutcome:
        base = {"answered": False, "queued": True, "wait_s": 10.0, "short_abandon_s": 5.0}
        return call_outcome(**{**base, **facts})

    assert outcome(answered=True) is CallOutcome.ANSWERED
    assert outcome(answered=True, failsafe=True) is CallOutcome.FAILSAFE
    assert outcome(callback=True, answered=True) is CallOutcome.CALLBACK
    assert outcome(queued=False, wait_s=0.0) is CallOutcome.SELF_SERVED
    assert outcome(wait_s=5.0) is CallOutcome.SHORT_ABANDONED  # at the threshold: short
    assert outcome(wait_s=5.001) is CallOutcome.ABANDONED
    # #15.5: dropped by its node, not given up: whatever the wait, in the IVR or queued
    assert outcome(node_failure=True, wait_s=1.0) is CallOutcome.NODE_FAILURE
    assert outcome(node_failure=True, wait_s=60.0) is CallOutcome.NODE_FAILURE
    assert outcome(node_failure=True, queued=False) is CallOutcome.NODE_FAILURE
    assert outcome(node_failure=True, answered=True) is CallOutcome.ANSWERED  # served
    assert outcome(node_failure=True, callback=True) is CallOutcome.CALLBACK


@pytest.mark.parametrize("kernel", ["c", "py"])
@pytest.mark.parametrize("wait", [0.0, 4.999, 5.0, 5.001, 60.0])
def test_the_metrics_kernels_count_an_abandon_as_the_rule_decides(kernel: str,
                                                                  wait: float) -> None:
    module: ModuleType = load_compiled("metrics") if kernel == "c" else metrics_py
    core = module.Core(1800.0)
    gq, gs = core.add_group(), core.add_group()
    slot = core.open_call()
    core.queue(slot, 100.0, gq, gs)
    core.end(slot, 100.0 + wait, 5.0)
    row = core.read(module.TODAY, 0)
    short = call_outcome(answered=False, queued=True, wait_s=(100.0 + wait) - 100.0,
                         short_abandon_s=5.0) is CallOutcome.SHORT_ABANDONED
    assert (row[module.ABANDONED], row[module.SHORT_ABANDONED]) == (1.0, 1.0 if short else 0.0)


def _call(call_id: str, wait: float, *, answered: bool = False, failsafe: bool = False,
          callback: bool = False, queued: bool = True, node_failure: bool = False) -> list[Any]:
    t0 = 1000.0
    out: list[Any] = [CallEntered(t0, node="n1", call_id=call_id, channel=f"PJSIP/c-{call_id}",
                                  caller="139", dialed="95598")]
    if queued:
        out.append(CallQueued(t0 + 1, node="n1", call_id=call_id, channel=f"PJSIP/c-{call_id}",
                              queue="general", service=ServiceType.GENERAL, priority=0,
                              caller="139"))
    if failsafe:
        out.append(FailsafeTaken(t0 + 1.5, node="n1", call_id=call_id, queue="general"))
    if callback:
        out.append(CallbackRequested(t0 + 1 + wait, node="n1", call_id=call_id,
                                     queue="general", number="139"))
    if answered:
        out.append(AgentRinging(t0 + 1 + wait / 2, node="n1", call_id=call_id,
                                agent_id="agent1", channel="PJSIP/agent1-1"))
        out.append(CallAnswered(t0 + 1 + wait, node="n1", call_id=call_id, agent_id="agent1",
                                channel="PJSIP/agent1-1"))
    out.append(CallEnded(t0 + 30, node="n1", call_id=call_id, cause=0 if node_failure else 16,
                         node_failure=node_failure))
    return out


@pytest.mark.parametrize(("facts", "outcome", "said"), [
    ({"wait": 3.0, "answered": True}, CallOutcome.ANSWERED, "answered, talk"),
    ({"wait": 3.0, "answered": True, "failsafe": True}, CallOutcome.FAILSAFE, "failsafe"),
    ({"wait": 3.0}, CallOutcome.SHORT_ABANDONED, "abandoned after 29.0s wait (short)"),
    ({"wait": 0.0, "queued": False}, CallOutcome.SELF_SERVED, "left before queueing"),
    ({"wait": 3.0, "node_failure": True}, CallOutcome.NODE_FAILURE,
     "lost to a node failure after 29.0s wait"),
    ({"wait": 0.0, "queued": False, "node_failure": True}, CallOutcome.NODE_FAILURE,
     "lost to a node failure before queueing"),
    ({"wait": 3.0, "answered": True, "node_failure": True}, CallOutcome.ANSWERED,
     "answered, talk"),
])
def test_the_call_model_and_the_call_log_say_the_same_outcome(
        facts: dict[str, Any], outcome: CallOutcome, said: str) -> None:
    events = _call("c1", **facts)
    model = CallModel(short_abandon_s=30.0)
    ended = [call for e in events if (call := model.apply(e)) is not None]
    assert [c.outcome for c in ended] == [outcome]
    lines: list[str] = []
    log = CallLog(lines.append, short_abandon_s=30.0)
    for e in events:
        log.line(e)
    assert said in lines[-1], lines[-1]


def test_the_call_log_says_a_caller_waits_for_a_callback() -> None:
    """(The call model ends such a call later, when the callback reached the caller.)"""
    lines: list[str] = []
    log = CallLog(lines.append)
    for e in _call("c1", 3.0, callback=True):
        log.line(e)
    assert "ended: to be called back after 3.0s wait" in lines[-1], lines[-1]


@pytest.mark.parametrize("kernel", ["c", "py"])
@pytest.mark.parametrize("wait", [0.0, 5.0, 60.0])
def test_the_metrics_kernels_count_a_node_failure_as_the_rule_decides(kernel: str,
                                                                      wait: float) -> None:
    module: ModuleType = load_compiled("metrics") if kernel == "c" else metrics_py
    core = module.Core(1800.0)
    gq, gs = core.add_group(), core.add_group()
    slot = core.open_call()
    core.queue(slot, 100.0, gq, gs)
    core.lost(slot, 100.0 + wait)
    row = core.read(module.TODAY, 0)
    assert call_outcome(answered=False, queued=True, wait_s=wait, short_abandon_s=5.0,
                        node_failure=True) is CallOutcome.NODE_FAILURE
    assert (row[module.LOST_NODE_FAILURE], row[module.ABANDONED],
            row[module.SHORT_ABANDONED]) == (1.0, 0.0, 0.0)


# ---- the error kinds and their statuses


@pytest.mark.parametrize(("error", "status", "error_id"), [
    (ConfigInvalid("bad", error_id="invalid-skill"), 422, "invalid-skill"),
    (ConfigNotFound("no", error_id="no-such-agent", details={"agent_id": "a1"}), 404,
     "no-such-agent"),
    (ConfigConflict("busy", error_id="agent-busy"), 409, "agent-busy"),
    (UnknownAgent("a9"), 404, "no-such-agent"),
    (AgentBusy("on a call"), 409, "agent-busy"),
    (WorkOrderError("needs a description"), 409, "work-order-refused"),
    (QaError("no scores"), 409, "qa-refused"),
    (RecordError("Outage", "kind", "must be planned"), 422, "invalid-record"),
    (BadCursor("not a cursor"), 422, "bad-cursor"),
    (CentreFileError("agent #1"), 422, "invalid-centre-file"),
    (IllegalTransition("agent", "ready", "answer"), 409, "illegal-transition"),
    (ApiError(410, "gone", "it is gone", headers={"X-Why": "test"}), 410, "gone"),
    (HotlineError("a bug"), 500, "internal-error"),
])
async def test_one_handler_answers_every_kind(error: HotlineError, status: int,
                                              error_id: str) -> None:
    app = FastAPI()
    api_errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/boom")
    assert (r.status_code, r.json()["error"]["id"]) == (status, error_id)
    if status != 500:
        assert r.json()["error"] == {"id": error_id, "message": error.message,
                                     "details": error.details}
    if isinstance(error, ApiError):
        assert r.headers["X-Why"] == "test"


def test_project_errors_stay_what_callers_caught() -> None:
    """The kinds were added as bases: `except KeyError` / `except ValueError` still catch."""
    assert isinstance(UnknownAgent("a"), KeyError) and str(UnknownAgent("a")) == \
        "unknown agent 'a'"
    for error in (WorkOrderError("x"), QaError("x"), RecordError("R", "f", "p"),
                  BadCursor("x"), CentreFileError("x")):
        assert isinstance(error, ValueError)


# ---- the outage a caller hears


def test_the_stored_outage_gives_what_the_ivr_reads_out() -> None:
    stored = Outage(area_code="0571", kind="unplanned", starts_at=100.0,
                    description_zh="线路故障", description_en="line fault")
    heard = stored.for_callers()
    assert (heard.area_code, heard.start, heard.end, heard.reason, heard.planned) == (
        "0571", 100.0, 100.0 + OPEN_ENDED_READOUT_S, "线路故障", False)
    planned = Outage(area_code="0571", kind="planned", starts_at=100.0, ends_at=200.0,
                     description_en="maintenance").for_callers()
    assert (planned.end, planned.reason, planned.planned) == (200.0, "maintenance", True)
    with pytest.raises(RecordError, match=r"Outage\.kind"):
        Outage(area_code="0571", kind="maybe", starts_at=100.0)


# ---- which queues an agent serves


def test_the_router_and_the_centre_answer_alike_which_queues_an_agent_serves() -> None:
    from hotline.centre.model import AgentSpec, Centre, QueueSpec

    required = {"general": {"general": 1}, "billing": {"billing": 2},
                "vip": {"general": 0, "billing": 1}, "any": {}}
    skills = {"agent1": {"general": 5}, "agent2": {"billing": 1, "general": 1},
              "agent3": {"billing": 2, "general": 0}}
    centre = Centre(
        queues=[QueueSpec(name=n, service=ServiceType.GENERAL, required=r)
                for n, r in required.items()],
        agents=[AgentSpec(id=a, skills=s) for a, s in skills.items()])
    router = Router(RouterConfig(
        queues=[QueueConfig(n, ServiceType.GENERAL, required=r) for n, r in required.items()],
        agents=[AgentConfig(a, s) for a, s in skills.items()]), lambda: 0.0)
    expected = {"agent1": ["general", "any"], "agent2": ["general", "vip", "any"],
                "agent3": ["billing", "any"]}
    assert agent_queues(centre) == expected
    assert {a: router.queues_of(a) for a in skills} == expected


@pytest.mark.parametrize(("call_id", "kept"), [
    ("1765000000.7", True), ("t1-1765000000.7", True), ("a_b.c-d", True), ("c" * 64, True),
    ("-1765000000.7", False), (".7", False), ("c" * 65, False), ("c1,x", False),
    ("c1 x", False), ("c1\n", False), ("", False), ("c/1", False)])
def test_a_call_id_is_taken_or_refused_alike_by_the_ledger_and_the_hold_desk(
        call_id: str, kept: bool) -> None:
    """The AstDB ledger's key and a hold session's first argument follow CALL_ID_PATTERN (and
    the survey too: tests/unit/test_ivr.py)."""
    assert ids.is_valid(ids.CALL_ID_PATTERN, call_id) is kept
    line = "1|1765000000.000000|1765000001.000000|general|general|1380|||||" \
           "|1765000020.000000|16|"
    env = AgiEnvironment({"arg_1": call_id, "arg_2": "t1", "arg_3": "general",
                          "arg_4": "general", "channel": "PJSIP/c-1", "callerid": "1380"})
    if kept:
        parse(call_id, line)
        assert HoldRequest.from_env(env, 1765000010.0).call_id == call_id
    else:
        with pytest.raises(LedgerError):
            parse(call_id, line)
        with pytest.raises(BadHold):
            HoldRequest.from_env(env, 1765000010.0)
