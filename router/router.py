"""The ACD: pure routing logic over typed events and an injected clock.

The controller feeds call events (`handle`), agent commands (`agent_command`) and the passing of
time (`tick`); every entry point returns what happened and what to do: AgentStateChanged,
CallOffered and CallOverflowed events, and Offer / CallbackDue decisions to execute.

Invariant kept after every entry point: no waiting call has a ready agent that could take it,
except calls holding out for their preferred agent. So a new call can only be matched with the
ready agents, and an agent turning ready only with the waiting calls, and a full pass over the
line is needed only when requirements change (bullseye steps, overflow, preferred expiry, skill
edits). Selection runs in the select_agent kernel; explanations are built in Python after it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from types import ModuleType
from typing import Any

from hotline.core_ext.select import load
from hotline.domain import (
    AgentRinging,
    AgentState,
    AgentStateChanged,
    AgentTrigger,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallOverflowed,
    CallPhase,
    CallQueued,
    CallTrigger,
    Event,
    FailsafeTaken,
    RingNoAnswer,
    TalkEnded,
    next_agent_state,
    next_call_phase,
)
from hotline.router.agents import AgentRecord, AgentView
from hotline.router.calls import RoutedCall, WaitingLine, WaitingView
from hotline.router.config import (
    LEAST_CALLS,
    LONGEST_IDLE,
    MAX_LEVEL,
    MOST_SKILLED,
    REPEAT_BOOST,
    ROUND_ROBIN,
    VIP_BOOST,
    AgentConfig,
    QueueConfig,
    RouterConfig,
    check_levels,
)
from hotline.router.decisions import CallbackDue, Decision, Explanation, Offer
from hotline.router.errors import (
    AgentBusy,
    DuplicateAgent,
    IllegalCommand,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from hotline.router.explain import PREFERRED, explain
from hotline.router.skills import SkillRegistry

Output = list[Event | Decision]

MISSED = "missed"
COMMANDS = frozenset(
    {
        AgentTrigger.LOGIN,
        AgentTrigger.LOGOUT,
        AgentTrigger.READY,
        AgentTrigger.NOT_READY,
        AgentTrigger.END_WRAP_UP,
    }
)
_REMOVABLE = frozenset({AgentState.LOGGED_OUT, AgentState.NOT_READY, AgentState.READY})


class Router:
    def __init__(
        self,
        config: RouterConfig,
        clock: Callable[[], float],
        kernel: ModuleType | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self.kernel = kernel if kernel is not None else load("select_agent")
        self._policy_codes = {
            MOST_SKILLED: self.kernel.MOST_SKILLED,
            LONGEST_IDLE: self.kernel.LONGEST_IDLE,
            LEAST_CALLS: self.kernel.LEAST_CALLS,
            ROUND_ROBIN: self.kernel.ROUND_ROBIN,
        }
        self._index: Any = self.kernel.AgentIndex(len(config.agents))
        self._skills = SkillRegistry(self.kernel.MAX_SKILLS)
        self._queues: dict[str, QueueConfig] = {q.name: q for q in config.queues}
        for q in config.queues:
            self._skills.register(q.required)
            for _, req in q.expand_after:
                self._skills.register(req)
        self._agents: dict[str, AgentRecord] = {}
        self._by_index: list[AgentRecord | None] = []
        #: skill -> per level 1..5 (list index level-1): the agents holding it at that level
        self._holders: dict[str, list[dict[str, AgentRecord]]] = {}
        self._calls: dict[str, RoutedCall] = {}  # waiting, offered or talking
        self._offered: dict[str, RoutedCall] = {}
        self._line = WaitingLine()
        self._rr_cursor: dict[str, int] = {}
        self._pending_repeat: dict[str, str | None] = {}
        self._explanations: OrderedDict[str, list[Explanation]] = OrderedDict()
        #: events that did not match the router's view (e.g. app_queue ringing in failsafe)
        self.ignored = 0
        #: decisions where the kernel's ranking did not put the chosen agent first (a bug)
        self.rank_mismatches = 0
        for agent in config.agents:
            self._add(agent)
        self._handlers: dict[type[Event], Callable[[Any, float], Output]] = {
            CallQueued: self._on_queued,
            AgentRinging: self._on_ringing,
            CallAnswered: self._on_answered,
            RingNoAnswer: self._on_ring_no_answer,
            CallEnded: self._on_ended,
            TalkEnded: self._on_ended,  # the agent's part is over: after-call work
            FailsafeTaken: self._on_failsafe,
        }

    # ---------------------------------------------------------------------------------------
    # Entry points

    def handle(self, event: Event) -> Output:
        """Apply one call event; other event types are accepted and ignored."""
        now = self._clock()
        out = self._advance(now)
        handler = self._handlers.get(type(event))
        if handler is not None:
            out += handler(event, now)
        return out

    def agent_command(self, agent_id: str, trigger: AgentTrigger, reason: str = "") -> Output:
        """login / logout / ready / not_ready(reason) / end_wrap_up for one agent."""
        if trigger not in COMMANDS:
            raise IllegalCommand(f"{trigger!r} is an event, not an agent command")
        agent = self._agent(agent_id)
        next_agent_state(agent.state, trigger)  # raise before anything changes
        now = self._clock()
        out = self._advance(now)
        if trigger == AgentTrigger.LOGIN and not reason:
            reason = "login"
        was = agent.state
        out.append(self._move(agent, trigger, now, reason=reason))
        if agent.state == AgentState.READY and was != AgentState.READY:
            out += self._agent_takes(agent, now)
        return out

    def tick(self) -> Output:
        """Let time pass: ring timeouts, bullseye steps, overflow, preferred-agent expiry."""
        return self._advance(self._clock())

    def set_skills(self, agent_id: str, skills: Mapping[str, int]) -> Output:
        """Replace an agent's skills; the next decision already uses them."""
        agent = self._agent(agent_id)
        check_levels(dict(skills), f"agent {agent_id!r}", low=0)
        columns = {self._skills.id(s): lv for s, lv in skills.items()}  # may raise: before edits
        self._index.clear_skills(agent.index)
        for col, lv in columns.items():
            self._index.set_level(agent.index, col, lv)
        self._unhold(agent)
        agent.skills = {s: lv for s, lv in skills.items() if lv > 0}
        self._hold(agent)
        now = self._clock()
        return self._advance(now) + self._dispatch_all(now)

    def add_agent(self, config: AgentConfig) -> Output:
        if config.agent_id in self._agents:
            raise DuplicateAgent(f"agent {config.agent_id!r} exists")
        self._add(config)
        return []

    def remove_agent(self, agent_id: str) -> Output:
        agent = self._agent(agent_id)
        if agent.state not in _REMOVABLE:
            raise AgentBusy(f"agent {agent_id!r} is {agent.state.value}")
        out: Output = []
        if agent.state != AgentState.LOGGED_OUT:
            out.append(self._move(agent, AgentTrigger.LOGOUT, self._clock()))
        self._index.clear_skills(agent.index)
        self._unhold(agent)
        self._by_index[agent.index] = None
        del self._agents[agent_id]
        return out

    def mark_repeat(self, call_id: str, preferred_agent_id: str | None = None) -> Output:
        """A repeat caller: raise the call's priority and offer it first to the agent who
        handled the open work order, for the queue's preferred_agent_s. May be called before
        the call is queued (e.g. on CallEntered): it applies when CallQueued arrives."""
        now = self._clock()
        out = self._advance(now)
        call = self._calls.get(call_id)
        if call is None:
            self._pending_repeat[call_id] = preferred_agent_id
            return out
        if call.phase != CallPhase.QUEUED:
            call.repeat = True  # too late to matter for routing; kept for the record
            return out
        self._line.remove(call)
        self._apply_repeat(call, preferred_agent_id, now)
        self._line.add(call)
        call.stage = self._stage(call, now)
        return out + self._try_offer(call, now)

    def request_callback(self, call_id: str, number: str) -> Output:
        """Virtual hold: the call keeps its place without a channel. The controller may hang
        the caller up afterwards; a CallbackDue comes when the call reaches an agent."""
        call = self._calls.get(call_id)
        if call is None or call.phase != CallPhase.QUEUED:
            raise UnknownCall(call_id)
        call.callback_number = number
        return []

    def reset_daily(self) -> None:
        """Start a new day of calls_today (least_calls ranks by it)."""
        for agent in self._agents.values():
            agent.calls_today = 0
            if agent.state == AgentState.READY:
                self._index.set_ready(agent.index, agent.idle_since, 0)

    # ---------------------------------------------------------------------------------------
    # Views

    def explain(self, call_id: str) -> list[Explanation]:
        """Every offer decision made for the call, oldest first (kept for recent calls)."""
        return list(self._explanations.get(call_id, ()))

    def waiting(self, queue: str | None = None) -> list[WaitingView]:
        now = self._clock()
        return [
            WaitingView(
                call_id=c.call_id,
                queue=c.queue,
                service=c.service.value,
                caller=c.caller,
                priority=c.priority,
                enqueued_at=c.enqueued_at,
                wait_s=c.wait_s(now),
                requirements=dict(self._queues[c.queue].requirements_after(c.wait_s(now))),
                callback_number=c.callback_number,
                preferred_agent=c.preferred_agent if self._preferred_active(c, now) else None,
                overflowed=c.overflowed,
            )
            for c in self._line.calls()
            if queue is None or c.queue == queue
        ]

    def agent(self, agent_id: str) -> AgentView:
        return self._agent(agent_id).view()

    def agents(self) -> list[AgentView]:
        return [a.view() for a in self._agents.values()]

    def queue(self, name: str) -> QueueConfig:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueue(name) from None

    # ---------------------------------------------------------------------------------------
    # Call events

    def _on_queued(self, ev: CallQueued, now: float) -> Output:
        if ev.call_id in self._calls:
            self.ignored += 1  # a repeated UserEvent: the call keeps its place
            return []
        q = self.queue(ev.queue)
        priority = q.priority + ev.priority
        if ev.caller and ev.caller in self._config.vip_numbers:
            priority += VIP_BOOST
        call = RoutedCall(
            call_id=ev.call_id,
            queue=q.name,
            service=ev.service,
            caller=ev.caller,
            enqueued_at=ev.at,
            priority=priority,
            node=ev.node,
        )
        if ev.call_id in self._pending_repeat:
            self._apply_repeat(call, self._pending_repeat.pop(ev.call_id), now)
        call.stage = self._stage(call, now)
        self._calls[call.call_id] = call
        self._line.add(call)
        return self._try_offer(call, now)

    def _on_ringing(self, ev: AgentRinging, now: float) -> Output:
        call, agent = self._matching(ev.call_id, ev.agent_id)
        if call is None or agent is None or agent.state != AgentState.RESERVED:
            return []
        return [self._move(agent, AgentTrigger.RING, now, call_id=call.call_id)]

    def _on_answered(self, ev: CallAnswered, now: float) -> Output:
        call, agent = self._matching(ev.call_id, ev.agent_id)
        if call is None or agent is None:
            return []
        call.phase = next_call_phase(call.phase, CallTrigger.ANSWER)
        self._offered.pop(call.call_id, None)
        agent.calls_today += 1
        return [self._move(agent, AgentTrigger.ANSWER, now, call_id=call.call_id)]

    def _on_ring_no_answer(self, ev: RingNoAnswer, now: float) -> Output:
        call, agent = self._matching(ev.call_id, ev.agent_id)
        if call is None or agent is None:
            return []
        return self._no_answer(call, agent, now)

    def _on_ended(self, ev: CallEnded, now: float) -> Output:
        self._pending_repeat.pop(ev.call_id, None)
        call = self._calls.get(ev.call_id)
        if call is None:
            return []
        if call.phase == CallPhase.QUEUED:
            if call.callback_number is not None:
                return []  # the caller hung up to be called back: the call keeps its place
            self._line.remove(call)
            del self._calls[call.call_id]
            return []
        return self._release(call, now)

    def _on_failsafe(self, ev: FailsafeTaken, now: float) -> Output:
        call = self._calls.get(ev.call_id)
        if call is None:
            return []
        if call.phase == CallPhase.QUEUED:
            self._line.remove(call)
            del self._calls[call.call_id]
            return []
        return self._release(call, now)

    def _release(self, call: RoutedCall, now: float) -> Output:
        """The call is gone while offered (the agent is freed) or talking (wrap-up)."""
        del self._calls[call.call_id]
        self._offered.pop(call.call_id, None)
        agent = self._agents.get(call.agent_id or "")
        if agent is None or agent.call_id != call.call_id:
            return []
        if call.phase == CallPhase.OFFERED:
            out: Output = [self._move(agent, AgentTrigger.CANCEL, now, call_id=call.call_id)]
            return out + self._agent_takes(agent, now)
        return [self._move(agent, AgentTrigger.HANGUP, now, call_id=call.call_id)]

    def _no_answer(self, call: RoutedCall, agent: AgentRecord, now: float) -> Output:
        """Agent to not_ready(missed); the call back to the head, keeping its enqueue time."""
        out: Output = [
            self._move(agent, AgentTrigger.NO_ANSWER, now, reason=MISSED, call_id=call.call_id)
        ]
        self._offered.pop(call.call_id, None)
        call.phase = next_call_phase(call.phase, CallTrigger.RING_NO_ANSWER)
        call.agent_id = None
        call.at_head = True
        self._line.add(call)
        return out + self._try_offer(call, now)

    def _matching(
        self, call_id: str, agent_id: str
    ) -> tuple[RoutedCall | None, AgentRecord | None]:
        """The offered call and its agent, if the event agrees with the router's view."""
        call = self._calls.get(call_id)
        agent = self._agents.get(agent_id)
        if call is None or agent is None or call.phase != CallPhase.OFFERED:
            self.ignored += 1
            return None, None
        if call.agent_id != agent_id or agent.call_id != call_id:
            self.ignored += 1
            return None, None
        return call, agent

    # ---------------------------------------------------------------------------------------
    # Time

    def _advance(self, now: float) -> Output:
        out: Output = []
        timeout = self._config.ring_timeout_s
        for call in [c for c in self._offered.values() if now - c.offered_at >= timeout]:
            out += self._no_answer(call, self._agents[call.agent_id or ""], now)
        changed = False
        for call in self._line.calls():
            q = self._queues[call.queue]
            if (
                q.overflow_to is not None
                and q.overflow_wait_s is not None
                and not call.overflowed
                and call.wait_s(now) >= q.overflow_wait_s
            ):
                call.overflowed = True
                out.append(CallOverflowed(now, call.call_id, q.name, q.overflow_to))
            stage = self._stage(call, now)
            if stage != call.stage:
                call.stage = stage
                changed = True
        if changed:
            out += self._dispatch_all(now)
        return out

    def _stage(self, call: RoutedCall, now: float) -> tuple[int, bool, bool]:
        step = self._queues[call.queue].step_after(call.wait_s(now))
        return (step, call.overflowed, self._preferred_active(call, now))

    # ---------------------------------------------------------------------------------------
    # Decisions

    def _alternatives(self, call: RoutedCall, now: float) -> list[tuple[QueueConfig, dict]]:
        """(queue whose policy decides, requirements) to try in order for this call."""
        q = self._queues[call.queue]
        alts: list[tuple[QueueConfig, dict]] = [(q, q.requirements_after(call.wait_s(now)))]
        if call.overflowed and q.overflow_to is not None:
            over = self._queues[q.overflow_to]
            alts.append((over, over.required))
        return alts

    def _preferred_active(self, call: RoutedCall, now: float) -> bool:
        if call.preferred_agent is None or now >= call.preferred_until:
            return False
        agent = self._agents.get(call.preferred_agent)
        return agent is not None and agent.state != AgentState.LOGGED_OUT

    def _try_offer(self, call: RoutedCall, now: float) -> Output:
        """Offer one waiting call to the best ready agent, if any."""
        if self._preferred_active(call, now):
            agent = self._agents[call.preferred_agent or ""]
            if agent.state != AgentState.READY:
                return []
            q = self._queues[call.queue]
            return self._offer(call, agent, q, q.required, PREFERRED, now)
        for n, (q, req) in enumerate(self._alternatives(call, now)):
            skills, mins = self._skills.columns(req)
            cursor = self._rr_cursor.get(q.name, -1)
            found = self._index.select(skills, mins, self._policy_codes[q.policy], cursor)
            if found >= 0:
                agent = self._by_index[found]
                assert agent is not None  # removed agents are never ready in the kernel
                return self._offer(call, agent, q, req, "overflow" if n else "policy", now)
        return []

    def _agent_takes(self, agent: AgentRecord, now: float) -> Output:
        """An agent just turned ready: the first waiting call it can take, in line order."""
        if not len(self._line):
            return []
        for call in self._line.calls():
            if self._preferred_active(call, now):
                if call.preferred_agent == agent.agent_id:
                    q = self._queues[call.queue]
                    return self._offer(call, agent, q, q.required, PREFERRED, now)
                continue
            for n, (q, req) in enumerate(self._alternatives(call, now)):
                if all(agent.skills.get(s, 0) >= max(m, 1) for s, m in req.items()):
                    return self._offer(call, agent, q, req, "overflow" if n else "policy", now)
        return []

    def _dispatch_all(self, now: float) -> Output:
        out: Output = []
        for call in self._line.calls():
            if self._index.count_ready() == 0:
                break
            out += self._try_offer(call, now)
        return out

    def _offer(
        self,
        call: RoutedCall,
        agent: AgentRecord,
        q: QueueConfig,
        req: Mapping[str, int],
        reason: str,
        now: float,
    ) -> Output:
        why = self._explain(call, agent, q, req, reason, now)  # before the agent leaves ready
        self._keep(why)
        if reason != PREFERRED:
            self._rr_cursor[q.name] = agent.index
        moved = self._move(agent, AgentTrigger.RESERVE, now, call_id=call.call_id)
        self._line.remove(call)
        call.phase = next_call_phase(call.phase, CallTrigger.OFFER)
        call.agent_id, call.offered_at, call.at_head = agent.agent_id, now, False
        self._offered[call.call_id] = call
        wait = call.wait_s(now)
        offered = CallOffered(now, call.call_id, agent.agent_id, call.queue, wait)
        decision: Decision
        if call.callback_number is not None:
            decision = CallbackDue(
                call.call_id, agent.agent_id, call.callback_number, call.queue, wait, why
            )
        else:
            decision = Offer(call.call_id, agent.agent_id, call.queue, wait, why)
        return [moved, offered, decision]

    def _explain(
        self,
        call: RoutedCall,
        chosen: AgentRecord,
        q: QueueConfig,
        req: Mapping[str, int],
        reason: str,
        now: float,
    ) -> Explanation:
        limit = self._config.explain_limit
        skills, mins = self._skills.columns(req)
        cursor = self._rr_cursor.get(q.name, -1)
        top = self._index.ranked(skills, mins, self._policy_codes[q.policy], cursor, limit)
        ranked = [self._by_index[i] for i in top if i != chosen.index]
        if reason != PREFERRED and (not top or top[0] != chosen.index):
            # The invariant (module docstring) says the kernel ranks the chosen agent first;
            # counted rather than raised, so a routing bug never stops the controller.
            self.rank_mismatches += 1
        primary = next(iter(req), None)
        if primary is None:
            candidates: Iterable[AgentRecord] = self._agents.values()
            total = len(self._agents)
        else:
            by_level = self._holders.get(primary, [])
            candidates = chain.from_iterable(reversed([d.values() for d in by_level]))
            total = sum(len(d) for d in by_level)
        return explain(
            call_id=call.call_id,
            at=now,
            queue=q.name,
            policy=PREFERRED if reason == PREFERRED else q.policy,
            requirements=req,
            reason=reason,
            ranked=[chosen, *(a for a in ranked if a is not None)][:limit],
            candidates=candidates,
            total=total,
            limit=limit,
        )

    def _keep(self, why: Explanation) -> None:
        kept = self._explanations.get(why.call_id)
        if kept is None:
            kept = self._explanations[why.call_id] = []
            while len(self._explanations) > self._config.explain_keep:
                self._explanations.popitem(last=False)
        kept.append(why)

    # ---------------------------------------------------------------------------------------
    # Agents

    def _agent(self, agent_id: str) -> AgentRecord:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def _add(self, config: AgentConfig) -> None:
        index = len(self._by_index)
        self._index.ensure(index + 1)
        agent = AgentRecord(config.agent_id, index, config.name)
        self._by_index.append(agent)
        self._agents[config.agent_id] = agent
        for skill, level in config.skills.items():
            self._index.set_level(index, self._skills.id(skill), level)
        agent.skills = {s: lv for s, lv in config.skills.items() if lv > 0}
        self._hold(agent)

    def _hold(self, agent: AgentRecord) -> None:
        for skill, level in agent.skills.items():
            by_level = self._holders.setdefault(skill, [{} for _ in range(MAX_LEVEL)])
            by_level[level - 1][agent.agent_id] = agent

    def _unhold(self, agent: AgentRecord) -> None:
        for skill, level in agent.skills.items():
            del self._holders[skill][level - 1][agent.agent_id]

    def _move(
        self,
        agent: AgentRecord,
        trigger: AgentTrigger,
        now: float,
        reason: str = "",
        call_id: str = "",
    ) -> AgentStateChanged:
        """The only place an agent's state changes; keeps the kernel's ready sets in step."""
        old = agent.state
        new = next_agent_state(old, trigger)
        agent.state = new
        agent.reason = reason if new == AgentState.NOT_READY else ""
        if new in (AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL):
            agent.call_id = call_id
        elif new != AgentState.AFTER_CALL_WORK:
            agent.call_id = ""
        if new == AgentState.READY and old != AgentState.READY:
            if trigger != AgentTrigger.CANCEL:  # a cancelled offer keeps the agent's rank
                agent.idle_since = now
            self._index.set_ready(agent.index, agent.idle_since, agent.calls_today)
        elif old == AgentState.READY and new != AgentState.READY:
            self._index.set_unready(agent.index)
        return AgentStateChanged(
            now, agent.agent_id, old, new, reason=agent.reason, call_id=call_id or agent.call_id
        )

    def _apply_repeat(self, call: RoutedCall, preferred: str | None, now: float) -> None:
        if not call.repeat:
            call.repeat = True
            call.priority += REPEAT_BOOST
        if preferred is not None:
            call.preferred_agent = preferred
            call.preferred_until = now + self._queues[call.queue].preferred_agent_s
