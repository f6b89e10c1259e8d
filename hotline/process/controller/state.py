"""The controller's state in one place: what the concern modules (delivery, failsafe,
callbacks, wrap_up, resync) read and change, each taking it as their first argument."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hotline.centre.model import Centre
from hotline.core.events import Event
from hotline.core.settings import Settings
from hotline.history.call_log import CallLog
from hotline.history.desk import DeskProjection
from hotline.process.controller.hold_desk import HoldDesk
from hotline.process.controller.recent_ids import ENDED_KEPT, RecentIds
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
