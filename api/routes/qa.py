"""Quality assurance (质检) over the history database: versioned evaluation forms, samples,
evaluations with disputes and re-checks, calibration reports and agent scorecards.

Inspectors (qa) and supervisors do everything but dispute; an agent reads only their own
evaluations and scorecard and may dispute their own sample evaluations. A re-check must be
done by another inspector than the one who scored the original.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from hotline.api.deps import ServicesDep, SettingsDep, require_roles
from hotline.api.errors import ApiError, ErrorResponse
from hotline.api.limits import (
    DEFAULT_PAGE,
    MAX_EPOCH,
    MAX_PAGE,
    MAX_REPORT_SPAN_S,
    Limit,
    Offset,
    SpanTooLong,
    check_span,
)
from hotline.api.routes.history import store as history_store
from hotline.api.routes.work_orders import OrderOut
from hotline.api.routes.work_orders import out as order_out
from hotline.api.schemas import SOME_TEXT
from hotline.api.security import Claims, Role
from hotline.qa import model as qa
from hotline.qa import queries as store
from hotline.work_orders import queries as orders_store

router = APIRouter(prefix="/api/qa", tags=["quality assurance"])

QaStaff = Annotated[Claims, Depends(require_roles(Role.QA, Role.SUPERVISOR))]
Reader = Annotated[Claims, Depends(require_roles(Role.QA, Role.SUPERVISOR, Role.AGENT))]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422, 503)}
NO_NUL = r"^[^\x00]*$"
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
PathId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
#: A form id: within what qa_forms keeps (model.FORM_ID_MAX_LEN, its CHECK)
FORM_ID: dict[str, Any] = {"min_length": 1, "max_length": qa.FORM_ID_MAX_LEN,
                           "pattern": r"^[^\x00-\x1f\x7f]+$"}
FormId = Annotated[str, Field(**FORM_ID)]
Text = Annotated[str, Field(max_length=4000, pattern=NO_NUL)]
Epoch = Annotated[float, Field(ge=0, le=MAX_EPOCH)]
Score = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
INT4 = 2**31 - 1  # form versions are PostgreSQL integers


def _staff(user: Claims) -> bool:
    return user.has_any({Role.QA, Role.SUPERVISOR})


# --- forms ------------------------------------------------------------------------------

class ItemIn(BaseModel):
    key: Id
    label: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
    weight: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
    max_score: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] = 10.0
    fatal: bool = False
    error_class: qa.ErrorClass = qa.ErrorClass.GENERAL


class SectionIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=200)]


class FormIn(BaseModel):
    form_id: FormId
    name: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
    sections: Annotated[list[SectionIn], Field(min_length=1, max_length=50)]


class FormOut(BaseModel):
    form_id: str
    version: int
    name: str
    sections: list[SectionIn]


def form_out(form: qa.Form) -> FormOut:
    return FormOut(form_id=form.form_id, version=form.version, name=form.name,
                   sections=[SectionIn.model_validate(s) for s in store.form_json(form)])


@router.get("/forms", responses=ERRORS)
async def forms(_: Reader, services: ServicesDep, limit: Limit = DEFAULT_PAGE,
                offset: Offset = 0) -> list[FormOut]:
    """The latest version of every form, by form id, a page of them."""
    async with history_store(services) as conn:
        return [form_out(f) for f in await store.latest_forms(conn, limit=limit,
                                                              offset=offset)]


@router.get("/forms/{form_id}", responses=ERRORS)
async def one_form(_: Reader, services: ServicesDep,
                   form_id: Annotated[str, Path(**FORM_ID)],
                   version: Annotated[int | None, Query(ge=1, le=INT4)] = None) -> FormOut:
    async with history_store(services) as conn:
        form = await store.get_form(conn, form_id, version)
    if form is None:
        raise ApiError(404, "form-not-found", f"no form {form_id}")
    return form_out(form)


@router.post("/forms", status_code=201, responses=ERRORS)
async def add_form(user: QaStaff, services: ServicesDep, body: FormIn) -> FormOut:
    """A new form (version 1) or the next version of an existing one. Evaluations keep the
    version they were scored with."""
    sections = store.sections_from_json([s.model_dump(mode="json") for s in body.sections])
    async with history_store(services) as conn:
        # a form that cannot score: QaError, 409 qa-refused (api/errors.py)
        form = await store.add_form_version(conn, body.form_id, body.name, sections,
                                            user.username, services.clock())
    return form_out(form)


# --- samples ----------------------------------------------------------------------------

def _report_span(since: float, until: float, where: str) -> None:
    """A sample or a scorecard covers at most MAX_REPORT_SPAN_S (api/limits.py): 422."""
    try:
        check_span(since, until, MAX_REPORT_SPAN_S)
    except SpanTooLong as exc:
        raise ApiError(422, "invalid-request", "the request is not valid", {"errors": [
            {"loc": [where, "until"], "msg": str(exc), "type": "value_error"}],
            "max_span_s": MAX_REPORT_SPAN_S}) from None


class AgentStartIn(BaseModel):
    started_at: Epoch


@router.put("/agents/{agent_id}/start", status_code=204, responses=ERRORS)
async def agent_start(_: QaStaff, services: ServicesDep, agent_id: PathId,
                      body: AgentStartIn) -> None:
    """When the agent started: the "new agent" sample picks their calls in the first months."""
    async with history_store(services) as conn:
        await store.set_agent_start(conn, agent_id, body.started_at)


class SampleIn(BaseModel):
    since: Epoch
    until: Epoch
    percentage: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    # within what a JSON number holds exactly
    seed: Annotated[int, Field(ge=0, le=2**53 - 1)]
    new_agent_months: Annotated[int, Field(ge=0, le=120)] = 3
    long_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.9
    short_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.1
    targeted: list[qa.Reason] = [r for r in qa.Reason if r is not qa.Reason.RANDOM]


class SampledCall(BaseModel):
    call_id: str
    agent_id: str
    reasons: list[str]
    caller: str | None
    queue: str | None
    entered_at: float | None
    talk_s: float | None
    recording_url: str | None
    evaluations: int


class SampleOut(BaseModel):
    id: int
    since: float
    until: float
    percentage: float
    seed: int
    created_by: str
    total_calls: int  # in the whole sample; `calls` is a page of them
    calls: list[SampledCall]
    next_offset: int | None  # pass as ?offset= (GET /api/qa/samples/{id}); None: the last


async def _sample_out(conn: Any, sample_id: int, limit: int = MAX_PAGE,
                      offset: int = 0) -> SampleOut:
    found = await store.get_sample(conn, sample_id, limit=limit, offset=offset)
    if found is None:
        raise ApiError(404, "sample-not-found", f"no sample {sample_id}")
    head, rows = found
    total = head["total_calls"]
    return SampleOut(
        id=head["id"], since=head["since"].timestamp(), until=head["until"].timestamp(),
        percentage=head["percentage"], seed=head["seed"], created_by=head["created_by"],
        total_calls=total,
        next_offset=offset + limit if offset + limit < total else None,
        calls=[SampledCall(
            call_id=r["call_id"], agent_id=r["agent_id"], reasons=list(r["reasons"]),
            caller=r["caller"], queue=r["queue"],
            entered_at=r["entered_at"].timestamp() if r["entered_at"] else None,
            talk_s=r["talk_s"],
            recording_url=f"/api/recordings/{r['call_id']}" if r["has_recording"] else None,
            evaluations=r["evaluations"]) for r in rows])


@router.post("/samples", status_code=201, responses=ERRORS)
async def draw_sample(user: QaStaff, services: ServicesDep, settings: SettingsDep,
                      body: SampleIn) -> SampleOut:
    """Draws and saves a sample of [since, until) (a span of at most 31 days):
    `percentage` of each agent's calls at random (seeded: the same seed over the same calls
    gives the same sample) plus the targeted calls; every call says why it was picked. The
    answer holds the first page of the sample (GET /api/qa/samples/{id} pages on)."""
    if body.until - body.since < 1:  # timestamptz keeps microseconds: no empty periods
        raise ApiError(409, "qa-refused", "until must be at least a second after since")
    _report_span(body.since, body.until, "body")
    plan = qa.SamplePlan(body.since, body.until, body.percentage, body.seed,
                         long_quantile=body.long_quantile, short_quantile=body.short_quantile,
                         new_agent_months=body.new_agent_months,
                         targeted=frozenset(body.targeted),
                         repeat_window_s=settings.repeat_window_s)
    async with history_store(services) as conn:
        # drawn by PostgreSQL: this process never holds the period's calls
        sample_id = await store.draw_sample(conn, plan, user.username, services.clock())
        return await _sample_out(conn, sample_id)


@router.get("/samples/{sample_id}", responses=ERRORS)
async def one_sample(_: QaStaff, services: ServicesDep,
                     sample_id: Annotated[int, Path(ge=1, le=2**53 - 1)],
                     limit: Limit = MAX_PAGE, offset: Offset = 0) -> SampleOut:
    """The sample and a page of its calls."""
    async with history_store(services) as conn:
        return await _sample_out(conn, sample_id, limit, offset)


@router.get("/calls/{call_id}/work-orders", responses=ERRORS)
async def call_orders(_: QaStaff, services: ServicesDep, call_id: PathId,
                      limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> list[OrderOut]:
    """The work orders the call created or joined, shown beside the recording."""
    async with history_store(services) as conn:
        found = await orders_store.for_call(conn, call_id, limit=limit, offset=offset)
    now = services.clock()
    return [order_out(o, now) for o in found]


# --- evaluations ------------------------------------------------------------------------

class MarkIn(BaseModel):
    key: Id
    score: Score
    fatal_error: bool = False
    comment: Text = ""


class EvaluationIn(BaseModel):
    call_id: Id
    form_id: FormId
    form_version: Annotated[int | None, Field(ge=1, le=INT4)] = None  # None: the latest
    kind: Literal["sample", "calibration"] = "sample"
    marks: Annotated[list[MarkIn], Field(max_length=500)]
    comment: Text = ""


class RecheckIn(BaseModel):
    marks: Annotated[list[MarkIn], Field(max_length=500)]
    comment: Text = ""


class DisputeIn(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=qa.DISPUTE_REASON_MAX_LEN,
                                 pattern=SOME_TEXT)]


class EvaluationOut(BaseModel):
    id: int
    call_id: str
    agent_id: str
    form_id: str
    form_version: int
    inspector: str
    kind: str
    score: float
    fatal: bool
    errors: dict[str, int]
    marks: list[MarkIn]
    comment: str
    created_at: float
    rechecks: int | None
    disputed: bool
    dispute_reason: str
    recheck_id: int | None


def eval_out(e: store.Evaluation) -> EvaluationOut:
    assert e.id is not None
    return EvaluationOut(
        id=e.id, call_id=e.call_id, agent_id=e.agent_id, form_id=e.form_id,
        form_version=e.form_version, inspector=e.inspector, kind=e.kind,
        score=e.result.score, fatal=e.result.fatal,
        errors={str(k): v for k, v in e.result.errors.items()},
        marks=[MarkIn(key=m.key, score=m.score, fatal_error=m.fatal_error, comment=m.comment)
               for m in e.marks],
        comment=e.comment, created_at=e.created_at, rechecks=e.rechecks, disputed=e.disputed,
        dispute_reason=e.dispute_reason, recheck_id=e.recheck_id)


def _marks(marks: list[MarkIn]) -> tuple[qa.Mark, ...]:
    return tuple(qa.Mark(m.key, m.score, m.fatal_error, m.comment) for m in marks)


async def _scored(conn: Any, services: Any, user: Claims, *, call_id: str, agent_id: str,
                  form: qa.Form, kind: str, marks: list[MarkIn], comment: str,
                  rechecks: int | None = None) -> store.Evaluation:
    result = qa.score(form, _marks(marks))  # QaError: 409 qa-refused (api/errors.py)
    return await store.save_evaluation(conn, store.Evaluation(
        None, call_id, agent_id, form.form_id, form.version, user.username, kind,
        _marks(marks), result, comment, services.clock(), rechecks))


@router.post("/evaluations", status_code=201, responses=ERRORS)
async def evaluate(user: QaStaff, services: ServicesDep, body: EvaluationIn) -> EvaluationOut:
    """An inspector scores a call with a form (kind calibration: one of several inspectors
    scoring the same call; those do not count in the agent's scorecard)."""
    async with history_store(services) as conn:
        agent_id = await conn.fetchval("SELECT agent_id FROM calls WHERE call_id = $1",
                                       body.call_id)
        if agent_id is None:
            raise ApiError(404, "call-not-found", f"no answered call {body.call_id}")
        form = await store.get_form(conn, body.form_id, body.form_version)
        if form is None:
            raise ApiError(404, "form-not-found", f"no form {body.form_id}")
        saved = await _scored(conn, services, user, call_id=body.call_id, agent_id=agent_id,
                              form=form, kind=body.kind, marks=body.marks,
                              comment=body.comment)
    return eval_out(saved)


@router.get("/evaluations", responses=ERRORS)
async def list_evaluations(
    user: Reader, services: ServicesDep,
    agent: Annotated[str | None, Query(min_length=1, max_length=128,
                                       pattern=r"^[^\x00-\x1f\x7f]+$")] = None,
    call_id: Annotated[str | None, Query(min_length=1, max_length=128,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")] = None,
    disputed: bool | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> list[EvaluationOut]:
    """Evaluations, newest first, a page of them; an agent sees only their own sample
    evaluations and the re-checks of them, whatever `agent` says."""
    staff = _staff(user)
    if not staff:
        agent = user.username
    async with history_store(services) as conn:
        found = await store.evaluations(conn, agent_id=agent, call_id=call_id,
                                        disputed=disputed, calibrations=staff,
                                        limit=limit, offset=offset)
    return [eval_out(e) for e in found]


async def _load(conn: Any, eval_id: int) -> store.Evaluation:
    found = await store.get_evaluation(conn, eval_id)
    if found is None:
        raise ApiError(404, "evaluation-not-found", f"no evaluation {eval_id}")
    return found


EvalId = Annotated[int, Path(ge=1, le=2**53 - 1)]


@router.get("/evaluations/{eval_id}", responses=ERRORS)
async def one_evaluation(user: Reader, services: ServicesDep, eval_id: EvalId) -> EvaluationOut:
    async with history_store(services) as conn:
        found = await _load(conn, eval_id)
    if not _staff(user) and (found.agent_id != user.username or found.kind == "calibration"):
        raise ApiError(404, "evaluation-not-found", f"no evaluation {eval_id}")
    return eval_out(found)


@router.post("/evaluations/{eval_id}/dispute", status_code=201, responses=ERRORS)
async def dispute(user: Annotated[Claims, Depends(require_roles(Role.AGENT))],
                  services: ServicesDep, eval_id: EvalId, body: DisputeIn) -> EvaluationOut:
    """The agent disputes one of their sample evaluations; another inspector re-checks it."""
    async with history_store(services) as conn:
        found = await _load(conn, eval_id)
        if found.agent_id != user.username or found.kind == "calibration":
            raise ApiError(404, "evaluation-not-found", f"no evaluation {eval_id}")
        if found.kind != "sample":
            raise ApiError(409, "not-disputable", "only a sample evaluation can be disputed")
        if not await store.add_dispute(conn, eval_id, user.username, body.reason,
                                       services.clock()):
            raise ApiError(409, "already-disputed", "this evaluation is already disputed")
        return eval_out(await _load(conn, eval_id))


@router.post("/evaluations/{eval_id}/recheck", status_code=201, responses=ERRORS)
async def recheck(user: QaStaff, services: ServicesDep, eval_id: EvalId,
                  body: RecheckIn) -> EvaluationOut:
    """Another inspector re-scores a disputed evaluation with the same form version; the
    re-check's score replaces the original's in the scorecard (the original is kept)."""
    async with history_store(services) as conn:
        original = await _load(conn, eval_id)
        if not original.disputed:
            raise ApiError(409, "not-disputed", "only a disputed evaluation is re-checked")
        if original.recheck_id is not None:
            raise ApiError(409, "already-rechecked", "this evaluation was re-checked")
        if original.inspector == user.username:
            raise ApiError(409, "same-inspector",
                           "the re-check must be done by another inspector")
        form = await store.get_form(conn, original.form_id, original.form_version)
        assert form is not None  # the foreign key keeps the version
        saved = await _scored(conn, services, user, call_id=original.call_id,
                              agent_id=original.agent_id, form=form, kind="recheck",
                              marks=body.marks, comment=body.comment, rechecks=eval_id)
    return eval_out(saved)


# --- calibration and scorecard ----------------------------------------------------------

class SpreadOut(BaseModel):
    n: int
    min: float
    max: float
    mean: float
    stdev: float


class CalibrationOut(BaseModel):
    call_id: str
    form_id: str
    form_version: int
    inspectors: list[str]
    total: SpreadOut
    items: dict[str, SpreadOut]


def _spread(s: qa.Spread) -> SpreadOut:
    return SpreadOut(n=s.n, min=s.min, max=s.max, mean=s.mean, stdev=s.stdev)


@router.get("/calibration/{call_id}", responses=ERRORS)
async def calibration(_: QaStaff, services: ServicesDep, call_id: PathId,
                      form_id: Annotated[str, Query(**FORM_ID)],
                      version: Annotated[int, Query(ge=1, le=INT4)]) -> CalibrationOut:
    """The spread of every inspector's score of the call (sample and calibration
    evaluations with that form version), per item (as % of the item) and in total."""
    async with history_store(services) as conn:
        form = await store.get_form(conn, form_id, version)
        if form is None:
            raise ApiError(404, "form-not-found", f"no form {form_id} version {version}")
        found = [e for e in await store.evaluations(conn, call_id=call_id)
                 if e.kind != "recheck" and (e.form_id, e.form_version) == (form_id, version)]
    if not found:
        raise ApiError(404, "no-evaluations", "nobody scored this call with that form")
    report = qa.calibrate(form, [e.marks for e in found])
    return CalibrationOut(call_id=call_id, form_id=form_id, form_version=version,
                          inspectors=[e.inspector for e in found], total=_spread(report.total),
                          items={k: _spread(v) for k, v in report.items.items()})


class ScorecardOut(BaseModel):
    agent_id: str
    since: float
    until: float
    evaluations: int
    qa_score: float | None
    fatal_errors: int
    non_fatal_error_rate: float | None
    callback_timeliness: float | None
    callbacks_done: int
    utilisation: float | None
    avg_talk_s: float | None
    avg_acw_s: float | None
    calls: int


@router.get("/scorecard/{agent_id}", responses=ERRORS)
async def agent_scorecard(user: Reader, services: ServicesDep, settings: SettingsDep,
                          agent_id: PathId,
                          since: Annotated[float, Query(ge=0, le=MAX_EPOCH)],
                          until: Annotated[float, Query(ge=0, le=MAX_EPOCH)]) -> ScorecardOut:
    """The agent's balanced scorecard over [since, until) (a span of at most 31 days); an
    agent reads only their own."""
    if not _staff(user) and agent_id != user.username:
        raise ApiError(403, "forbidden", "an agent reads only their own scorecard")
    _report_span(since, until, "query")
    async with history_store(services) as conn:
        spans, calls, orders, evaluated = await store.scorecard_inputs(conn, agent_id,
                                                                       since, until)
    card = qa.scorecard(agent_id, since, until, spans=spans, calls=calls, orders=orders,
                        evaluations=evaluated, now=services.clock(),
                        excused=frozenset(settings.utilisation_excused_reasons))
    return ScorecardOut(**{f: getattr(card, f) for f in ScorecardOut.model_fields})


__all__ = ["router"]
