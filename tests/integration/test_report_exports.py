"""Reports #17.4 against the real PostgreSQL, on the hand-worked day of
tests/helpers/report_day.py: CSV and XLSX exports whose every cell equals
GET /api/reports/figures (and the hand-worked values), reports on schedule made by the API's
background job once the period ends and exactly once by several processes, the warning
lists worked out by hand, and who may read what (the back office: its unit only)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import asyncpg
import httpx
import openpyxl
import pytest

from hotline.core.settings import Settings
from hotline.reports.exports import COLUMNS
from tests.helpers import report_day as day
from tests.helpers.api_app import api_app, login
from tests.helpers.report_day import DAY, NOW, SINCE, UNTIL

USERS = ("boss:pw:supervisor;plan:pw:planner;qa1:pw:qa;a1:pw:agent;"
         "bo:pw:back_office@complaints_office;crew:pw:back_office@repair_crew")
PERIOD = {"from": SINCE, "to": UNTIL}
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]
DEADLINE_S = 20.0


@pytest.fixture
async def make_client(conn: asyncpg.Connection, empty_db_url: str,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MakeClient]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    await day.load(conn)
    async with AsyncExitStack() as stack:
        async def make(settings: Settings, clock: Callable[[], float] = lambda: NOW,
                       ) -> httpx.AsyncClient:
            app = await stack.enter_async_context(api_app(empty_db_url, settings, clock=clock))
            return app.client

        yield make


def flat(group: dict) -> dict:
    """A figures group as an export's row: figures, then counts, by column."""
    return {c: group["counts"][c] if c in group["counts"] else group[c] for c in COLUMNS}


def from_csv(data: bytes) -> list[dict]:
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    return [{c: (None if v == "" else v if c == "key" else float(v))
             for c, v in zip(COLUMNS, r, strict=True)} for r in rows[1:]]


def from_xlsx(data: bytes) -> list[dict]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]


def same_xlsx(got: list[dict], want: list[dict]) -> bool:
    """A spreadsheet keeps 15 significant digits of a number (as Excel): the last bit of a
    ratio may differ."""
    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return a == pytest.approx(b, rel=1e-14)
        return a == b

    return len(got) == len(want) and all(
        same(g[c], w[c]) for g, w in zip(got, want, strict=True) for c in COLUMNS)


