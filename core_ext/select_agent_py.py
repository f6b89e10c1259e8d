"""Agent selection kernel, pure-Python twin: the readable specification of select_agent.pyx.

An `AgentIndex` holds, for every agent (a dense integer index the router assigns), its level
(0 = none, 1..5) in each of `MAX_SKILLS` skills, and for READY agents only, its place in ordered
buckets, one per (ordering, skill, level). A decision walks the buckets of one required skill in
key order and returns the first agent that also meets the other requirements, so it touches the
ready agents of that skill in order rather than every agent.

The orderings, and the policies that read them (smaller key wins; ties end on the index):
- IDLE:  (idle_since, index)          longest_idle; most_skilled walks it level by level, 5 first
- CALLS: (calls_today, idle_since, index)   least_calls
- INDEX: (index)                       round_robin: the first index after `cursor`, wrapping

A virtual skill `ANY_SKILL` that every agent holds at level 1 serves calls with no requirement.
`Verdicts` builds the records of a decision's explanation (the walk over the agents it passed
over runs for every offer).
The compiled kernel must return exactly what this module returns, ties included.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice, takewhile
from typing import Any

MAX_SKILLS = 64
MAX_LEVEL = 5
ANY_SKILL = MAX_SKILLS  # the column every agent holds at level 1

MOST_SKILLED = 0
LONGEST_IDLE = 1
LEAST_CALLS = 2
ROUND_ROBIN = 3

_IDLE, _CALLS, _INDEX = 0, 1, 2
_ORDERINGS = 3
_COLUMNS = MAX_SKILLS + 1

Key = tuple[float, float, int]


class AgentIndex:
    """Skills of all agents and ordered ready sets, updated incrementally on every change."""

    def __init__(self, capacity: int = 0) -> None:
        self._levels: list[bytearray] = []  # per agent, one byte per column
        self._ready: list[bool] = []
        self._idle: list[float] = []
        self._calls: list[int] = []
        # _buckets[ordering][column][level]: sorted keys of the ready agents at that level
        self._buckets: list[list[list[list[Key]]]] = [
            [[[] for _ in range(MAX_LEVEL + 1)] for _ in range(_COLUMNS)] for _ in range(_ORDERINGS)
        ]
        self.ensure(capacity)

    # -- agents and their skills ------------------------------------------------------------

    def ensure(self, n_agents: int) -> None:
        """Make room for agents 0..n_agents-1 (new ones have no skills and are not ready)."""
        while len(self._levels) < n_agents:
            row = bytearray(_COLUMNS)
            row[ANY_SKILL] = 1
            self._levels.append(row)
            self._ready.append(False)
            self._idle.append(0.0)
            self._calls.append(0)

    @property
    def size(self) -> int:
        return len(self._levels)

    def level(self, agent: int, skill: int) -> int:
        return self._levels[agent][skill]

    def set_level(self, agent: int, skill: int, level: int) -> None:
        """Set one skill's level (0 removes it); a ready agent moves bucket at once."""
        _check_skill(skill)
        if not 0 <= level <= MAX_LEVEL:
            raise ValueError(f"level {level} outside 0..{MAX_LEVEL}")
        if self._ready[agent]:
            self._unplace(agent, skill)
            self._levels[agent][skill] = level
            self._place(agent, skill)
        else:
            self._levels[agent][skill] = level

    def clear_skills(self, agent: int) -> None:
        for skill in range(MAX_SKILLS):
            if self._levels[agent][skill]:
                self.set_level(agent, skill, 0)

    # -- readiness ----------------------------------------------------------------------------

    def is_ready(self, agent: int) -> bool:
        return self._ready[agent]

    def set_ready(self, agent: int, idle_since: float, calls: int) -> None:
        """The agent becomes available; its keys are fixed until it leaves the ready sets."""
        if self._ready[agent]:
            self.set_unready(agent)
        self._idle[agent], self._calls[agent] = idle_since, calls
        self._ready[agent] = True
        for skill in self._columns(agent):
            self._place(agent, skill)

    def set_unready(self, agent: int) -> None:
        if not self._ready[agent]:
            return
        for skill in self._columns(agent):
            self._unplace(agent, skill)
        self._ready[agent] = False

    def count_ready(self) -> int:
        return len(self._buckets[_IDLE][ANY_SKILL][1])

    def candidates(self, skill: int, min_level: int) -> int:
        """How many ready agents hold `skill` at `min_level` or above."""
        col = self._buckets[_IDLE][skill]
        return sum(len(col[lv]) for lv in range(max(min_level, 1), MAX_LEVEL + 1))

    # -- the decision ---------------------------------------------------------------------------

    def select(
        self, skills: Sequence[int], mins: Sequence[int], policy: int, cursor: int = -1
    ) -> int:
        """The chosen ready agent meeting every (skills[i], mins[i]), or -1 if none.

        most_skilled ranks by the level in skills[0] (the primary skill), then longest idle.
        `cursor` is round_robin's last chosen index.
        """
        return next(self._eligible(_requirements(skills, mins), policy, cursor), -1)

    def ranked(
        self,
        skills: Sequence[int],
        mins: Sequence[int],
        policy: int,
        cursor: int = -1,
        limit: int = 10,
    ) -> list[int]:
        """The first `limit` eligible ready agents in the policy's order (select's is first)."""
        reqs = _requirements(skills, mins)
        return list(islice(self._eligible(reqs, policy, cursor), max(limit, 0)))

    def _eligible(self, reqs: list[tuple[int, int]], policy: int, cursor: int) -> Iterator[int]:
        if policy == MOST_SKILLED:
            primary, floor = reqs[0]
            by_level = (self._buckets[_IDLE][primary][lv] for lv in range(MAX_LEVEL, floor - 1, -1))
            return self._meeting(reqs, chain.from_iterable(by_level))
        if policy not in (LONGEST_IDLE, LEAST_CALLS, ROUND_ROBIN):
            raise ValueError(f"unknown policy {policy}")
        # Any requirement can drive the walk; the one with the fewest candidates is cheapest.
        drive, floor = min(reqs, key=lambda r: self.candidates(r[0], r[1]))
        if policy == LONGEST_IDLE:
            return self._meeting(reqs, self._merged(_IDLE, drive, floor, None))
        if policy == LEAST_CALLS:
            return self._meeting(reqs, self._merged(_CALLS, drive, floor, None))
        # round robin: the indices after the cursor, then wrap around to the start
        after = self._merged(_INDEX, drive, floor, (0.0, 0.0, cursor + 1))
        wrapped = takewhile(lambda k: k[2] <= cursor, self._merged(_INDEX, drive, floor, None))
        return self._meeting(reqs, chain(after, wrapped))

    def memory_bytes(self) -> int:
        """A rough footprint of the index (Python object overheads are not counted)."""
        entries = sum(len(b) for o in self._buckets for c in o for b in c)
        return self.size * (_COLUMNS + 8 + 8 + 8 + 1) + entries * 8

    # -- internals ------------------------------------------------------------------------------

    def _key(self, ordering: int, agent: int) -> Key:
        if ordering == _IDLE:
            return (self._idle[agent], 0.0, agent)
        if ordering == _CALLS:
            return (float(self._calls[agent]), self._idle[agent], agent)
        return (0.0, 0.0, agent)

    def _columns(self, agent: int) -> list[int]:
        row = self._levels[agent]
        return [c for c in range(_COLUMNS) if row[c]]

    def _place(self, agent: int, skill: int) -> None:
        lv = self._levels[agent][skill]
        if lv:
            for o in range(_ORDERINGS):
                insort(self._buckets[o][skill][lv], self._key(o, agent))

    def _unplace(self, agent: int, skill: int) -> None:
        lv = self._levels[agent][skill]
        if lv:
            for o in range(_ORDERINGS):
                bucket = self._buckets[o][skill][lv]
                del bucket[bisect_left(bucket, self._key(o, agent))]

    def _merged(self, ordering: int, skill: int, floor: int, start: Key | None) -> Iterator[Key]:
        """Keys of ready agents with `skill` >= floor, in key order, from `start` on."""
        col = self._buckets[ordering][skill]
        parts = []
        for lv in range(floor, MAX_LEVEL + 1):
            bucket = col[lv]
            lo = 0 if start is None else bisect_left(bucket, start)
            parts.append(bucket[lo:])
        return heapq.merge(*parts)

    def _meeting(self, reqs: list[tuple[int, int]], keys: Iterable[Key]) -> Iterator[int]:
        for key in keys:
            row = self._levels[key[2]]
            if all(row[s] >= m for s, m in reqs):
                yield key[2]


