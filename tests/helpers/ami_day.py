"""A busy stretch of a hotline day as AMI bytes, simulated closed-loop against the router.

Synthetic traffic that dials agents of its own choosing under-counts the router's work: an AMI
event about an agent the router did not offer the call to is dropped cheaply (the router's
`ignored`). Here a discrete-event simulation plays the callers and the dialplan, and the router
plays itself: every message the simulation writes (with tests/helpers/ami_synth.py's CallScript, so
in Asterisk 22's format, noise included) is fed at once through codec -> EventMapper -> Router
(clock = the event's Timestamp), and a caller is connected to exactly the agent the router
offered. The messages come out in generation order with non-decreasing Timestamps, so a fresh,
identical ingest path replaying the bytes makes exactly the same decisions (`Ingest`).

The day: `agents` agents with skills over the queues fault / billing / business / general;
calls arrive as a Poisson process at a rate that keeps the floor about `load` busy (a few per
second on 300 agents: 60 agents at 60-240 s of talk carry only ~0.35 calls/s). A call enters,
goes through the IVR (some self-serve and hang up there), waits in hotline-hold until the
router offers it, rings its agent 1-3 s (sometimes ringing out after the dialplan's Dial
timeout: the agent goes not-ready "missed" and the call back to the head), talks 60-240 s with
some hold/unhold, and is hung up by either side (the agent first: HotlineTalkEnded, a survey
digit, then the caller's hangup). Waiting or ringing callers abandon when their patience runs
out, some within a few seconds (short abandons). After the call the agent is in after-call
work until the controller's wrap-up timer (Settings.wrap_up_s) ends it.

Timers are driven from the event clock by one rule shared by the simulation and the replay
(`ControllerTimers`): before an event stamped t, every wrap-up end, every return from a missed
ring and every router tick (Controller._ticker: every 0.2 s) due at or before t fires, in due
order, each at its own due time.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.core.events import AgentStateChanged, Event
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import REPO_ROOT, Settings
from hotline.core.values import ServiceType
from hotline.core_ext.select import load, load_pure
from hotline.process.controller import router_config
from hotline.process.wiring import agent_queues, metrics_config
from hotline.realtime import Metrics
from hotline.realtime.live import LiveFeed
from hotline.router import MISSED, Offer, Router
from hotline.telephony.ami.call_model import CallModel
from hotline.telephony.ami.codec import AmiCodec
from hotline.telephony.ami.mapper import EventMapper
from tests.helpers.ami_synth import GREETING, CallScript, message

NODE = "pbx1"
T0 = 1_700_013_600.0  # 10:00 in the centre's time zone (UTC+8): the morning peak
TICK_S = 0.2  # Controller._ticker
#: IVR digit and share of calls per queue; the rest self-serve (outage information).
MENU = {
    "fault": ("1", 0.30),
    "billing": ("2", 0.28),
    "business": ("3", 0.20),
    "general": ("0", 0.10),
}
SELF_SERVE = ("4", "outage_info")
LOGIN = message(
    [("Response", "Success"), ("ActionID", "login-1"), ("Message", "Authentication accepted")]
)
_STAMP = re.compile(rb"\r\nTimestamp: ([0-9.]+)\r\n")


# ---- the floor: queues, agents, settings (what the controller would read)


@dataclass(frozen=True)
class DayPlan:
    calls: int = 2000
    agents: int = 300
    load: float = 0.95  # offered work / the floor's capacity, when `rate` is 0
    rate: float = 0.0  # calls per second; 0: from `load`
    wrap_up_s: float = 20.0
    ring_timeout_s: int = 15  # the dialplan's Dial() timeout
    missed_pause_s: float = 30.0  # an agent who let a call ring out is ready again after this
    ring_s: tuple[float, float] = (1.0, 3.0)
    talk_s: tuple[float, float] = (60.0, 240.0)
    ivr_s: tuple[float, float] = (4.0, 12.0)
    ring_no_answer: float = 0.03  # share of offers that ring out
    hold: float = 0.25  # share of answered calls put on hold once
    agent_hangs_up: float = 0.5
    short_abandon: float = 0.03  # callers who give up within 1-4 s of queueing
    patience_s: float = 120.0  # the others: 8 s + exponential with this mean
    redirect_s: tuple[float, float] = (0.01, 0.05)  # Offer -> the dialplan's first event
    noise: bool = True
    seed: int = 1

    def handle_s(self) -> float:
        """An agent's mean time per call: ring, talk, wrap-up."""
        return sum(self.ring_s) / 2 + sum(self.talk_s) / 2 + self.wrap_up_s

    def arrival_rate(self) -> float:
        if self.rate > 0:
            return self.rate
        to_agents = sum(share for _, share in MENU.values())
        return self.load * self.agents / self.handle_s() / to_agents


