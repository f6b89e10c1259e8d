# distutils: language = c++
# cython: boundscheck=False, wraparound=False, cdivision=True
"""Agent selection kernel, compiled. The specification is select_agent_py.py (same interface,
same results, ties included): read that first.

Each bucket (ordering, skill, level) is a std::set of keys ((a, b), agent index) holding the
READY agents only, so a decision walks one required skill's ready agents in key order and stops
at the first one that meets the other requirements. Levels sit in one dense byte matrix.
`Verdicts` builds an explanation's records (the walk over the agents a decision passed over).
"""

from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_SET_ITEM
from cython.operator cimport dereference as deref, preincrement as inc
from libcpp.pair cimport pair
from libcpp.set cimport set as cset
from libcpp.vector cimport vector

MAX_SKILLS = 64
MAX_LEVEL = 5
ANY_SKILL = 64

MOST_SKILLED = 0
LONGEST_IDLE = 1
LEAST_CALLS = 2
ROUND_ROBIN = 3

cdef enum:
    C_MAX_SKILLS = 64
    C_MAX_LEVEL = 5
    C_ANY = 64
    C_COLUMNS = 65
    C_LEVELS = 6  # level 0 is never stored; kept so that a level indexes directly
    C_IDLE = 0
    C_CALLS = 1
    C_INDEX = 2
    C_ORDERINGS = 3
    C_MAX_REQS = 65

ctypedef pair[pair[double, double], int] Key
ctypedef cset[Key] KeySet
ctypedef cset[Key].iterator KeyIt


