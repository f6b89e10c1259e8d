# cython: boundscheck=False, wraparound=False, cdivision=True
"""The what-if simulator's event loop, compiled. The specification is sim_loop_py.py (same
interface, same calls into the router and the metrics in the same order): read that first.

What differs is only how: the heap is a C array of (time, seq, kind, ref) structs ordered by
(time, seq), as the twin's tuples are (seq is unique), and the loop's bookkeeping (phases,
agents, counters, the merge of the three sources) is in C variables; the router, the metrics
and the events are the same Python objects, called the same way.
"""

from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc, realloc

ANSWER, TALK_END, WRAP_END, ABANDON, TICK = range(5)
SHIFT_START, SHIFT_END, BOUNDARY = range(5, 8)
WAITING, ANSWERED, GONE = 0, 1, 2

cdef enum:
    K_ANSWER = 0
    K_TALK_END = 1
    K_WRAP_END = 2
    K_ABANDON = 3
    K_TICK = 4
    K_SHIFT_START = 5
    K_SHIFT_END = 6
    K_BOUNDARY = 7
    P_WAITING = 0
    P_ANSWERED = 1
    P_GONE = 2


cdef struct Ev:
    double t
    long long seq
    int kind
    long long ref


cdef inline bint _before(Ev* a, Ev* b) noexcept nogil:
    return a.t < b.t or (a.t == b.t and a.seq < b.seq)


cdef class _Heap:
    """A binary min-heap of Ev by (t, seq); seq counts the pushes (ties keep their order)."""

    cdef Ev* items
    cdef Py_ssize_t n, cap
    cdef long long seq

    def __cinit__(self):
        self.cap = 1024
        self.items = <Ev*>malloc(self.cap * sizeof(Ev))
        if self.items == NULL:
            raise MemoryError()
        self.n = 0
        self.seq = 0

    def __dealloc__(self):
        free(self.items)

    cdef int push(self, double t, int kind, long long ref) except -1:
        cdef Ev* grown
        cdef Py_ssize_t i, parent
        cdef Ev ev
        if self.n == self.cap:
            grown = <Ev*>realloc(self.items, 2 * self.cap * sizeof(Ev))
            if grown == NULL:
                raise MemoryError()
            self.items = grown
            self.cap *= 2
        ev.t, ev.seq, ev.kind, ev.ref = t, self.seq, kind, ref
        self.seq += 1
        i = self.n
        self.n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if not _before(&ev, &self.items[parent]):
                break
            self.items[i] = self.items[parent]
            i = parent
        self.items[i] = ev
        return 0

    cdef inline double top(self) noexcept:
        return self.items[0].t if self.n else INFINITY

    cdef Ev pop(self) noexcept:
        cdef Ev out = self.items[0]
        cdef Ev last
        cdef Py_ssize_t i = 0, child
        self.n -= 1
        if self.n:
            last = self.items[self.n]
            while True:
                child = 2 * i + 1
                if child >= self.n:
                    break
                if child + 1 < self.n and _before(&self.items[child + 1], &self.items[child]):
                    child += 1
                if not _before(&self.items[child], &last):
                    break
                self.items[i] = self.items[child]
                i = child
            self.items[i] = last
        return out


cdef class _Loop:
    cdef _Heap heap
    cdef list now, call_ids, agent_ids, leaving, talk, acw

    cdef dict agent_index
    cdef unsigned char* phase
    cdef int* call_agent
    cdef long long n_agents
    cdef Py_ssize_t cut
    cdef double delay
    cdef long long events
    cdef object call_answered, agent_state_changed, offer_type, counted
    cdef object metrics_apply, router_handle, agent_command

    def __dealloc__(self):
        free(self.phase)
        free(self.call_agent)

    cdef int answer(self, Py_ssize_t i, int a, double t) except -1:
        self.phase[i] = P_ANSWERED
        self.call_agent[i] = a
        ev = self.call_answered(t, self.call_ids[i], self.agent_ids[a])
        self.metrics_apply(ev)
        self.apply(self.router_handle(ev))
        self.events += 1
        self.heap.push(t + <double>self.talk[i], K_TALK_END, i)
        return 0

    cdef int apply(self, list out) except -1:
        cdef Py_ssize_t i
        cdef int a
        for item in out:
            tp = type(item)
            if tp is self.agent_state_changed:  # the most common: four a call
                self.metrics_apply(item)
            elif tp is self.offer_type:
                i = int(item.call_id[self.cut:])
                a = self.agent_index[item.agent_id]
                if self.delay:
                    self.heap.push(<double>self.now[0] + self.delay, K_ANSWER,
                                   i * self.n_agents + a)
                else:
                    self.answer(i, a, self.now[0])
            elif tp in self.counted:  # overflows
                self.metrics_apply(item)
        return 0

    cdef int command(self, Py_ssize_t a, object trigger) except -1:
        self.apply(self.agent_command(self.agent_ids[a], trigger))
        self.events += 1
        return 0


