# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Time each agent spends in each state, compiled.

Same interface and same arithmetic (same operations in the same order, so bit-identical
floats) as agent_time_py.py, which is the readable specification; read that file first.
Storage is C arrays grown with realloc: per-agent columns, [agent][key] scope tables with a
key stride that doubles when keys outgrow it, and the window log as parallel columns.
"""

from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove, memset

LOGGED_OUT = -1

INTERVAL = 0
TODAY = 1
WINDOW = 2

cdef void* _grow(void* ptr, Py_ssize_t size) except NULL:
    cdef void* out = realloc(ptr, size if size > 0 else 1)
    if out == NULL:
        raise MemoryError()
    return out


cdef class Clocks:
    cdef public int n_agents
    cdef public int n_keys
    cdef int cap_agents
    cdef int stride  # keys per row in the scope tables
    cdef int* _key
    cdef double* _since
    cdef double* _interval
    cdef double* _today
    cdef Py_ssize_t* _head
    cdef Py_ssize_t* _tail
    # the window log
    cdef Py_ssize_t _first
    cdef Py_ssize_t _len
    cdef Py_ssize_t _cap
    cdef int* _agent_of
    cdef double* _start
    cdef double* _end
    cdef int* _key_of
    cdef Py_ssize_t* _next

    def __cinit__(self):
        self.n_agents = 0
        self.n_keys = 0
        self.cap_agents = 0
        self.stride = 0
        self._first = 0
        self._len = 0
        self._cap = 0

    def __dealloc__(self):
        free(self._key)
        free(self._since)
        free(self._interval)
        free(self._today)
        free(self._head)
        free(self._tail)
        free(self._agent_of)
        free(self._start)
        free(self._end)
        free(self._key_of)
        free(self._next)

    cdef void _grow_agents(self) except *:
        cdef int cap = self.cap_agents * 2 if self.cap_agents else 16
        self._key = <int*>_grow(self._key, cap * sizeof(int))
        self._since = <double*>_grow(self._since, cap * sizeof(double))
        self._head = <Py_ssize_t*>_grow(self._head, cap * sizeof(Py_ssize_t))
        self._tail = <Py_ssize_t*>_grow(self._tail, cap * sizeof(Py_ssize_t))
        self._interval = <double*>_grow(self._interval, <Py_ssize_t>cap * self.stride * sizeof(double))
        self._today = <double*>_grow(self._today, <Py_ssize_t>cap * self.stride * sizeof(double))
        self.cap_agents = cap

    cdef double* _restride(self, double* table, int stride) except NULL:
        cdef double* out = <double*>malloc(
            (<Py_ssize_t>self.cap_agents * stride if self.cap_agents else 1) * sizeof(double))
        cdef int a
        if out == NULL:
            raise MemoryError()
        memset(out, 0, <Py_ssize_t>self.cap_agents * stride * sizeof(double))
        for a in range(self.n_agents):
            memcpy(out + <Py_ssize_t>a * stride, table + <Py_ssize_t>a * self.stride,
                   self.n_keys * sizeof(double))
        free(table)
        return out

    def add_agent(self, double since):
        cdef int a = self.n_agents
        if a == self.cap_agents:
            self._grow_agents()
        self.n_agents += 1
        self._key[a] = LOGGED_OUT
        self._since[a] = since
        self._head[a] = -1
        self._tail[a] = -1
        memset(self._interval + <Py_ssize_t>a * self.stride, 0, self.stride * sizeof(double))
        memset(self._today + <Py_ssize_t>a * self.stride, 0, self.stride * sizeof(double))
        return a

    def add_key(self):
        cdef int k = self.n_keys
        cdef int stride
        if k == self.stride:
            stride = self.stride * 2 if self.stride else 8
            self._interval = self._restride(self._interval, stride)
            self._today = self._restride(self._today, stride)
            self.stride = stride
        self.n_keys += 1
        return k

    def key(self, int a):
        return self._key[a]

    def since(self, int a):
        return self._since[a]

    def change(self, int a, double t, int key):
        self._flush(a, t)
        self._key[a] = key

    def flush_all(self, double t):
        cdef int a
        for a in range(self.n_agents):
            self._flush(a, t)

    def skip_to(self, double start):
        cdef int a
        for a in range(self.n_agents):
            if self._since[a] < start:
                self._since[a] = start

    def prune(self, double cutoff):
        cdef Py_ssize_t i
        cdef int a
        while self._first < self._len and self._end[self._first] <= cutoff:
            i = self._first
            a = self._agent_of[i]
            self._head[a] = self._next[i]
            if self._head[a] == -1:
                self._tail[a] = -1
            self._first += 1
        if self._first and self._first * 2 >= self._len:
            self._compact()

    def clear_interval(self):
        memset(self._interval, 0, <Py_ssize_t>self.n_agents * self.stride * sizeof(double))

    def clear_today(self):
        memset(self._today, 0, <Py_ssize_t>self.n_agents * self.stride * sizeof(double))

    def add_seconds(self, int a, int scope, int key, double seconds):
        """See agent_time_py.py."""
        if scope != INTERVAL and scope != TODAY:
            raise ValueError("scope must be 0 or 1")
        if a < 0 or a >= self.n_agents or key < 0 or key >= self.n_keys:
            raise IndexError("agent or key out of range")
        if scope == INTERVAL:
            self._interval[<Py_ssize_t>a * self.stride + key] += seconds
        else:
            self._today[<Py_ssize_t>a * self.stride + key] += seconds

    def read(self, int a, int scope, double now, double window_s):
        cdef list out = [0.0] * self.n_keys
        cdef double* row
        cdef double start, d, lo, hi
        cdef Py_ssize_t i
        cdef int k, key
        if scope == WINDOW:
            start = now - window_s
            i = self._head[a]
            while i != -1:
                hi = self._end[i] if self._end[i] < now else now
                lo = self._start[i] if self._start[i] > start else start
                d = hi - lo
                if d > 0:
                    out[self._key_of[i]] += d
                i = self._next[i]
        else:
            row = (self._interval if scope == INTERVAL else self._today) + <Py_ssize_t>a * self.stride
            for k in range(self.n_keys):
                out[k] = row[k]
            start = -float("inf")
        key = self._key[a]
        if key != LOGGED_OUT:
            d = now - (self._since[a] if self._since[a] > start else start)
            if d > 0:
                out[key] += d
        return out

    def log_size(self):
        return self._len - self._first

    cdef void _flush(self, int a, double t) except *:
        cdef double since = self._since[a]
        cdef double d
        cdef int key
        if t > since:
            key = self._key[a]
            if key != LOGGED_OUT:
                d = t - since
                self._interval[<Py_ssize_t>a * self.stride + key] += d
                self._today[<Py_ssize_t>a * self.stride + key] += d
                self._log(a, since, t, key)
            self._since[a] = t

    cdef void _log(self, int a, double start, double end, int key) except *:
        cdef Py_ssize_t i = self._len
        cdef Py_ssize_t cap
        if i == self._cap:
            cap = self._cap * 2 if self._cap else 256
            self._agent_of = <int*>_grow(self._agent_of, cap * sizeof(int))
            self._start = <double*>_grow(self._start, cap * sizeof(double))
            self._end = <double*>_grow(self._end, cap * sizeof(double))
            self._key_of = <int*>_grow(self._key_of, cap * sizeof(int))
            self._next = <Py_ssize_t*>_grow(self._next, cap * sizeof(Py_ssize_t))
            self._cap = cap
        self._agent_of[i] = a
        self._start[i] = start
        self._end[i] = end
        self._key_of[i] = key
        self._next[i] = -1
        if self._tail[a] == -1:
            self._head[a] = i
        else:
            self._next[self._tail[a]] = i
        self._tail[a] = i
        self._len += 1

    cdef void _compact(self):
        cdef Py_ssize_t f = self._first
        cdef Py_ssize_t n = self._len - f
        cdef Py_ssize_t i
        cdef int a
        memmove(self._agent_of, self._agent_of + f, n * sizeof(int))
        memmove(self._start, self._start + f, n * sizeof(double))
        memmove(self._end, self._end + f, n * sizeof(double))
        memmove(self._key_of, self._key_of + f, n * sizeof(int))
        memmove(self._next, self._next + f, n * sizeof(Py_ssize_t))
        for i in range(n):
            if self._next[i] != -1:
                self._next[i] -= f
        for a in range(self.n_agents):
            if self._head[a] != -1:
                self._head[a] -= f
            if self._tail[a] != -1:
                self._tail[a] -= f
        self._len = n
        self._first = 0
