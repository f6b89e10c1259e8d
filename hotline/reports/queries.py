"""The report figures' SQL, in one place: PostgreSQL counts a period's calls, work orders and
agent time per group, and hands back one row per group (hotline/reports/model.py makes the
figures of them; its `count_*` functions are the definition this SQL keeps).

Groups: an agent's rows roll up through the `agent_rollup` view (migration 016: agent ->
team -> vendor); the centre is one group; queue, service type and responsible unit group
the calls and orders themselves. A source a grouping has no key for (agent time by queue, a
call by unit) is not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from hotline.realtime.figures import service_level
from hotline.reports import rollup
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
from hotline.reports.periods import Period, buckets, period_of
from hotline.survey import queries as survey_queries
from hotline.survey.model import SurveyFigures

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
    WHERE (o.created_at >= $1 AND o.created_at < $2)
        OR (o.closed_at >= $1 AND o.closed_at < $2)
        OR (o.service = 'complaint' AND report_settled(o.replied_at, o.resolve_by) >= $1
            AND report_settled(o.replied_at, o.resolve_by) < $3)
        OR (o.callback_by IS NOT NULL AND report_settled(o.callback_done_at, o.callback_by) >= $1
            AND report_settled(o.callback_done_at, o.callback_by) < $3)
        OR (o.callback_done_at >= $1 AND o.callback_done_at < $2)
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
                     AND created_at < $2) AS reports
FROM o WHERE key IS NOT NULL GROUP BY key
"""
# $1 since, $2 until: the report orders of the same period a year before
_LAST_YEAR = f"""
SELECT key, count(*) AS reports_last_year FROM (
    SELECT {{key}} AS key
    FROM work_orders o LEFT JOIN agent_rollup r ON r.agent_id = o.created_by
    WHERE o.service = 'report' AND o.created_at >= {_YEAR_BEFORE % 1}
        AND o.created_at < {_YEAR_BEFORE % 2}
) x WHERE key IS NOT NULL GROUP BY key
"""

# $1 since, $2 cut, $3 busy states, $4 available states, $5 the excused not-ready reasons,
# $6/$7 the raw pieces' starts and ends, $8 days and $9 quarters rolled up: the closed spans
# clipped to each raw piece, the open ones (never rolled up) to [since, cut), and the
# roll-ups' buckets, in microseconds: integer sums, the same total whatever the tiling
_STATES = """
WITH t AS (SELECT * FROM unnest($6::timestamptz[], $7::timestamptz[]) t(a, b)
), spans AS (
    SELECT s.agent_id, s.state, s.reason,
        (extract(epoch FROM least(s.ended_at, t.b) - greatest(s.started_at, t.a))
         * 1000000)::bigint AS us
    FROM t JOIN agent_state_log s
        ON tstzrange(s.started_at, greatest(coalesce(s.ended_at, 'infinity'), s.started_at),
                     '[]') && tstzrange(t.a, t.b, '[]')
        AND s.started_at < t.b AND s.ended_at > t.a
    UNION ALL
    SELECT s.agent_id, s.state, s.reason,
        (extract(epoch FROM $2 - greatest(s.started_at, $1)) * 1000000)::bigint
    FROM agent_state_log s WHERE s.ended_at IS NULL AND s.started_at < $2
), parts AS (
    SELECT agent_id,
        CASE WHEN state = ANY($3::text[]) THEN us ELSE 0 END AS busy_us,
        CASE WHEN state = ANY($4::text[]) THEN us ELSE 0 END AS available_us,
        CASE WHEN state <> 'logged_out' THEN us ELSE 0 END AS logged_in_us,
        CASE WHEN state = 'not_ready' AND reason = ANY($5::text[]) THEN us ELSE 0 END
            AS excused_us
    FROM spans
    UNION ALL
    SELECT u.agent_id, u.busy_us, u.available_us, u.logged_in_us,
        CASE WHEN u.reason = ANY($5::text[]) THEN u.not_ready_us ELSE 0 END
    FROM report_state_rollup u
    WHERE (u.grain = 86400 AND u.bucket = ANY($8::timestamptz[]))
        OR (u.grain = 900 AND u.bucket = ANY($9::timestamptz[]))
)
SELECT {key} AS key,
    coalesce(sum(s.busy_us), 0)::float8 / 1000000 AS busy_s,
    coalesce(sum(s.available_us), 0)::float8 / 1000000 AS available_s,
    coalesce(sum(s.logged_in_us), 0)::float8 / 1000000 AS logged_in_s,
    coalesce(sum(s.excused_us), 0)::float8 / 1000000 AS excused_s
FROM parts s LEFT JOIN agent_rollup r ON r.agent_id = s.agent_id
WHERE {key} IS NOT NULL GROUP BY 1
"""


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _add(into: dict[str, Counts], rows: list[asyncpg.Record]) -> None:
    for r in rows:
        values = dict(r)
        key = str(values.pop("key"))
        into[key] = into.get(key, Counts()) + Counts(**values)