def run(list arrival, queue, talk, patience, list frame, *, list now, queue_name, queue_service,
        acw, double delay, str prefix, agent_ids, list leaving, tuple types, counted,
        metrics_apply, router_handle, agent_command, end_wrap_up, logout, tick, double tick_s,
        interval_s, close, shift_start, shift_end):
    """See sim_loop_py.run."""
    cdef _Loop lp = _Loop()
    cdef _Heap heap = _Heap()
    cdef Py_ssize_t n = len(arrival) - 1  # the sentinel
    cdef Py_ssize_t ai = 0, fi = 0, i, n_frame = len(frame)
    cdef long long active = 0, ref
    cdef double t = 0.0, ta, tf, th, wait
    cdef double* frame_t
    cdef double* arr
    cdef double* pat
    cdef int kind, q, a
    cdef Ev ev
    cdef list call_ids = [""] * n
    cdef list qlist = list(queue)
    cdef list names = list(queue_name), services = list(queue_service)
    call_queued, call_answered, call_ended, agent_state_changed, offer_type = types
    lp.heap = heap
    lp.now = now
    lp.call_ids = call_ids
    lp.agent_ids = list(agent_ids)
    lp.leaving = leaving
    lp.talk = list(talk)
    lp.acw = list(acw)
    lp.agent_index = {aid: j for j, aid in enumerate(lp.agent_ids)}
    lp.n_agents = len(lp.agent_ids)
    lp.cut = len(prefix)
    lp.delay = delay
    lp.events = 0
    lp.call_answered, lp.agent_state_changed, lp.offer_type = (
        call_answered, agent_state_changed, offer_type)
    lp.counted = counted
    lp.metrics_apply, lp.router_handle, lp.agent_command = (
        metrics_apply, router_handle, agent_command)
    lp.phase = <unsigned char*>malloc((n if n else 1) * sizeof(unsigned char))
    lp.call_agent = <int*>malloc((n if n else 1) * sizeof(int))
    frame_t = <double*>malloc((n_frame if n_frame else 1) * sizeof(double))
    arr = <double*>malloc((n + 1) * sizeof(double))
    pat = <double*>malloc((n if n else 1) * sizeof(double))
    try:
        if lp.phase == NULL or lp.call_agent == NULL or frame_t == NULL or arr == NULL \
                or pat == NULL:
            raise MemoryError()
        for i in range(n):
            lp.phase[i] = P_WAITING
            lp.call_agent[i] = 0
            pat[i] = patience[i]
        for i in range(n + 1):
            arr[i] = arrival[i]
        for i in range(n_frame):
            frame_t[i] = frame[i][0]
        if tick is not None:
            heap.push(tick_s, K_TICK, 0)
        while True:
            if ai == n and not active:
                break  # what is left are shift ends and boundaries after the last call
            ta, tf = arr[ai], frame_t[fi]
            th = heap.top()
            if tf <= ta and tf <= th:
                if tf == INFINITY:
                    break
                t = tf
                now[0] = t
                _, kind, ref = frame[fi]
                fi += 1
                if kind == K_BOUNDARY:
                    close(ref * interval_s)
                else:
                    for trigger in (shift_start if kind == K_SHIFT_START else shift_end)(ref):
                        lp.command(ref, trigger)
                continue
            if ta < th:
                i = ai
                ai += 1
                t = ta
                now[0] = t
                q = qlist[i]
                call_id = prefix + str(i)
                call_ids[i] = call_id
                e = call_queued(t, call_id, names[q], services[q])
                metrics_apply(e)
                lp.apply(router_handle(e))
                lp.events += 1
                active += 1
                if lp.phase[i] == P_WAITING and pat[i] != INFINITY:
                    heap.push(t + pat[i], K_ABANDON, i)
                continue
            ev = heap.pop()
            t = ev.t
            now[0] = t
            ref = ev.ref
            kind = ev.kind
            if kind == K_TALK_END:
                e = call_ended(t, call_ids[ref])
                metrics_apply(e)
                lp.apply(router_handle(e))
                lp.events += 1
                active -= 1
                a = lp.call_agent[ref]
                wait = lp.acw[<int>qlist[ref]]
                if wait > 0:
                    heap.push(t + wait, K_WRAP_END, a)
                elif leaving[a]:
                    leaving[a] = False
                    lp.command(a, logout)
                else:
                    lp.command(a, end_wrap_up)
            elif kind == K_WRAP_END:
                if leaving[ref]:
                    leaving[ref] = False
                    lp.command(ref, logout)
                else:
                    lp.command(ref, end_wrap_up)
            elif kind == K_ABANDON:
                if lp.phase[ref] == P_WAITING:
                    lp.phase[ref] = P_GONE
                    e = call_ended(t, call_ids[ref])
                    metrics_apply(e)
                    lp.apply(router_handle(e))
                    lp.events += 1
                    active -= 1
            elif kind == K_ANSWER:
                i = ref // lp.n_agents
                a = ref % lp.n_agents
                if lp.phase[i] == P_WAITING:  # the caller may have hung up while it rang
                    lp.answer(i, a, t)
            else:  # TICK
                lp.apply(tick())
                heap.push(t + tick_s, K_TICK, 0)
        return lp.events, t
    finally:
        free(frame_t)
        free(arr)
        free(pat)
