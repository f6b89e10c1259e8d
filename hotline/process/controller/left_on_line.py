"""Calls an agent was talking on when the last controller died (history/unfinished.py keeps
them from its `open_calls` rows), settled once this controller has resynced every node:

- still on the line: the resync found the caller in hotline-connect and replayed it; the
  router knows it, and it ends live;
- ended since, after the dialplan saw the heartbeat go stale: the node's ledger wrote it with
  its true end (this controller ended it, or history has it);
- in neither (it ended within the heartbeat's stale time of the crash): written now, as
  history/unfinished.py closed it (ended at the last moment history knew the controller
  alive), its events recorded at their times (observers only: the router routes nothing of a
  call that is over; the metrics count its offer and answer once, the checkpoint's connected
  calls included).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from hotline.core.events import CallEnded
from hotline.core.values import ServiceType
from hotline.process.controller.ledger import LedgerEntry, replay
from hotline.process.controller.state import ControllerState
from hotline.store.records import CallRecord

log = logging.getLogger("hotline.process.controller")

#: how a call closed so ends in its timeline (cause 0: nobody heard its end)
CAUSE_TEXT = "ended while no controller ran (on the line at the crash)"


def entry_of(call: CallRecord) -> LedgerEntry:
    """The call, closed as history/unfinished.py closes it, as its ledger entry would be."""
    failsafe_at = next((float(s["at"]) for s in call.timeline
                        if str(s.get("what", "")).startswith("failsafe")), None)
    try:
        service = ServiceType(call.service) if call.service else None
    except ValueError:
        service = None
    return LedgerEntry(
        call_id=call.call_id, entered_at=call.entered_at or call.answered_at or 0.0,
        ended_at=call.ended_at or 0.0, cause=0, caller=call.caller,
        queued_at=call.queued_at, queue=call.queue or "", service=service,
        failsafe_at=failsafe_at, answered_at=call.answered_at, agent=call.agent_id or "",
        recording=call.recording_path or "")


async def settle(state: ControllerState, calls: Iterable[CallRecord]) -> list[str]:
    """Writes the calls neither the resync nor a ledger accounted for; returns their ids."""
    left = [c for c in calls
            if c.call_id not in state.ended_calls and not state.router.knows(c.call_id)]
    if left and state.history is not None:
        recorded = await state.history.recorded([c.call_id for c in left])
        left = [c for c in left if c.call_id not in recorded]
    for call in left:
        for event in replay(entry_of(call), call.node, state.settings.hotline_number):
            if isinstance(event, CallEnded):
                event = CallEnded(event.at, node=event.node, call_id=event.call_id, cause=0,
                                  cause_text=CAUSE_TEXT)
                state.ended(event.call_id)
            state.record_input(event)
    if left and state.history is not None:
        await state.history.sync()
    return [c.call_id for c in left]


__all__ = ["CAUSE_TEXT", "entry_of", "settle"]