# -- explanations ---------------------------------------------------------------------------


class Verdicts:
    """Builds the records of a decision's explanation (router/explain.py): tuples of type
    `record`, a NamedTuple in the field order of router.decisions.Considered (agent_id,
    verdict, rank, policy, skill, level, minimum, state, reason, idle_since, calls_today,
    preferred). The agents are the router's records: agent_id, skills (a dict skill -> level),
    state (a StrEnum; `ready` is the ready one), reason, idle_since, calls_today.

    A not-ready agent's record is kept until its state or reason changes (compared by
    identity): a busy agent is passed over by decision after decision, and its record, the
    same facts each time, is built once instead of at every decision.
    """

    def __init__(
        self, record: type[tuple], ranked: str, skill: str, state: str, ready: object
    ) -> None:
        """`ranked`, `skill`, `state`: the verdicts of an eligible agent ranked lower, one
        lacking a required skill level, one not ready."""
        if not (isinstance(record, type) and issubclass(record, tuple)):
            raise TypeError(f"record must be a tuple type, not {record!r}")
        if len(getattr(record, "_fields", ())) != 12:
            raise TypeError("record must be a NamedTuple of 12 fields")
        self.record = record
        self.ranked, self.skill, self.state, self.ready = ranked, skill, state, ready
        self._not_ready: dict[str, tuple[object, str, tuple]] = {}  # id -> (state, reason, rec)

    def ranked_lower(self, agents: Iterable[Any], policy: str, skill: str) -> list[tuple]:
        """One record per agent, ranked 2, 3, ... by `policy`: its level in `skill` (0 when
        `skill` is ""), idle_since and calls_today."""
        return [
            tuple.__new__(self.record, (a.agent_id, self.ranked, rank, policy, skill,
                                        a.skills.get(skill, 0) if skill else 0, 0, "", "",
                                        a.idle_since, a.calls_today, ""))
            for rank, a in enumerate(agents, start=2)
        ]

    def passed_over(
        self,
        candidates: Iterable[Any],
        listed: set[str],
        requirements: Iterable[tuple[str, int]],
        limit: int,
        cap: int,
    ) -> list[tuple]:
        """The candidates, in order, that a decision passed over, at most `limit` of them,
        from the first `cap` candidates not in `listed` (the ranked ones). An agent lacking a
        requirement (skill, minimum: below max(minimum, 1)) gets a `skill` record naming the
        first one (skill, level, minimum); else one not `ready` a `state` record (its state's
        value and reason); else (eligible but ranked beyond the limit) none."""
        need = [(skill, max(minimum, 1), minimum) for skill, minimum in requirements]
        others: list[tuple] = []
        looked = 0
        for agent in candidates:
            if len(others) >= limit or looked >= cap:
                break
            agent_id = agent.agent_id
            if agent_id in listed:
                continue
            looked += 1
            skills = agent.skills
            for skill, floor, minimum in need:
                level = skills.get(skill, 0)
                if level < floor:
                    others.append(tuple.__new__(self.record, (agent_id, self.skill, 0, "", skill,
                                                              level, minimum, "", "", 0.0, 0, "")))
                    break
            else:
                state = agent.state
                if state is not self.ready:
                    others.append(self._not_ready_record(agent_id, state, agent.reason))
        return others

    def _not_ready_record(self, agent_id: str, state: object, reason: str) -> tuple:
        kept = self._not_ready.get(agent_id)
        if kept is not None and kept[0] is state and kept[1] is reason:
            return kept[2]
        rec = tuple.__new__(self.record, (agent_id, self.state, 0, "", "", 0, 0, str(state),
                                          reason, 0.0, 0, ""))
        self._not_ready[agent_id] = (state, reason, rec)
        return rec


def _check_skill(skill: int) -> None:
    if not 0 <= skill < MAX_SKILLS:
        raise ValueError(f"skill {skill} outside 0..{MAX_SKILLS - 1}")


def _requirements(skills: Sequence[int], mins: Sequence[int]) -> list[tuple[int, int]]:
    if len(skills) != len(mins):
        raise ValueError("skills and mins differ in length")
    if not skills:
        return [(ANY_SKILL, 1)]
    reqs = []
    for s, m in zip(skills, mins, strict=True):
        _check_skill(s)
        if m > MAX_LEVEL:
            raise ValueError(f"minimum level {m} above {MAX_LEVEL}")
        reqs.append((s, max(m, 1)))  # 0 still means: must hold the skill
    return reqs
