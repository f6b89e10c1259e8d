# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Per-call and per-interval metric accumulators, compiled.

Same interface and same arithmetic (same operations in the same order, so bit-identical
floats) as metrics_py.py, which is the readable specification; read that file first.
Storage is C arrays grown with realloc: counters are [group][field], the call table is one
array per column, the window log is a ring of records.
"""

from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

OFFERED = 0
ANSWERED = 1
ABANDONED = 2
SHORT_ABANDONED = 3
OVERFLOWED = 4
CALLBACKS = 5
ANSWERED_WITHIN_T = 6
WAIT_ANSWERED = 7
WAIT_ABANDONED = 8
HANDLED = 9
TALK = 10
HOLD = 11
ACW = 12
FAILSAFE = 13
MISSED_RINGS = 14
LOST_NODE_FAILURE = 15
F = 16

FIELD_NAMES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "callbacks",
    "answered_within_t",
    "wait_answered",
    "wait_abandoned",
    "handled",
    "talk",
    "hold",
    "acw",
    "failsafe",
    "missed_rings",
    "lost_node_failure",
)

INTERVAL = 0
TODAY = 1
WINDOW = 2

FREE = 0
WAITING = 1
TALKING = 2
HELD = 3
WRAP_UP = 4
REQUEUED = 5

K_OFFERED = 0
K_OVERFLOW = 1
K_ANSWERED = 2
K_ABANDONED = 3
K_CALLBACK = 4
K_FAILSAFE = 5
K_HANDLED = 6
K_MISSED = 7
K_PART = 8
K_REANSWERED = 9
K_NODE_FAILURE = 10

cdef enum:
    NF = 16
    P_FREE = 0
    P_WAITING = 1
    P_TALKING = 2
    P_HELD = 3
    P_WRAP_UP = 4
    P_REQUEUED = 5
    C_OFFERED = 0
    C_OVERFLOW = 1
    C_ANSWERED = 2
    C_ABANDONED = 3
    C_CALLBACK = 4
    C_FAILSAFE = 5
    C_HANDLED = 6
    C_MISSED = 7
    C_PART = 8
    C_REANSWERED = 9
    C_NODE_FAILURE = 10


cdef struct Rec:
    double t
    int kind
    int gq
    int gs
    int ga
    double a
    double b
    double c


cdef void* _grow(void* p, size_t nbytes) except NULL:
    cdef void* q = realloc(p, nbytes)
    if q == NULL:
        raise MemoryError()
    return q


cdef inline void _apply(double* arr, int kind, int gq, int gs, int ga,
                        double a, double b, double c, double sign) noexcept:
    cdef int gs_list[4]
    cdef int i, g, o
    if kind == C_OVERFLOW:
        arr[0 * NF + 4] += sign
        arr[gq * NF + 4] += sign
        arr[gs * NF + 4] += sign
        arr[ga * NF + 0] += sign
        return
    if kind == C_REANSWERED:
        arr[ga * NF + 1] += sign
        return
    gs_list[0] = 0
    gs_list[1] = gq
    gs_list[2] = gs
    gs_list[3] = ga
    if kind == C_PART:
        for i in range(4):
            o = gs_list[i] * NF
            arr[o + 10] += sign * a
            arr[o + 11] += sign * b
            arr[o + 12] += sign * c
        arr[ga * NF + 9] += sign
        return
    for i in range(4):
        g = gs_list[i]
        if g < 0:
            continue
        o = g * NF
        if kind == C_OFFERED:
            arr[o + 0] += sign
        elif kind == C_ANSWERED:
            arr[o + 1] += sign
            arr[o + 7] += sign * a
            arr[o + 6] += sign * b
        elif kind == C_ABANDONED:
            arr[o + 2] += sign
            arr[o + 8] += sign * a
            arr[o + 3] += sign * b
        elif kind == C_CALLBACK:
            arr[o + 5] += sign
        elif kind == C_FAILSAFE:
            arr[o + 13] += sign
        elif kind == C_HANDLED:
            arr[o + 9] += sign
            arr[o + 10] += sign * a
            arr[o + 11] += sign * b
            arr[o + 12] += sign * c
        elif kind == C_MISSED:
            arr[o + 14] += sign
        elif kind == C_NODE_FAILURE:
            arr[o + 15] += sign


cdef class Core:
    """Call table plus interval / today / window counters. Groups are dense ints from 0."""

    cdef public double window_s
    cdef public int n_groups
    cdef int g_cap
    cdef double* _interval
    cdef double* _today
    cdef double* _window
    # window log: ring buffer
    cdef Rec* _log
    cdef Py_ssize_t log_cap, log_head, log_len
    # call table
    cdef Py_ssize_t n_slots, slot_cap
    cdef int* _phase
    cdef int* _gq
    cdef int* _gs
    cdef int* _ga
    cdef double* _t_enq
    cdef double* _t_ans
    cdef double* _t_hold
    cdef double* _hold
    cdef double* _t_end
    cdef double* _talk
    cdef int* _xfer
    cdef int* _gw
    cdef double* _t_req
    cdef list _free

    def __cinit__(self, double window_s):
        self.window_s = window_s
        self.n_groups = 1
        self.g_cap = 16
        self._interval = <double*>_grow(NULL, self.g_cap * NF * sizeof(double))
        self._today = <double*>_grow(NULL, self.g_cap * NF * sizeof(double))
        self._window = <double*>_grow(NULL, self.g_cap * NF * sizeof(double))
        memset(self._interval, 0, self.g_cap * NF * sizeof(double))
        memset(self._today, 0, self.g_cap * NF * sizeof(double))
        memset(self._window, 0, self.g_cap * NF * sizeof(double))
        self.log_cap = 1024
        self.log_head = 0
        self.log_len = 0
        self._log = <Rec*>_grow(NULL, self.log_cap * sizeof(Rec))
        self.n_slots = 0
        self.slot_cap = 0
        self._free = []

    def __dealloc__(self):
        free(self._interval)
        free(self._today)
        free(self._window)
        free(self._log)
        free(self._phase)
        free(self._gq)
        free(self._gs)
        free(self._ga)
        free(self._t_enq)
        free(self._t_ans)
        free(self._t_hold)
        free(self._hold)
        free(self._t_end)
        free(self._talk)
        free(self._xfer)
        free(self._gw)
        free(self._t_req)

    # ---- groups and slots

    def add_group(self):
        cdef int g = self.n_groups
        cdef int old = self.g_cap
        cdef size_t nbytes
        if g >= self.g_cap:
            self.g_cap *= 2
            nbytes = self.g_cap * NF * sizeof(double)
            self._interval = <double*>_grow(self._interval, nbytes)
            self._today = <double*>_grow(self._today, nbytes)
            self._window = <double*>_grow(self._window, nbytes)
            memset(self._interval + old * NF, 0, (self.g_cap - old) * NF * sizeof(double))
            memset(self._today + old * NF, 0, (self.g_cap - old) * NF * sizeof(double))
            memset(self._window + old * NF, 0, (self.g_cap - old) * NF * sizeof(double))
        self.n_groups += 1
        return g

    def open_call(self):
        cdef Py_ssize_t slot
        if self._free:
            return self._free.pop()
        if self.n_slots >= self.slot_cap:
            self.slot_cap = self.slot_cap * 2 if self.slot_cap else 256
            self._phase = <int*>_grow(self._phase, self.slot_cap * sizeof(int))
            self._gq = <int*>_grow(self._gq, self.slot_cap * sizeof(int))
            self._gs = <int*>_grow(self._gs, self.slot_cap * sizeof(int))
            self._ga = <int*>_grow(self._ga, self.slot_cap * sizeof(int))
            self._t_enq = <double*>_grow(self._t_enq, self.slot_cap * sizeof(double))
            self._t_ans = <double*>_grow(self._t_ans, self.slot_cap * sizeof(double))
            self._t_hold = <double*>_grow(self._t_hold, self.slot_cap * sizeof(double))
            self._hold = <double*>_grow(self._hold, self.slot_cap * sizeof(double))
            self._t_end = <double*>_grow(self._t_end, self.slot_cap * sizeof(double))
            self._talk = <double*>_grow(self._talk, self.slot_cap * sizeof(double))
            self._xfer = <int*>_grow(self._xfer, self.slot_cap * sizeof(int))
            self._gw = <int*>_grow(self._gw, self.slot_cap * sizeof(int))
            self._t_req = <double*>_grow(self._t_req, self.slot_cap * sizeof(double))
        slot = self.n_slots
        self.n_slots += 1
        self._phase[slot] = P_FREE
        self._gq[slot] = 0
        self._gs[slot] = 0
        self._ga[slot] = 0
        self._t_enq[slot] = 0.0
        self._t_ans[slot] = 0.0
        self._t_hold[slot] = 0.0
        self._hold[slot] = 0.0
        self._t_end[slot] = 0.0
        self._talk[slot] = 0.0
        self._xfer[slot] = 0
        self._gw[slot] = 0
        self._t_req[slot] = 0.0
        return slot

    cdef inline void _check(self, Py_ssize_t slot) except *:
        if slot < 0 or slot >= self.n_slots:
            raise IndexError("slot out of range")

    def release(self, Py_ssize_t slot):
        self._check(slot)
        self._phase[slot] = P_FREE
        self._free.append(slot)

    def phase(self, Py_ssize_t slot):
        self._check(slot)
        return self._phase[slot]

    def agent_of(self, Py_ssize_t slot):
        self._check(slot)
        return self._ga[slot]

    def queue_of(self, Py_ssize_t slot):
        self._check(slot)
        return self._gq[slot]

    # ---- the call's life

    def queue(self, Py_ssize_t slot, double t, int gq, int gs):
        self._check(slot)
        if self._phase[slot] == P_FREE:
            self._phase[slot] = P_WAITING
            self._gq[slot] = gq
            self._gs[slot] = gs
            self._ga[slot] = -1
            self._t_enq[slot] = t
            self._hold[slot] = 0.0
            self._xfer[slot] = 0
            self._record(t, C_OFFERED, gq, gs, -1, 0.0, 0.0, 0.0)
        return self._phase[slot]

    def overflow(self, Py_ssize_t slot, double t, int g_to):
        self._check(slot)
        if self._phase[slot] == P_WAITING and g_to != self._gq[slot]:
            self._record(t, C_OVERFLOW, self._gq[slot], self._gs[slot], g_to, 0.0, 0.0, 0.0)
            self._gq[slot] = g_to
        elif self._phase[slot] == P_REQUEUED:
            self._gw[slot] = g_to
        return self._phase[slot]

    def answer(self, Py_ssize_t slot, double t, int ga, double sl_seconds):
        cdef double wait, within
        cdef int phase
        self._check(slot)
        phase = self._phase[slot]
        if phase == P_WAITING:
            wait = t - self._t_enq[slot]
            within = 1.0 if wait <= sl_seconds else 0.0
            self._ga[slot] = ga
            self._t_ans[slot] = t
            self._phase[slot] = P_TALKING
            self._record(t, C_ANSWERED, self._gq[slot], self._gs[slot], ga, wait, within, 0.0)
        elif phase == P_REQUEUED:
            self._ga[slot] = ga
            self._t_ans[slot] = t
            self._phase[slot] = P_TALKING
            self._record(t, C_REANSWERED, -1, -1, ga, 0.0, 0.0, 0.0)
        return self._phase[slot]

    def hold(self, Py_ssize_t slot, double t):
        self._check(slot)
        if self._phase[slot] == P_TALKING:
            self._phase[slot] = P_HELD
            self._t_hold[slot] = t
        return self._phase[slot]

    def unhold(self, Py_ssize_t slot, double t):
        self._check(slot)
        if self._phase[slot] == P_HELD:
            self._hold[slot] += t - self._t_hold[slot]
            self._phase[slot] = P_TALKING
        return self._phase[slot]

    def end(self, Py_ssize_t slot, double t, double short_abandon_s):
        cdef int phase
        cdef double wait, short
        self._check(slot)
        phase = self._phase[slot]
        if phase == P_WAITING:
            wait = t - self._t_enq[slot]
            # hotline.core.lifecycle.is_short_abandon compiled in (no Python call on this
            # path); tests/test_call_outcome.py holds both kernels to that rule
            short = 1.0 if wait <= short_abandon_s else 0.0
            self._record(t, C_ABANDONED, self._gq[slot], self._gs[slot], -1, wait, short, 0.0)
            self._phase[slot] = P_FREE
        elif phase == P_TALKING or phase == P_HELD:
            if phase == P_HELD:
                self._hold[slot] += t - self._t_hold[slot]
            self._talk[slot] = (t - self._t_ans[slot]) - self._hold[slot]
            self._t_end[slot] = t
            self._phase[slot] = P_WRAP_UP
        elif phase == P_REQUEUED:
            self._phase[slot] = P_FREE
        return self._phase[slot]

    def lost(self, Py_ssize_t slot, double t):
        cdef double wait
        self._check(slot)
        if self._phase[slot] == P_WAITING:
            wait = t - self._t_enq[slot]
            self._record(t, C_NODE_FAILURE, self._gq[slot], self._gs[slot], -1, wait, 0.0, 0.0)
            self._phase[slot] = P_FREE
            return P_FREE
        return self.end(slot, t, 0.0)

    def requeue(self, Py_ssize_t slot, double t, int g_wait):
        cdef int phase
        cdef Py_ssize_t part
        self._check(slot)
        phase = self._phase[slot]
        if phase != P_TALKING and phase != P_HELD:
            return -1
        part = self.open_call()  # may grow (move) the columns: index them only after
        if phase == P_HELD:
            self._hold[slot] += t - self._t_hold[slot]
        self._phase[part] = P_WRAP_UP
        self._gq[part] = self._gq[slot]
        self._gs[part] = self._gs[slot]
        self._ga[part] = self._ga[slot]
        self._t_enq[part] = self._t_enq[slot]
        self._t_ans[part] = self._t_ans[slot]
        self._hold[part] = self._hold[slot]
        self._talk[part] = (t - self._t_ans[slot]) - self._hold[slot]
        self._t_end[part] = t
        self._xfer[part] = self._xfer[slot]
        self._gw[part] = -1
        self._phase[slot] = P_REQUEUED
        self._xfer[slot] += 1
        self._ga[slot] = -1
        self._hold[slot] = 0.0
        self._gw[slot] = g_wait
        self._t_req[slot] = t
        return part

    def wrap_end(self, Py_ssize_t slot, double t):
        cdef double acw
        self._check(slot)
        if self._phase[slot] == P_WRAP_UP:
            acw = t - self._t_end[slot]
            self._record(t, C_HANDLED if self._xfer[slot] == 0 else C_PART,
                         self._gq[slot], self._gs[slot], self._ga[slot],
                         self._talk[slot], self._hold[slot], acw)
            self._phase[slot] = P_FREE
        return self._phase[slot]

    def callback(self, Py_ssize_t slot, double t):
        cdef double wait
        self._check(slot)
        if self._phase[slot] == P_WAITING:
            wait = t - self._t_enq[slot]
            self._record(t, C_CALLBACK, self._gq[slot], self._gs[slot], -1, wait, 0.0, 0.0)
            self._phase[slot] = P_FREE
        elif self._phase[slot] == P_REQUEUED:
            self._phase[slot] = P_FREE
        return self._phase[slot]

    def failsafe(self, Py_ssize_t slot, double t):
        self._check(slot)
        if self._phase[slot] == P_WAITING or self._phase[slot] == P_REQUEUED:
            self._record(t, C_FAILSAFE, self._gq[slot], self._gs[slot], -1, 0.0, 0.0, 0.0)
        return self._phase[slot]

    def missed(self, Py_ssize_t slot, double t, int ga):
        if slot >= 0:
            self._check(slot)
            self._record(t, C_MISSED, self._gq[slot], self._gs[slot], ga, 0.0, 0.0, 0.0)
        else:
            self._record(t, C_MISSED, -1, -1, ga, 0.0, 0.0, 0.0)

    # ---- read-out and clock

    def waiting(self, int g):
        cdef Py_ssize_t slot
        cdef int n = 0
        cdef int phase
        cdef double earliest = float("inf")
        for slot in range(self.n_slots):
            phase = self._phase[slot]
            if phase == P_WAITING:
                if g == 0 or self._gq[slot] == g or self._gs[slot] == g:
                    n += 1
                    if self._t_enq[slot] < earliest:
                        earliest = self._t_enq[slot]
            elif phase == P_REQUEUED:
                if g == 0 or self._gw[slot] == g or self._gs[slot] == g:
                    n += 1
                    if self._t_req[slot] < earliest:
                        earliest = self._t_req[slot]
        return n, earliest

    def read(self, int scope, int g):
        cdef double* arr
        if g < 0 or g >= self.n_groups:
            raise IndexError("group out of range")
        if scope == 0:
            arr = self._interval
        elif scope == 1:
            arr = self._today
        elif scope == 2:
            arr = self._window
        else:
            raise ValueError("scope must be 0, 1 or 2")
        return [arr[g * NF + i] for i in range(NF)]

    def close_interval(self):
        memset(self._interval, 0, self.g_cap * NF * sizeof(double))

    # ---- restore at start (never on the event path): see metrics_py.py

    def add_row(self, int scope, int g, values):
        cdef double* arr
        cdef int i
        if scope != 0 and scope != 1:
            raise ValueError("scope must be 0 or 1")
        if g < 0 or g >= self.n_groups:
            raise IndexError("group out of range")
        if len(values) != NF:
            raise ValueError("a row has F values")
        arr = self._interval if scope == 0 else self._today
        for i in range(NF):
            arr[g * NF + i] += <double>values[i]

    def resume(self, Py_ssize_t slot, double t_enq, int gq, int gs):
        self._check(slot)
        if gq < 0 or gq >= self.n_groups or gs < 0 or gs >= self.n_groups:
            raise IndexError("group out of range")
        if self._phase[slot] == P_FREE:
            self._phase[slot] = P_WAITING
            self._gq[slot] = gq
            self._gs[slot] = gs
            self._ga[slot] = -1
            self._t_enq[slot] = t_enq
            self._hold[slot] = 0.0
            self._xfer[slot] = 0
        return self._phase[slot]

    def add_record(self, double t, int kind, int gq, int gs, int ga,
                   double a, double b, double c):
        for g in (gq, gs, ga):
            if g < -1 or g >= self.n_groups:
                raise IndexError("group out of range")
        if kind < 0 or kind > C_NODE_FAILURE:
            raise ValueError("unknown record kind")
        self._record(t, kind, gq, gs, ga, a, b, c)

    def reset_today(self):
        memset(self._today, 0, self.g_cap * NF * sizeof(double))

    def expire(self, double cutoff):
        cdef Rec* r
        while self.log_len > 0 and self._log[self.log_head].t <= cutoff:
            r = &self._log[self.log_head]
            _apply(self._window, r.kind, r.gq, r.gs, r.ga, r.a, r.b, r.c, -1.0)
            self.log_head = (self.log_head + 1) % self.log_cap
            self.log_len -= 1
        if self.log_len == 0:
            self.log_head = 0
            memset(self._window, 0, self.g_cap * NF * sizeof(double))

    def window_records(self):
        return self.log_len

    # ---- internal

    cdef void _record(self, double t, int kind, int gq, int gs, int ga,
                      double a, double b, double c) except *:
        cdef Rec* r
        cdef Rec* grown
        cdef Py_ssize_t i, tail
        _apply(self._interval, kind, gq, gs, ga, a, b, c, 1.0)
        _apply(self._today, kind, gq, gs, ga, a, b, c, 1.0)
        _apply(self._window, kind, gq, gs, ga, a, b, c, 1.0)
        if self.log_len == self.log_cap:
            # Unwrap the ring into a buffer twice the size.
            grown = <Rec*>_grow(NULL, 2 * self.log_cap * sizeof(Rec))
            for i in range(self.log_len):
                grown[i] = self._log[(self.log_head + i) % self.log_cap]
            free(self._log)
            self._log = grown
            self.log_head = 0
            self.log_cap *= 2
        tail = (self.log_head + self.log_len) % self.log_cap
        r = &self._log[tail]
        r.t = t
        r.kind = kind
        r.gq = gq
        r.gs = gs
        r.ga = ga
        r.a = a
        r.b = b
        r.c = c
        self.log_len += 1
