"""GET /api/reports/figures against the real PostgreSQL, on the hand-worked day of
tests/helpers/report_day.py (tests/unit/test_report_figures.py works the values out): the
figures by centre, team and unit, the centre's rules (a 12 h repeat window, training
excused from utilisation) stated and applied, the span limit, and who may read it
(supervisors, planners and admins: api/security.py REPORT_READERS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import asyncpg
import httpx
import pytest

from hotline.api.limits import MAX_REPORT_SPAN_S
from hotline.core.settings import Settings
from tests.helpers import report_day as day
from tests.helpers.api_app import api_app, login
from tests.helpers.report_day import NOW, SINCE, UNTIL

USERS = ("boss:pw:supervisor;plan:pw:planner;adm:pw:admin;qa1:pw:qa;agent1:pw:agent;"
         "bo:pw:back_office")
PERIOD = {"from": SINCE, "to": UNTIL}
MakeClient = Callable[[Settings], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(conn: asyncpg.Connection, empty_db_url: str,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MakeClient]:
    """The app over the loaded day, with the centre's settings the test gives, at NOW."""
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    await day.load(conn)
    async with AsyncExitStack() as stack:
        async def make(settings: Settings) -> httpx.AsyncClient:
            app = await stack.enter_async_context(api_app(empty_db_url, settings,
                                                          clock=lambda: NOW))
            return app.client

        yield make


async def test_figures_by_centre_team_and_unit(make_client: MakeClient) -> None:
    client = await make_client(Settings())
    boss = await login(client, "boss")
    r = await client.get("/api/reports/figures", headers=boss, params=PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["by"], body["repeat_window_h"], body["utilisation_excused_reasons"]) == (
        "centre", 24, [])
    [centre] = body["groups"]
    assert {k: centre[k] for k in ("key", "answer_rate", "first_call_resolution",
                                   "complaint_rate", "complaint_timeliness",
                                   "callback_timeliness", "callbacks_done", "report_orders",
                                   "report_orders_last_year", "report_orders_yoy")} == {
        "key": "centre", "answer_rate": 0.75, "first_call_resolution": 0.8,
        "complaint_rate": 0.5, "complaint_timeliness": 0.5, "callback_timeliness": 0.5,
        "callbacks_done": 3, "report_orders": 2, "report_orders_last_year": 4,
        "report_orders_yoy": -0.5}
    assert centre["repeat_call_rate"] == pytest.approx(3 / 9)
    assert centre["substantiated_complaint_rate"] == pytest.approx(2 / 3)
    assert centre["utilisation"] == pytest.approx(10 / 35)
    assert centre["occupancy"] == pytest.approx(10 / 32)
    assert (centre["counts"]["offered"], centre["counts"]["answered"]) == (8, 6)

    r = await client.get("/api/reports/figures", headers=boss, params={**PERIOD, "by": "team"})
    teams = {g["key"]: g for g in r.json()["groups"]}
    assert set(teams) == {"day", "partner"}
    assert teams["day"]["first_call_resolution"] == pytest.approx(2 / 3)
    assert teams["day"]["answer_rate"] is None  # offered calls have no team
    r = await client.get("/api/reports/figures", headers=boss,
                         params={**PERIOD, "by": "agent", "limit": 2, "offset": 2})
    assert (r.json()["total_groups"], [g["key"] for g in r.json()["groups"]]) == (3, ["a3"])
    r = await client.get("/api/reports/figures", headers=boss, params={**PERIOD, "by": "unit"})
    units = {g["key"]: g for g in r.json()["groups"]}
    assert units["complaints_office"]["substantiated_complaint_rate"] == pytest.approx(2 / 3)


async def test_the_centres_rules_are_applied_and_stated(make_client: MakeClient) -> None:
    client = await make_client(Settings(repeat_window_h=12,
                                        utilisation_excused_reasons=["training"]))
    plan = await login(client, "plan")
    r = await client.get("/api/reports/figures", headers=plan, params=PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["repeat_window_h"], body["utilisation_excused_reasons"]) == (12, ["training"])
    [centre] = body["groups"]
    assert centre["repeat_call_rate"] == pytest.approx(2 / 9)
    assert centre["utilisation"] == pytest.approx(10 / 33)


async def test_who_may_read_and_the_span(make_client: MakeClient) -> None:
    client = await make_client(Settings())
    for user in ("boss", "plan", "adm"):
        r = await client.get("/api/reports/figures", headers=await login(client, user),
                             params=PERIOD)
        assert r.status_code == 200, (user, r.text)
    for user in ("qa1", "agent1", "bo"):
        r = await client.get("/api/reports/figures", headers=await login(client, user),
                             params=PERIOD)
        assert r.status_code == 403, user
    assert (await client.get("/api/reports/figures", params=PERIOD)).status_code == 401
    boss = await login(client, "boss")
    r = await client.get("/api/reports/figures", headers=boss, params={
        "from": SINCE, "to": SINCE + MAX_REPORT_SPAN_S + 1})
    assert (r.status_code, r.json()["error"]["details"]["max_span_s"]) == (
        422, MAX_REPORT_SPAN_S)
    for bad in ({"to": UNTIL}, {**PERIOD, "by": "planet"}, {**PERIOD, "limit": 501}):
        r = await client.get("/api/reports/figures", headers=boss, params=bad)
        assert r.status_code == 422, bad
    # an empty period: the centre's one group, with nothing in it
    r = await client.get("/api/reports/figures", headers=boss,
                         params={"from": UNTIL, "to": SINCE})
    [centre] = r.json()["groups"]
    assert (centre["answer_rate"], centre["callbacks_done"]) == (None, 0)