@dataclass(frozen=True)
class Floor:
    centre: Centre
    settings: Settings
    missed_pause_s: float
    t0: float = T0


def build_floor(plan: DayPlan) -> Floor:
    """Every agent takes general calls; each has a main skill (level 3-5) and maybe a second
    one (level 1-2), spread like the traffic."""
    rng = random.Random(plan.seed * 7919)
    queues = [
        QueueSpec("fault", ServiceType.FAULT, {"fault": 1}, priority=10),
        QueueSpec("billing", ServiceType.BILLING, {"billing": 1}),
        QueueSpec("business", ServiceType.BUSINESS, {"business": 1}),
        QueueSpec("general", ServiceType.GENERAL, {"general": 1}),
    ]
    main = ("fault", "billing", "business")
    agents = []
    for i in range(plan.agents):
        first = rng.choices(main, (0.36, 0.36, 0.28))[0]
        skills = {"general": rng.randint(1, 3), first: rng.randint(3, 5)}
        if rng.random() < 0.5:
            skills[rng.choice([s for s in main if s != first])] = rng.randint(1, 2)
        agents.append(AgentSpec(id=f"agent{i + 1}", skills=skills))
    settings = Settings(
        _env_file=None,
        wrap_up_s=plan.wrap_up_s,
        ring_timeout_s=plan.ring_timeout_s,
        short_abandon_s=5.0,
    )
    return Floor(Centre(queues=queues, agents=agents), settings, plan.missed_pause_s)


# ---- the clock and the controller's timers


class EventClock:
    """The router's and the live feed's clock: the time of what is being fed."""

    __slots__ = ("now",)

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ControllerTimers:
    """The controller's timers on the event clock, the one rule both the simulation and the
    replay follow: `before(t)` fires, in due order (an agent's timer before a tick due at the
    same moment), every timer due at or before t, with the clock at its due time.

    - wrap-up: after-call work ends wrap_up_s after it began (the controller's
      wrap_up.py: router.agent_command(END_WRAP_UP)); any state change of the agent first
      cancels its pending timer, as there;
    - a missed ring: the simulated agent presses Ready again missed_pause_s after the router
      set them not-ready "missed" (what the agent desk's API call would do);
    - tick: router.tick() every tick_s (Controller._ticker).
    """

    def __init__(
        self,
        router: Router,
        clock: EventClock,
        emit: Callable[[list[Any]], None],
        *,
        wrap_up_s: float,
        missed_pause_s: float,
        tick_s: float = TICK_S,
    ) -> None:
        self.router, self.clock, self.emit = router, clock, emit
        self.wrap_up_s, self.missed_pause_s, self.tick_s = wrap_up_s, missed_pause_s, tick_s
        self._t0 = clock.now
        self._ticks = 1
        self._next_tick = self._t0 + tick_s
        self._heap: list[tuple[float, int, str, AgentTrigger]] = []
        self._armed: dict[str, int] = {}  # agent -> seq of its live timer
        self._seq = itertools.count()
        self.due = self._next_tick  # the earliest moment anything is due
        self.fired: Counter[str] = Counter()

    def watch(self, change: AgentStateChanged) -> None:
        self._armed.pop(change.agent_id, None)
        if change.new is AgentState.AFTER_CALL_WORK and self.wrap_up_s > 0:
            self._arm(change.at + self.wrap_up_s, change.agent_id, AgentTrigger.END_WRAP_UP)
        elif (
            change.new is AgentState.NOT_READY
            and change.reason == MISSED
            and self.missed_pause_s > 0
        ):
            self._arm(change.at + self.missed_pause_s, change.agent_id, AgentTrigger.READY)

    def _arm(self, due: float, agent_id: str, trigger: AgentTrigger) -> None:
        seq = next(self._seq)
        self._armed[agent_id] = seq
        heapq.heappush(self._heap, (due, seq, agent_id, trigger))
        if due < self.due:
            self.due = due

    def before(self, t: float) -> None:
        heap, armed, clock = self._heap, self._armed, self.clock
        while True:
            while heap and armed.get(heap[0][2]) != heap[0][1]:
                heapq.heappop(heap)  # cancelled
            if heap and heap[0][0] <= self._next_tick and heap[0][0] <= t:
                due, _, agent_id, trigger = heapq.heappop(heap)
                del armed[agent_id]
                clock.now = due
                self.fired[trigger.value] += 1
                self.emit(self.router.agent_command(agent_id, trigger))
            elif self._next_tick <= t:
                clock.now = self._next_tick
                self._ticks += 1
                self._next_tick = self._t0 + self._ticks * self.tick_s  # no drift
                self.fired["tick"] += 1
                out = self.router.tick()
                if out:
                    self.emit(out)
            else:
                break
        while heap and armed.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        self.due = min(self._next_tick, heap[0][0]) if heap else self._next_tick


