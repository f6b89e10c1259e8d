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


async def latest_forms(conn: asyncpg.Connection) -> list[qa.Form]:
    rows = await conn.fetch("SELECT DISTINCT ON (form_id) * FROM qa_forms"
                            " ORDER BY form_id, version DESC")
    return [_form(r) for r in rows]


async def set_agent_start(conn: asyncpg.Connection, agent_id: str, at: float) -> None:
    await conn.execute("INSERT INTO agent_start_dates VALUES ($1, $2) ON CONFLICT (agent_id)"
                       " DO UPDATE SET started_at = EXCLUDED.started_at", agent_id, ts(at))


async def sample_inputs(conn: asyncpg.Connection, since: float, until: float
                        ) -> tuple[list[qa.SampleCall], dict[str, float]]:
    """Answered calls in [since - 24 h, until) (the day before finds repeat callers), a call
    being a complaint when its service is or a complaint work order links it; and the
    agents' start dates."""
    rows = await conn.fetch(
        "SELECT c.call_id, c.agent_id, coalesce(c.queue, '') AS queue, c.caller,"
        " c.entered_at, coalesce(c.talk_s, 0) AS talk_s,"
        " (c.service = 'complaint' OR EXISTS (SELECT 1 FROM work_order_calls l"
        "   JOIN work_orders o ON o.id = l.order_id"
        "   WHERE l.call_id = c.call_id AND o.service = 'complaint')) AS complaint"
        " FROM calls c WHERE c.entered_at >= $1 AND c.entered_at < $2"
        " AND c.agent_id IS NOT NULL AND c.answered_at IS NOT NULL",
        ts(since - qa.REPEAT_WINDOW_S), ts(until))
    calls = [qa.SampleCall(r["call_id"], r["agent_id"], r["queue"], r["caller"],
                           epoch(r["entered_at"]) or 0.0, r["talk_s"], bool(r["complaint"]))
             for r in rows]
    starts = {r["agent_id"]: epoch(r["started_at"]) or 0.0
              for r in await conn.fetch("SELECT * FROM agent_start_dates")}
    return calls, starts


async def save_sample(conn: asyncpg.Connection, plan: qa.SamplePlan, picks: list[qa.Pick],
                      by: str, at: float) -> int:
    async with conn.transaction():
        sample_id: int = await conn.fetchval(
            "INSERT INTO qa_samples (since, until, percentage, seed, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            ts(plan.since), ts(plan.until), plan.percentage, plan.seed, by, ts(at))
        await conn.executemany(
            "INSERT INTO qa_sample_calls VALUES ($1, $2, $3, $4)",
            [(sample_id, p.call_id, p.agent_id, [str(r) for r in p.reasons]) for p in picks])
    return sample_id


async def get_sample(conn: asyncpg.Connection, sample_id: int
                     ) -> tuple[asyncpg.Record, list[asyncpg.Record]] | None:
    """The sample and its calls with the call record's fields and the evaluation count."""
    head = await conn.fetchrow("SELECT * FROM qa_samples WHERE id = $1", sample_id)
    if head is None:
        return None
    rows = await conn.fetch(
        "SELECT s.call_id, s.agent_id, s.reasons, c.caller, c.queue, c.entered_at, c.talk_s,"
        " c.recording_path IS NOT NULL AS has_recording,"
        " (SELECT count(*) FROM qa_evaluations e WHERE e.call_id = s.call_id"
        "  AND e.kind = 'sample') AS evaluations"
        " FROM qa_sample_calls s LEFT JOIN calls c ON c.call_id = s.call_id"
        " WHERE s.sample_id = $1 ORDER BY s.agent_id, c.entered_at, s.call_id", sample_id)
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
                      disputed: bool | None = None) -> list[Evaluation]:
    rows = await conn.fetch(
        _SELECT + " WHERE ($1::text IS NULL OR e.agent_id = $1)"
        " AND ($2::text IS NULL OR e.call_id = $2) AND ($3::text IS NULL OR e.kind = $3)"
        " AND ($4::bool IS NULL OR (d.evaluation_id IS NOT NULL) = $4)"
        " ORDER BY e.created_at DESC, e.id DESC", agent_id, call_id, kind, disputed)
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
    orders and those whose callback it made, and the sample evaluations of calls in it (a
    re-check replaces the original)."""
    spans = [qa.StateSpan(r["state"], epoch(r["started_at"]) or 0.0, epoch(r["ended_at"]))
             for r in await conn.fetch(
                 "SELECT state, started_at, ended_at FROM agent_state_log WHERE agent_id = $1"
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
    orders = await _orders(conn, "SELECT * FROM work_orders WHERE created_by = $1"
                                 " OR callback_done_by = $1 ORDER BY created_at", agent_id)
    rows = await conn.fetch(
        "SELECT coalesce(r.score, e.score) AS score, coalesce(r.fatal, e.fatal) AS fatal,"
        " coalesce(r.errors, e.errors) AS errors"
        " FROM qa_evaluations e JOIN calls c ON c.call_id = e.call_id"
        " LEFT JOIN qa_evaluations r ON r.rechecks = e.id"
        " WHERE e.agent_id = $1 AND e.kind = 'sample'"
        " AND c.entered_at >= $2 AND c.entered_at < $3", agent_id, ts(since), ts(until))
    evaluated = [qa.Evaluated(r["score"], r["fatal"], sum(r["errors"].values())) for r in rows]
    return spans, calls, orders, evaluated


__all__ = ["Evaluation", "add_dispute", "add_form_version", "evaluations", "form_json",
           "get_evaluation", "get_form", "get_sample", "latest_forms", "sample_inputs",
           "save_evaluation", "save_sample", "scorecard_inputs", "sections_from_json",
           "set_agent_start"]
