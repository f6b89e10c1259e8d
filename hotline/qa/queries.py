"""Quality-assurance queries (migration 003_qa.sql): forms by version, samples, evaluations,
disputes, and the inputs of the sample draw and of an agent's scorecard. Times are epoch
floats on the Python side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from hotline.qa import model as qa
from hotline.store.queries import epoch, ts
from hotline.work_orders.model import WorkOrder
from hotline.work_orders.queries import _orders


def form_json(form: qa.Form) -> list[dict[str, Any]]:
    return [{"title": s.title, "items": [
        {"key": i.key, "label": i.label, "weight": i.weight, "max_score": i.max_score,
         "fatal": i.fatal, "error_class": str(i.error_class)} for i in s.items]}
        for s in form.sections]


def sections_from_json(data: list[dict[str, Any]]) -> tuple[qa.FormSection, ...]:
    return tuple(qa.FormSection(s["title"], tuple(
        qa.FormItem(i["key"], i["label"], float(i["weight"]), float(i["max_score"]),
                    bool(i["fatal"]), qa.ErrorClass(i["error_class"])) for i in s["items"]))
        for s in data)


def _form(row: asyncpg.Record) -> qa.Form:
    return qa.Form(row["form_id"], row["version"], row["name"],
                   sections_from_json(row["sections"]))


async def add_form_version(conn: asyncpg.Connection, form_id: str, name: str,
                           sections: tuple[qa.FormSection, ...], by: str,
                           at: float) -> qa.Form:
    """Saves the next version of the form (1 for a new one); older versions stay as they are."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('qa_forms:' || $1))", form_id)
        version = 1 + await conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM qa_forms WHERE form_id = $1", form_id)
        form = qa.check_form(qa.Form(form_id, version, name, sections))
        await conn.execute("INSERT INTO qa_forms VALUES ($1, $2, $3, $4, $5, $6)",
                           form_id, version, name, form_json(form), by, ts(at))
    return form


async def get_form(conn: asyncpg.Connection, form_id: str,
                   version: int | None = None) -> qa.Form | None:
    """One version of a form, the latest when `version` is None."""
    row = await conn.fetchrow(
        "SELECT * FROM qa_forms WHERE form_id = $1 AND ($2::int IS NULL OR version = $2)"
        " ORDER BY version DESC LIMIT 1", form_id, version)
    return _form(row) if row else None


async def latest_forms(conn: asyncpg.Connection, *, limit: int | None = None,
                       offset: int = 0) -> list[qa.Form]:
    rows = await conn.fetch("SELECT DISTINCT ON (form_id) * FROM qa_forms"
                            " ORDER BY form_id, version DESC LIMIT $1 OFFSET $2",
                            limit, offset)
    return [_form(r) for r in rows]


async def set_agent_start(conn: asyncpg.Connection, agent_id: str, at: float) -> None:
    await conn.execute("INSERT INTO agent_start_dates VALUES ($1, $2) ON CONFLICT (agent_id)"
                       " DO UPDATE SET started_at = EXCLUDED.started_at", agent_id, ts(at))


