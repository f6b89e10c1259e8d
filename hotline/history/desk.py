"""The agent desk's read model: each agent's last state change and recent calls, kept up to
date as the controller records what happens (one `record` per item), so a desk read is a few
dictionary lookups, whatever the traffic.

A call's context (caller, queue, service, IVR path, times) is built from its CallEntered,
IvrChoice, CallQueued and CallAnswered, and kept while the call lives (at most KEEP_CALLS
live calls, the least recently active dropped first). Once an agent is reserved for a call,
the agent's own short list holds its context too, so an agent's current and last calls stay
readable after the call ends, however many other calls come and go.

Memory (docs/metrics.md, the soak's RSS): up to 10,000 live calls' contexts and 10 an agent,
so each holds as little as it can: one caller string when the queued caller is the one that
entered, the queue name and each IVR step ("menu=digit") as the one shared string of its
kind, the IVR path as a tuple, contexts in a plain dict (insertion order; a touch
re-inserts), and an agent's recent calls as a small tuple rather than a deque (whose first
block alone is ~600 bytes).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from hotline.core.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallEntered,
    CallQueued,
    IvrChoice,
)

#: Live calls whose context is kept (by last activity; an ended call's is dropped).
KEEP_CALLS = 10_000
#: Calls kept per agent, newest last.
KEEP_PER_AGENT = 10


@dataclass(slots=True, eq=False)
class CallContext:
    """The call as the controller saw it; the latest of each event counts (an overflow or a
    re-queue: the latest queue), IVR choices in order. Only what the desk shows is kept, not
    the events (their channels and the rest: 10,000 calls' worth)."""

    call_id: str
    entered_at: float | None = None
    queued_at: float | None = None
    answered_at: float | None = None
    entered_caller: str = ""
    queued_caller: str = ""  # the entered caller's own str when they are equal
    queue: str = ""  # interned: one str per queue name
    service: str = ""  # the ServiceType's value
    ivr: tuple[str, ...] = ()  # "menu=digit" each, interned, in order

    @property
    def caller(self) -> str:
        return self.queued_caller or self.entered_caller

    @property
    def ivr_path(self) -> list[str]:
        return list(self.ivr)


@dataclass(eq=False)
class DeskProjection:
    keep_calls: int = KEEP_CALLS
    keep_per_agent: int = KEEP_PER_AGENT
    #: by last activity, oldest first (a plain dict: an OrderedDict's links cost ~60 B more
    #: an entry)
    _calls: dict[str, CallContext] = field(default_factory=dict)
    _agent_calls: dict[str, tuple[CallContext, ...]] = field(default_factory=dict)
    _last_change: dict[str, AgentStateChanged] = field(default_factory=dict)

    def record(self, item: object) -> None:
        """One recorded item (event or decision); anything the desk does not show is skipped."""
        if isinstance(item, AgentStateChanged):
            self._last_change[item.agent_id] = item
            if item.call_id:
                self._to_agent(item.agent_id, self._agent_context(item.agent_id, item.call_id))
        elif isinstance(item, CallEntered):
            context = self._context(item.call_id)
            context.entered_at = item.at
            context.entered_caller = (context.queued_caller
                                      if item.caller == context.queued_caller else item.caller)
        elif isinstance(item, IvrChoice):
            context = self._context(item.call_id)
            context.ivr = (*context.ivr, sys.intern(f"{item.menu}={item.digit}"))
        elif isinstance(item, CallQueued):
            context = self._context(item.call_id)
            context.queued_at = item.at
            context.queued_caller = (context.entered_caller
                                     if item.caller == context.entered_caller else item.caller)
            context.queue, context.service = sys.intern(item.queue), item.service.value
        elif isinstance(item, CallAnswered):
            self._context(item.call_id).answered_at = item.at
        elif isinstance(item, CallEnded):
            # an ended call is read only through the lists of the agents who had it (an
            # agent's wrap-up comes after the end): the context of every call the centre
            # took today need not wait for the bound (#15: the soak's memory)
            self._calls.pop(item.call_id, None)

    def last_change(self, agent_id: str) -> AgentStateChanged | None:
        return self._last_change.get(agent_id)

    def recent_calls(self, agent_id: str) -> list[CallContext]:
        """The agent's recent calls, oldest first."""
        return list(self._agent_calls.get(agent_id, ()))

    def call(self, agent_id: str, call_id: str) -> CallContext | None:
        """The context of one of the agent's calls (or any recent call): None when nothing
        of its entry or queueing was seen."""
        found = next((c for c in self._agent_calls.get(agent_id, ()) if c.call_id == call_id),
                     None) or self._calls.get(call_id)
        if found is None or (found.entered_at is None and found.queued_at is None):
            return None
        return found

    def _agent_context(self, agent_id: str, call_id: str) -> CallContext:
        for context in self._agent_calls.get(agent_id, ()):
            if context.call_id == call_id:
                return context
        return self._context(call_id)

    def _context(self, call_id: str) -> CallContext:
        calls = self._calls
        context = calls.pop(call_id, None)
        if context is None:
            context = CallContext(call_id)
            if calls and len(calls) >= self.keep_calls:
                del calls[next(iter(calls))]
        calls[call_id] = context  # the newest
        return context

    def _to_agent(self, agent_id: str, context: CallContext) -> None:
        calls = self._agent_calls.get(agent_id, ())
        if not calls or calls[-1] is not context:
            kept = tuple(c for c in calls if c is not context)
            self._agent_calls[agent_id] = (*kept[len(kept) + 1 - self.keep_per_agent:], context)


__all__ = ["KEEP_CALLS", "KEEP_PER_AGENT", "CallContext", "DeskProjection"]
