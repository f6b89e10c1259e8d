"""The report figures' SQL, in one place: PostgreSQL counts a period's calls, work orders and
agent time per group, and hands back one row per group (hotline/reports/model.py makes the
figures of them; its `count_*` functions are the definition this SQL keeps).

Groups: an agent's rows roll up through the `agent_rollup` view (migration 016: agent ->
team -> vendor); the centre is one group; queue, service type and responsible unit group
the calls and orders themselves. A source a grouping has no key for (agent time by queue, a
call by unit) is not read.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from hotline.reports.model import (
    ANSWERED_OUTCOMES,
    AVAILABLE_STATES,
    BUSY_STATES,
    CENTRE_KEY,
    By,
    Counts,
    Figures,
    Rules,
    figures,
)

#: The queue of an order: the queue of its first call
_ORDER_QUEUE = ("(SELECT q.queue FROM work_order_calls l JOIN calls q ON q.call_id = l.call_id"
                " WHERE l.order_id = o.id ORDER BY l.position LIMIT 1)")
_CENTRE = f"'{CENTRE_KEY}'::text"
#: The group key of each source (calls c, work orders o, agent states s; r: agent_rollup)
KEYS: dict[By, dict[str, str | None]] = {
    By.AGENT: {"calls": "c.agent_id", "orders": "o.created_by", "states": "s.agent_id"},
    By.TEAM: {"calls": "r.team_id", "orders": "r.team_id", "states": "r.team_id"},
    By.VENDOR: {"calls": "r.vendor_id", "orders": "r.vendor_id", "states": "r.vendor_id"},
    By.CENTRE: {"calls": _CENTRE, "orders": _CENTRE, "states": _CENTRE},
    By.QUEUE: {"calls": "c.queue", "orders": _ORDER_QUEUE, "states": None},
    By.SERVICE: {"calls": "c.service", "orders": "o.service", "states": None},
    By.UNIT: {"calls": None, "orders": "nullif(o.unit, '')", "states": None},
}

# $1 since, $2 until, $3 the repeat window (s). Another call from the number within the
# window after (first-call resolution) or before (a repeat): hotline.work_orders.model
# within_repeat_window, over distinct calls.
_CALLS = """
WITH p AS (
    SELECT c.call_id, c.caller, c.entered_at, c.queued_at, c.outcome, {key} AS key
    FROM calls c LEFT JOIN agent_rollup r ON r.agent_id = c.agent_id
    WHERE c.entered_at >= $1 AND c.entered_at < $2
), m AS (
    SELECT p.*, p.outcome = ANY($4::text[]) AS answered FROM p WHERE p.key IS NOT NULL
)
SELECT key,
    count(*) FILTER (WHERE queued_at IS NOT NULL
                     AND outcome IS DISTINCT FROM 'node_failure') AS offered,
    count(*) FILTER (WHERE answered) AS answered,
    count(*) FILTER (WHERE answered AND caller <> '') AS handled,
    count(*) FILTER (WHERE answered AND caller <> '' AND NOT EXISTS (
        SELECT 1 FROM calls n WHERE n.caller = m.caller AND n.call_id <> m.call_id
        AND n.entered_at >= m.entered_at
        AND n.entered_at <= m.entered_at + make_interval(secs => $3))) AS resolved_first,
    count(*) FILTER (WHERE caller <> '') AS entered,
    count(*) FILTER (WHERE caller <> '' AND EXISTS (
        SELECT 1 FROM calls e WHERE e.caller = m.caller AND e.call_id <> m.call_id
        AND e.entered_at <= m.entered_at
        AND e.entered_at >= m.entered_at - make_interval(secs => $3))) AS repeats