async def test_exports_equal_the_api(make_client: MakeClient) -> None:
    client = await make_client(Settings(report_schedule_poll_s=0))
    boss = await login(client, "boss")
    for by in ("centre", "team", "unit"):
        api = (await client.get("/api/reports/figures", headers=boss,
                                params={**PERIOD, "by": by})).json()["groups"]
        want = [flat(g) for g in api]
        r = await client.get("/api/reports/export", headers=boss,
                             params={**PERIOD, "by": by, "format": "csv"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert f'filename="{by}-' in r.headers["content-disposition"]
        assert from_csv(r.content) == want
        r = await client.get("/api/reports/export", headers=boss,
                             params={**PERIOD, "by": by, "format": "xlsx"})
        assert r.status_code == 200, r.text
        assert same_xlsx(from_xlsx(r.content), want)
    # the hand-worked centre (tests/unit/test_report_figures.py) in the spreadsheet
    r = await client.get("/api/reports/export", headers=boss,
                         params={**PERIOD, "format": "xlsx"})
    [centre] = from_xlsx(r.content)
    assert (centre["key"], centre["answer_rate"], centre["first_call_resolution"],
            centre["complaint_rate"], centre["callbacks_done"], centre["report_orders_yoy"],
            centre["offered"], centre["answered"]) == ("centre", 0.75, 0.8, 0.5, 3, -0.5, 8, 6)
    assert centre["utilisation"] == pytest.approx(10 / 35)
    assert centre["answer_rate"] is not None and centre["substantiated_complaint_rate"] == (
        pytest.approx(2 / 3))
    for user, status in (("plan", 200), ("qa1", 403), ("a1", 403), ("bo", 403)):
        r = await client.get("/api/reports/export", headers=await login(client, user),
                             params=PERIOD)
        assert r.status_code == status, user


async def test_the_background_job_makes_the_days_report_once_it_has_ended(
        make_client: MakeClient) -> None:
    # the centre's day is UTC here; the clock: 30 s after the hand-worked day ended
    client = await make_client(Settings(report_schedule_poll_s=0.2, utc_offset_s=0),
                               clock=lambda: UNTIL + 30)
    boss = await login(client, "boss")
    r = await client.post("/api/reports/schedules", headers=boss,
                          json={"period": "day", "by": "team", "format": "xlsx"})
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert (await client.get("/api/reports/schedules", headers=boss)).json() == [schedule]
    deadline = time.monotonic() + DEADLINE_S
    while not (files := (await client.get("/api/reports/files",
                                          headers=boss)).json())["files"]:
        assert time.monotonic() < deadline, "no scheduled report made"
        await asyncio.sleep(0.05)
    [made] = files["files"]
    assert (made["schedule_id"], made["period_start"], made["period_end"], made["name"]) == (
        schedule["id"], SINCE, UNTIL, "team-2026-07-01.xlsx")
    r = await client.get(f"/api/reports/files/{made['id']}", headers=boss)
    assert r.status_code == 200
    api = (await client.get("/api/reports/figures", headers=boss,
                            params={**PERIOD, "by": "team"})).json()["groups"]
    assert same_xlsx(from_xlsx(r.content), [flat(g) for g in api])
    # later looks make nothing more; the file goes with its schedule
    await asyncio.sleep(0.5)
    assert (await client.get("/api/reports/files", headers=boss)).json()["total"] == 1
    assert (await client.get("/api/reports/files/999999", headers=boss)).status_code == 404
    r = await client.delete(f"/api/reports/schedules/{schedule['id']}", headers=boss)
    assert r.status_code == 204
    assert (await client.get("/api/reports/files", headers=boss)).json()["total"] == 0
    assert (await client.delete(f"/api/reports/schedules/{schedule['id']}",
                                headers=boss)).status_code == 404


RUN_DUE = """
import asyncio, json, sys
from hotline.reports import scheduler
from hotline.reports.model import Rules
from hotline.store import db

async def main():
    pool = await db.create_pool(sys.argv[1], max_size=1)
    try:
        made = await scheduler.run_due(pool, float(sys.argv[2]), 0, Rules(24 * 3600.0))
    finally:
        await pool.close()
    print(json.dumps(made))

asyncio.run(main())
"""


async def test_several_processes_make_each_report_exactly_once(
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    await day.load(conn)
    for period, by in (("day", "centre"), ("day", "agent"), ("week", "queue"),
                       ("month", "unit")):
        await conn.execute("INSERT INTO report_schedules (period, by, format, created_by,"
                           " created_at) VALUES ($1, $2, 'csv', 'boss', now())", period, by)
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN_DUE, empty_db_url, str(UNTIL + 5),
        stdout=asyncio.subprocess.PIPE) for _ in range(4)]
    outs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    assert all(p.returncode == 0 for p in procs)
    made = [i for out, _ in outs for i in json.loads(out)]
    rows = await conn.fetch("SELECT id, name FROM report_files ORDER BY id")
    assert sorted(made) == [r["id"] for r in rows]
    assert [r["name"] for r in rows] == [
        "centre-2026-07-01.csv", "agent-2026-07-01.csv", "queue-2026-W26.csv",
        "unit-2026-06.csv"]


def orders(body: dict) -> list[tuple[str, str, str]]:
    names = {o.name: i + 1 for i, o in enumerate(day.ORDERS)}  # ids in load order
    by_id = {v: k for k, v in names.items()}
    return [(o["unit"], o["reason"], by_id[o["order_id"]]) for o in body["orders"]]


async def test_warning_lists(make_client: MakeClient) -> None:
    client = await make_client(Settings(report_schedule_poll_s=0))
    boss = await login(client, "boss")
    r = await client.get("/api/reports/warnings", headers=boss,
                         params={**PERIOD, "kind": "monthly"})
    assert r.status_code == 200, r.text
    # o2's limit (hour 12) passed unreplied (replied 20); o1 and o4 closed substantiated
    assert orders(r.json()) == [("complaints_office", "overdue", "o2"),
                                ("complaints_office", "substantiated", "o1"),
                                ("complaints_office", "substantiated", "o4")]
    r = await client.get("/api/reports/warnings", headers=boss,
                         params={**PERIOD, "kind": "slow"})
    # past 80 % of the limit unreplied in the period: o1 (8.2 h, replied 9), o2 (10 h,
    # replied 20), and last year's report orders never replied; not o4 (replied before)
    assert orders(r.json()) == [("complaints_office", "slow", "o1"),
                                ("complaints_office", "slow", "o2"),
                                *(("inspection_office", "slow", f"r{i}") for i in range(3, 8))]
    r = await client.get("/api/reports/warnings", headers=boss,
                         params={**PERIOD, "kind": "slow", "slow_share": 0.9})
    assert ("complaints_office", "slow", "o1") not in orders(r.json())  # 9.1 h: replied 9
    # the back office: its own unit's list, another's is refused
    bo = await login(client, "bo")
    r = await client.get("/api/reports/warnings", headers=bo, params=PERIOD)
    assert [o[2] for o in orders(r.json())] == ["o2", "o1", "o4"]
    crew = await login(client, "crew")
    r = await client.get("/api/reports/warnings", headers=crew, params=PERIOD)
    assert (r.status_code, r.json()["orders"]) == (200, [])
    r = await client.get("/api/reports/warnings", headers=crew,
                         params={**PERIOD, "unit": "complaints_office"})
    assert (r.status_code, r.json()["error"]["id"]) == (403, "not-your-unit")
    for user, status in (("plan", 200), ("qa1", 403), ("a1", 403)):
        r = await client.get("/api/reports/warnings", headers=await login(client, user),
                             params=PERIOD)
        assert r.status_code == status, user
    r = await client.get("/api/reports/warnings", headers=boss,
                         params={"from": SINCE, "to": SINCE + 32 * DAY})
    assert r.status_code == 422


async def test_the_charts_data(make_client: MakeClient, conn: asyncpg.Connection) -> None:
    """Interval rows summed per 15 minutes, hour and day with their service level; NPS per
    day; the agents' state spans: hand-worked."""
    at = day.at
    # billing, 10:00-11:00 UTC: (offered, answered, abandoned, short, within 20 s)
    quarters = [(10, 8, 2, 1, 6), (6, 5, 1, 0, 5), (0, 0, 0, 0, 0), (4, 3, 1, 0, 2)]
    for i, (off, ans, ab, short, within) in enumerate(quarters):
        start = SINCE + 10 * 3600 + i * 900
        await conn.execute(
            "INSERT INTO interval_stats (queue, interval_start, interval_end, offered, answered,"
            " abandoned, short_abandoned, answered_within_t, figures) VALUES ('billing', $1, $2,"
            " $3, $4, $5, $6, $7, '{\"sl_target\": 0.8}')", at(start), at(start + 900), off,
            ans, ab, short, within)
    for call, nps, sat in (("k1", 10, 1), ("k2", 9, 2), ("k3", 3, 5)):
        await conn.execute("INSERT INTO survey_answers (call_id, agent_id, nps, satisfaction,"
                           " scale, at) VALUES ($1, 'a1', $2, $3, 5, $4)", call, nps, sat,
                           at(SINCE + 3600))
    client = await make_client(Settings(report_schedule_poll_s=0, utc_offset_s=0))
    boss = await login(client, "boss")
    q = {**PERIOD, "queue": "billing"}
    r = await client.get("/api/reports/intervals", headers=boss, params={**q, "step": 900})
    assert r.status_code == 200, r.text
    assert [(b["start"] - SINCE, b["offered"], b["service_level"]) for b in r.json()] == [
        (36000, 10, pytest.approx(6 / 9)), (36900, 6, pytest.approx(5 / 6)),
        (37800, 0, None), (38700, 4, 0.5)]
    for step in (3600, 86400):
        [b] = (await client.get("/api/reports/intervals", headers=boss,
                                params={**q, "step": step})).json()
        assert (b["offered"], b["answered"], b["abandoned"], b["sl_target"]) == (20, 16, 4, 0.8)
        assert b["service_level"] == pytest.approx(13 / 19)  # short abandons left out
        assert b["start"] == (SINCE + 36000 if step == 3600 else SINCE)
    r = await client.get("/api/reports/nps", headers=boss,
                         params={"from": SINCE, "to": SINCE + 2 * DAY})
    [first, second] = r.json()
    # promoters 2 (10, 9), detractors 1 (3) of 3: NPS 33.3; satisfied (1-2 of 5) 2 of 3
    assert (first["nps"], first["nps_answers"]) == (pytest.approx(100 / 3), 3)
    assert first["satisfaction_rate"] == pytest.approx(2 / 3)
    assert (second["start"], second["nps"], second["nps_answers"]) == (SINCE + DAY, None, 0)
    r = await client.get("/api/reports/states", headers=boss, params=PERIOD)
    spans = [(s["agent_id"], s["state"], (s["start"] - SINCE) / 3600, (s["end"] - SINCE) / 3600)
             for s in r.json()["spans"]]
    assert spans == [("a1", "ready", 0, 1), ("a1", "on_call", 1, 3),
                     ("a1", "after_call_work", 3, 4), ("a1", "not_ready", 4, 5),
                     ("a1", "not_ready", 5, 7), ("a2", "ready", 0, 2), ("a2", "on_call", 2, 6),
                     ("a2", "ringing", 6, 7), ("a2", "ready", 7, 24),
                     ("a3", "on_call", 10, 12), ("a3", "after_call_work", 12, 13),
                     ("a3", "ready", 13, 14)]
    r = await client.get("/api/reports/states", headers=boss,
                         params={**PERIOD, "limit": 2, "offset": 4})
    assert [(s["agent_id"], s["state"]) for s in r.json()["spans"]] == [
        ("a1", "not_ready"), ("a2", "ready")]
    r = await client.get("/api/reports/states", headers=boss,
                         params={"from": SINCE, "to": SINCE + DAY + 1})
    assert r.status_code == 422  # a timeline covers a day at most
    for path in ("intervals", "nps", "states"):
        r = await client.get(f"/api/reports/{path}", headers=await login(client, "a1"),
                             params=PERIOD)
        assert r.status_code == 403, path