# ---- the ingest path after the codec


class Kernels(NamedTuple):
    ami_parse: ModuleType
    select_agent: ModuleType
    metrics: ModuleType
    agent_time: ModuleType


def kernels(pure: bool = False) -> Kernels:
    get = load_pure if pure else load
    return Kernels(*(get(n) for n in Kernels._fields))


class _NoBus:
    async def publish(self, channel: str, message: str) -> None:  # never awaited here
        pass


class Ingest:
    """What the controller process does with each typed event, in production's order
    (Controller.handle, ControllerState.record, the platform's observers): the event to the live
    feed (LiveFeed.on_item: Metrics.apply) and to the Recorder's CallModel, then
    router.handle(event); each router output to the live feed, its events to the CallModel
    (the Recorder's rule), agent state changes to the controller's timers. Before each event,
    ControllerTimers fires what is due. `metrics=False` leaves the live feed out, `router=False`
    the router and its timers (the breakdown's lower rungs)."""

    def __init__(
        self, floor: Floor, kern: Kernels, *, router: bool = True, metrics: bool = True
    ) -> None:
        settings, centre = floor.settings, floor.centre
        self.clock = EventClock(floor.t0)
        self.model = CallModel(short_abandon_s=settings.short_abandon_s)
        self.offers: list[tuple[str, str, float]] = []
        self.outcomes: Counter[str] = Counter()  # of the calls the CallModel ended
        self.with_router, self.with_metrics = router, metrics
        self.live: LiveFeed | None = None
        if metrics:
            m = Metrics(
                metrics_config(centre, settings), kernel=kern.metrics, agent_kernel=kern.agent_time
            )
            self.live = LiveFeed(m, _NoBus(), self.clock)  # as services_for wires it
            self.live.declare_queues(q.name for q in centre.queues)
            for agent_id, queues in agent_queues(centre).items():
                self.live.set_agent_queues(agent_id, queues)
        self.router = Router(
            router_config(centre, settings), clock=self.clock, kernel=kern.select_agent
        )
        self.timers = ControllerTimers(
            self.router,
            self.clock,
            self.apply,
            wrap_up_s=settings.wrap_up_s,
            missed_pause_s=floor.missed_pause_s,
        )
        if router:  # the floor logs in and turns ready as the day starts
            for a in centre.agents:
                self.apply(self.router.agent_command(a.id, AgentTrigger.LOGIN))
                self.apply(self.router.agent_command(a.id, AgentTrigger.READY))

    def feed(self, events: Iterable[Event]) -> None:
        """Typed events from the mapper, in order."""
        model_apply, outcomes = self.model.apply, self.outcomes
        if not self.with_router:
            for ev in events:
                ended = model_apply(ev)
                if ended is not None:  # where the Recorder writes the call's row
                    outcomes[ended.outcome] += 1
            return
        timers, clock, handle, apply = self.timers, self.clock, self.router.handle, self.apply
        on_item = self.live.on_item if self.live is not None else None
        for ev in events:
            t = ev.at
            if t >= timers.due:
                timers.before(t)
            clock.now = t
            if on_item is not None:
                on_item(ev)
            ended = model_apply(ev)
            if ended is not None:
                outcomes[ended.outcome] += 1
            out = handle(ev)
            if out:
                apply(out)

    def apply(self, results: list[Any]) -> None:
        """The router's outputs, as Controller._apply records them."""
        on_item = self.live.on_item if self.live is not None else None
        for item in results:
            if on_item is not None:
                on_item(item)
            kind = type(item)
            if kind is AgentStateChanged:
                self.timers.watch(item)
            elif kind is Offer:
                self.offers.append((item.call_id, item.agent_id, item.explanation.at))
            elif isinstance(item, Event):
                self.model.apply(item)