# The sample, drawn where the calls are: PostgreSQL reads the period's calls and hands back
# nothing but the sample's size (docs/security.md, "Request bounds"). The same rules as
# qa.draw, which defines them and against which the tests check this query: the period's
# answered calls with an agent; per agent the first random_share of them by draw_key; long
# and short calls beyond the queue's quantiles (percentile_cont interpolates linearly, as
# qa.quantile) in queues with enough calls; complaints; a new agent's calls (calendar months
# from the start date, clipped to the month's end as qa.add_months); repeat callers (an
# answered call from the number in the 24 h before).
_DRAW = """
WITH period AS (
    SELECT c.call_id, c.agent_id, coalesce(c.queue, '') AS queue, c.caller, c.entered_at,
           coalesce(c.talk_s, 0) AS talk_s, c.service
    FROM calls c
    WHERE c.entered_at >= $1 AND c.entered_at < $2 AND c.agent_id IS NOT NULL
      AND c.agent_id <> '' AND c.answered_at IS NOT NULL),
bounds AS (
    SELECT queue, percentile_cont($5::float8) WITHIN GROUP (ORDER BY talk_s) AS low,
           percentile_cont($6::float8) WITHIN GROUP (ORDER BY talk_s) AS high
    FROM period GROUP BY queue HAVING count(*) >= $7),
ranked AS (
    SELECT p.*,
           row_number() OVER (PARTITION BY p.agent_id ORDER BY
               md5($3::bigint::text || ':' || p.agent_id || ':' || p.call_id) COLLATE "C",
               p.call_id COLLATE "C") AS rn,
           count(*) OVER (PARTITION BY p.agent_id) AS n
    FROM period p),
why AS (
    SELECT r.call_id, r.agent_id, array_remove(ARRAY[
        CASE WHEN r.rn <= ceil(r.n::float8 * $4::float8 / 100::float8 - 1e-9::float8)
             THEN 'random' END,
        CASE WHEN 'complaint' = ANY($9::text[]) AND (r.service = 'complaint' OR EXISTS (
                 SELECT 1 FROM work_order_calls l JOIN work_orders o ON o.id = l.order_id
                 WHERE l.call_id = r.call_id AND o.service = 'complaint'))
             THEN 'complaint' END,
        CASE WHEN 'long_call' = ANY($9::text[]) AND r.talk_s > b.high THEN 'long_call' END,
        CASE WHEN 'short_call' = ANY($9::text[]) AND r.talk_s < b.low THEN 'short_call' END,
        CASE WHEN 'new_agent' = ANY($9::text[]) AND s.started_at <= r.entered_at
              AND r.entered_at < (s.started_at AT TIME ZONE 'UTC'
                                  + make_interval(months => $8)) AT TIME ZONE 'UTC'
             THEN 'new_agent' END,
        CASE WHEN 'repeat_caller' = ANY($9::text[]) AND r.caller <> '' AND EXISTS (
                 SELECT 1 FROM calls e WHERE e.caller = r.caller
                 AND e.entered_at >= r.entered_at - make_interval(secs => $11::float8)
                 AND e.entered_at < r.entered_at
                 AND e.agent_id IS NOT NULL AND e.answered_at IS NOT NULL)
             THEN 'repeat_caller' END], NULL) AS reasons
    FROM ranked r LEFT JOIN bounds b ON b.queue = r.queue
    LEFT JOIN agent_start_dates s ON s.agent_id = r.agent_id)
INSERT INTO qa_sample_calls (sample_id, call_id, agent_id, reasons)
SELECT $10, call_id, agent_id, reasons FROM why WHERE cardinality(reasons) > 0
"""


