"""A week's shifts assigned to agents by OR-Tools CP-SAT (docs/planning.md, "The week's
model"): which agent works which shift on which day for which queue, so that the agents on the
phones per interval come as close as they can to the agents needed, within the hard rules
(skills, contracted hours, rest between shifts, consecutive days, the month plan's head
count) and, where they cost no coverage, the agents' preferences. Pure and picklable: the API
runs it in a worker process with a time limit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hotline.planning.shifts import DAY_MIN, SLOTS, Shift

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

#: The objective's weights (per agent-interval short, per agent-interval over, per missed
#: preference): a preference never costs an interval short.
SHORT_WEIGHT = 1000
OVER_WEIGHT = 1
PREFERENCE_WEIGHT = 20


@dataclass(frozen=True, slots=True)
class AgentSpec:
    agent_id: str
    queues: tuple[str, ...]  # the queues its skills qualify it for
    hours_week: float  # contracted paid hours in the week (worked exactly)
    days_off_wish: tuple[int, ...] = ()  # days of the week (0 = the first) it would rather not
    earliest_start_min: int | None = None  # preferred shift starts
    latest_start_min: int | None = None
    unavailable: tuple[int, ...] = ()  # days of the week it cannot work (leave)
    #: the last shift before the week: its end in minutes from the week's first midnight
    #: (negative), and how many days in a row it had worked up to then
    last_end_min: int | None = None
    worked_days_before: int = 0


@dataclass(frozen=True, slots=True)
class Rules:
    min_rest_h: float = 11.0
    max_consecutive_days: int = 5


@dataclass(frozen=True, slots=True)
class WeekProblem:
    days: int
    agents: tuple[AgentSpec, ...]
    templates: tuple[Shift, ...]
    need: dict[str, list[list[int]]]  # queue -> per day, per interval: agents on the phones
    rules: Rules = Rules()
    headcount: dict[tuple[int, str], int] = field(default_factory=dict)  # (day, queue) cap
    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 1


@dataclass(frozen=True, slots=True)
class Assignment:
    agent_id: str
    day: int
    queue: str
    shift: Shift


@dataclass(frozen=True, slots=True)
class Roster:
    status: str  # optimal, feasible, infeasible, unknown (no answer within the time limit)
    assignments: tuple[Assignment, ...]
    short: int  # agent-intervals short over the week
    over: int
    preference_misses: int
    wall_s: float


class ProblemTooLarge(ValueError):
    pass


def solve_week(p: WeekProblem) -> Roster:
    """The model of docs/planning.md, "The week's model", solved within p.time_limit_s."""
    # imported here: the API process only sends the problem to its worker (ortools is big)
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    m = cp_model.CpModel()
    queues = sorted(p.need)
    phones = [t.on_phone() for t in p.templates]
    x: dict[tuple[int, int, int, str], cp_model.IntVar] = {}
    rest_min = int(p.rules.min_rest_h * 60)
    for a, ag in enumerate(p.agents):
        for d in range(p.days):
            if d in ag.unavailable:
                continue
            for t, tpl in enumerate(p.templates):
                if d == 0 and ag.last_end_min is not None and \
                        tpl.start_min - ag.last_end_min < rest_min:
                    continue  # too soon after last week's last shift
                for q in ag.queues:
                    if q in p.need:
                        x[a, d, t, q] = m.new_bool_var(f"x{a}_{d}_{t}_{q}")
    works: dict[tuple[int, int], cp_model.LinearExpr] = {}
    on_t: dict[tuple[int, int, int], list[cp_model.IntVar]] = {}
    for (a, d, t, _q), v in x.items():
        on_t.setdefault((a, d, t), []).append(v)
    for a, ag in enumerate(p.agents):
        paid = []
        for d in range(p.days):
            vs = [v for t in range(len(p.templates)) for v in on_t.get((a, d, t), [])]
            m.add(sum(vs) <= 1)  # one shift a day at most
            works[a, d] = sum(vs)
            paid += [v * p.templates[t].paid_min for t in range(len(p.templates))
                     for v in on_t.get((a, d, t), [])]
        m.add(sum(paid) == round(ag.hours_week * 60))  # contracted hours, exactly
        # rest between a shift and the next day's
        for d in range(p.days - 1):
            for t1, s1 in enumerate(p.templates):
                v1 = on_t.get((a, d, t1))
                if not v1:
                    continue
                for t2, s2 in enumerate(p.templates):
                    v2 = on_t.get((a, d + 1, t2))
                    if v2 and s2.start_min + DAY_MIN - s1.end_min < rest_min:
                        m.add(sum(v1) + sum(v2) <= 1)
        # at most max_consecutive_days in a row, counting the days worked before the week
        k = p.rules.max_consecutive_days
        for end in range(p.days):
            first = end - k
            before = sum(1 for d in range(first, 0) if d >= -ag.worked_days_before)
            window = [works[a, d] for d in range(max(0, first), end + 1)]
            if len(window) + before > k:
                m.add(sum(window) <= k - before)
    # identical agents are interchangeable: order their weeks (days worked read as a binary
    # number) so the search does not visit each plan once per permutation of them
    for a in range(len(p.agents) - 1):
        if _same(p.agents[a], p.agents[a + 1]):
            m.add(sum(works[a, d] * 2 ** (p.days - 1 - d) for d in range(p.days))
                  >= sum(works[a + 1, d] * 2 ** (p.days - 1 - d) for d in range(p.days)))
    for (d, q), cap in p.headcount.items():
        m.add(sum(v for (_, dd, _, qq), v in x.items() if dd == d and qq == q) <= cap)
    # coverage against need
    by_dq: dict[tuple[int, str], list[tuple[int, cp_model.IntVar]]] = {}
    for (_a, d, t, q), v in x.items():
        by_dq.setdefault((d, q), []).append((t, v))
    short_terms, over_terms = [], []
    n_agents = len(p.agents)
    for q in queues:
        for d in range(p.days):
            need = p.need[q][d]
            cands = by_dq.get((d, q), [])
            for i in range(SLOTS):
                cov = [v for t, v in cands if phones[t][i]]
                if need[i] == 0 and not cov:
                    continue
                short = m.new_int_var(0, need[i], f"s{q}_{d}_{i}")
                over = m.new_int_var(0, n_agents, f"o{q}_{d}_{i}")
                m.add(sum(cov) + short - over == need[i])
                short_terms.append(short)
                over_terms.append(over)
    prefs = []
    for (a, d, t, _q), v in x.items():
        ag = p.agents[a]
        start = p.templates[t].start_min
        if d in ag.days_off_wish or (
                ag.earliest_start_min is not None and start < ag.earliest_start_min) or (
                ag.latest_start_min is not None and start > ag.latest_start_min):
            prefs.append(v)
    for key in _hint(p, phones, x):
        m.add_hint(x[key], 1)
    m.minimize(SHORT_WEIGHT * sum(short_terms) + OVER_WEIGHT * sum(over_terms)
               + PREFERENCE_WEIGHT * sum(prefs))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = p.time_limit_s
    solver.parameters.num_workers = p.workers
    solver.parameters.random_seed = p.seed
    solver.parameters.linearization_level = 2
    code = solver.solve(m)
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible",
              cp_model.INFEASIBLE: "infeasible"}.get(code, "unknown")
    if status not in ("optimal", "feasible"):
        return Roster(status, (), 0, 0, 0, time.perf_counter() - t0)
    chosen = tuple(Assignment(p.agents[a].agent_id, d, q, p.templates[t])
                   for (a, d, t, q), v in x.items() if solver.value(v))
    # short and over counted from the shifts chosen: a plan found before the time limit ran
    # out may hold slack in its short and over variables
    short = over = 0
    for q in queues:
        for d in range(p.days):
            cov = [0] * SLOTS
            for c in chosen:
                if c.day == d and c.queue == q:
                    cov = [n + v for n, v in zip(cov, c.shift.on_phone(), strict=True)]
            for n, v in zip(p.need[q][d], cov, strict=True):
                short += max(0, n - v)
                over += max(0, v - n)
    return Roster(status, chosen, short, over, sum(solver.value(v) for v in prefs),
                  time.perf_counter() - t0)


def _hint(p: WeekProblem, phones: list[list[int]],
          x: dict[tuple[int, int, int, str], object]) -> list[tuple[int, int, int, str]]:
    """A first plan for the search to start from (it may break a rule; the solver repairs
    or drops it): each agent works its contract in days spread by its index over the week,
    on the template that best covers its queue's need that day, breaks staggered. Identical
    agents get their weeks in the order the symmetry rule asks (binary value non-increasing)."""
    paid = max((t.paid_min for t in p.templates), default=0)
    weeks: list[list[int]] = []
    for a, ag in enumerate(p.agents):
        n = min(p.days, round(ag.hours_week * 60 / paid)) if paid else 0
        weeks.append(sorted((d + 2 * a) % p.days for d in range(n)))
    start = 0
    for a in range(1, len(p.agents) + 1):  # runs of identical agents
        if a == len(p.agents) or not _same(p.agents[a - 1], p.agents[a]):
            run = sorted(weeks[start:a], key=lambda w: -sum(2 ** (p.days - 1 - d) for d in w))
            weeks[start:a] = run
            start = a
    out = []
    for a, ag in enumerate(p.agents):
        qs = [q for q in ag.queues if q in p.need]
        if not qs or not p.templates:
            continue
        q = qs[a % len(qs)]
        for d in weeks[a]:
            need = p.need[q][d]
            best = max(range(len(p.templates)), key=lambda t: sum(
                n * v for n, v in zip(need, phones[t], strict=True)))
            # the same start, the break offset rotated by the agent
            same = [t for t in range(len(p.templates))
                    if p.templates[t].start_min == p.templates[best].start_min]
            t = same[a % len(same)]
            if (a, d, t, q) in x:
                out.append((a, d, t, q))
    return out


def _same(a: AgentSpec, b: AgentSpec) -> bool:
    return (a.queues, a.hours_week, a.days_off_wish, a.earliest_start_min, a.latest_start_min,
            a.unavailable, a.last_end_min, a.worked_days_before) == (
        b.queues, b.hours_week, b.days_off_wish, b.earliest_start_min, b.latest_start_min,
        b.unavailable, b.last_end_min, b.worked_days_before)


def check_size(days: int, agents: int, templates: int, queues: int,
               max_vars: int) -> None:
    """Raises ProblemTooLarge when the model would have more than `max_vars` choices."""
    n = days * agents * templates * queues
    if n > max_vars:
        raise ProblemTooLarge(f"{n} choices, at most {max_vars}")


__all__ = ["OVER_WEIGHT", "PREFERENCE_WEIGHT", "SHORT_WEIGHT", "AgentSpec", "Assignment",
           "ProblemTooLarge", "Roster", "Rules", "WeekProblem", "check_size", "solve_week"]