# ---- the simulation

WAITING, OFFERED, RINGING, TALKING, DONE = range(5)


@dataclass(slots=True)
class _Call:
    script: CallScript
    status: int = -1  # IVR until queued
    agent: str = ""
    short: bool = False  # a short-abandon caller
    queued_at: float = 0.0
    offers: int = 0


@dataclass
class Day:
    plan: DayPlan
    floor: Floor
    data: bytes
    offers: list[tuple[str, str, float]]
    outcomes: Counter[str]  # answered, abandoned, short_abandoned, self_served (simulated)
    counts: Counter[str]  # ring_no_answer, holds, agent_hung_up, waited, ...
    messages: int
    typed_events: int
    router_ignored: int
    sim_seconds: float
    timers_fired: Counter[str] = field(default_factory=Counter)


class _Sim:
    def __init__(self, plan: DayPlan, floor: Floor, kern: Kernels) -> None:
        self.plan, self.floor = plan, floor
        self.rng = random.Random(plan.seed)
        self.heap: list[tuple[float, int, bool, Any]] = []  # (t, seq, is message, payload)
        self.seq = itertools.count()
        self.out: list[bytes] = [GREETING, LOGIN]
        self.codec = AmiCodec(kernel=kern.ami_parse)
        self.codec.feed(GREETING + LOGIN)
        self.mapper = EventMapper(NODE)
        # The same path the replay measures, less the live feed (no decision depends on it).
        self.ingest = Ingest(floor, kern, metrics=False)
        self.calls: dict[str, _Call] = {}
        self.taken = 0  # offers acted on
        self.now = floor.t0
        self.outcomes: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    # -- the event loop

    def run(self) -> None:
        rate = self.plan.arrival_rate()
        t = self.floor.t0
        for i in range(self.plan.calls):
            t += self.rng.expovariate(rate)
            self.at(t, self._arrive, i)
        heap, timers = self.heap, self.ingest.timers
        while heap:
            t = heap[0][0]
            if timers.due <= t:  # the rule the replay applies lazily, applied on time here
                self.now = timers.due
                timers.before(timers.due)
                self._take_offers()
                continue
            _, _, is_message, payload = heapq.heappop(heap)
            self.now = t
            if is_message:
                self.out.append(payload)
                self.ingest.feed(self.mapper.map_all(self.codec.feed(payload)))
                self._take_offers()
            else:
                fn, arg = payload
                fn(arg)

    def at(self, t: float, fn: Callable[[Any], None], arg: Any) -> None:
        # On the microsecond, as Timestamps are written: a step's first message is then
        # stamped exactly at the step's time, never a rounding before it.
        heapq.heappush(self.heap, (round(t, 6), next(self.seq), False, (fn, arg)))

    def later(self, dt: float, fn: Callable[[Any], None], arg: Any) -> None:
        self.at(self.now + dt, fn, arg)

    def flush(self, call: _Call) -> None:
        """The script's new messages onto the timeline, at their own Timestamps."""
        out = call.script.out
        for msg in out:
            stamp = float(_STAMP.search(msg).group(1))  # type: ignore[union-attr]
            assert stamp >= self.now, "a message in the past"
            heapq.heappush(self.heap, (stamp, next(self.seq), True, msg))
        out.clear()

    def script(self, call: _Call) -> CallScript:
        s = call.script
        s.t = max(s.t, self.now)
        return s

    def _take_offers(self) -> None:
        offers = self.ingest.offers
        while self.taken < len(offers):
            call_id, agent, _ = offers[self.taken]
            self.taken += 1
            call = self.calls[call_id]
            if call.status == DONE:  # its hangup is on the way to the router
                self.counts["offered_after_hangup"] += 1
                continue
            assert call.status == WAITING, (call_id, call.status)
            if not call.offers and self.now - call.queued_at > 1.0:
                self.counts["waited_over_1s"] += 1
            call.offers += 1
            call.status, call.agent = OFFERED, agent
            self.later(self.rng.uniform(*self.plan.redirect_s), self._connect, (call, agent))

    # -- a call's steps

    def _arrive(self, i: int) -> None:
        rng, plan = self.rng, self.plan
        s = CallScript(self.now, 16 * i, f"139{rng.randrange(10**8):08d}", noise=plan.noise)
        call = _Call(s)
        self.calls[s.call_id] = call
        s.enter()
        self.flush(call)
        pick = rng.random()
        for queue, (digit, share) in MENU.items():
            if pick < share:
                self.later(rng.uniform(*plan.ivr_s), self._choose, (call, queue, digit))
                return
            pick -= share
        self.later(rng.uniform(*plan.ivr_s), self._self_serve, call)

    def _self_serve(self, call: _Call) -> None:
        s = self.script(call)
        s.ivr("main", SELF_SERVE[0], SELF_SERVE[1], dt=0.0)
        s.hangup(dt=self.rng.uniform(15.0, 40.0), agent_first=False)
        call.status = DONE
        self.outcomes["self_served"] += 1
        self.flush(call)

    def _choose(self, arg: tuple[_Call, str, str]) -> None:
        call, queue, digit = arg
        s = self.script(call)
        s.ivr("main", digit, queue, dt=0.0)
        self.flush(call)
        self.later(0.5, self._queue, (call, queue))

    def _queue(self, arg: tuple[_Call, str]) -> None:
        call, queue = arg
        rng, plan = self.rng, self.plan
        call.status, call.queued_at = WAITING, self.now
        self.script(call).queue(queue, queue, dt=0.0)
        self.flush(call)  # the router may offer it the moment it hears HotlineQueued
        call.short = rng.random() < plan.short_abandon
        patience = (
            rng.uniform(1.0, 4.0) if call.short else 8.0 + rng.expovariate(1 / plan.patience_s)
        )
        self.later(patience, self._abandon, call)

    def _connect(self, arg: tuple[_Call, str]) -> None:
        call, agent = arg
        if call.status != OFFERED or call.agent != agent:
            return  # the caller hung up meanwhile (the router heard CallEnded)
        self.script(call).connect(agent, dt=0.0)
        self.flush(call)
        call.status = RINGING
        if self.rng.random() < self.plan.ring_no_answer:
            self.later(float(self.plan.ring_timeout_s), self._ring_out, (call, agent))
        else:
            self.later(self.rng.uniform(*self.plan.ring_s), self._answer, (call, agent))

    def _ring_out(self, arg: tuple[_Call, str]) -> None:
        call, agent = arg
        if call.status != RINGING or call.agent != agent:
            return
        self.script(call).ring_fails(agent, "NOANSWER", dt=0.0)
        call.status, call.agent = WAITING, ""
        self.counts["ring_no_answer"] += 1
        self.flush(call)

    def _answer(self, arg: tuple[_Call, str]) -> None:
        call, agent = arg
        if call.status != RINGING or call.agent != agent:
            return
        rng, plan = self.rng, self.plan
        self.script(call).answer(agent, dt=0.0)
        call.status = TALKING
        self.outcomes["answered"] += 1
        self.flush(call)
        talk = rng.uniform(*plan.talk_s)
        if rng.random() < plan.hold:  # after the first RTCP reports, well before the end
            start = rng.uniform(12.0, talk / 2)
            self.later(start, self._hold, (call, agent, rng.uniform(5.0, talk / 2 - 10.0)))
        self.later(talk, self._hang_up, (call, agent))

    def _hold(self, arg: tuple[_Call, str, float]) -> None:
        call, agent, length = arg
        self.script(call).hold(agent, dt=0.0, length=length)
        self.counts["holds"] += 1
        self.flush(call)

    def _hang_up(self, arg: tuple[_Call, str]) -> None:
        call, agent = arg
        s = self.script(call)
        call.status = DONE
        if self.rng.random() < self.plan.agent_hangs_up:
            agent_hangs_up(s, agent)
            self.counts["agent_hung_up"] += 1
            self.flush(call)
            self.later(self.rng.uniform(4.0, 12.0), self._survey, call)
        else:
            s.hangup(dt=0.0, agent_first=False)
            self.flush(call)

    def _survey(self, call: _Call) -> None:
        s = self.script(call)
        survey_answer(s, str(self.rng.randint(0, 10) % 10))
        s.hangup(dt=1.0, agent_first=False)  # only the caller's leg is left
        self.flush(call)

    def _abandon(self, call: _Call) -> None:
        if call.status not in (WAITING, OFFERED, RINGING):
            return
        if call.status != WAITING:
            self.counts["abandoned_while_offered"] += 1
        self.script(call).hangup(dt=0.0, agent_first=False)  # a ringing leg gets CANCEL
        call.status = DONE
        self.outcomes["short_abandoned" if call.short else "abandoned"] += 1
        self.flush(call)


