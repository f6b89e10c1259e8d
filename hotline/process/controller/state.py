"""The controller's state in one place: what the concern modules (delivery, failsafe,
callbacks, wrap_up, resync) read and change, each taking it as their first argument."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hotline.centre.model import Centre
from hotline.core.events import Event
from hotline.core.settings import Settings
from hotline.history.call_log import CallLog
from hotline.history.desk import DeskProjection
from hotline.process.controller.hold_desk import HoldDesk
from hotline.process.controller.timings import Timings
from hotline.router import Offer, Router
from hotline.router.decisions import CallbackDue
from hotline.store.leadership import Leadership
from hotline.telephony.ami.link import AmiLink

if TYPE_CHECKING:
    from hotline.process.controller.delivery import Deliveries

#: What the controller records, and observers receive.
Item = Event | Offer | CallbackDue
Observer = Callable[[Item], None]
#: How many ended call ids the controller remembers at most (the ledger's "recorded it
#: myself"): the newest ENDED_KEPT // 2 always, up to ENDED_KEPT (RecentIds)
ENDED_KEPT = 100_000
_LOW32 = 2**32


def _id_key(call_id: str) -> int | str:
    """An Asterisk uniqueid ("<seconds>.<sequence>", both plain decimal, each under 2**32) as
    one 64-bit int: its seconds in the high bits, its sequence in the low 32; one-to-one, as
    only the canonical spelling is packed. Any other id stays the str it is."""
    seconds, dot, sequence = call_id.partition(".")
    if (dot and seconds.isascii() and seconds.isdigit() and sequence.isascii()
            and sequence.isdigit() and (seconds[0] != "0" or seconds == "0")
            and (sequence[0] != "0" or sequence == "0") and len(seconds) <= 10
            and len(sequence) <= 9):
        high = int(seconds)
        if high < _LOW32:
            return high * _LOW32 + int(sequence)
    return call_id


_MASK64 = 2**64 - 1
_FIBONACCI = 0x9E3779B97F4A7C15  # 2**64 / the golden ratio: spreads sequential keys


class _IdTable:
    """A set of packed ids (1..2**64-1 stored as key + 1; 0 is an empty slot): open
    addressing with linear probing in one array of 8-byte slots, at most half full, so ~16 B
    an id where a set of ints takes ~40 B of slots and ~40 B of int objects. The odd id that
    is not a canonical uniqueid goes to a plain set beside it."""

    __slots__ = ("_bits", "_count", "_others", "_slots")

    def __init__(self) -> None:
        self._bits = 10
        self._slots = array("Q", bytes(8 << self._bits))
        self._count = 0
        self._others: set[str] = set()

    def __len__(self) -> int:
        return self._count + len(self._others)

    def _find(self, stored: int) -> int:
        """The slot holding `stored`, or the empty one where it would go."""
        slots, mask = self._slots, (1 << self._bits) - 1
        i = ((stored * _FIBONACCI) & _MASK64) >> (64 - self._bits)
        while True:
            found = slots[i]
            if found == stored or found == 0:
                return i
            i = (i + 1) & mask

    def add(self, key: int | str) -> None:
        if type(key) is str:
            self._others.add(key)
            return
        stored = key + 1  # type: ignore[operator]
        i = self._find(stored)
        if self._slots[i] == stored:
            return
        self._slots[i] = stored
        self._count += 1
        if 2 * self._count > len(self._slots):
            old = self._slots
            self._bits += 1
            self._slots = array("Q", bytes(8 << self._bits))
            for moved in old:
                if moved:
                    self._slots[self._find(moved)] = moved

    def __contains__(self, key: int | str) -> bool:
        if type(key) is str:
            return key in self._others
        stored = key + 1  # type: ignore[operator]
        return self._slots[self._find(stored)] == stored


class RecentIds:
    """The newest call ids, for membership: two generations of tables of packed ids
    (_id_key, _IdTable); the newer one, once it holds `keep // 2`, becomes the older and the
    older is dropped. So the newest keep // 2 ids are always members (exactly: no false
    positives, no false negatives), and never more than `keep` are. ~16-32 B an id where an
    OrderedDict of the id strings took ~130-190 B (docs/metrics.md, the soak's RSS)."""

    __slots__ = ("_half", "_new", "_old")

    def __init__(self, keep: int = ENDED_KEPT) -> None:
        self._half = max(1, keep // 2)
        self._new = _IdTable()
        self._old = _IdTable()

    def add(self, call_id: str) -> None:
        key = _id_key(call_id)
        if key in self._new:
            return
        self._new.add(key)
        if len(self._new) >= self._half:
            self._old, self._new = self._new, _IdTable()

    def __contains__(self, call_id: object) -> bool:
        if not isinstance(call_id, str):
            return False
        key = _id_key(call_id)
        return key in self._new or key in self._old

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


class HistoryGate(Protocol):
    """History as the ledger needs it (the platform's: hotline/history/recorded.py)."""

    async def recorded(self, call_ids: Sequence[str]) -> set[str]:
        """Which of `call_ids` history holds already; raises when it cannot tell now."""
        ...

    async def sync(self) -> None:
        """Everything recorded so far is accepted (on disk in the outbox)."""
        ...


@dataclass(slots=True)
class CallLeg:
    """Where a call's caller is: the node and the caller's channel."""

    node: str
    channel: str


@dataclass(eq=False)
class ControllerState:
    settings: Settings
    centre: Centre
    clock: Callable[[], float]
    emit_line: Callable[[str], None]
    router: Router
    call_log: CallLog
    #: Callers waiting in hotline-hold over FastAGI: `holds.serve` is the "hold" script of the
    #: AGI server (the platform's, or a test's).
    holds: HoldDesk
    deliveries: Deliveries
    desk: DeskProjection = field(default_factory=DeskProjection)
    links: dict[str, AmiLink] = field(default_factory=dict)
    callers: dict[str, CallLeg] = field(default_factory=dict)
    observers: list[Observer] = field(default_factory=list)
    #: offers and callbacks under way (each bounded): awaited on stop
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    wrap_up_timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    #: call id -> node of a callback (kept for a retry: CallbackAttempted)
    callback_nodes: dict[str, str] = field(default_factory=dict)
    #: callers who asked to be called back and whose first leg has not ended yet
    left_for_callback: set[str] = field(default_factory=set)
    #: set when the first leg of a call in left_for_callback ends (a callback waits for it)
    first_leg_gone: dict[str, asyncio.Event] = field(default_factory=dict)
    outbound: dict[str, str] = field(default_factory=dict)  # queued callbacks: call id -> number
    #: Calls app_queue serves (the failsafe) and the agents on them: the router must not
    #: offer those agents anything until their failsafe call ends.
    failsafe_calls: set[str] = field(default_factory=set)
    #: node -> when its Asterisk started, as read at the last resync (CoreStatus): another
    #: value at the next one means the node restarted meanwhile (a node failure)
    node_started: dict[str, str] = field(default_factory=dict)
    busy_elsewhere: dict[str, str] = field(default_factory=dict)  # agent id -> call id
    #: node -> the call events heard while that node's resync reads it: those of a call the
    #: replay then opens are fed again after it (they came before the router knew the call)
    heard_while_resyncing: dict[str, list[Event]] = field(default_factory=dict)
    #: node -> the timer that declares it lost (its link down for node_lost_s: node_lost.py)
    lost_timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    #: calls ended as lost with their node: a resync after the node is back leaves them alone
    lost_calls: set[str] = field(default_factory=set)
    nodes_lost: int = 0  # nodes declared lost (node_lost.py)
    duplicate_queued: int = 0  # CallQueued for a call already queued (dropped)
    #: waiting callers whose keys are the menus', never the callback key (CallQueued's
    #: takes_callback_key: their IVR did not run, or a resync found them)
    menu_keys: set[str] = field(default_factory=set)
    #: history's view for the ledger (None: no history; only `ended_calls` tells)
    history: HistoryGate | None = None
    #: calls whose start and end this controller recorded (the newest ENDED_KEPT // 2 at least)
    ended_calls: RecentIds = field(default_factory=RecentIds)
    #: the ledger: calls replayed from it, entries quarantined as malformed
    ledger_replayed: int = 0
    ledger_claimed: set[str] = field(default_factory=set)  # entries a pass is settling now
    ledger_bad: int = 0
    resyncs: int = 0  # resyncs finished (ledger pass included), for tests and operators
    #: how offers reached their callers: through the hold session, or by AMI Redirect
    delivered: dict[str, int] = field(default_factory=lambda: {"hold": 0, "redirect": 0})
    offers: int = 0  # Offers the router made (/metrics)
    #: how long the router took per event (/metrics: hotline_decision_seconds)
    decide: Timings = field(default_factory=Timings)
    #: node -> receive time minus the Timestamp of the last event its link delivered
    ami_lag_s: dict[str, float] = field(default_factory=dict)
    #: the leadership term (hotline/store/leadership.py); None: a controller alone, always
    #: the active one, epoch 0 (nothing fenced)
    term: Leadership | None = None
    #: False while a standby follows the nodes: events are read, not routed
    routing: bool = False
    followed: int = 0  # events a standby read and did not route
    #: the replay journal (controller/recording.py's Recording; None: not recording)
    recording: Any = None
    #: a replay (hotline/process/replay.py): nothing is done to Asterisk, no task spawned,
    #: no timer set; what came of them live is in the journal as inputs of their own
    offline: bool = False

    @property
    def epoch(self) -> int:
        """The fencing token that goes with what this controller does to Asterisk."""
        return self.term.epoch if self.term is not None else 0

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self.offline:
            coro.close()
            return
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def ended(self, call_id: str) -> None:
        """This controller recorded `call_id` from its start to its end."""
        self.ended_calls.add(call_id)

    def record_input(self, event: Event) -> None:
        """An event recorded without the router (a ledger's call): an input of its own."""
        rec = self.recording
        if rec is None or rec.inside:
            self.record(event)
            return
        rec.recorded(event)
        try:
            self.record(event)
        finally:
            rec.end()

    def record(self, item: Item) -> None:
        """What happened: the desk's projection, the call log, every observer."""
        self.desk.record(item)
        self.call_log.line(item)
        for observer in self.observers:
            observer(item)


__all__ = ["ENDED_KEPT", "CallLeg", "ControllerState", "HistoryGate", "Item", "Observer",
           "RecentIds"]
