"""The survey's figures over a period, in SQL (the same definitions as model.py: the pure
function and this query agree on the same rows; docs/metrics.md, "Survey")."""

from __future__ import annotations

import asyncpg

from hotline.store.queries import ts
from hotline.survey.model import DETRACTOR_TO, PROMOTER_FROM, Grouping, SurveyFigures

#: the column of each grouping (a fixed map: never a caller's text in the SQL)
_COLUMN: dict[Grouping, str] = {"agent": "agent_id", "queue": "queue", "service": "service",
                                "unit": "unit"}


async def survey_figures(conn: asyncpg.Connection, since: float, until: float,
                         by: Grouping | None, satisfied_to: int,
                         dissatisfied_from: int) -> dict[str, SurveyFigures]:
    """The figures of the answers given in [since, until), per agent, queue, service type or
    unit (None: one row, key ""). Groups without a two-question answer are left out."""
    key = _COLUMN[by] if by else "''"
    rows = await conn.fetch(
        f"SELECT {key} AS k,"
        " count(satisfaction) AS sats,"
        " count(*) FILTER (WHERE satisfaction <= $3) AS sat,"
        " count(*) FILTER (WHERE satisfaction >= $4) AS dis,"
        " count(nps) AS n,"
        " count(*) FILTER (WHERE nps >= $5) AS pro,"
        " count(*) FILTER (WHERE nps <= $6) AS det"
        " FROM survey_answers WHERE at >= $1 AND at < $2"
        " AND (satisfaction IS NOT NULL OR nps IS NOT NULL)"
        + (f" GROUP BY {key}" if by else ""),
        ts(since), ts(until), satisfied_to, dissatisfied_from, PROMOTER_FROM, DETRACTOR_TO)
    return {r["k"]: SurveyFigures(r["sats"], r["sat"], r["dis"], r["n"], r["pro"], r["det"])
            for r in rows if r["sats"] or r["n"]}
