"""The two-question survey against a real PostgreSQL: migration 015 keeps the one-question
rows readable, the SQL figures equal the pure function's and the hand-worked values
(tests/unit/test_survey_figures.py), and a low answer becomes a callback order and an alert
(hotline/ivr_menu/service.py SurveyToStore)."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotline.api import Services
from hotline.ivr_menu.service import SurveyToStore
from hotline.store import db, queries
from hotline.store.records import SurveyAnswer
from hotline.store.writer import Writer
from hotline.survey import queries as survey_sql
from hotline.survey.model import GROUPINGS, survey_figures_by
from hotline.telephony.ivr.session import SurveyResponse
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import OrderState
from tests.helpers.store import store_tmpdir
from tests.helpers.survey_day import DAY

T0 = 1_763_900_000.0


async def test_rows_of_the_one_question_survey_stay_readable(empty_db_url: str,
                                                              tmp_path: Path) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in db.migration_files():
        if path.name < "015":
            shutil.copy(path, before / path.name)
    c = await db.connect(empty_db_url)
    try:
        await db.migrate(c, before)
        await c.execute("INSERT INTO survey_answers (call_id, agent_id, score, at)"
                        " VALUES ('old', 'a1', 7, $1)", queries.ts(T0))
        assert (await db.migrate(c))[0] == "015_survey_two_questions.sql"  # and those after
        old = await queries.survey_of(c, "old")
        assert old == SurveyAnswer(call_id="old", at=T0, score=7, agent_id="a1")
        # ... and counts in no figure of the two questions
        assert await survey_sql.survey_figures(c, T0 - 1, T0 + 1, None, 2, 4) == {}
    finally:
        await c.close()


async def test_the_database_refuses_answers_out_of_shape(conn: asyncpg.Connection) -> None:
    insert = "INSERT INTO survey_answers (call_id, at, satisfaction, scale, nps) VALUES" \
             " ('c', now(), $1, $2, $3)"
    for args in [(6, 5, None), (1, None, None), (None, None, 11), (None, None, None)]:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, *args)


async def save_day(conn: asyncpg.Connection) -> None:
    for i, a in enumerate(DAY):
        await queries.save_survey(conn, SurveyAnswer(
            call_id=f"c{i}", at=T0 + i, agent_id=a.agent, satisfaction=a.satisfaction,
            scale=5 if a.satisfaction is not None else None, nps=a.nps, queue=a.queue,
            service=a.service, unit=a.unit))
    # outside the period: the day before, and the next day
    for call_id, at in (("before", T0 - 86400), ("after", T0 + 86400)):
        await queries.save_survey(conn, SurveyAnswer(call_id=call_id, at=at, agent_id="a1",
                                                     satisfaction=5, scale=5, nps=0))


async def test_the_sql_figures_are_the_pure_functions(conn: asyncpg.Connection) -> None:
    await save_day(conn)
    period = (T0, T0 + 3600)
    for by in (None, *GROUPINGS):
        got = await survey_sql.survey_figures(conn, *period, by, 2, 4)
        assert got == survey_figures_by(DAY, by, 2, 4), by
    centre = (await survey_sql.survey_figures(conn, *period, None, 2, 4))[""]
    # the hand-worked values of tests/unit/test_survey_figures.py
    assert centre.satisfaction_rate == pytest.approx(4 / 7)
    assert centre.dissatisfaction_rate == pytest.approx(2 / 7)
    assert centre.nps == pytest.approx(100 / 7)
    by_agent = await survey_sql.survey_figures(conn, *period, "agent", 2, 4)
    assert (by_agent["a1"].satisfaction_rate, by_agent["a1"].nps) == (0.5, 25.0)
    # a stricter centre: 1 satisfied only, 3-5 dissatisfied
    strict = (await survey_sql.survey_figures(conn, *period, None, 1, 3))[""]
    assert (strict.satisfied, strict.dissatisfied) == (2, 3)


def response(call_id: str, satisfaction: int | None, nps: int | None,
             low: bool) -> SurveyResponse:
    return SurveyResponse(call_id=call_id, agent_id="agent4", satisfaction=satisfaction,
                          nps=nps, scale=5, low=low, queue="fault", service="fault",
                          caller="13955550000", callback_within_s=3600.0)


async def test_a_low_answer_becomes_a_callback_order_and_an_alert(
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    pool = await db.create_pool(empty_db_url, max_size=2)
    writer = Writer(empty_db_url, Path(store_tmpdir("survey-writer")))
    await writer.start()
    alerts: list[dict[str, Any]] = []
    to_store = SurveyToStore(writer, pool, alerts.append, clock=lambda: T0)
    try:
        await to_store(response("good", 1, 10, low=False))
        await to_store(response("bad", 4, None, low=True))
        await asyncio.wait_for(asyncio.gather(*to_store.pending), 10)
        assert await writer.flush(10)
    finally:
        await writer.stop()
        await pool.close()
    bad = await queries.survey_of(conn, "bad")
    assert bad == SurveyAnswer(call_id="bad", at=T0, agent_id="agent4", satisfaction=4, scale=5,
                               queue="fault", service="fault", unit="repair_crew")
    assert await work_orders.for_call(conn, "good") == []
    [order] = await work_orders.for_call(conn, "bad")
    assert (order.state, order.caller, order.callback_by, order.unit) == (
        OrderState.CALLBACK_DUE, "13955550000", T0 + 3600.0, "repair_crew")
    assert alerts == [{"at": T0, "call_id": "bad", "agent_id": "agent4", "queue": "fault",
                       "service": "fault", "satisfaction": 4, "scale": 5, "nps": None,
                       "order_id": order.id}]


async def test_without_a_store_the_alert_still_goes(empty_db_url: str) -> None:
    writer = Writer(empty_db_url, Path(store_tmpdir("survey-writer")))
    alerts: list[dict[str, Any]] = []
    to_store = SurveyToStore(writer, None, alerts.append, clock=lambda: T0)
    await to_store(response("bad", None, 2, low=True))
    await asyncio.wait_for(asyncio.gather(*to_store.pending), 10)
    assert [(a["call_id"], a["nps"], a["order_id"]) for a in alerts] == [("bad", 2, None)]


async def test_every_answer_reaches_todays_live_figures(empty_db_url: str) -> None:
    """Low or not, each answer counts in the live feed's satisfaction and NPS of its queue
    (the platform hands SurveyToStore the feed's survey_answer), with the cut-offs it was
    answered under."""
    services = Services.build()
    live = services.live
    live.declare_queues(["fault"])
    writer = Writer(empty_db_url, Path(store_tmpdir("survey-writer")))
    to_store = SurveyToStore(writer, None, clock=time.time, counted=live.survey_answer)
    await to_store(response("good", 1, 10, low=False))
    await to_store(response("bad", 4, 2, low=True))
    await to_store(SurveyResponse(call_id="mid", agent_id="agent4", satisfaction=3, nps=8,
                                  scale=5, low=False, queue="fault", satisfied_to=3,
                                  dissatisfied_from=5))
    await live.flush()
    today = live.view()["queues"]["fault"]["today"]
    assert (today["satisfaction_rate"], today["dissatisfaction_rate"], today["nps"]) == (
        round(2 / 3, 4), round(1 / 3, 4), 0.0)  # 3 is satisfied under that scale's cut-offs