# --- the roll-ups (hotline/reports/rollup.py): which dimension's rows each grouping sums, and
# the key (u: the roll-up row, r: agent_rollup)
_ROLLED: dict[By, tuple[str, str, str]] = {
    By.AGENT: ("agent", "u.key", ""),
    By.TEAM: ("agent", "r.team_id", "JOIN agent_rollup r ON r.agent_id = u.key"),
    By.VENDOR: ("agent", "r.vendor_id", "JOIN agent_rollup r ON r.agent_id = u.key"),
    By.CENTRE: ("centre", "u.key", ""),
    By.QUEUE: ("queue", "u.key", ""),
    By.SERVICE: ("service", "u.key", ""),
    By.UNIT: ("unit", "u.key", ""),
}
_ROLLED_SQL = """
SELECT {key} AS key, {sums} FROM {table} u {join}
WHERE u.dim = $1 AND ((u.grain = 86400 AND u.bucket = ANY($2::timestamptz[]))
                      OR (u.grain = 900 AND u.bucket = ANY($3::timestamptz[])))
GROUP BY 1
"""


def _sums(columns: dict[str, str]) -> str:
    return ", ".join(f"sum(u.{col})::bigint AS {name}" for name, col in columns.items())


def _call_sums(window_s: float) -> str:
    h = int(window_s // 3600)
    return _sums({"offered": "offered", "answered": "answered", "handled": "handled",
                  "resolved_first": f"resolved_first_{h}h", "entered": "entered",
                  "repeats": f"repeats_{h}h"})


_ORDER_SUMS = _sums({c: c for c in (
    "complaints", "verdicts", "substantiated", "complaints_due", "complaints_on_time",
    "callbacks_due", "callbacks_on_time", "callbacks_done", "reports")})


@dataclass(frozen=True, slots=True)
class Cover:
    """How [since, until) is read: local days and quarters from the roll-ups, and the rest
    (ragged ends, marked quarters, the time not rolled up yet) from the raw rows."""

    days: list[datetime]
    quarters: list[datetime]
    raw: list[tuple[float, float]]


async def cover(conn: asyncpg.Connection, since: float, until: float) -> Cover:
    """The widest buckets of [since, until) rolled up and unmarked (rollup.py)."""
    q, d = rollup.QUARTER_S, rollup.DAY_S
    state = await conn.fetchrow("SELECT rolled_until, day_offset_s FROM report_rollup_state")
    rolled, day_offset = state["rolled_until"], state["day_offset_s"]
    lo = -(-since // q) * q
    hi = min(until // q * q, rolled.timestamp() if rolled else lo)
    if hi <= lo:
        return Cover([], [], [(since, until)] if since < until else [])
    dirty = {r["bucket"].timestamp() for r in await conn.fetch(
        "SELECT bucket FROM report_dirty WHERE bucket >= $1 AND bucket < $2", _ts(lo),
        _ts(hi))}
    days: list[datetime] = []
    quarters: list[datetime] = []
    raw: list[tuple[float, float]] = []

    def read_raw(a: float, b: float) -> None:
        if a >= b:
            return
        if raw and raw[-1][1] == a:
            raw[-1] = (raw[-1][0], b)
        else:
            raw.append((a, b))

    read_raw(since, lo)
    t = lo
    while t < hi:
        if ((t + day_offset) % d == 0 and t + d <= hi
                and not any(t <= x < t + d for x in dirty)):
            days.append(_ts(t))
            t += d
        elif t in dirty:
            read_raw(t, t + q)
            t += q
        else:
            quarters.append(_ts(t))
            t += q
    read_raw(hi, until)
    return Cover(days, quarters, raw)


async def counts(conn: asyncpg.Connection, by: By, since: float, until: float, now: float,
                 rules: Rules, *, rolled: bool = True) -> dict[str, Counts]:
    """Each group's counts over [since, until) as of `now` (docs/metrics.md, "Report
    figures"); a centre report always has its one group. The roll-ups' buckets where they
    hold (`rolled`, the centre's repeat window one they keep), the raw rows elsewhere: the
    same counts either way (tests/integration/test_report_rollup.py)."""
    cut = max(since, min(until, now))
    keys = KEYS[by]
    out: dict[str, Counts] = {CENTRE_KEY: Counts()} if by is By.CENTRE else {}
    # a bucket counts deadlines up to its end: one only when it ended by now
    use = rolled and rules.repeat_window_s in rollup.WINDOWS_S
    part = await cover(conn, since, min(until, max(since, now))) if use else None
    raw = [(since, until)] if part is None else part.raw
    if part is not None and until > max(since, now):
        raw = [*raw, (max(since, now), until)]
    if part is not None and (part.days or part.quarters):
        dim, key, join = _ROLLED[by]
        for table, sums in (("report_call_rollup", _call_sums(rules.repeat_window_s)),
                            ("report_order_rollup", _ORDER_SUMS)):
            if table == "report_call_rollup" and not keys["calls"]:
                continue
            _add(out, await conn.fetch(
                _ROLLED_SQL.format(key=key, sums=sums, table=table, join=join), dim,
                part.days, part.quarters))
    for a, b in raw:
        if keys["calls"]:
            _add(out, await conn.fetch(_CALLS.format(key=keys["calls"]), _ts(a), _ts(b),
                                       rules.repeat_window_s, list(ANSWERED_OUTCOMES)))
        if keys["orders"]:
            _add(out, await conn.fetch(_ORDERS.format(key=keys["orders"]), _ts(a), _ts(b),
                                       _ts(max(a, min(b, cut)))))
    if keys["orders"]:
        _add(out, await conn.fetch(_LAST_YEAR.format(key=keys["orders"]), _ts(since),
                                   _ts(until)))
    if keys["states"]:
        tiles = [(since, cut)] if part is None or cut == since else part.raw
        _add(out, await conn.fetch(
            _STATES.format(key=keys["states"]), _ts(since), _ts(cut),
            sorted(map(str, BUSY_STATES)), sorted(map(str, AVAILABLE_STATES)),
            sorted(rules.excused_reasons), [_ts(a) for a, _ in tiles],
            [_ts(b) for _, b in tiles], part.days if part else [],
            part.quarters if part else []))
    return out


async def report(conn: asyncpg.Connection, by: By, since: float, until: float, now: float,
                 rules: Rules, *, rolled: bool = True) -> list[Figures]:
    """Every group's figures, by key (`rolled`: from the roll-ups where they hold)."""
    found = await counts(conn, by, since, until, now, rules, rolled=rolled)
    return [figures(key, c, by) for key, c in sorted(found.items())]


async def by_time(conn: asyncpg.Connection, by: By, key: str, since: float, until: float,
                  now: float, rules: Rules, step_s: int, offset_s: int
                  ) -> list[tuple[float, float, Figures]]:
    """One group's figures (`key` of `by`) in each local day, hour or quarter of [since,
    until) (periods.buckets): the drill-down of a report's row. Each bucket is a report of
    its own (`counts`, from the roll-ups where they hold), so every figure keeps its one
    definition and every count sums over the buckets to the period's."""
    out: list[tuple[float, float, Figures]] = []
    for a, b in buckets(since, until, step_s, offset_s):
        found = await counts(conn, by, a, b, now, rules)
        out.append((a, b, figures(key, found.get(key, Counts()), by)))
    return out


# --- the balanced scorecard's own values (hotline/reports/scorecard.py) ---------------------

#: The key of the people groupings, over an agent id column `{a}` (r: agent_rollup)
PEOPLE_KEYS: dict[By, str] = {By.AGENT: "{a}", By.TEAM: "r.team_id", By.VENDOR: "r.vendor_id"}

# $1 since, $2 until: the sample evaluations of calls entered in the period, a re-check
# replacing its original (as the QA scorecard, hotline/qa/queries.py scorecard_inputs)
_EVALUATED = """
    SELECT {key} AS key, coalesce(x.score, e.score) AS score,
        coalesce(x.fatal, e.fatal) AS fatal, coalesce(x.errors, e.errors) AS errors
    FROM qa_evaluations e JOIN calls c ON c.call_id = e.call_id
    LEFT JOIN qa_evaluations x ON x.rechecks = e.id
    LEFT JOIN agent_rollup r ON r.agent_id = e.agent_id
    WHERE e.kind = 'sample' AND c.entered_at >= $1 AND c.entered_at < $2
"""
_QA = f"""
WITH v AS ({_EVALUATED})
SELECT key, count(*) AS evaluations, avg(score) AS qa_score,
    count(*) FILTER (WHERE fatal) AS fatal_errors,
    count(*) FILTER (WHERE (SELECT coalesce(sum(n::int), 0) FROM jsonb_each_text(errors) j(k, n))
                     > 0) AS with_errors
FROM v WHERE key IS NOT NULL GROUP BY key
"""
_ERRORS = f"""
WITH v AS ({_EVALUATED})
SELECT key, j.k AS class, sum(j.n::int) AS n
FROM v, jsonb_each_text(v.errors) j(k, n) WHERE key IS NOT NULL GROUP BY key, j.k
"""
_SCORES = """
SELECT {key} AS key, s.kind, avg(s.score) AS score
FROM scorecard_scores s LEFT JOIN agent_rollup r ON r.agent_id = s.agent_id
WHERE s.taken_at >= $1 AND s.taken_at < $2 GROUP BY 1, 2
"""
# conduct points per group over the group's agents (every agent of the team or vendor)
_CONDUCT = """
WITH p AS (
    SELECT {key} AS key, sum(s.points) AS points
    FROM scorecard_conduct s LEFT JOIN agent_rollup r ON r.agent_id = s.agent_id
    WHERE s.at >= $1 AND s.at < $2 GROUP BY 1
), n AS (
    SELECT {akey} AS key, count(*) AS agents FROM agent_rollup r GROUP BY 1
)
SELECT p.key, p.points, coalesce(n.agents, 1) AS agents
FROM p LEFT JOIN n ON n.key = p.key WHERE p.key IS NOT NULL
"""


@dataclass(frozen=True, slots=True)
class CardValues:
    """One group's scorecard inputs: its indicator values, conduct points (per agent), and
    error counts by class."""

    values: dict[str, float | None]
    conduct: float
    errors: dict[str, int]
    fatal_errors: int


async def scorecard_values(conn: asyncpg.Connection, by: By, since: float, until: float,
                           now: float, rules: Rules) -> dict[str, CardValues]:
    """Each agent's, team's or vendor's scorecard values over [since, until)."""
    if by not in PEOPLE_KEYS:
        raise ValueError(f"a scorecard is by agent, team or vendor, not {by}")
    found = {f.key: f for f in await report(conn, by, since, until, now, rules)}
    values: dict[str, dict[str, float | None]] = {
        k: {"first_call_resolution": f.first_call_resolution,
            "complaint_rate": f.complaint_rate,
            "callback_timeliness": f.callback_timeliness, "utilisation": f.utilisation}
        for k, f in found.items()}
    fatal: dict[str, int] = {}
    errors: dict[str, dict[str, int]] = {}
    conduct: dict[str, float] = {}
    args = (_ts(since), _ts(until))
    for r in await conn.fetch(_QA.format(key=PEOPLE_KEYS[by].format(a="e.agent_id")), *args):
        v = values.setdefault(r["key"], {})
        v["qa_score"] = r["qa_score"]
        v["non_fatal_error_rate"] = r["with_errors"] / r["evaluations"]
        fatal[r["key"]] = r["fatal_errors"]
    for r in await conn.fetch(_ERRORS.format(key=PEOPLE_KEYS[by].format(a="e.agent_id")),
                              *args):
        errors.setdefault(r["key"], {})[r["class"]] = r["n"]
    for r in await conn.fetch(_SCORES.format(key=PEOPLE_KEYS[by].format(a="s.agent_id")),
                              *args):
        values.setdefault(r["key"], {})[r["kind"]] = r["score"]
    for r in await conn.fetch(_CONDUCT.format(key=PEOPLE_KEYS[by].format(a="s.agent_id"),
                                              akey=PEOPLE_KEYS[by].format(a="r.agent_id")),
                              *args):
        conduct[r["key"]] = r["points"] / r["agents"]
        values.setdefault(r["key"], {})
    return {k: CardValues(v, conduct.get(k, 0.0), errors.get(k, {}), fatal.get(k, 0))
            for k, v in sorted(values.items())}


async def targets(conn: asyncpg.Connection) -> dict[str, tuple[float, float]]:
    """The centre's (target, weight) per indicator it set."""
    return {r["indicator"]: (r["target"], r["weight"])
            for r in await conn.fetch("SELECT indicator, target, weight FROM scorecard_targets")}


# --- warning lists ------------------------------------------------------------------------

# $1 since, $2 until, $3 cut: per unit, the orders whose resolve limit passed in [since, cut)
# without a reply by it (overdue), and the complaints closed substantiated in [since, until)
_MONTHLY = """
SELECT unit, 'overdue' AS reason, id, service, created_at, resolve_by, replied_at, closed_at
FROM work_orders WHERE unit <> '' AND resolve_by >= $1 AND resolve_by < $3
    AND (replied_at IS NULL OR replied_at > resolve_by)
UNION ALL
SELECT unit, 'substantiated', id, service, created_at, resolve_by, replied_at, closed_at
FROM work_orders WHERE unit <> '' AND service = 'complaint' AND substantiated
    AND closed_at >= $1 AND closed_at < $2
ORDER BY unit, reason, id
"""
# $1 since, $2 until, $3 cut, $4 the slow share: orders still unreplied at some moment of
# [since, cut) past `share` of their time limit (slow_at = created + share × limit)
_SLOW = """
WITH o AS (
    SELECT o.*, o.created_at + $4 * (o.resolve_by - o.created_at) AS slow_at FROM work_orders o
)
SELECT unit, 'slow' AS reason, id, service, created_at, resolve_by, replied_at, closed_at
FROM o WHERE slow_at < $3 AND (replied_at IS NULL OR replied_at > greatest(slow_at, $1))
    AND created_at < $2
ORDER BY unit, id
"""


@dataclass(frozen=True, slots=True)
class Warned:
    unit: str
    reason: str  # overdue, substantiated, slow
    order_id: int
    service: str
    created_at: float
    resolve_by: float
    replied_at: float | None
    closed_at: float | None


def _epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


async def warnings(conn: asyncpg.Connection, kind: str, since: float, until: float,
                   now: float, unit: str | None = None,
                   slow_share: float = 0.8) -> list[Warned]:
    """The monthly warning list (`monthly`: overdue and substantiated, per unit) or the weekly
    list of slow orders (`slow`) of [since, until) as of now (docs/metrics.md, "Warning
    lists"); one unit's if given."""
    cut = max(since, min(until, now))
    if kind == "monthly":
        rows = await conn.fetch(_MONTHLY, _ts(since), _ts(until), _ts(cut))
    else:
        rows = await conn.fetch(_SLOW, _ts(since), _ts(until), _ts(cut), slow_share)
    return [Warned(r["unit"], r["reason"], r["id"], r["service"], r["created_at"].timestamp(),
                   r["resolve_by"].timestamp(), _epoch(r["replied_at"]),
                   _epoch(r["closed_at"]))
            for r in rows if unit is None or r["unit"] == unit]


# --- the charts: intervals, NPS by day, agent states -------------------------------------

# $1 queue, $2 since, $3 until, $4 the step (s), $5 the centre's offset east of UTC (s): the
# interval rows summed per step of the centre's local clock (a day starts at local midnight)
_INTERVALS = """
SELECT floor((extract(epoch FROM interval_start) + $5) / $4)::bigint AS b,
    sum(offered)::int AS offered, sum(answered)::int AS answered,
    sum(abandoned)::int AS abandoned, sum(short_abandoned)::int AS short_abandoned,
    sum(answered_within_t)::int AS answered_within_t,
    max((figures->>'sl_target')::float8) AS sl_target
FROM interval_stats WHERE queue = $1 AND interval_start >= $2 AND interval_start < $3
GROUP BY b ORDER BY b
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    start: float
    offered: int
    answered: int
    abandoned: int
    service_level: float | None  # realtime/figures.py service_level, over the bucket
    sl_target: float | None


async def intervals(conn: asyncpg.Connection, queue: str, since: float, until: float,
                    step_s: int, offset_s: int) -> list[Bucket]:
    """A queue's interval rows (queue `*`: all queues) in [since, until), per 15 minutes,
    hour or day (docs/metrics.md, "Interval rows")."""
    rows = await conn.fetch(_INTERVALS, queue, _ts(since), _ts(until), step_s, offset_s)
    return [Bucket(r["b"] * step_s - offset_s, r["offered"], r["answered"], r["abandoned"],
                   service_level(r["answered_within_t"], r["answered"], r["abandoned"],
                                 r["short_abandoned"]), r["sl_target"]) for r in rows]


async def nps_by_day(conn: asyncpg.Connection, since: float, until: float, offset_s: int,
                     satisfied_to: int, dissatisfied_from: int
                     ) -> list[tuple[float, SurveyFigures | None]]:
    """The survey's figures (docs/metrics.md, "Survey") of each local day in [since, until)."""
    out: list[tuple[float, SurveyFigures | None]] = []
    start = since
    while start < until:
        end = min(until, period_of(Period.DAY, start, offset_s)[1])
        found = await survey_queries.survey_figures(conn, start, end, None, satisfied_to,
                                                    dissatisfied_from)
        out.append((start, found.get("")))
        start = end
    return out


async def state_spans(conn: asyncpg.Connection, since: float, until: float, now: float, *,
                      limit: int, offset: int) -> list[tuple[str, str, float, float]]:
    """Every agent's state spans clipped to [since, min(until, now)): (agent, state, start,
    end), by agent and time; logged-out time left out."""
    cut = max(since, min(until, now))
    rows = await conn.fetch(
        "SELECT agent_id, state, greatest(started_at, $1) AS s,"
        " least(coalesce(ended_at, $2), $2) AS e FROM agent_state_log"
        " WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1)"
        " AND state <> 'logged_out' AND least(coalesce(ended_at, $2), $2) > greatest("
        "started_at, $1) ORDER BY agent_id, started_at, ended_at LIMIT $3 OFFSET $4",
        _ts(since), _ts(cut), limit, offset)
    return [(r["agent_id"], r["state"], r["s"].timestamp(), r["e"].timestamp()) for r in rows]


__all__ = ["KEYS", "PEOPLE_KEYS", "Bucket", "CardValues", "Cover", "Warned", "by_time", "counts",
           "cover",
           "intervals", "nps_by_day", "report", "scorecard_values", "state_spans", "targets",
           "warnings"]
