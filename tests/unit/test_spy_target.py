"""Which phone a spy may ring (api/spy_target.py, #14.7): the supervisor's own endpoint only
(configured, or its own agent's), any endpoint for an admin."""

from __future__ import annotations

import pytest

from hotline.api.errors import ApiError
from hotline.api.security import Claims, Role, User
from hotline.api.spy_target import own_endpoint, spy_endpoint
from hotline.core.settings import Settings

SETTINGS = Settings(supervisor_endpoints={"chen": "desk7"})


def claims(name: str, *roles: Role) -> Claims:
    return Claims(name, frozenset(roles), 0.0, 1.0)


def user(name: str, agent_id: str = "") -> User:
    return User(name, "", frozenset(), agent_id=agent_id)


def test_own_endpoint_is_the_configured_one_else_its_agents() -> None:
    assert own_endpoint(SETTINGS, "chen", user("chen")) == "desk7"
    assert own_endpoint(SETTINGS, "chen", user("chen", agent_id="agent3")) == "desk7"
    assert own_endpoint(SETTINGS, "li", user("li", agent_id="agent3")) == "agent3"
    assert own_endpoint(SETTINGS, "wang", user("wang")) == ""
    assert own_endpoint(SETTINGS, "gone", None) == ""


def test_a_supervisor_rings_only_its_own_phone() -> None:
    sup = claims("li", Role.SUPERVISOR, Role.AGENT)
    record = user("li", agent_id="agent3")
    assert spy_endpoint(SETTINGS, sup, record, None) == "agent3"
    assert spy_endpoint(SETTINGS, sup, record, "agent3") == "agent3"
    with pytest.raises(ApiError) as refused:
        spy_endpoint(SETTINGS, sup, record, "desk7")
    assert (refused.value.status, refused.value.error_id) == (403, "not-your-endpoint")


def test_without_a_phone_of_its_own_nothing_rings() -> None:
    sup = claims("wang", Role.SUPERVISOR)
    with pytest.raises(ApiError) as refused:
        spy_endpoint(SETTINGS, sup, user("wang"), None)
    assert (refused.value.status, refused.value.error_id) == (409, "no-own-endpoint")
    with pytest.raises(ApiError) as refused:
        spy_endpoint(SETTINGS, sup, user("wang"), "agent1")
    assert refused.value.status == 403


def test_an_admin_may_name_any_endpoint() -> None:
    boss = claims("boss", Role.ADMIN)
    assert spy_endpoint(SETTINGS, boss, user("boss"), "agent1") == "agent1"
    with pytest.raises(ApiError):
        spy_endpoint(SETTINGS, boss, user("boss"), None)  # and needs one named or its own
