"""Per-call and per-interval metric accumulators: the pure-Python twin of metrics.pyx.

This file is the specification; metrics.pyx implements the same interface with C arrays and
must give bit-identical results (tests replay the same streams through both).

A `Core` holds
- a call table: one slot per call that is waiting, talking, held or in wrap-up, with its
  queue/service/agent group, enqueue and answer moments and hold time, plus one slot per
  earlier agent's part of a transferred call while that agent's wrap-up runs;
- counters: `F` float fields per group (group 0 = all queues, the others are queues, services
  and agents, numbered by the caller) for three scopes: the open interval, today, and a sliding
  window. Every count is made at one moment `t` (the moment the attribution rule of
  docs/metrics.md names, always the time of the event that causes it) into all three scopes;
  the window keeps a log of its records and subtracts them again once they are `window_s` old.

Transfers back to a queue (requeue()): the connected agent's part ends (its talk and hold are
fixed, its wrap-up runs in a slot of its own, the "part") and the call waits again (phase
REQUEUED) in the target queue. The call was offered, answered and judged for the service level
once, in its first queue: nothing after the transfer counts for its wait again. The next
answer counts for that agent only (answered); each part counts as handled for its agent, and
all parts' talk, hold and after-call work count for the call's queue, service and group 0,
each when that part's handling ended; the call itself is one handled call there, counted with
its first part (K_HANDLED), later parts add their time only (K_PART). A caller who hangs up or
asks for a callback while waiting after a transfer ends the call with no further count.

The caller (hotline.realtime) owns the clock: it calls `close_interval()` / `reset_today()` at
boundaries and `expire(now - window_s)` before reading the window.
"""

from __future__ import annotations

from collections import deque

from hotline.core.lifecycle import is_short_abandon

# Fields of a counter row.
OFFERED = 0
ANSWERED = 1
ABANDONED = 2  # every abandon, short ones included
SHORT_ABANDONED = 3  # the subset abandoned within the short-abandon threshold
OVERFLOWED = 4
CALLBACKS = 5
ANSWERED_WITHIN_T = 6
WAIT_ANSWERED = 7  # total wait of answered calls (seconds)
WAIT_ABANDONED = 8  # total wait of abandoned calls (seconds)
HANDLED = 9
TALK = 10
HOLD = 11
ACW = 12
FAILSAFE = 13
MISSED_RINGS = 14
LOST_NODE_FAILURE = 15  # waiting callers lost to a node failure (not abandoned)
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

# Scopes for read().
INTERVAL = 0
TODAY = 1
WINDOW = 2

# Call phases in the table.
FREE = 0
WAITING = 1
TALKING = 2
HELD = 3
WRAP_UP = 4  # the caller hung up (or the agent transferred it); after-call work is running
REQUEUED = 5  # waiting again after a transfer: answered once already

# Record kinds (what one count adds).
K_OFFERED = 0
K_OVERFLOW = 1
K_ANSWERED = 2
K_ABANDONED = 3
K_CALLBACK = 4
K_FAILSAFE = 5
K_HANDLED = 6
K_MISSED = 7
K_PART = 8  # a later part of a transferred call: handled for its agent, time for all groups
K_REANSWERED = 9  # answered again after a transfer: counts for the agent only
K_NODE_FAILURE = 10  # the waiting caller was lost to a node failure