async def draw_sample(conn: asyncpg.Connection, plan: qa.SamplePlan, by: str,
                      at: float) -> int:
    """Draws the plan's sample in PostgreSQL and saves it; returns the sample's id."""
    if not 0 <= plan.percentage <= 100:
        raise qa.QaError("percentage must be within 0..100")
    async with conn.transaction():
        sample_id: int = await conn.fetchval(
            "INSERT INTO qa_samples (since, until, percentage, seed, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            ts(plan.since), ts(plan.until), plan.percentage, plan.seed, by, ts(at))
        await conn.execute(
            _DRAW, ts(plan.since), ts(plan.until), plan.seed, plan.percentage,
            plan.short_quantile, plan.long_quantile, plan.min_queue_calls,
            plan.new_agent_months, sorted(str(r) for r in plan.targeted), sample_id,
            plan.repeat_window_s)
    return sample_id


async def get_sample(conn: asyncpg.Connection, sample_id: int, *, limit: int | None = None,
                     offset: int = 0) -> tuple[asyncpg.Record, list[asyncpg.Record]] | None:
    """The sample (with how many calls it holds) and a page of its calls with the call
    record's fields and the evaluation count."""
    head = await conn.fetchrow(
        "SELECT s.*, (SELECT count(*) FROM qa_sample_calls c WHERE c.sample_id = s.id)"
        " AS total_calls FROM qa_samples s WHERE s.id = $1", sample_id)
    if head is None:
        return None
    rows = await conn.fetch(
        "SELECT s.call_id, s.agent_id, s.reasons, c.caller, c.queue, c.entered_at, c.talk_s,"
        " c.recording_path IS NOT NULL AS has_recording,"
        " (SELECT count(*) FROM qa_evaluations e WHERE e.call_id = s.call_id"
        "  AND e.kind = 'sample') AS evaluations"
        " FROM qa_sample_calls s LEFT JOIN calls c ON c.call_id = s.call_id"
        " WHERE s.sample_id = $1 ORDER BY s.agent_id, c.entered_at, s.call_id"
        " LIMIT $2 OFFSET $3", sample_id, limit, offset)
    return head, rows


@dataclass(frozen=True, slots=True)
class Evaluation:
    id: int | None
    call_id: str
    agent_id: str
    form_id: str
    form_version: int
    inspector: str
    kind: str  # sample | calibration | recheck
    marks: tuple[qa.Mark, ...]
    result: qa.Result
    comment: str
    created_at: float
    rechecks: int | None = None
    disputed: bool = False
    dispute_reason: str = ""
    recheck_id: int | None = None  # the re-check of this one, once done


def _marks_json(marks: tuple[qa.Mark, ...]) -> list[dict[str, Any]]:
    return [{"key": m.key, "score": m.score, "fatal_error": m.fatal_error,
             "comment": m.comment} for m in marks]


_SELECT = ("SELECT e.*, d.reason AS dispute_reason, r.id AS recheck_id"
           " FROM qa_evaluations e LEFT JOIN qa_disputes d ON d.evaluation_id = e.id"
           " LEFT JOIN qa_evaluations r ON r.rechecks = e.id")


def _evaluation(row: asyncpg.Record) -> Evaluation:
    errors = {qa.ErrorClass(k): v for k, v in row["errors"].items()}
    return Evaluation(
        row["id"], row["call_id"], row["agent_id"], row["form_id"], row["form_version"],
        row["inspector"], row["kind"],
        tuple(qa.Mark(m["key"], m["score"], m["fatal_error"], m["comment"])
              for m in row["marks"]),
        qa.Result(row["score"], row["fatal"], errors), row["comment"],
        epoch(row["created_at"]) or 0.0, row["rechecks"],
        row["dispute_reason"] is not None, row["dispute_reason"] or "", row["recheck_id"])


async def save_evaluation(conn: asyncpg.Connection, e: Evaluation) -> Evaluation:
    eval_id = await conn.fetchval(
        "INSERT INTO qa_evaluations (call_id, agent_id, form_id, form_version, inspector,"
        " kind, rechecks, marks, score, fatal, errors, comment, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        e.call_id, e.agent_id, e.form_id, e.form_version, e.inspector, e.kind, e.rechecks,
        _marks_json(e.marks), e.result.score, e.result.fatal,
        {str(k): v for k, v in e.result.errors.items()}, e.comment, ts(e.created_at))
    found = await get_evaluation(conn, eval_id)
    assert found is not None
    return found


async def get_evaluation(conn: asyncpg.Connection, eval_id: int) -> Evaluation | None:
    row = await conn.fetchrow(_SELECT + " WHERE e.id = $1", eval_id)
    return _evaluation(row) if row else None


async def evaluations(conn: asyncpg.Connection, *, agent_id: str | None = None,
                      call_id: str | None = None, kind: str | None = None,
                      disputed: bool | None = None, calibrations: bool = True,
                      limit: int | None = None, offset: int = 0) -> list[Evaluation]:
    """Newest first; `calibrations` False leaves the calibration evaluations out."""
    rows = await conn.fetch(
        _SELECT + " WHERE ($1::text IS NULL OR e.agent_id = $1)"
        " AND ($2::text IS NULL OR e.call_id = $2) AND ($3::text IS NULL OR e.kind = $3)"
        " AND ($4::bool IS NULL OR (d.evaluation_id IS NOT NULL) = $4)"
        " AND ($5 OR e.kind <> 'calibration')"
        " ORDER BY e.created_at DESC, e.id DESC LIMIT $6 OFFSET $7",
        agent_id, call_id, kind, disputed, calibrations, limit, offset)
    return [_evaluation(r) for r in rows]


async def add_dispute(conn: asyncpg.Connection, eval_id: int, agent_id: str, reason: str,
                      at: float) -> bool:
    """False when the evaluation was already disputed."""
    status = await conn.execute(
        "INSERT INTO qa_disputes VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        eval_id, agent_id, reason, ts(at))
    return status == "INSERT 0 1"


async def scorecard_inputs(conn: asyncpg.Connection, agent_id: str, since: float,
                           until: float) -> tuple[list[qa.StateSpan], list[qa.HandledCall],
                                                  list[WorkOrder], list[qa.Evaluated]]:
    """The agent's state spans overlapping the period, calls answered in it, its own work
    orders (it answers for their callbacks: work_orders.model.charged_to), and the sample
    evaluations of calls in it (a re-check replaces the original)."""
    spans = [qa.StateSpan(r["state"], epoch(r["started_at"]) or 0.0, epoch(r["ended_at"]),
                          r["reason"])
             for r in await conn.fetch(
                 "SELECT state, reason, started_at, ended_at FROM agent_state_log"
                 " WHERE agent_id = $1"
                 " AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2)",
                 agent_id, ts(since), ts(until))]
    # The call row has no after-call work (it is written when the call ends, before the wrap
    # up does): it is the agent's finished after_call_work spans on that call.
    calls = [qa.HandledCall(r["talk_s"], r["acw_s"]) for r in await conn.fetch(
        "SELECT c.talk_s, coalesce(c.acw_s, (SELECT sum(extract(epoch FROM"
        "  l.ended_at - l.started_at))::float8 FROM agent_state_log l"
        "  WHERE l.agent_id = c.agent_id AND l.call_id = c.call_id"
        "  AND l.state = 'after_call_work' AND l.ended_at IS NOT NULL)) AS acw_s"
        " FROM calls c WHERE c.agent_id = $1 AND c.answered_at >= $2"
        " AND c.answered_at < $3", agent_id, ts(since), ts(until))]
    # only the orders the period can count (qa.scorecard says which): those the agent
    # answers for (created_by: work_orders.model.charged_to) settled or done in it
    orders = await _orders(
        conn, "SELECT * FROM work_orders WHERE created_by = $1 AND callback_by IS NOT NULL"
              " AND (((CASE WHEN callback_done_at <= callback_by THEN callback_done_at"
              "  ELSE callback_by END) >= $2"
              " AND (CASE WHEN callback_done_at <= callback_by THEN callback_done_at"
              "  ELSE callback_by END) < $3)"
              " OR (callback_done_at >= $2 AND callback_done_at < $3))"
              " ORDER BY created_at, id", agent_id, ts(since), ts(until))
    rows = await conn.fetch(
        "SELECT coalesce(r.score, e.score) AS score, coalesce(r.fatal, e.fatal) AS fatal,"
        " coalesce(r.errors, e.errors) AS errors"
        " FROM qa_evaluations e JOIN calls c ON c.call_id = e.call_id"
        " LEFT JOIN qa_evaluations r ON r.rechecks = e.id"
        " WHERE e.agent_id = $1 AND e.kind = 'sample'"
        " AND c.entered_at >= $2 AND c.entered_at < $3", agent_id, ts(since), ts(until))
    evaluated = [qa.Evaluated(r["score"], r["fatal"], sum(r["errors"].values())) for r in rows]
    return spans, calls, orders, evaluated


__all__ = ["Evaluation", "add_dispute", "add_form_version", "draw_sample", "evaluations",
           "form_json", "get_evaluation", "get_form", "get_sample", "latest_forms",
           "save_evaluation", "scorecard_inputs", "sections_from_json", "set_agent_start"]