cdef class AgentIndex:
    """Skills of all agents and ordered ready sets, updated incrementally on every change."""

    cdef vector[unsigned char] _levels  # agent * C_COLUMNS + column
    cdef vector[char] _ready
    cdef vector[double] _idle
    cdef vector[double] _calls
    cdef vector[KeySet] _buckets  # (ordering * C_COLUMNS + column) * C_LEVELS + level
    cdef Py_ssize_t _n
    cdef vector[int] _out  # results of the current decision

    def __cinit__(self, Py_ssize_t capacity=0):
        self._buckets.resize(C_ORDERINGS * C_COLUMNS * C_LEVELS)
        self._n = 0
        self.ensure(capacity)

    # -- agents and their skills ----------------------------------------------------------

    def ensure(self, Py_ssize_t n_agents):
        cdef Py_ssize_t a
        if n_agents <= self._n:
            return
        self._levels.resize(n_agents * C_COLUMNS, 0)
        self._ready.resize(n_agents, 0)
        self._idle.resize(n_agents, 0.0)
        self._calls.resize(n_agents, 0.0)
        for a in range(self._n, n_agents):
            self._levels[a * C_COLUMNS + C_ANY] = 1
        self._n = n_agents

    @property
    def size(self):
        return self._n

    def level(self, Py_ssize_t agent, int skill):
        self._check_agent(agent)
        if not 0 <= skill < C_COLUMNS:
            raise ValueError(f"skill {skill} outside 0..{C_MAX_SKILLS - 1}")
        return self._levels[agent * C_COLUMNS + skill]

    def set_level(self, Py_ssize_t agent, int skill, int level):
        self._check_agent(agent)
        _check_skill(skill)
        if not 0 <= level <= C_MAX_LEVEL:
            raise ValueError(f"level {level} outside 0..{C_MAX_LEVEL}")
        if self._ready[agent]:
            self._unplace(<int>agent, skill)
            self._levels[agent * C_COLUMNS + skill] = level
            self._place(<int>agent, skill)
        else:
            self._levels[agent * C_COLUMNS + skill] = level

    def clear_skills(self, Py_ssize_t agent):
        cdef int skill
        self._check_agent(agent)
        for skill in range(C_MAX_SKILLS):
            if self._levels[agent * C_COLUMNS + skill]:
                self.set_level(agent, skill, 0)

    # -- readiness ------------------------------------------------------------------------

    def is_ready(self, Py_ssize_t agent):
        self._check_agent(agent)
        return bool(self._ready[agent])

    def set_ready(self, Py_ssize_t agent, double idle_since, long long calls):
        cdef int col
        self._check_agent(agent)
        if self._ready[agent]:
            self.set_unready(agent)
        self._idle[agent] = idle_since
        self._calls[agent] = <double>calls
        self._ready[agent] = 1
        for col in range(C_COLUMNS):
            self._place(<int>agent, col)

    def set_unready(self, Py_ssize_t agent):
        cdef int col
        self._check_agent(agent)
        if not self._ready[agent]:
            return
        for col in range(C_COLUMNS):
            self._unplace(<int>agent, col)
        self._ready[agent] = 0

    def count_ready(self):
        return self._buckets[(C_IDLE * C_COLUMNS + C_ANY) * C_LEVELS + 1].size()

    def candidates(self, int skill, int min_level):
        if not 0 <= skill < C_COLUMNS:
            raise ValueError(f"skill {skill} outside 0..{C_MAX_SKILLS - 1}")
        return self._candidates(skill, min_level)

    # -- the decision ---------------------------------------------------------------------

    def select(self, skills, mins, int policy, int cursor=-1):
        cdef int rs[C_MAX_REQS]
        cdef int rm[C_MAX_REQS]
        cdef int n = _requirements(skills, mins, rs, rm)
        self._out.clear()
        self._eligible(rs, rm, n, policy, cursor, 1)
        return self._out[0] if self._out.size() else -1

    def ranked(self, skills, mins, int policy, int cursor=-1, Py_ssize_t limit=10):
        cdef int rs[C_MAX_REQS]
        cdef int rm[C_MAX_REQS]
        cdef int n = _requirements(skills, mins, rs, rm)
        self._out.clear()
        if limit > 0:
            self._eligible(rs, rm, n, policy, cursor, <size_t>limit)
        return [a for a in self._out]

    def memory_bytes(self):
        cdef Py_ssize_t entries = 0, i
        for i in range(<Py_ssize_t>self._buckets.size()):
            entries += self._buckets[i].size()
        # an rb-tree node: colour + 3 pointers (32 bytes) + the key
        return (self._n * (C_COLUMNS + 1 + 8 + 8)
                + self._buckets.size() * sizeof(KeySet)
                + entries * (32 + sizeof(Key)))

    # -- internals ------------------------------------------------------------------------

    cdef inline int _check_agent(self, Py_ssize_t agent) except -1:
        if not 0 <= agent < self._n:
            raise IndexError(f"agent {agent} outside 0..{self._n - 1}")
        return 0

    cdef inline Key _key(self, int ordering, int agent) noexcept nogil:
        cdef Key k
        k.second = agent
        if ordering == C_IDLE:
            k.first.first, k.first.second = self._idle[agent], 0.0
        elif ordering == C_CALLS:
            k.first.first, k.first.second = self._calls[agent], self._idle[agent]
        else:
            k.first.first, k.first.second = 0.0, 0.0
        return k

    cdef inline void _place(self, int agent, int col) noexcept nogil:
        cdef int lv = self._levels[agent * C_COLUMNS + col], o
        if lv:
            for o in range(C_ORDERINGS):
                self._buckets[(o * C_COLUMNS + col) * C_LEVELS + lv].insert(self._key(o, agent))

    cdef inline void _unplace(self, int agent, int col) noexcept nogil:
        cdef int lv = self._levels[agent * C_COLUMNS + col], o
        if lv:
            for o in range(C_ORDERINGS):
                self._buckets[(o * C_COLUMNS + col) * C_LEVELS + lv].erase(self._key(o, agent))

    cdef Py_ssize_t _candidates(self, int col, int min_level) noexcept nogil:
        cdef Py_ssize_t total = 0
        cdef int lv
        for lv in range(min_level if min_level > 1 else 1, C_MAX_LEVEL + 1):
            total += self._buckets[(C_IDLE * C_COLUMNS + col) * C_LEVELS + lv].size()
        return total

    cdef int _eligible(self, int* rs, int* rm, int n, int policy, int cursor,
                       size_t k) except -1:
        """Appends to _out the first k eligible agents in the policy's order."""
        cdef int lv, i, drive = 0
        cdef Py_ssize_t c, bc
        if policy == MOST_SKILLED:
            for lv in range(C_MAX_LEVEL, rm[0] - 1, -1):
                self._collect(C_IDLE, rs[0], lv, lv, False, 0, False, 0, rs, rm, n, k)
                if self._out.size() >= k:
                    break
            return 0
        if policy != LONGEST_IDLE and policy != LEAST_CALLS and policy != ROUND_ROBIN:
            raise ValueError(f"unknown policy {policy}")
        # Any requirement can drive the walk; the one with the fewest candidates is cheapest.
        bc = self._candidates(rs[0], rm[0])
        for i in range(1, n):
            c = self._candidates(rs[i], rm[i])
            if c < bc:
                drive, bc = i, c
        if policy == LONGEST_IDLE:
            self._collect(C_IDLE, rs[drive], rm[drive], C_MAX_LEVEL, False, 0, False, 0,
                          rs, rm, n, k)
        elif policy == LEAST_CALLS:
            self._collect(C_CALLS, rs[drive], rm[drive], C_MAX_LEVEL, False, 0, False, 0,
                          rs, rm, n, k)
        else:  # round robin: the indices after the cursor, then wrap around to the start
            self._collect(C_INDEX, rs[drive], rm[drive], C_MAX_LEVEL, True, cursor + 1,
                          False, 0, rs, rm, n, k)
            if self._out.size() < k:
                self._collect(C_INDEX, rs[drive], rm[drive], C_MAX_LEVEL, False, 0,
                              True, cursor, rs, rm, n, k)
        return 0

    cdef void _collect(self, int ordering, int col, int lo, int hi, bint has_start, int start,
                       bint has_stop, int stop, int* rs, int* rm, int n,
                       size_t k) noexcept nogil:
        """Merge levels lo..hi of one column in key order (from `start`, up to index `stop`)
        and append eligible agents to _out until it holds k."""
        cdef KeyIt its[C_LEVELS]
        cdef KeyIt ends[C_LEVELS]
        cdef KeySet* bucket
        cdef Key start_key
        cdef int m = 0, i, best, agent, r
        cdef const unsigned char* row
        start_key.first.first, start_key.first.second, start_key.second = 0.0, 0.0, start
        for i in range(lo, hi + 1):
            bucket = &self._buckets[(ordering * C_COLUMNS + col) * C_LEVELS + i]
            if bucket.empty():
                continue
            its[m] = bucket.lower_bound(start_key) if has_start else bucket.begin()
            ends[m] = bucket.end()
            m += 1
        while self._out.size() < k:
            best = -1
            for i in range(m):
                if its[i] != ends[i] and (best < 0 or deref(its[i]) < deref(its[best])):
                    best = i
            if best < 0:
                return
            agent = deref(its[best]).second
            if has_stop and agent > stop:
                return
            row = &self._levels[agent * C_COLUMNS]
            for r in range(n):
                if row[rs[r]] < rm[r]:
                    break
            else:
                self._out.push_back(agent)
            inc(its[best])


