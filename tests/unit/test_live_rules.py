"""The live socket's rules (api/live_rules.py) on their own: the message budget and who sees
which agent rows (both servers apply them: tests/integration/test_live_guard.py)."""

from __future__ import annotations

import json

import pytest

from hotline.api.live_rules import (
    ALL_AGENTS,
    NO_AGENTS,
    TOO_MANY,
    MessageBudget,
    Refusal,
    Sight,
    sight_of,
)
from hotline.api.security import Claims, Role
from hotline.realtime.live import encode


def test_the_budget_allows_a_burst_then_its_rate() -> None:
    now = [0.0]
    budget = MessageBudget(burst=3, rate=2.0, clock=lambda: now[0])
    for _ in range(3):
        budget.spend()
    with pytest.raises(Refusal) as refused:
        budget.spend()
    assert refused.value.code == TOO_MANY
    now[0] = 0.5  # one message earned back, not two
    budget.spend()
    with pytest.raises(Refusal):
        budget.spend()
    now[0] = 100.0  # never more than the burst saved up
    for _ in range(3):
        budget.spend()
    with pytest.raises(Refusal):
        budget.spend()


def claims(*roles: Role, user: str = "u") -> Claims:
    return Claims(user, frozenset(roles), 0.0, 1e12)


def test_who_sees_which_rows() -> None:
    assert sight_of(claims(Role.SUPERVISOR)) == ALL_AGENTS
    assert sight_of(claims(Role.PLANNER)) == ALL_AGENTS
    assert sight_of(claims(Role.ADMIN)) == ALL_AGENTS
    assert sight_of(claims(Role.AGENT, Role.SUPERVISOR)) == ALL_AGENTS
    assert sight_of(claims(Role.AGENT, user="a7")) == Sight("own", "a7")
    assert sight_of(claims(Role.QA)) == NO_AGENTS


def test_a_message_as_each_sight_sees_it() -> None:
    rows = {"a1": {"state": "ready"}, "a2": {"state": "on_call"}}
    text = encode("delta", 5, 1.0, {"now": 2, "agents": rows, "agents_by_state": {"all": {}}})
    assert ALL_AGENTS.scoped(text) is text
    none = json.loads(NO_AGENTS.scoped(text))
    assert "agents" not in none["data"] and none["data"]["agents_by_state"] == {"all": {}}
    assert none["seq"] == 5 and none["type"] == "delta"
    own = json.loads(Sight("own", "a1").scoped(text))
    assert own["data"]["agents"] == {"a1": {"state": "ready"}}
    assert Sight("own", "a9").scoped(text) is NO_AGENTS.scoped(text)  # shared text
    queue_named_agents = encode("delta", 6, 1.0, {"queues": {"agents": {"waiting": 1}}})
    assert NO_AGENTS.scoped(queue_named_agents) == queue_named_agents


def test_low_survey_answers_are_the_floor_watchers_only() -> None:
    alerts = [{"call_id": "c1", "agent_id": "a1", "satisfaction": 5, "nps": 2}]
    text = encode("delta", 7, 1.0, {"now": 2, "survey_alerts": alerts})
    assert json.loads(ALL_AGENTS.scoped(text))["data"]["survey_alerts"] == alerts
    for sight in (NO_AGENTS, Sight("own", "a1")):
        assert json.loads(sight.scoped(text))["data"] == {"now": 2}
    both = encode("snapshot", 8, None, {"agents": {"a1": {"state": "ready"}},
                                         "survey_alerts": alerts})
    assert json.loads(Sight("own", "a1").scoped(both))["data"] == {
        "agents": {"a1": {"state": "ready"}}}