FROM m GROUP BY key
"""

# $1 since, $2 until, $3 cut = min(until, now). Every order counts for the agent who created
# it (the owner: callbacks too, whoever made the call, docs/metrics.md); a deadline counts
# in the period that settles it (figures.settled_at).
_SETTLED = "(CASE WHEN {done} <= {limit} THEN {done} ELSE {limit} END)"
_YEAR_BEFORE = "(($%d AT TIME ZONE 'UTC' - interval '1 year') AT TIME ZONE 'UTC')"
_ORDERS = f"""
WITH o AS (
    SELECT o.*, {{key}} AS key
    FROM work_orders o LEFT JOIN agent_rollup r ON r.agent_id = o.created_by
)
SELECT key,
    count(*) FILTER (WHERE service = 'complaint' AND created_at >= $1
                     AND created_at < $2) AS complaints,
    count(*) FILTER (WHERE service = 'complaint' AND substantiated IS NOT NULL
                     AND closed_at >= $1 AND closed_at < $2) AS verdicts,
    count(*) FILTER (WHERE service = 'complaint' AND substantiated
                     AND closed_at >= $1 AND closed_at < $2) AS substantiated,
    count(*) FILTER (WHERE service = 'complaint'
                     AND {_SETTLED.format(done="replied_at", limit="resolve_by")} >= $1
                     AND {_SETTLED.format(done="replied_at", limit="resolve_by")} < $3
                     ) AS complaints_due,
    count(*) FILTER (WHERE service = 'complaint' AND replied_at <= resolve_by
                     AND replied_at >= $1 AND replied_at < $3) AS complaints_on_time,
    count(*) FILTER (WHERE callback_by IS NOT NULL
                     AND {_SETTLED.format(done="callback_done_at", limit="callback_by")} >= $1
                     AND {_SETTLED.format(done="callback_done_at", limit="callback_by")} < $3
                     ) AS callbacks_due,
    count(*) FILTER (WHERE callback_done_at <= callback_by
                     AND callback_done_at >= $1 AND callback_done_at < $3
                     ) AS callbacks_on_time,
    count(*) FILTER (WHERE callback_done_at >= $1 AND callback_done_at < $2
                     ) AS callbacks_done,
    count(*) FILTER (WHERE service = 'report' AND created_at >= $1
                     AND created_at < $2) AS reports,
    count(*) FILTER (WHERE service = 'report' AND created_at >= {_YEAR_BEFORE % 1}
                     AND created_at < {_YEAR_BEFORE % 2}) AS reports_last_year
FROM o WHERE key IS NOT NULL GROUP BY key
"""

# $1 since, $2 cut, $3 busy states, $4 available states, $5 the excused not-ready reasons;
# each span clipped to [since, cut), an open one runs to cut.
_STATES = """
WITH s AS (
    SELECT s.agent_id, s.state, s.reason, {key} AS key,
        extract(epoch FROM least(coalesce(s.ended_at, $2), $2)
                           - greatest(s.started_at, $1))::float8 AS d
    FROM agent_state_log s LEFT JOIN agent_rollup r ON r.agent_id = s.agent_id
    WHERE s.started_at < $2 AND (s.ended_at IS NULL OR s.ended_at > $1)
)
SELECT key,
    coalesce(sum(d) FILTER (WHERE state = ANY($3::text[])), 0) AS busy_s,
    coalesce(sum(d) FILTER (WHERE state = ANY($4::text[])), 0) AS available_s,
    coalesce(sum(d) FILTER (WHERE state <> 'logged_out'), 0) AS logged_in_s,
    coalesce(sum(d) FILTER (WHERE state = 'not_ready'
                            AND reason = ANY($5::text[])), 0) AS excused_s
FROM s WHERE key IS NOT NULL GROUP BY key
"""


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _add(into: dict[str, Counts], rows: list[asyncpg.Record]) -> None:
    for r in rows:
        values = dict(r)
        key = str(values.pop("key"))
        into[key] = into.get(key, Counts()) + Counts(**values)


async def counts(conn: asyncpg.Connection, by: By, since: float, until: float, now: float,
                 rules: Rules) -> dict[str, Counts]:
    """Each group's counts over [since, until) as of `now` (docs/metrics.md, "Report
    figures"); a centre report always has its one group."""
    cut = max(since, min(until, now))
    keys = KEYS[by]
    out: dict[str, Counts] = {CENTRE_KEY: Counts()} if by is By.CENTRE else {}
    if keys["calls"]:
        _add(out, await conn.fetch(_CALLS.format(key=keys["calls"]), _ts(since), _ts(until),
                                   rules.repeat_window_s, list(ANSWERED_OUTCOMES)))
    if keys["orders"]:
        _add(out, await conn.fetch(_ORDERS.format(key=keys["orders"]), _ts(since),
                                   _ts(until), _ts(cut)))
    if keys["states"]:
        _add(out, await conn.fetch(
            _STATES.format(key=keys["states"]), _ts(since), _ts(cut),
            sorted(map(str, BUSY_STATES)), sorted(map(str, AVAILABLE_STATES)),
            sorted(rules.excused_reasons)))
    return out


async def report(conn: asyncpg.Connection, by: By, since: float, until: float, now: float,
                 rules: Rules) -> list[Figures]:
    """Every group's figures, by key."""
    found = await counts(conn, by, since, until, now, rules)
    return [figures(key, c, by) for key, c in sorted(found.items())]


__all__ = ["KEYS", "counts", "report"]