cdef int _requirements(skills, mins, int* rs, int* rm) except -1:
    """Fills rs/rm from the Python sequences; returns their count (ANY when empty)."""
    cdef int n = 0
    if len(skills) != len(mins):
        raise ValueError("skills and mins differ in length")
    if len(skills) == 0:
        rs[0], rm[0] = C_ANY, 1
        return 1
    if len(skills) > C_MAX_REQS:
        raise ValueError("too many requirements")
    for s, m in zip(skills, mins):
        _check_skill(s)
        if m > C_MAX_LEVEL:
            raise ValueError(f"minimum level {m} above {C_MAX_LEVEL}")
        rs[n] = s
        rm[n] = m if m > 1 else 1  # 0 still means: must hold the skill
        n += 1
    return n


cdef inline int _check_skill(int skill) except -1:
    if not 0 <= skill < C_MAX_SKILLS:
        raise ValueError(f"skill {skill} outside 0..{C_MAX_SKILLS - 1}")
    return 0


# -- explanations (see select_agent_py.Verdicts) -------------------------------------------------

cdef extern from "Python.h":
    ctypedef struct _Type "PyTypeObject":
        object (*tp_alloc)(_Type*, Py_ssize_t)


cdef inline void _put(object t, Py_ssize_t i, object item) noexcept:
    Py_INCREF(item)  # PyTuple_SET_ITEM steals a reference
    PyTuple_SET_ITEM(t, i, item)


