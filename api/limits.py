"""Request bounds, in one place (docs/security.md, "Request bounds").

The API runs on the event loop that routes calls: a request that makes Python hold or walk an
unbounded number of rows stalls routing, and a stall longer than the hold watchdog's guard
sends every waiting caller to the failsafe. So every list pages with a maximum page size, every
date range has a maximum span, and the heavy work (the QA sample, the scorecard's sums) is done
by PostgreSQL, which hands Python only what the answer holds.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeVar

from fastapi import Query

from hotline.core.errors import InvalidRequest

T = TypeVar("T")

#: The most rows one page of any list holds.
MAX_PAGE = 500
#: The page size when a request does not name one.
DEFAULT_PAGE = 100
#: How far offset paging goes; keyset paging (GET /api/calls) has no such limit. PostgreSQL
#: reads and drops `offset` rows, so a deep offset is work without an answer.
MAX_OFFSET = 100_000
#: Epoch seconds up to the year 9999; also refuses nan and inf.
MAX_EPOCH = 253_402_300_799.0
DAY_S = 86_400.0
#: Requests that reduce a period to one answer (the QA sample, an agent's scorecard): at most
#: a month (31 days). Both ends are required.
MAX_REPORT_SPAN_S = 31 * DAY_S
#: Paged lists filtered by time (calls, agent states): a range with both ends is at most a
#: year; an open end is allowed, as the page bounds what is read.
MAX_LIST_SPAN_S = 366 * DAY_S
#: A report drilled down by time (GET /api/reports/breakdown): at most this many steps (a
#: day of quarters, four days of hours), and never more than MAX_REPORT_SPAN_S.
MAX_BREAKDOWN_STEPS = 96

#: The forecast's accuracy report: at most this many days (one fit each).
MAX_ACCURACY_DAYS = 62
#: Days the planning routes take: their weeks of history and the next day stay in the calendar.
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(9998, 12, 31)
#: The what-if (POST /api/planning/what-if) simulates a day twice in a worker process
#: (api/workers.py), one at a time: at most this many forecast calls in the day (both runs
#: together about 13 s on this 2-core machine under a load of 5, 1,841 calls 1.0 s) and
#: this many agents on the floor in an interval, in either run.
MAX_WHAT_IF_CALLS = 30_000
MAX_WHAT_IF_AGENTS = 3_000
#: The week's plan (POST /api/plans/week): the CP-SAT model runs in its own worker process
#: (api/workers.py SOLVER), one at a time, at most this long (the planner's time limit), over
#: at most this many choices (days x agents x shifts x queues).
MAX_PLAN_SECONDS = 60.0
MAX_PLAN_CHOICES = 400_000

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]


class SpanTooLong(InvalidRequest, ValueError):
    """A date range wider than its route allows (422)."""

    error_id = "span-too-long"


def check_span(since: float | None, until: float | None, max_span_s: float) -> None:
    """Raises SpanTooLong when [since, until) is wider than `max_span_s`. An open end passes
    (callers that need both ends require them in their schema); until <= since is empty."""
    if since is not None and until is not None and until - since > max_span_s:
        raise SpanTooLong(
            f"the range spans {until - since:.0f} s, at most {max_span_s:.0f} s",
            details={"max_span_s": max_span_s})


def page(rows: list[T], limit: int, offset: int) -> list[T]:
    """One page of a list held in memory (the router's agents and queues, the centre's
    configuration): the list is as long as the configuration, the answer as the page."""
    return rows[offset:offset + limit]


__all__ = ["DAY_S", "DEFAULT_PAGE", "FIRST_DAY", "LAST_DAY", "MAX_ACCURACY_DAYS",
           "MAX_BREAKDOWN_STEPS", "MAX_EPOCH", "MAX_LIST_SPAN_S", "MAX_OFFSET", "MAX_PAGE",
           "MAX_PLAN_CHOICES", "MAX_PLAN_SECONDS", "MAX_REPORT_SPAN_S",
           "MAX_WHAT_IF_AGENTS", "MAX_WHAT_IF_CALLS", "Limit", "Offset", "SpanTooLong",
           "check_span", "page"]