def agent_hangs_up(s: CallScript, agent: str) -> None:
    """The agent hangs up first: their leg leaves the bridge and ends; Dial's g option lets
    the caller on in hotline-connect, which raises HotlineTalkEnded (after-call work starts)
    before the survey."""
    c, a = s.caller, s.agents.pop(agent)
    bridge = ("BridgeUniqueid", f"br-{s.call_id}")
    if s.noise:
        s.ev("BridgeLeave", 0.001, [bridge, *a.blob()])
    s.ev("Hangup", 0.01, [*a.blob(), ("Cause", "16"), ("Cause-txt", "Normal Clearing")])
    if s.noise:
        s.ev("BridgeLeave", 0.001, [bridge, *c.blob()])
    s.bridged = False
    c.priority += 2
    s.ev(
        "UserEvent", 0.01, [*c.blob(), ("UserEvent", "HotlineTalkEnded"), ("Agent", agent)], "user"
    )


def survey_answer(s: CallScript, digit: str) -> None:
    """The caller's score for the post-call survey (FastAGI reads one DTMF digit)."""
    c = s.caller
    s.ev("DTMFBegin", 0.0, [*c.blob(), ("Digit", digit), ("Direction", "Received")], "dtmf")
    s.ev(
        "DTMFEnd",
        0.12,
        [*c.blob(), ("Digit", digit), ("DurationMs", "120"), ("Direction", "Received")],
        "dtmf",
    )