cdef class Verdicts:
    """Builds explanation records; see select_agent_py.Verdicts. A record is made as
    tuple.__new__ makes a tuple subclass (its type's tp_alloc, then the items), without the
    argument tuples of calling it: a third of its cost."""

    cdef readonly object record, ranked, skill, state, ready
    cdef dict _not_ready  # agent id -> (state, reason, record)

    def __init__(self, record, ranked, skill, state, ready):
        if not (isinstance(record, type) and issubclass(record, tuple)):
            raise TypeError(f"record must be a tuple type, not {record!r}")
        if len(getattr(record, "_fields", ())) != 12:
            raise TypeError("record must be a NamedTuple of 12 fields")
        self.record = record
        self.ranked, self.skill, self.state, self.ready = ranked, skill, state, ready
        self._not_ready = {}

    cdef object _new(self, object agent_id, object verdict, object rank, object policy,
                     object skill, object level, object minimum, object state, object reason,
                     object idle_since, object calls_today):
        cdef object t = (<_Type*>self.record).tp_alloc(<_Type*>self.record, 12)
        _put(t, 0, agent_id)
        _put(t, 1, verdict)
        _put(t, 2, rank)
        _put(t, 3, policy)
        _put(t, 4, skill)
        _put(t, 5, level)
        _put(t, 6, minimum)
        _put(t, 7, state)
        _put(t, 8, reason)
        _put(t, 9, idle_since)
        _put(t, 10, calls_today)
        _put(t, 11, "")
        return t

    def ranked_lower(self, agents, policy, str skill not None):
        cdef list out = []
        cdef Py_ssize_t rank = 2
        cdef bint by_skill = len(skill) > 0
        cdef dict skills
        for a in agents:
            skills = a.skills
            out.append(self._new(a.agent_id, self.ranked, rank, policy, skill,
                                 skills.get(skill, 0) if by_skill else 0, 0, "", "",
                                 a.idle_since, a.calls_today))
            rank += 1
        return out

    def passed_over(self, candidates, set listed not None, requirements, Py_ssize_t limit,
                    Py_ssize_t cap):
        cdef list need = [(skill, max(minimum, 1), minimum) for skill, minimum in requirements]
        cdef list others = []
        cdef Py_ssize_t looked = 0
        cdef dict skills
        cdef tuple req
        cdef bint lacks
        ready = self.ready
        for agent in candidates:
            if len(others) >= limit or looked >= cap:
                break
            agent_id = agent.agent_id
            if agent_id in listed:
                continue
            looked += 1
            skills = agent.skills
            lacks = False
            for req in need:
                level = skills.get(req[0], 0)
                if level < req[1]:
                    others.append(self._new(agent_id, self.skill, 0, "", req[0], level, req[2],
                                            "", "", 0.0, 0))
                    lacks = True
                    break
            if not lacks:
                state = agent.state
                if state is not ready:
                    others.append(self._not_ready_record(agent_id, state, agent.reason))
        return others

    cdef object _not_ready_record(self, object agent_id, object state, object reason):
        cdef tuple kept = self._not_ready.get(agent_id)
        if kept is not None and kept[0] is state and kept[1] is reason:
            return kept[2]
        rec = self._new(agent_id, self.state, 0, "", "", 0, 0, str(state), reason, 0.0, 0)
        self._not_ready[agent_id] = (state, reason, rec)
        return rec
