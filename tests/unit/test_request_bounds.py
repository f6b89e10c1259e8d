"""Every request is bounded (issue #14 item 6): every route that answers a list pages it with
a maximum page size, and every date range has a maximum span, all from hotline/api/limits.py.
Walked over the OpenAPI document, so a new list route without a page fails here."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.api import Services, create_app, limits
from hotline.core.settings import Settings

#: Lists whose length is bounded otherwise, and why. Anything else that answers a list pages.
NOT_PAGED = {
    ("get", "/api/work-order-scenarios"): "the scenario templates: a handful, seeded in code",
    ("get", "/api/work-order-limits"): "one row per service type and unit that has its own limit",
    ("get", "/api/qa/forms/{form_id}"): "one form: sections and items bounded when written",
    ("get", "/api/auth/me"): "the caller's own roles",
    ("get", "/api/agents/{agent_id}/desk"): "the desk's recent calls are capped in memory",
    ("get", "/api/calls/{call_id}"): "one call; the first MAX_PAGE of its explanations",
    ("get", "/api/calls/{call_id}/story"): "one caller's story: each list at most STORY_ROWS",
    ("get", "/api/qa/evaluations/{eval_id}"): "one evaluation: its marks bounded when written",
    ("get", "/api/planning/forecast"): "one day: its 96 quarter hours",
    ("get", "/api/planning/accuracy"): "at most MAX_ACCURACY_DAYS days",
    ("get", "/api/planning/event-days"): "at most 366 days, one row per queue and day",
    ("get", "/api/plans/month"): "one month: a row per day",
    ("get", "/api/plans/day"): "one day of one queue: 96 quarter hours, a shift per agent",
    ("get", "/api/reports/scorecard/targets"): "one row per indicator (eight)",
    ("get", "/api/reports/intervals"): "at most 31 days of quarter hours (2,976)",
    ("get", "/api/reports/nps"): "at most 31 days, one row a day",
    ("get", "/api/reports/breakdown"): "at most MAX_BREAKDOWN_STEPS (96) buckets and 31 days",
    ("get", "/api/kb/search"): "the best `limit` (at most 50) articles: a ranking, not pages",
    ("get", "/api/kb/suggestions"): "the best `limit` (at most 50) articles for a call",
    ("get", "/api/reserve"): "one rule per queue of the centre and the reserves going now",
}


def _openapi() -> dict[str, Any]:
    return create_app(Settings(), Services.build()).openapi()


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _answers_a_list(doc: dict[str, Any], op: dict[str, Any]) -> bool:
    ok = op.get("responses", {}).get("200") or op.get("responses", {}).get("201") or {}
    schema = ok.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return False
    schema = _resolve(doc, schema)
    if schema.get("type") == "array":
        return True
    # a page object: {calls: [...], next_cursor} and the like
    return any(_resolve(doc, p).get("type") == "array" and "$ref" in p.get("items", {})
               for p in schema.get("properties", {}).values())


def _operations() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    doc = _openapi()
    return [(method, path, op, doc) for path, item in doc["paths"].items()
            for method, op in item.items() if method == "get"]


def _query(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}


def test_the_exceptions_are_routes() -> None:
    known = {(method, path) for method, path, _op, _doc in _operations()}
    assert set(NOT_PAGED) <= known


def test_every_list_route_pages_with_a_maximum() -> None:
    unbounded = []
    for method, path, op, doc in _operations():
        if (method, path) in NOT_PAGED or not _answers_a_list(doc, op):
            continue
        params = _query(op)
        limit = params.get("limit", {}).get("schema", {})
        if (limit.get("maximum", float("inf")) > limits.MAX_PAGE
                or not ({"offset", "cursor"} & params.keys())):
            unbounded.append(f"{method.upper()} {path}")
    assert unbounded == []


@pytest.mark.parametrize(("since", "until", "bound", "ok"), [
    (0.0, 31 * 86400.0, 31 * 86400.0, True),
    (0.0, 31 * 86400.0 + 1, 31 * 86400.0, False),
    (None, 10.0, 5.0, True),  # an open end: the page bounds it (lists only)
    (100.0, 50.0, 5.0, True),  # empty: nothing to read
])
def test_span_rule(since: float | None, until: float | None, bound: float, ok: bool) -> None:
    if ok:
        limits.check_span(since, until, bound)
    else:
        with pytest.raises(limits.SpanTooLong):
            limits.check_span(since, until, bound)