class Core:
    """Call table plus interval / today / window counters. Groups are dense ints from 0."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.n_groups = 1  # group 0: all queues
        self._interval: list[float] = [0.0] * F
        self._today: list[float] = [0.0] * F
        self._window: list[float] = [0.0] * F
        self._log: deque[tuple[float, int, int, int, int, float, float, float]] = deque()
        # call table, one entry per slot
        self._phase: list[int] = []
        self._gq: list[int] = []
        self._gs: list[int] = []
        self._ga: list[int] = []
        self._t_enq: list[float] = []
        self._t_ans: list[float] = []
        self._t_hold: list[float] = []
        self._hold: list[float] = []
        self._t_end: list[float] = []
        self._talk: list[float] = []
        self._xfer: list[int] = []  # transfers so far (a part: of the call when it began)
        self._gw: list[int] = []  # REQUEUED: the queue it waits in now
        self._t_req: list[float] = []  # REQUEUED: when it began to wait again
        self._free: list[int] = []

    # ---- groups and slots

    def add_group(self) -> int:
        g = self.n_groups
        self.n_groups += 1
        for arr in (self._interval, self._today, self._window):
            arr.extend([0.0] * F)
        return g

    def open_call(self) -> int:
        """A free slot for a new call (phase FREE until queue() is called)."""
        if self._free:
            return self._free.pop()  # slots are only valid as returned here
        for arr in (self._phase, self._gq, self._gs, self._ga, self._xfer, self._gw):
            arr.append(0)
        for arr in (self._t_enq, self._t_ans, self._t_hold, self._hold, self._t_end, self._talk,
                    self._t_req):  # fmt: skip
            arr.append(0.0)
        return len(self._phase) - 1

    def release(self, slot: int) -> None:
        self._check(slot)
        self._phase[slot] = FREE
        self._free.append(slot)

    def phase(self, slot: int) -> int:
        self._check(slot)
        return self._phase[slot]

    def agent_of(self, slot: int) -> int:
        return self._ga[slot]

    def queue_of(self, slot: int) -> int:
        return self._gq[slot]

    # ---- the call's life; each returns the call's phase afterwards

    def queue(self, slot: int, t: float, gq: int, gs: int) -> int:
        """The call entered a queue: offered now. A repeated CallQueued changes nothing."""
        if self._phase[slot] == FREE:
            self._phase[slot] = WAITING
            self._gq[slot] = gq
            self._gs[slot] = gs
            self._ga[slot] = -1
            self._t_enq[slot] = t
            self._hold[slot] = 0.0
            self._xfer[slot] = 0
            self._record(t, K_OFFERED, gq, gs, -1, 0.0, 0.0, 0.0)
        return self._phase[slot]

    def overflow(self, slot: int, t: float, g_to: int) -> int:
        """Overflowed from its queue into g_to: offered there now; the wait runs on. After a
        transfer it only moves to g_to (offered once, in its first queue)."""
        if self._phase[slot] == WAITING and g_to != self._gq[slot]:
            self._record(t, K_OVERFLOW, self._gq[slot], self._gs[slot], g_to, 0.0, 0.0, 0.0)
            self._gq[slot] = g_to
        elif self._phase[slot] == REQUEUED:
            self._gw[slot] = g_to
        return self._phase[slot]

    def answer(self, slot: int, t: float, ga: int, sl_seconds: float) -> int:
        """The wait ends answered; within T means wait <= T. Answered again after a transfer:
        a new part starts, answered for the agent only (not for the queue, SL or ASA)."""
        phase = self._phase[slot]
        if phase == WAITING:
            wait = t - self._t_enq[slot]
            within = 1.0 if wait <= sl_seconds else 0.0
            self._ga[slot] = ga
            self._t_ans[slot] = t
            self._phase[slot] = TALKING
            self._record(t, K_ANSWERED, self._gq[slot], self._gs[slot], ga, wait, within, 0.0)
        elif phase == REQUEUED:
            self._ga[slot] = ga
            self._t_ans[slot] = t
            self._phase[slot] = TALKING
            self._record(t, K_REANSWERED, -1, -1, ga, 0.0, 0.0, 0.0)
        return self._phase[slot]

    def hold(self, slot: int, t: float) -> int:
        if self._phase[slot] == TALKING:
            self._phase[slot] = HELD
            self._t_hold[slot] = t
        return self._phase[slot]

    def unhold(self, slot: int, t: float) -> int:
        if self._phase[slot] == HELD:
            self._hold[slot] += t - self._t_hold[slot]
            self._phase[slot] = TALKING
        return self._phase[slot]

    def end(self, slot: int, t: float, short_abandon_s: float) -> int:
        """The caller hung up. Waiting: abandoned (short by hotline.core.lifecycle's rule,
        is_short_abandon: the rule call_outcome decides a call's outcome by). Connected:
        hold closes, talk = connected time - hold, and wrap-up starts (phase WRAP_UP).
        Waiting after a transfer: the call ends (FREE) uncounted, it was answered already."""
        phase = self._phase[slot]
        if phase == WAITING:
            wait = t - self._t_enq[slot]
            short = 1.0 if is_short_abandon(wait, short_abandon_s) else 0.0
            self._record(t, K_ABANDONED, self._gq[slot], self._gs[slot], -1, wait, short, 0.0)
            self._phase[slot] = FREE
        elif phase == TALKING or phase == HELD:
            if phase == HELD:
                self._hold[slot] += t - self._t_hold[slot]
            self._talk[slot] = (t - self._t_ans[slot]) - self._hold[slot]
            self._t_end[slot] = t
            self._phase[slot] = WRAP_UP
        elif phase == REQUEUED:
            self._phase[slot] = FREE
        return self._phase[slot]

    def lost(self, slot: int, t: float) -> int:
        """The node failed under the call (its Asterisk stopped or crashed). Waiting: lost
        to a node failure, counted as such only (not abandoned, not in the service level);
        otherwise as end(): a connected call was answered and its handling runs on."""
        if self._phase[slot] == WAITING:
            wait = t - self._t_enq[slot]
            self._record(t, K_NODE_FAILURE, self._gq[slot], self._gs[slot], -1, wait, 0.0, 0.0)
            self._phase[slot] = FREE
            return FREE
        return self.end(slot, t, 0.0)

    def requeue(self, slot: int, t: float, g_wait: int) -> int:
        """The connected agent transferred the call to queue g_wait. Its part moves to a new
        slot in WRAP_UP (hold closes, talk = connected time - hold), returned for wrap_end()
        and release(); the call waits again (REQUEUED). -1 when not connected: no change."""
        phase = self._phase[slot]
        if phase != TALKING and phase != HELD:
            return -1
        part = self.open_call()
        if phase == HELD:
            self._hold[slot] += t - self._t_hold[slot]
        self._phase[part] = WRAP_UP
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
        self._phase[slot] = REQUEUED
        self._xfer[slot] += 1
        self._ga[slot] = -1
        self._hold[slot] = 0.0
        self._gw[slot] = g_wait
        self._t_req[slot] = t
        return part

    def wrap_end(self, slot: int, t: float) -> int:
        """The agent left after-call work: the handling ends and counts now (a call's first
        part as the call's handling, a later part of a transferred call as K_PART)."""
        if self._phase[slot] == WRAP_UP:
            acw = t - self._t_end[slot]
            self._record(
                t,
                K_HANDLED if self._xfer[slot] == 0 else K_PART,
                self._gq[slot],
                self._gs[slot],
                self._ga[slot],
                self._talk[slot],
                self._hold[slot],
                acw,
            )
            self._phase[slot] = FREE
        return self._phase[slot]

    def callback(self, slot: int, t: float) -> int:
        """The waiting caller chose a callback: the wait ends, not answered, not abandoned.
        After a transfer the call ends uncounted (its wait ended answered already)."""
        if self._phase[slot] == WAITING:
            wait = t - self._t_enq[slot]
            self._record(t, K_CALLBACK, self._gq[slot], self._gs[slot], -1, wait, 0.0, 0.0)
            self._phase[slot] = FREE
        elif self._phase[slot] == REQUEUED:
            self._phase[slot] = FREE
        return self._phase[slot]

    def failsafe(self, slot: int, t: float) -> int:
        """app_queue took the waiting caller; the call keeps waiting and counts as usual."""
        if self._phase[slot] == WAITING or self._phase[slot] == REQUEUED:
            self._record(t, K_FAILSAFE, self._gq[slot], self._gs[slot], -1, 0.0, 0.0, 0.0)
        return self._phase[slot]

    def missed(self, slot: int, t: float, ga: int) -> None:
        """An agent let the call ring out; slot -1 when the call is unknown."""
        if slot >= 0:
            self._record(t, K_MISSED, self._gq[slot], self._gs[slot], ga, 0.0, 0.0, 0.0)
        else:
            self._record(t, K_MISSED, -1, -1, ga, 0.0, 0.0, 0.0)

    # ---- read-out and clock

    def waiting(self, g: int) -> tuple[int, float]:
        """Calls waiting now in group g (0 = all) and their earliest wait start (inf if none).
        A call waiting again after a transfer waits in its target queue since the transfer
        (and in its first service)."""
        n = 0
        earliest = float("inf")
        for slot in range(len(self._phase)):
            phase = self._phase[slot]
            if phase == WAITING:
                if g == 0 or self._gq[slot] == g or self._gs[slot] == g:
                    n += 1
                    if self._t_enq[slot] < earliest:
                        earliest = self._t_enq[slot]
            elif phase == REQUEUED:
                if g == 0 or self._gw[slot] == g or self._gs[slot] == g:
                    n += 1
                    if self._t_req[slot] < earliest:
                        earliest = self._t_req[slot]
        return n, earliest

    def read(self, scope: int, g: int) -> list[float]:
        if not 0 <= g < self.n_groups:
            raise IndexError("group out of range")
        if scope not in (INTERVAL, TODAY, WINDOW):
            raise ValueError("scope must be 0, 1 or 2")
        arr = (self._interval, self._today, self._window)[scope]
        return arr[g * F : g * F + F]

    def close_interval(self) -> None:
        self._interval = [0.0] * (self.n_groups * F)

    # ---- restore at start (never on the event path)

    def add_row(self, scope: int, g: int, values: list[float]) -> None:
        """Adds a saved counter row (F values) to group g in the interval or today scope:
        figures a previous run counted (hotline.realtime's restore). The window is not
        restored this way (it has no record to expire)."""
        if scope not in (INTERVAL, TODAY):
            raise ValueError("scope must be 0 or 1")
        if not 0 <= g < self.n_groups:
            raise IndexError("group out of range")
        if len(values) != F:
            raise ValueError("a row has F values")
        arr = self._interval if scope == INTERVAL else self._today
        for i in range(F):
            arr[g * F + i] += values[i]

    def resume(self, slot: int, t_enq: float, gq: int, gs: int) -> int:
        """A call a previous run counted offered (it queued at t_enq) and that still waits:
        waiting again, nothing counted (queue() without its K_OFFERED)."""
        self._check(slot)
        if not (0 <= gq < self.n_groups and 0 <= gs < self.n_groups):
            raise IndexError("group out of range")
        if self._phase[slot] == FREE:
            self._phase[slot] = WAITING
            self._gq[slot] = gq
            self._gs[slot] = gs
            self._ga[slot] = -1
            self._t_enq[slot] = t_enq
            self._hold[slot] = 0.0
            self._xfer[slot] = 0
        return self._phase[slot]

    def add_record(
        self, t: float, kind: int, gq: int, gs: int, ga: int, a: float, b: float, c: float
    ) -> None:
        """One count of kind K_* made at t, as the call's life would have made it (a
        restore replaying what history holds of the time after a checkpoint)."""
        for g in (gq, gs, ga):
            if not -1 <= g < self.n_groups:
                raise IndexError("group out of range")
        if not 0 <= kind <= K_NODE_FAILURE:
            raise ValueError("unknown record kind")
        self._record(t, kind, gq, gs, ga, a, b, c)

    def reset_today(self) -> None:
        self._today = [0.0] * (self.n_groups * F)

    def expire(self, cutoff: float) -> None:
        """Drop window records made at or before cutoff (the window is (now - W, now])."""
        log = self._log
        while log and log[0][0] <= cutoff:
            _, kind, gq, gs, ga, a, b, c = log.popleft()
            _apply(self._window, kind, gq, gs, ga, a, b, c, -1.0)
        if not log:
            # Sums of subtracted floats need not return to exactly zero.
            self._window = [0.0] * (self.n_groups * F)

    def window_records(self) -> int:
        return len(self._log)

    # ---- internal

    def _check(self, slot: int) -> None:
        if not 0 <= slot < len(self._phase):
            raise IndexError("slot out of range")

    def _record(
        self, t: float, kind: int, gq: int, gs: int, ga: int, a: float, b: float, c: float
    ) -> None:
        _apply(self._interval, kind, gq, gs, ga, a, b, c, 1.0)
        _apply(self._today, kind, gq, gs, ga, a, b, c, 1.0)
        _apply(self._window, kind, gq, gs, ga, a, b, c, 1.0)
        self._log.append((t, kind, gq, gs, ga, a, b, c))


def _apply(
    arr: list[float],
    kind: int,
    gq: int,
    gs: int,
    ga: int,
    a: float,
    b: float,
    c: float,
    sign: float,
) -> None:
    """Adds (sign=+1) or removes (-1) one record. A call counts in group 0, its queue and its
    service; handling and missed rings also in its agent. Overflow: `ga` is the target queue."""
    if kind == K_OVERFLOW:
        for g in (0, gq, gs):
            arr[g * F + OVERFLOWED] += sign
        arr[ga * F + OFFERED] += sign  # offered once more, in the target queue only
        return
    if kind == K_REANSWERED:
        arr[ga * F + ANSWERED] += sign
        return
    if kind == K_PART:
        for g in (0, gq, gs, ga):
            o = g * F
            arr[o + TALK] += sign * a
            arr[o + HOLD] += sign * b
            arr[o + ACW] += sign * c
        arr[ga * F + HANDLED] += sign  # the call was counted handled with its first part
        return
    for g in (0, gq, gs, ga):
        if g < 0:  # kinds without an agent pass ga = -1
            continue
        o = g * F
        if kind == K_OFFERED:
            arr[o + OFFERED] += sign
        elif kind == K_ANSWERED:
            arr[o + ANSWERED] += sign
            arr[o + WAIT_ANSWERED] += sign * a
            arr[o + ANSWERED_WITHIN_T] += sign * b
        elif kind == K_ABANDONED:
            arr[o + ABANDONED] += sign
            arr[o + WAIT_ABANDONED] += sign * a
            arr[o + SHORT_ABANDONED] += sign * b
        elif kind == K_CALLBACK:
            arr[o + CALLBACKS] += sign
        elif kind == K_FAILSAFE:
            arr[o + FAILSAFE] += sign
        elif kind == K_HANDLED:
            arr[o + HANDLED] += sign
            arr[o + TALK] += sign * a
            arr[o + HOLD] += sign * b
            arr[o + ACW] += sign * c
        elif kind == K_MISSED:
            arr[o + MISSED_RINGS] += sign
        elif kind == K_NODE_FAILURE:
            arr[o + LOST_NODE_FAILURE] += sign
