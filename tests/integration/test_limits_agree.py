"""Limits come from one place, so the API's schema and PostgreSQL agree: every length CHECK
of the migrated database has a row here naming the constant the code uses (where there is
one) and the API fields that write into the column; each field refuses a value one longer
than the CHECK allows (else it reaches PostgreSQL: a 500; a pattern may be stricter still),
and the constant is the CHECK's number. A new length CHECK without a row fails."""

from __future__ import annotations

import re
from typing import Annotated, Any

import asyncpg
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from hotline.api.routes.centre import AgentCreate, TeamIn, VendorIn, VipIn
from hotline.api.routes.complaints import ReviewIn
from hotline.api.routes.kb import ActionIn, ArticleEdit, ArticleIn
from hotline.api.routes.qa import DisputeIn, EvaluationIn, FormIn
from hotline.api.routes.reports import ConductIn
from hotline.api.routes.users import UserCreate
from hotline.api.routes.work_orders import FinalAnswerIn, OrderIn
from hotline.api.schemas import USERNAME_MAX_LEN, TokenRequest
from hotline.campaigns import model as campaigns
from hotline.centre.model import GROUP_NAME_MAX_LEN
from hotline.kb import model as kb
from hotline.qa import model as qa
from hotline.work_orders import model as work_orders

#: (table, column) -> (the code's constant or None, [(model, field, a character it fits)])
LIMITS: dict[tuple[str, str], tuple[int | None, list[tuple[type[BaseModel], str, str]]]] = {
    ("work_orders", "caller"): (work_orders.CALLER_MAX_LEN, [(OrderIn, "caller", "1")]),
    ("work_orders", "description"): (work_orders.DESCRIPTION_MAX_LEN, [
        (OrderIn, "description", "x"), (FinalAnswerIn, "text", "x")]),
    ("qa_forms", "form_id"): (qa.FORM_ID_MAX_LEN, [(FormIn, "form_id", "f"),
                                                   (EvaluationIn, "form_id", "f")]),
    ("qa_disputes", "reason"): (qa.DISPUTE_REASON_MAX_LEN, [(DisputeIn, "reason", "x")]),
    ("users", "username"): (USERNAME_MAX_LEN, [(UserCreate, "username", "u"),
                                               (TokenRequest, "username", "u")]),
    ("agents", "id"): (None, [(AgentCreate, "id", "a")]),
    ("scorecard_conduct", "reason"): (None, [(ConductIn, "reason", "x")]),
    ("teams", "name"): (GROUP_NAME_MAX_LEN, [(TeamIn, "name", "x")]),
    ("vendors", "name"): (GROUP_NAME_MAX_LEN, [(VendorIn, "name", "x")]),
    ("kb_versions", "title"): (kb.TITLE_MAX_LEN, [(ArticleIn, "title", "x"),
                                                  (ArticleEdit, "title", "x")]),
    ("kb_versions", "body"): (kb.BODY_MAX_LEN, [(ArticleIn, "body", "x"),
                                                (ArticleEdit, "body", "x")]),
    ("kb_versions", "note"): (kb.NOTE_MAX_LEN, [(ActionIn, "note", "x")]),
    ("vip_numbers", "note"): (None, [(VipIn, "note", "x")]),
    ("complaint_reviews", "reason"): (work_orders.DESCRIPTION_MAX_LEN, [(ReviewIn, "reason", "x")]),
    ("rectifications", "measures"): (work_orders.DESCRIPTION_MAX_LEN,
                                     [(ReviewIn, "measures", "x")]),
    # written from the customer system and by the notice sender, not through the API
    ("accounts", "address"): (None, []),
    ("accounts", "sensitive_note"): (None, []),
    ("work_order_notices", "address"): (None, []),
    # built from the outage by the campaign (model.notice_texts bounds them), and the job's
    ("outage_campaigns", "text_zh"): (campaigns.MAX_TEXT_LEN, []),
    ("outage_campaigns", "text_en"): (campaigns.MAX_TEXT_LEN, []),
    ("campaign_attempts", "detail"): (None, []),
}


async def length_checks(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    """(table, column) -> the longest value its CHECK allows."""
    rows = await conn.fetch(
        "SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def"
        " FROM pg_constraint WHERE contype = 'c'")
    out = {}
    for r in rows:
        for m in re.finditer(r"length\((\w+)\)\s*(?:<=\s*(\d+)|>=\s*\d+\)\s*AND\s*\(length"
                             r"\(\w+\)\s*<=\s*(\d+))", r["def"]):
            out[(r["tbl"], m.group(1))] = int(m.group(2) or m.group(3))
    return out


def accepts(model: type[BaseModel], name: str, value: str) -> bool:
    field = model.model_fields[name]
    try:
        # an optional field (`X | None`) keeps its constraints inside the union: no metadata
        kind = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return False
    return True


async def test_every_length_check_has_a_row(conn: asyncpg.Connection) -> None:
    checks = await length_checks(conn)
    assert checks, "no length CHECK found: the parser no longer reads pg_get_constraintdef"
    missing = sorted(set(checks) - set(LIMITS))
    assert not missing, f"length CHECKs without a row in LIMITS: {missing}"


@pytest.mark.parametrize("column", sorted(LIMITS), ids=lambda c: ".".join(c))
async def test_the_schema_refuses_what_the_database_would(
        conn: asyncpg.Connection, column: tuple[str, str]) -> None:
    limit = (await length_checks(conn))[column]
    constant, fields = LIMITS[column]
    if constant is not None:
        assert constant == limit, f"{column}: the code says {constant}, the CHECK {limit}"
    wrong: list[Any] = []
    for model, name, char in fields:
        if accepts(model, name, char * (limit + 1)):
            wrong.append(f"{model.__name__}.{name} accepts {limit + 1} characters")
    assert not wrong, f"{column} (CHECK: at most {limit}): {wrong}"
