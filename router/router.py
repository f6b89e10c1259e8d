"""The ACD: pure routing logic over typed events and an injected clock.

The controller feeds call events (`handle`), agent commands (`agent_command`) and the passing of
time (`tick`); every entry point returns what happened and what to do: AgentStateChanged,
CallOffered and CallOverflowed events, and Offer / CallbackDue decisions to execute.

Invariant kept after every entry point: no waiting call has a ready agent that could take it,
except calls holding out for their preferred agent. So a new call can only be matched with the
ready agents, and an agent turning ready only with the waiting calls, and a full pass over the
line is needed only when requirements change (bullseye steps, overflow, preferred expiry, skill
edits). Selection runs in the select_agent kernel; explanations are built in Python after it.

The Router coordinates; each concern is a module of functions over one RouterState (state.py):
lifecycle (a call's events), dispatch (matching and offers), callbacks (virtual hold and its
retries), transfers (back to a queue), edits (live configuration), roster (agents and the one
place their state changes), reachability (agents' phones coming and going), explain (why an
agent was chosen).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallbackAttempted,
    CallEnded,
    CallQueued,
    CallRequeued,
    EndpointStatus,
    Event,
    FailsafeTaken,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.lifecycle import (
    AGENT_TRANSITIONS,
    AgentState,
    AgentTrigger,
    next_agent_state,
)
from hotline.core_ext.select import load
from hotline.router import (
    callbacks,
    dispatch,
    edits,
    lifecycle,
    reachability,
    roster,
    transfers,
)
from hotline.router.agent_records import AgentView
from hotline.router.calls import WaitingView
from hotline.router.decisions import Explanation
from hotline.router.definitions import AgentConfig, QueueConfig, RouterConfig, queues_served
from hotline.router.errors import IllegalCommand, UnknownAgent
from hotline.router.lifecycle import MISSED
from hotline.router.state import Output, RouterState

__all__ = ["COMMANDS", "MISSED", "Output", "Router"]

COMMANDS = frozenset(
    {
        AgentTrigger.LOGIN,
        AgentTrigger.LOGOUT,
        AgentTrigger.READY,
        AgentTrigger.NOT_READY,
        AgentTrigger.END_WRAP_UP,
    }
)

#: Which module handles each call event; other event types are ignored.
_HANDLERS: dict[type[Event], Callable[[RouterState, Any, float], Output]] = {
    CallQueued: lifecycle.on_queued,
    AgentRinging: lifecycle.on_ringing,
    CallAnswered: lifecycle.on_answered,
    RingNoAnswer: lifecycle.on_ring_no_answer,
    CallEnded: lifecycle.on_ended,
    TalkEnded: lifecycle.on_ended,  # the agent's part is over: after-call work
    FailsafeTaken: lifecycle.on_failsafe,
    CallRequeued: transfers.on_requeued,
    EndpointStatus: reachability.on_endpoint,  # an agent's phone reachable or not
}


F = TypeVar("F", bound=Callable[..., Any])

# Members as module constants: `AgentState.READY` goes through EnumType's __getattr__ hook.
_READY = AgentState.READY
_LOGIN = AgentTrigger.LOGIN


def _changes_state(method: F) -> F:
    """For entry points that may change what comes due when: after them, time must be
    looked at again (see Router._let_time_pass)."""

    @functools.wraps(method)
    def wrapper(self: Router, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._quiet_until = -math.inf

    return wrapper  # type: ignore[return-value]


class Router:
    def __init__(
        self,
        config: RouterConfig,
        clock: Callable[[], float],
        kernel: ModuleType | None = None,
    ) -> None:
        self._clock = clock
        self.kernel = kernel if kernel is not None else load("select_agent")
        self._state = RouterState.create(config, self.kernel)
        for agent in config.agents:
            roster.add(self._state, agent)
        # Before this moment nothing can come due (no ring timeout, callback retry, bullseye
        # step, overflow or preferred-agent expiry) unless an entry point changes the state:
        # most AMI events (channel states, DTMF, recordings, ...) and most ticks then cost
        # nothing. -inf: unknown, look.
        self._quiet_until = -math.inf

    @property
    def ignored(self) -> int:
        """Events that did not match the router's view (e.g. app_queue ringing in failsafe)."""
        return self._state.ignored

    @property
    def rank_mismatches(self) -> int:
        """Decisions where the kernel's ranking did not put the chosen agent first (a bug)."""
        return self._state.rank_mismatches

    # ---------------------------------------------------------------------------------------
    # Entry points

    def handle(self, event: Event) -> Output:
        """Apply one call event; other event types are accepted and ignored."""
        now = self._clock()
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return self._let_time_pass(now)
        # Nothing came due since time was last looked at (and nothing changed): as
        # _let_time_pass, no need to look again before the event. _advance's own tests
        # first: with nothing offered, retrying or timed it has nothing to do (most events).
        s = self._state
        if now >= self._quiet_until and (s.offered or s.retrying or (s.timed and len(s.line))):
            out = self._advance(now)
        else:
            out = []
        try:
            out += handler(self._state, event, now)
        finally:
            self._quiet_until = -math.inf
        return out

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> Output:
        """login / logout / ready / not_ready(reason) / end_wrap_up for one agent."""
        # as @_changes_state, written out: this runs at the end of every call's wrap-up
        try:
            if trigger not in COMMANDS:
                raise IllegalCommand(f"{trigger!r} is an event, not an agent command")
            state = self._state
            agent = state.agents.get(agent_id)  # state.agent and next_agent_state written out
            if agent is None:
                raise UnknownAgent(agent_id)
            if trigger not in AGENT_TRANSITIONS[agent.state]:  # raise before anything changes
                next_agent_state(agent.state, trigger)
            now = self._clock()
            if state.offered or state.retrying or (state.timed and len(state.line)):
                out = self._advance(now)
            else:  # as in handle: _advance would find nothing to do
                out = []
            if not reason and trigger == _LOGIN:
                reason = "login"
            was = agent.state  # after _advance: a ring timeout may have moved the agent
            out.append(roster.move(state, agent, trigger, now, reason))
            if agent.state is _READY and was is not _READY:
                out += dispatch.agent_takes(state, agent, now)
            return out
        finally:
            self._quiet_until = -math.inf

    def tick(self) -> Output:
        """Let time pass: ring timeouts, bullseye steps, overflow, preferred-agent expiry;
        the explanations made since the last tick are packed for keeping."""
        out = self._let_time_pass(self._clock())
        self._state.explanations.compact()
        return out

    @_changes_state
    def set_skills(self, agent_id: str, skills: Mapping[str, int]) -> Output:
        """Replace an agent's skills; the next decision already uses them."""
        edits.set_skills(self._state, agent_id, skills)
        now = self._clock()
        return self._advance(now) + dispatch.dispatch_all(self._state, now)

    @_changes_state
    def add_agent(self, config: AgentConfig) -> Output:
        edits.add_agent(self._state, config)
        return []

    @_changes_state
    def remove_agent(self, agent_id: str) -> Output:
        return edits.remove_agent(self._state, agent_id, self._clock())

    @_changes_state
    def put_queue(self, config: QueueConfig) -> Output:
        """Add a queue or replace one's configuration while calls flow. Calls waiting in it
        keep their place relative to each other (their priority moves by the queue's change)
        and are matched against the new requirements at once; offered and talking calls are
        left alone (a missed ring brings a call back under the new rules)."""
        now = self._clock()
        edits.put_queue(self._state, config, now)
        return self._advance(now) + dispatch.dispatch_all(self._state, now)

    @_changes_state
    def remove_queue(self, name: str) -> Output:
        """Remove a queue no call needs any more. Refused (QueueInUse) while a call waits in
        it or is offered from it (a missed ring would bring it back there), or while another
        queue overflows to it: a contact centre drains a queue before it closes it, rather
        than have callers silently moved to requirements they did not choose."""
        edits.remove_queue(self._state, name)
        return []

    @_changes_state
    def set_vip_numbers(self, numbers: frozenset[str]) -> Output:
        """Replace the VIP numbers (RouterConfig.vip_numbers) while calls flow: see
        edits.set_vip_numbers. Nothing is offered by it (no agent became free)."""
        edits.set_vip_numbers(self._state, frozenset(numbers))
        return []

    @_changes_state
    def mark_repeat(self, call_id: str, preferred_agent_id: str | None = None) -> Output:
        """A repeat caller: raise the call's priority and offer it first to the agent who
        handled the open work order, for the queue's preferred_agent_s. May be called before
        the call is queued (e.g. on CallEntered): it applies when CallQueued arrives."""
        now = self._clock()
        out = self._advance(now)
        return out + lifecycle.mark_repeat(self._state, call_id, preferred_agent_id, now)

    @_changes_state
    def request_callback(self, call_id: str, number: str) -> Output:
        """Virtual hold: the call keeps its place without a channel. The controller may hang
        the caller up afterwards; a CallbackDue comes when the call reaches an agent."""
        callbacks.request(self._state, call_id, number)
        return []

    @_changes_state
    def reset_daily(self) -> None:
        """Start a new day of calls_today (least_calls ranks by it)."""
        roster.reset_daily(self._state)

    # ---------------------------------------------------------------------------------------
    # Views

    def callback_attempts(self, call_id: str) -> list[CallbackAttempted]:
        """The failed callback attempts of a live call, oldest first."""
        return callbacks.attempts(self._state, call_id)

    @property
    def vip_numbers(self) -> frozenset[str]:
        """The numbers whose calls are raised by VIP_BOOST now (set_vip_numbers)."""
        return self._state.config.vip_numbers

    def has_queue(self, name: str) -> bool:
        return name in self._state.queues

    @property
    def calls_in_system(self) -> int:
        """Calls the router holds now: waiting, offered or talking."""
        return len(self._state.calls)

    def knows(self, call_id: str) -> bool:
        """Whether the call is still the router's: waiting, offered, talking or between
        callback attempts."""
        return call_id in self._state.calls or call_id in self._state.retrying

    def unrung_offer(self, call_id: str) -> str | None:
        """The agent the call is offered to while that agent's phone is not ringing yet (so
        the offer may still have to reach the caller), else None."""
        call = self._state.offered.get(call_id)
        if call is None or call.agent_id is None:
            return None
        agent = self._state.agents.get(call.agent_id)
        if agent is None or agent.state is not AgentState.RESERVED:
            return None
        return call.agent_id

    def explain(self, call_id: str) -> list[Explanation]:
        """Every offer decision made for the call, oldest first (kept for recent calls)."""
        return self._state.explanations.of(call_id)

    def waiting(self, queue: str | None = None) -> list[WaitingView]:
        now = self._clock()
        s = self._state
        return [
            WaitingView(
                call_id=c.call_id,
                queue=c.queue,
                service=c.service.value,
                caller=c.caller,
                priority=c.priority,
                enqueued_at=c.enqueued_at,
                wait_s=c.wait_s(now),
                requirements=dict(s.queues[c.queue].requirements_after(c.wait_s(now))),
                callback_number=c.callback_number,
                preferred_agent=(
                    c.preferred_agent if dispatch.preferred_active(s, c, now) else None
                ),
                overflowed=c.overflowed,
                callback_attempts=len(c.callback_tries),
                retry_at=c.retry_at,
            )
            for c in [*s.line.calls(), *s.retrying.values()]
            if queue is None or c.queue == queue
        ]

    def reachability(self, node: str) -> dict[str, bool]:
        """agent id -> whether its phone was last reported reachable from `node` (a resync
        compares Asterisk's view with it)."""
        return reachability.known(self._state, node)

    def unreachable(self) -> list[str]:
        """The agents whose phone no node reaches: never offered a call while so."""
        return reachability.unreachable(self._state)

    def agent(self, agent_id: str) -> AgentView:
        return self._state.agent(agent_id).view()

    def agents(self) -> list[AgentView]:
        return [a.view() for a in self._state.agents.values()]

    def queue(self, name: str) -> QueueConfig:
        return self._state.queue(name)

    def queues_of(self, agent_id: str) -> list[str]:
        """The queues the agent serves now: those whose requirements its skills meet (the
        rule of definitions.qualifies), whatever its state. UnknownAgent if there is none."""
        skills = self._state.agent(agent_id).skills
        return queues_served(skills, ((q.name, q.required) for q in self._state.queues.values()))

    # ---------------------------------------------------------------------------------------
    # Time

    def _let_time_pass(self, now: float) -> Output:
        if now < self._quiet_until:
            return []
        out = self._advance(now)
        # a millisecond early: `now - start >= limit` and `now >= start + limit` can differ
        # in the last bit of a float
        self._quiet_until = dispatch.next_due(self._state, now) - 1e-3
        return out

    def _advance(self, now: float) -> Output:
        """Before anything else at `now`: ring timeouts, callback retries that are due, then
        overflow and stage changes (which may match the whole line again)."""
        s = self._state
        out = lifecycle.expire_offers(s, now) if s.offered else []
        if s.retrying:
            out += callbacks.retry_due(s, now)
        if s.timed and len(s.line):
            out += dispatch.restage(s, now)
        return out