def generate_day(plan: DayPlan, kern: Kernels | None = None) -> Day:
    """The day's AMI bytes and the router decisions made while writing them."""
    floor = build_floor(plan)
    sim = _Sim(plan, floor, kern or kernels())
    sim.run()
    s = sim.mapper.stats
    assert not s.malformed, s.malformed
    assert all(c.status == DONE for c in sim.calls.values())
    return Day(
        plan=plan,
        floor=floor,
        data=b"".join(sim.out),
        offers=list(sim.ingest.offers),
        outcomes=sim.outcomes,
        counts=sim.counts,
        messages=len(sim.out) - 2,
        typed_events=s.mapped,
        router_ignored=sim.ingest.router.ignored,
        sim_seconds=sim.now - floor.t0,
        timers_fired=sim.ingest.timers.fired,
    )


def replay(
    day: Day,
    kern: Kernels | None = None,
    *,
    data: bytes | None = None,
    read_size: int = 16384,
    metrics: bool = True,
) -> tuple[Ingest, EventMapper]:
    """The day's bytes (or `data`, e.g. filtered) through a fresh path, in reads of
    `read_size` bytes, as the benchmark measures it."""
    kern = kern or kernels()
    data = day.data if data is None else data
    codec, mapper = AmiCodec(kernel=kern.ami_parse), EventMapper(NODE)
    ingest = Ingest(day.floor, kern, metrics=metrics)
    for i in range(0, len(data), read_size):
        ingest.feed(mapper.map_all(codec.feed_split(data[i : i + read_size])[0]))
    return ingest, mapper




# -- what a manager with the node's eventfilter receives (bench.ami measures both)


def manager_eventfilter() -> re.Pattern[str] | None:
    """The eventfilter of asterisk-config/manager.conf (one advanced filter per event name),
    as a pattern over an event's text: what our node actually sends."""
    conf = REPO_ROOT / "asterisk-config" / "manager.conf"
    if not conf.exists():
        return None
    names = re.findall(r"^eventfilter\(action\(include\),name\((\w+)\)\)", conf.read_text(), re.M)
    return re.compile(rf"^Event: ({'|'.join(names)})\r\n") if names else None


def apply_eventfilter(data: bytes, pattern: re.Pattern[str]) -> bytes:
    """`data` as a manager with that filter would receive it (Asterisk searches each event)."""
    greeting, _, rest = data.partition(b"\r\n")
    kept = [
        block
        for block in rest.split(b"\r\n\r\n")[:-1]
        if not block.startswith(b"Event:") or pattern.search(block.decode())
    ]
    return greeting + b"\r\n" + b"".join(block + b"\r\n\r\n" for block in kept)


__all__ = [
    "NODE",
    "TICK_S",
    "ControllerTimers",
    "Day",
    "DayPlan",
    "EventClock",
    "Floor",
    "Ingest",
    "Kernels",
    "agent_hangs_up",
    "apply_eventfilter",
    "build_floor",
    "generate_day",
    "kernels",
    "manager_eventfilter",
    "replay",
    "survey_answer",
]
