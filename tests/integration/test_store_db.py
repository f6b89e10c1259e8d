"""Migrations and typed queries against a real PostgreSQL."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import asyncpg
import pytest

from hotline.store import db, queries
from hotline.store.records import (
    AgentStateEntry,
    CallFilter,
    CallRecord,
    IntervalRecord,
    Outage,
    RecordError,
    RoutingExplanation,
    SurveyAnswer,
)

T0 = 1_763_900_000.25  # a fixed moment (2025-11-23) with a fraction


async def test_migrations_apply_once_and_rerun_is_a_no_op(empty_db_url: str) -> None:
    c = await db.connect(empty_db_url)
    try:
        first = await db.migrate(c)
        assert first == [p.name for p in db.migration_files()]
        assert await db.migrate(c) == []
        rows = await c.fetch("SELECT filename FROM schema_migrations ORDER BY version")
        assert [r["filename"] for r in rows] == first
        tables = {r["tablename"] for r in await c.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"users", "agents", "agent_skills", "queues", "ivr_menus", "not_ready_reasons",
                "calls", "call_legs", "agent_state_log", "routing_explanations", "recordings",
                "survey_answers", "interval_stats", "outages", "audit_log"} <= tables
    finally:
        await c.close()


async def test_pool_migrates_too(empty_db_url: str) -> None:
    pool = await db.create_pool(empty_db_url, min_size=1, max_size=2)
    try:
        assert await db.migrate(pool)
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT count(*) FROM schema_migrations") >= 1
    finally:
        await pool.close()


def _migrations_with(tmp_path: Path, name: str, sql: str) -> Path:
    shutil.copytree(db.MIGRATIONS_DIR, tmp_path / "m")
    (tmp_path / "m" / name).write_text(sql)
    return tmp_path / "m"


async def test_broken_migration_stops_naming_the_file(empty_db_url: str, tmp_path: Path) -> None:
    directory = _migrations_with(tmp_path, "900_broken.sql",
                                 "CREATE TABLE fine (x int);\nCREATE TABLE oops (x nosuchtype);")
    c = await db.connect(empty_db_url)
    try:
        with pytest.raises(db.MigrationError, match=r"900_broken\.sql.*nosuchtype") as info:
            await db.migrate(c, directory)
        assert info.value.filename == "900_broken.sql"
        # the earlier migrations stayed; the broken one left nothing behind (its transaction)
        versions = [r["version"] for r in await c.fetch("SELECT version FROM schema_migrations")]
        assert "900" not in versions and "001" in versions
        assert await c.fetchval("SELECT to_regclass('fine')") is None
    finally:
        await c.close()


async def test_changed_applied_migration_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    c = await db.connect(empty_db_url)
    try:
        await db.migrate(c)
        directory = _migrations_with(tmp_path, "001_initial.sql", "SELECT 1;")
        with pytest.raises(db.MigrationError, match=r"001_initial\.sql: changed after"):
            await db.migrate(c, directory)
    finally:
        await c.close()


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_x.sql").write_text("SELECT 1;")
    with pytest.raises(db.MigrationError, match=r"1_x\.sql: name must look like"):
        db.migration_files(tmp_path)


def _call(call_id: str, **kw: object) -> CallRecord:
    base: dict[str, object] = dict(node="ast1", caller="13800000000", dialed="95598",
                                   entered_at=T0)
    return CallRecord(call_id=call_id, **{**base, **kw})  # type: ignore[arg-type]


async def test_call_round_trip_and_completion(conn: asyncpg.Connection) -> None:
    await queries.upsert_call(conn, _call("c1", queue="billing", service="billing",
                                          queued_at=T0 + 3.5, ivr_path=["main:2"],
                                          timeline=[{"at": T0, "what": "entered"}]))
    # a later write fills more fields; the empty ones do not erase what is stored
    await queries.upsert_call(conn, CallRecord(call_id="c1", answered_at=T0 + 10.125,
                                               agent_id="a7", outcome="answered", wait_s=6.625))
    got = await queries.get_call(conn, "c1")
    assert got is not None
    assert got.caller == "13800000000" and got.queue == "billing" and got.agent_id == "a7"
    assert got.ivr_path == ["main:2"] and got.timeline == [{"at": T0, "what": "entered"}]
    assert got.entered_at == pytest.approx(T0, abs=1e-6)
    assert got.answered_at == pytest.approx(T0 + 10.125, abs=1e-6)
    assert got.wait_s == 6.625
    assert await conn.fetchval("SELECT count(*) FROM calls") == 1
    assert await queries.get_call(conn, "nope") is None


async def test_calls_by_filters(conn: asyncpg.Connection) -> None:
    for i in range(6):
        await queries.upsert_call(conn, _call(f"k{i}", entered_at=T0 + i,
                                              queue="fault" if i % 2 else "billing",
                                              agent_id=f"a{i % 3}",
                                              outcome="answered" if i < 4 else "abandoned"))
    ids = lambda calls: [c.call_id for c in calls]  # noqa: E731
    assert ids(await queries.calls_by(conn, CallFilter())) == [f"k{i}" for i in range(5, -1, -1)]
    assert ids(await queries.calls_by(conn, CallFilter(queue="fault"))) == ["k5", "k3", "k1"]
    assert ids(await queries.calls_by(conn, CallFilter(queue="fault", outcome="answered"))) \
        == ["k3", "k1"]
    assert ids(await queries.calls_by(conn, CallFilter(agent_id="a0"))) == ["k3", "k0"]
    assert ids(await queries.calls_by(conn, CallFilter(since=T0 + 2, until=T0 + 4))) \
        == ["k3", "k2"]
    assert ids(await queries.calls_by(conn, CallFilter(limit=2))) == ["k5", "k4"]
    assert await queries.calls_by(conn, CallFilter(caller="nobody")) == []


async def test_agent_state_log_round_trip_is_idempotent(conn: asyncpg.Connection) -> None:
    ready = AgentStateEntry(agent_id="a1", state="ready", started_at=T0)
    await queries.log_agent_state(conn, ready)
    await queries.log_agent_state(conn, AgentStateEntry(agent_id="a1", state="ready",
                                                        started_at=T0, ended_at=T0 + 30))
    await queries.log_agent_state(conn, ready)  # a replay of the first write keeps ended_at
    await queries.log_agent_state(conn, AgentStateEntry(
        agent_id="a1", state="not_ready", reason="break", started_at=T0 + 30))
    got = await queries.agent_states(conn, "a1")
    assert [(e.state, e.reason) for e in got] == [("ready", ""), ("not_ready", "break")]
    assert got[0].ended_at == pytest.approx(T0 + 30) and got[1].ended_at is None
    assert await queries.agent_states(conn, "a1", since=T0 + 1) == [got[1]]


async def test_explanation_interval_survey_round_trip(conn: asyncpg.Connection) -> None:
    detail = {"policy": "longest_idle", "eligible": ["a1", "a2"], "passed_over": {"a3": "busy"}}
    await queries.save_explanation(conn, RoutingExplanation(call_id="c1", at=T0, detail=detail))
    [ex] = await queries.explanations(conn, "c1")
    assert ex.detail == detail and ex.at == pytest.approx(T0)

    figures = {"offered": 10, "answered": 8, "abandoned": 1, "short_abandoned": 1,
               "answered_within_t": 7, "talk_s": 812.5, "service_level": 7 / 9, "asa": None}
    iv = IntervalRecord(queue="billing", interval_start=T0, interval_end=T0 + 900,
                        figures=figures)
    await queries.save_interval(conn, iv)
    await queries.save_interval(conn, iv)  # twice: still one row
    [got_iv] = await queries.intervals(conn, "billing", T0 - 1, T0 + 1)
    assert (got_iv.queue, got_iv.figures) == ("billing", figures)
    assert (got_iv.interval_start, got_iv.interval_end) == pytest.approx((T0, T0 + 900))
    row = await conn.fetchrow("SELECT offered, answered, talk_s FROM interval_stats")
    assert tuple(row) == (10, 8, 812.5)

    await queries.save_survey(conn, SurveyAnswer(call_id="c1", score=9, at=T0, agent_id="a1"))
    await queries.save_survey(conn, SurveyAnswer(call_id="c1", score=10, at=T0, agent_id="a1"))
    got = await queries.survey_of(conn, "c1")
    assert got is not None and got.score == 10
    assert await conn.fetchval("SELECT count(*) FROM survey_answers") == 1


async def test_outages_in_force(conn: asyncpg.Connection) -> None:
    planned = await queries.add_outage(conn, Outage(
        area_code="0571", kind="planned", starts_at=T0, ends_at=T0 + 3600,
        description_zh="计划停电：线路检修", description_en="Planned: line maintenance"))
    assert planned.id is not None
    open_ended = await queries.add_outage(conn, Outage(area_code="0571", kind="unplanned",
                                                       starts_at=T0 + 600))
    await queries.add_outage(conn, Outage(area_code="0572", kind="planned", starts_at=T0))
    assert await queries.find_outages(conn, "0571", T0 - 1) == []
    assert [o.id for o in await queries.find_outages(conn, "0571", T0 + 700)] \
        == [planned.id, open_ended.id]
    later = await queries.find_outages(conn, "0571", T0 + 3600)
    assert [o.id for o in later] == [open_ended.id]
    [first] = await queries.find_outages(conn, "0571", T0 + 1)
    assert first.description_zh == "计划停电：线路检修"
    assert first.ends_at == pytest.approx(T0 + 3600)
    moved = await queries.add_outage(conn, dataclasses.replace(planned, ends_at=T0 + 60))
    assert moved.id == planned.id
    assert [o.id for o in await queries.find_outages(conn, "0571", T0 + 120)] == []
    with pytest.raises(LookupError):
        await queries.add_outage(conn, Outage(area_code="x", kind="planned", starts_at=T0, id=999))


@pytest.mark.parametrize(("build", "message"), [
    (lambda: CallRecord(call_id=42), "CallRecord.call_id: expected str, got int"),  # type: ignore[arg-type]
    (lambda: CallRecord(call_id=""), "CallRecord.call_id: must not be empty"),
    (lambda: CallRecord(call_id="c", caller="9" * 5000), "CallRecord.caller: 5000 characters"),
    (lambda: CallRecord(call_id="c", wait_s=float("nan")), "CallRecord.wait_s: must be finite"),
    (lambda: CallRecord(call_id="c", wait_s="3"), "CallRecord.wait_s: expected float or int"),  # type: ignore[arg-type]
    (lambda: CallRecord(call_id="c", ivr_path=[1]), "CallRecord.ivr_path: must be a list of str"),  # type: ignore[list-item]
    (lambda: CallRecord(call_id="c", timeline=[{"x": object()}]), "not JSON-serialisable"),
    (lambda: CallRecord(call_id="c", caller="1\x002"), "contains a NUL"),
    (lambda: CallRecord(call_id="c", caller="\ud800"), "caller: is not valid Unicode"),
    (lambda: RoutingExplanation(call_id="c", at=T0, detail={"w": "\udfff"}), "detail: is not"),
    (lambda: SurveyAnswer(call_id="c", score=11, at=T0), "SurveyAnswer.score: must be 0..10"),
    (lambda: SurveyAnswer(call_id="c", score=True, at=T0), "got bool"),
    (lambda: Outage(area_code="1", kind="maybe", starts_at=T0), "Outage.kind"),
    (lambda: IntervalRecord(queue="q", interval_start=T0, interval_end=T0, figures={}),
     "interval_end: must be after"),
    (lambda: IntervalRecord(queue="q", interval_start=T0, interval_end=T0 + 1,
                            figures={"offered": -1}), "figures\\['offered'\\]"),
    (lambda: CallFilter(limit=0), "CallFilter.limit"),
])
def test_malformed_records_are_refused_with_clear_errors(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RecordError, match=message):
        build()


async def test_huge_json_is_refused_before_the_database() -> None:
    with pytest.raises(RecordError, match="bytes of JSON"):
        RoutingExplanation(call_id="c", at=T0, detail={"x": "y" * 1_000_001})
