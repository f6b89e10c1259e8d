"""A small day worked out by hand for the report figures (#17.2): the same rows feed the pure
counting rules (tests/unit/test_report_figures.py) and PostgreSQL
(tests/integration/test_report_figures_sql.py, tests/integration/test_reports_api.py).

The period is [T0, T0 + 1 day), 2026-07-01 UTC; the report runs at NOW = T0 + 2 days. Hours
below are from T0.

Agents (the roll-up chain): a1 and a2 in team "day" of vendor "own" (自营), a3 in team
"partner" of vendor "partner" (外包).

Calls (caller, hour, outcome, agent, queue):
  k0  111  -2   answered         a1  billing   (before the period: only looked at)
  k1  111   1   answered         a1  billing   repeat of k0 (3 h); k2 follows in 4 h
  k2  111   5   answered         a2  billing   repeat of k1 (4 h); nothing after
  k3  222   2   answered         a3  fault     k4 follows 25 h later (outside 24 h)
  k4  222  27   answered         a3  fault     (after the period: only looked at)
  k5  333   3   abandoned        -   fault
  k6  333  16   answered         a3  fault     repeat of k5 within 24 h (13 h), not 12 h
  k7  444   4   short_abandoned  -   general
  k8  555   6   node_failure     -   general   (not offered)
  k9  666   7   self_served      -   general   (never queued: not offered)
  k10 ''    8   answered         a1  general   (withheld number: no FCR, no repeat)
  k11 777   9   callback         a2  billing   (called back and reached: answered)

Work orders (service, created by, unit, hours):
  o1 complaint a1 complaints_office: created 1 (call k1), resolve_by 10, replied 9, closed 11
     substantiated
  o2 complaint a3 complaints_office: created 2 (k3), resolve_by 12, replied 20, closed 21
     not substantiated
  o3 complaint a2 complaints_office: created 3 (k2), resolve_by 120, open
  o4 complaint a1 complaints_office: created -72, resolve_by -24, closed 2 substantiated
  o5 fault   a1 repair_crew:    callback_by 6,  done 5 (by a1)
  o6 billing a2 billing_office: callback_by 8,  done 10 by a1 (late; charged to a2)
  o7 billing a2 billing_office: callback_by 30, done 23
  o8 fault   a3 repair_crew:    callback_by 20, never done
  r1, r2 report a1, a3 inspection_office: created 4 and 5
  r3..r6 report a1 inspection_office: created a year before, hours 1, 6, 12, 23.5
  r7 report a1: created a year before T0 + 1 day (just outside last year's period)

Agent states (hours; an open span runs to the period's end):
  a1  ready 0-1, on_call 1-3, after_call_work 3-4, not_ready break 4-5, not_ready training
      5-7, logged_out 7-
  a2  ready -2..2, on_call 2-6, ringing 6-7, ready 7-
  a3  on_call 10-12, after_call_work 12-13, ready 13-14, logged_out 14-30
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from hotline.reports.model import CallRow, OrderRow, StateRow, year_before

T0 = datetime(2026, 7, 1, tzinfo=UTC).timestamp()
H = 3600.0
DAY = 24 * H
SINCE, UNTIL, NOW = T0, T0 + DAY, T0 + 2 * DAY
TEAMS = {"a1": "day", "a2": "day", "a3": "partner"}
VENDORS = {"day": "own", "partner": "partner"}


@dataclass(frozen=True)
class Call:
    row: CallRow
    agent: str | None
    queue: str


@dataclass(frozen=True)
class Order:
    name: str
    row: OrderRow
    created_by: str
    unit: str
    call_id: str | None = None
    callback_done_by: str = ""


def _call(cid: str, caller: str, hour: float, outcome: str, agent: str | None,
          queue: str) -> Call:
    return Call(CallRow(cid, caller, T0 + hour * H, outcome,
                        queued=outcome not in ("self_served",)), agent, queue)


CALLS = [
    _call("k0", "111", -2, "answered", "a1", "billing"),
    _call("k1", "111", 1, "answered", "a1", "billing"),
    _call("k2", "111", 5, "answered", "a2", "billing"),
    _call("k3", "222", 2, "answered", "a3", "fault"),
    _call("k4", "222", 27, "answered", "a3", "fault"),
    _call("k5", "333", 3, "abandoned", None, "fault"),
    _call("k6", "333", 16, "answered", "a3", "fault"),
    _call("k7", "444", 4, "short_abandoned", None, "general"),
    _call("k8", "555", 6, "node_failure", None, "general"),
    _call("k9", "666", 7, "self_served", None, "general"),
    _call("k10", "", 8, "answered", "a1", "general"),
    _call("k11", "777", 9, "callback", "a2", "billing"),
]


def _h(hour: float | None) -> float | None:
    return None if hour is None else T0 + hour * H


def _order(name: str, service: str, by: str, unit: str, created: float, *,
           resolve_by: float = 200, replied: float | None = None,
           closed: float | None = None, substantiated: bool | None = None,
           callback_by: float | None = None, done: float | None = None,
           call_id: str | None = None, done_by: str = "") -> Order:
    return Order(name, OrderRow(service, T0 + created * H, T0 + resolve_by * H, _h(replied),
                                _h(closed), substantiated, _h(callback_by), _h(done)),
                 by, unit, call_id, done_by)


def _last_year(name: str, at: float) -> Order:
    return Order(name, OrderRow("report", at, at + 7 * DAY), "a1", "inspection_office")


ORDERS = [
    _order("o1", "complaint", "a1", "complaints_office", 1, resolve_by=10, replied=9,
           closed=11, substantiated=True, call_id="k1"),
    _order("o2", "complaint", "a3", "complaints_office", 2, resolve_by=12, replied=20,
           closed=21, substantiated=False, call_id="k3"),
    _order("o3", "complaint", "a2", "complaints_office", 3, resolve_by=120, call_id="k2"),
    _order("o4", "complaint", "a1", "complaints_office", -72, resolve_by=-24, replied=-30,
           closed=2, substantiated=True),
    _order("o5", "fault", "a1", "repair_crew", 0.5, replied=1, callback_by=6, done=5,
           done_by="a1"),
    _order("o6", "billing", "a2", "billing_office", 0.5, replied=2, callback_by=8, done=10,
           done_by="a1"),
    _order("o7", "billing", "a2", "billing_office", 1, replied=6, callback_by=30, done=23,
           done_by="a2"),
    _order("o8", "fault", "a3", "repair_crew", 2, replied=3, callback_by=20),
    _order("r1", "report", "a1", "inspection_office", 4),
    _order("r2", "report", "a3", "inspection_office", 5),
    *(_last_year(f"r{3 + i}", year_before(T0) + h * H) for i, h in enumerate((1, 6, 12, 23.5))),
    _last_year("r7", year_before(T0 + DAY)),
]

STATES: list[tuple[str, StateRow]] = [
    ("a1", StateRow("ready", T0, T0 + H)),
    ("a1", StateRow("on_call", T0 + H, T0 + 3 * H)),
    ("a1", StateRow("after_call_work", T0 + 3 * H, T0 + 4 * H)),
    ("a1", StateRow("not_ready", T0 + 4 * H, T0 + 5 * H, "break")),
    ("a1", StateRow("not_ready", T0 + 5 * H, T0 + 7 * H, "training")),
    ("a1", StateRow("logged_out", T0 + 7 * H, None)),
    ("a2", StateRow("ready", T0 - 2 * H, T0 + 2 * H)),
    ("a2", StateRow("on_call", T0 + 2 * H, T0 + 6 * H)),
    ("a2", StateRow("ringing", T0 + 6 * H, T0 + 7 * H)),
    ("a2", StateRow("ready", T0 + 7 * H, None)),
    ("a3", StateRow("on_call", T0 + 10 * H, T0 + 12 * H)),
    ("a3", StateRow("after_call_work", T0 + 12 * H, T0 + 13 * H)),
    ("a3", StateRow("ready", T0 + 13 * H, T0 + 14 * H)),
    ("a3", StateRow("logged_out", T0 + 14 * H, T0 + 30 * H)),
]


def at(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


async def load(conn: asyncpg.Connection) -> None:
    """The day into a migrated database: vendors, teams, agents, calls, orders, states."""
    await conn.execute("INSERT INTO vendors (id, name, kind) VALUES ('partner', 'Partner',"
                       " 'outsourced') ON CONFLICT DO NOTHING")
    await conn.executemany("INSERT INTO teams (id, name, vendor_id) VALUES ($1, $1, $2)",
                           list(VENDORS.items()))
    await conn.executemany(
        "INSERT INTO agents (id, name, sip_endpoint, team_id) VALUES ($1, $1, $1, $2)",
        list(TEAMS.items()))
    await conn.executemany(
        "INSERT INTO calls (call_id, caller, queue, service, entered_at, queued_at,"
        " answered_at, agent_id, outcome) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
        [(c.row.call_id, c.row.caller, c.queue, at(c.row.entered_at),
          at(c.row.entered_at) if c.row.queued else None,
          at(c.row.entered_at + 10) if c.agent else None, c.agent, c.row.outcome)
         for c in CALLS])
    for o in ORDERS:
        r = o.row
        order_id = await conn.fetchval(
            "INSERT INTO work_orders (service, caller, created_at, created_by, description,"
            " state, unit, resolve_by, replied_at, callback_by, callback_done_at,"
            " callback_done_by, closed_at, substantiated) VALUES ($1, '1', $2, $3, $4,"
            " CASE WHEN $10::timestamptz IS NULL THEN 'created' ELSE 'closed' END, $5, $6,"
            " $7, $8, $9, $11, $10, $12) RETURNING id",
            r.service, at(r.created_at), o.created_by, o.name, o.unit, at(r.resolve_by),
            at(r.replied_at), at(r.callback_by), at(r.callback_done_at), at(r.closed_at),
            o.callback_done_by, r.substantiated)
        if o.call_id:
            await conn.execute("INSERT INTO work_order_calls VALUES ($1, $2, 0)", order_id,
                               o.call_id)
    await conn.executemany(
        "INSERT INTO agent_state_log (agent_id, started_at, state, reason, ended_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(a, at(s.start), s.state, s.reason, at(s.end)) for a, s in STATES])


def calls_of(agents: set[str] | None = None, queue: str | None = None) -> list[CallRow]:
    return [c.row for c in CALLS if (agents is None or c.agent in agents)
            and (queue is None or c.queue == queue)]


def orders_of(agents: set[str] | None = None, unit: str | None = None) -> list[OrderRow]:
    return [o.row for o in ORDERS if (agents is None or o.created_by in agents)
            and (unit is None or o.unit == unit)]


def states_of(agents: set[str] | None = None) -> list[StateRow]:
    return [s for a, s in STATES if agents is None or a in agents]
