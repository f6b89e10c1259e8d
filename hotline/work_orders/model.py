"""Work orders (工单): the lifecycle of a matter that could not be settled on the line.

Pure: a work order is data, its lifecycle a transition table (as for agents and calls), time
limits come from a per-type policy, and overdue / escalation / callback-due are computed from
a clock that is handed in.

created -> dispatched (to a responsible unit) -> accepted -> in_progress -> replied
        -> callback_due (回访: call the customer back within its own limit) -> closed.
A complaint closes with a verdict (substantiated or not); any order may record a "final
answer" (最终答复) so that repeat calls on the same matter are recognised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from hotline.core.errors import Conflict
from hotline.core.lifecycle import IllegalTransition
from hotline.core.values import ServiceType


class OrderState(enum.StrEnum):
    CREATED = "created"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    CALLBACK_DUE = "callback_due"
    CLOSED = "closed"


class OrderAction(enum.StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    PROGRESS = "progress"
    REPLY = "reply"
    CALLBACK_DONE = "callback_done"
    CLOSE = "close"


St, Ac = OrderState, OrderAction
#: ORDER_TRANSITIONS[state][action] -> next state. A reply makes a callback due.
ORDER_TRANSITIONS: dict[OrderState, dict[OrderAction, OrderState]] = {
    St.CREATED: {Ac.DISPATCH: St.DISPATCHED, Ac.CLOSE: St.CLOSED},
    St.DISPATCHED: {Ac.ACCEPT: St.ACCEPTED, Ac.DISPATCH: St.DISPATCHED},
    St.ACCEPTED: {Ac.PROGRESS: St.IN_PROGRESS, Ac.REPLY: St.CALLBACK_DUE},
    St.IN_PROGRESS: {Ac.PROGRESS: St.IN_PROGRESS, Ac.REPLY: St.CALLBACK_DUE},
    St.CALLBACK_DUE: {Ac.CALLBACK_DONE: St.REPLIED},
    St.REPLIED: {Ac.CLOSE: St.CLOSED},
    St.CLOSED: {},
}
del St, Ac


@dataclass(frozen=True, slots=True)
class TypePolicy:
    """Time limits and the responsible unit of one service type."""

    unit: str
    resolve_s: float  # from creation to the unit's reply
    callback_s: float  # from the reply to the callback to the customer
    #: how long after a missed deadline the order goes on from the unit's supervisor to the
    #: centre (escalation level 2)
    centre_after_s: float = 86400.0


#: Defaults per service type; a deployment overrides them (configurable policy).
DEFAULT_POLICIES: dict[ServiceType, TypePolicy] = {
    ServiceType.FAULT: TypePolicy("repair_crew", resolve_s=4 * 3600, callback_s=24 * 3600),
    ServiceType.OUTAGE_INFO: TypePolicy("dispatch_centre", 24 * 3600, 24 * 3600),
    ServiceType.BILLING: TypePolicy("billing_office", 3 * 86400, 86400),
    ServiceType.BUSINESS: TypePolicy("business_office", 5 * 86400, 86400),
    ServiceType.COMPLAINT: TypePolicy("complaints_office", 4 * 86400, 86400),
    ServiceType.REPORT: TypePolicy("inspection_office", 7 * 86400, 86400),
    ServiceType.OPINION: TypePolicy("service_office", 7 * 86400, 2 * 86400),
    ServiceType.PRAISE: TypePolicy("service_office", 7 * 86400, 2 * 86400),
    ServiceType.EV: TypePolicy("ev_operations", 2 * 86400, 86400),
    ServiceType.GENERAL: TypePolicy("service_office", 5 * 86400, 86400),
}



@dataclass(frozen=True, slots=True)
class TimeLimit:
    """The time limits set for a service type, for one unit or (unit "") every unit."""

    resolve_s: float
    callback_s: float
    centre_after_s: float


#: the longest limit the API and the table (CHECK of work_order_limits) take: a year
LIMIT_MAX_S = 365 * 86400.0


def policy_for(service: ServiceType, unit: str,
               limits: dict[tuple[str, str], TimeLimit],
               defaults: dict[ServiceType, TypePolicy] = DEFAULT_POLICIES) -> TypePolicy:
    """THE rule of which time limits an order gets: the limits set for its service type and
    unit, else those set for its type and every unit (unit ""), else the built-in default.
    `unit` "" means the type's default unit (where a new order goes)."""
    base = defaults[service]
    unit = unit or base.unit
    found = limits.get((str(service), unit)) or limits.get((str(service), ""))
    if found is None:
        return replace(base, unit=unit)
    return replace(base, unit=unit, resolve_s=found.resolve_s, callback_s=found.callback_s,
                   centre_after_s=found.centre_after_s)


#: The longest caller number a work order keeps: the OrderIn schema (api/routes/work_orders.py)
#: and the CHECK of work_orders.caller (migrations/002_work_orders.sql) both say 64;
#: tests/integration/desk/test_work_orders_scope.py reads the CHECK back from PostgreSQL.
CALLER_MAX_LEN = 64
#: The longest description (and reply, final answer) an order keeps: the CHECK of
#: work_orders.description and the API's schema.
DESCRIPTION_MAX_LEN = 10_000

#: who "created" an order the platform made by itself (a low survey answer's callback order):
#: no agent, so no repeat call is offered first to it
SURVEY_CREATOR = "(survey)"


class WorkOrderError(Conflict, ValueError):
    """A work order was asked for something its rules do not allow (with the reason)."""

    error_id = "work-order-refused"


class StaleVersion(Conflict):
    """The order changed since it was read (someone else wrote it meanwhile): read it again
    and retry. Nothing of this write was kept."""

    error_id = "stale-version"

    def __init__(self, order_id: int, version: int) -> None:
        super().__init__(f"work order {order_id} changed since version {version} was read",
                         details={"id": order_id, "version": version})


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads or changes orders, as the scope rule needs it (the rule itself is one SQL
    filter: hotline/work_orders/queries.py `_scope`; in words: docs/live-api.md, "Work
    orders: who sees what").

    `sees_all`: supervisors, QA and admins. `unit` (not None): a back-office user, who sees
    the orders dispatched or escalated to its unit ("": none). Otherwise an agent `username`
    sees the orders it created, the orders joined by a call it handled, and the open orders
    of `talking_to`, the caller of its current call ("" when it has none, or the API node
    has no controller)."""

    username: str
    sees_all: bool = False
    talking_to: str = ""
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: int | None
    service: ServiceType
    caller: str
    created_at: float
    created_by: str  # the agent
    description: str
    account: str = ""
    area: str = ""
    priority: int = 0
    state: OrderState = OrderState.CREATED
    unit: str = ""
    resolve_by: float = 0.0
    replied_at: float | None = None
    reply: str = ""
    callback_by: float | None = None
    callback_done_at: float | None = None
    callback_result: str = ""
    callback_done_by: str = ""  # who called back ("" on rows from before it was kept)
    closed_at: float | None = None
    substantiated: bool | None = None  # complaints: the verdict at closing
    final_answer: str = ""  # 最终答复: later calls on this matter are recognised
    escalated_to: str = ""
    call_ids: tuple[str, ...] = field(default_factory=tuple)  # first call first
    callback_placed_at: float | None = None  # the last call-back placed (one per gap)
    #: 0 none, 1 the unit's supervisor, 2 the centre (for the current deadline: escalate)
    escalation_level: int = 0
    centre_after_s: float = 86400.0  # from its limits when created (TypePolicy)
    scenario: str = ""  # its template (一场景一模板: templates.py), "" for none
    details: tuple[tuple[str, str], ...] = ()  # the template's fields, sorted by name
    version: int = 0  # grows on every write (0: not saved yet); updates name it


def create(service: ServiceType, caller: str, description: str, call_id: str, agent_id: str,
           at: float, policies: dict[ServiceType, TypePolicy] = DEFAULT_POLICIES,
           account: str = "", area: str = "", priority: int = 0, scenario: str = "",
           details: dict[str, str] | None = None) -> WorkOrder:
    if not description.strip():
        raise WorkOrderError("a work order needs a description")
    policy = policies[service]
    return WorkOrder(id=None, service=service, caller=caller, created_at=at,
                     created_by=agent_id, description=description.strip(), account=account,
                     area=area, priority=priority, unit=policy.unit,
                     resolve_by=at + policy.resolve_s, call_ids=(call_id,),
                     centre_after_s=policy.centre_after_s, scenario=scenario,
                     details=tuple(sorted((k, v.strip()) for k, v in (details or {}).items())))


def act(order: WorkOrder, action: OrderAction, at: float, *, text: str = "",
        unit: str = "", substantiated: bool | None = None, by: str = "",
        policies: dict[ServiceType, TypePolicy] = DEFAULT_POLICIES) -> WorkOrder:
    """The order after `action` at `at`; IllegalTransition names state and action."""
    try:
        new_state = ORDER_TRANSITIONS[order.state][action]
    except KeyError:
        raise IllegalTransition("work order", order.state, action) from None
    changes: dict[str, object] = {"state": new_state}
    if action is OrderAction.DISPATCH and unit:
        changes["unit"] = unit
    elif action is OrderAction.REPLY:
        if not text.strip():
            raise WorkOrderError("a reply needs its text (it is read back to the caller)")
        # a new deadline: its escalation starts again (escalate)
        changes.update(replied_at=at, reply=text.strip(), escalation_level=0,
                       callback_by=at + policies[order.service].callback_s)
    elif action is OrderAction.CALLBACK_DONE:
        changes.update(callback_done_at=at, callback_result=text.strip(),
                       callback_done_by=by)
    elif action is OrderAction.CLOSE:
        if order.service is ServiceType.COMPLAINT and substantiated is None:
            raise WorkOrderError("a complaint closes with a verdict: substantiated or not")
        changes.update(closed_at=at, substantiated=substantiated)
    return replace(order, **changes)  # type: ignore[arg-type]


def record_final_answer(order: WorkOrder, text: str) -> WorkOrder:
    if not text.strip():
        raise WorkOrderError("a final answer needs its text")
    return replace(order, final_answer=text.strip())


def link_call(order: WorkOrder, call_id: str) -> WorkOrder:
    """A repeat call on the same matter joins the order (once)."""
    if call_id in order.call_ids:
        return order
    return replace(order, call_ids=(*order.call_ids, call_id))


def overdue(order: WorkOrder, now: float) -> str | None:
    """What is late now: "resolve" (the unit has not replied in time), "callback" (the
    customer was not called back in time), or None."""
    if order.state in (OrderState.CREATED, OrderState.DISPATCHED, OrderState.ACCEPTED,
                       OrderState.IN_PROGRESS) and now > order.resolve_by:
        return "resolve"
    if (order.state is OrderState.CALLBACK_DUE and order.callback_by is not None
            and now > order.callback_by):
        return "callback"
    return None


def deadline(order: WorkOrder) -> float | None:
    """The deadline the order runs against now: the reply's (resolve_by) until it is replied,
    then the callback's; None once the callback was made or the order is closed."""
    if order.state in (OrderState.CREATED, OrderState.DISPATCHED, OrderState.ACCEPTED,
                       OrderState.IN_PROGRESS):
        return order.resolve_by
    if order.state is OrderState.CALLBACK_DUE:
        return order.callback_by
    return None


#: who each escalation level is: the next level's inbox (work_order_escalations)
ESCALATION_TARGETS = {1: "supervisor", 2: "centre"}


def escalation_due(order: WorkOrder, now: float) -> int:
    """THE escalation rule: the level an order should have reached at `now`. Past its deadline
    (`deadline`): 1, the unit's supervisor; `centre_after_s` later still: 2, the centre.
    The background job applies it in one conditional UPDATE per level
    (hotline/work_orders/escalation.py: its SQL says the same, a test holds the two together);
    a level is reached once per deadline."""
    due = deadline(order)
    if due is None or now <= due:
        return 0
    return 2 if now > due + order.centre_after_s else 1


def escalate(order: WorkOrder, now: float) -> WorkOrder | None:
    """The order one level up when `escalation_due` says it is behind, else None."""
    if escalation_due(order, now) <= order.escalation_level:
        return None
    level = order.escalation_level + 1
    return replace(order, escalation_level=level, escalated_to=ESCALATION_TARGETS[level])


def notice_due(order: WorkOrder, now: float, before_s: float) -> bool:
    """THE rule of telling a customer that a deadline will be missed: the order is not replied
    to yet and its reply deadline is `before_s` away or less (or past). Once per order
    (hotline/work_orders/notices.py keeps it so, and says this rule again in SQL)."""
    return (order.state in (OrderState.CREATED, OrderState.DISPATCHED, OrderState.ACCEPTED,
                            OrderState.IN_PROGRESS)
            and bool(order.caller) and now >= order.resolve_by - before_s)


def is_repeat_call(caller: str, at: float, earlier_calls: list[float],
                   open_orders: list[WorkOrder], window_s: float) -> bool:
    """A call from a number with an open work order, or within the repeat window
    (Settings.repeat_window_s, 12 or 24 h) of an earlier call from the same number, is a
    repeat call (docs/metrics.md, "Repeat calls")."""
    if any(o.caller == caller and o.state is not OrderState.CLOSED for o in open_orders):
        return True
    return any(within_repeat_window(t, at, window_s) for t in earlier_calls)


def within_repeat_window(earlier: float, later: float, window_s: float) -> bool:
    """The repeat rule: a call that enters 0 to `window_s` seconds (both ends included) after
    an earlier call from the same number repeats it. Repeat detection, first-call resolution
    and the repeat-call rate use it (hotline/reports/queries.py says the same in SQL, over
    distinct calls)."""
    return 0 <= later - earlier <= window_s


def charged_to(order: WorkOrder) -> str:
    """Who answers for an order's callback (回访), its timeliness and its count alike: the
    order's owner, the agent who created it (首问负责: the first agent owns the matter to its
    end), whoever dialled the callback (`callback_done_by` is kept, for the record). A missed
    callback has no one who dialled it, so only the owner can answer for every callback due
    (docs/metrics.md, "Callbacks: who answers for them"). The SQL of the scorecard
    (hotline/qa/queries.py) and the reports (hotline/reports/queries.py) keys on
    `created_by` for the same reason."""
    return order.created_by


def last_touched(order: WorkOrder) -> float:
    """When the order last moved: created, replied, called back or closed."""
    return max(t for t in (order.created_at, order.replied_at, order.callback_done_at,
                           order.closed_at) if t is not None)


def answered_matter(at: float, orders: list[WorkOrder], window_s: float) -> WorkOrder | None:
    """The matter a call at `at` is most likely about when its number's order was closed with
    a final answer (最终答复) last touched at most `window_s` before: the latest such order,
    or None (docs/metrics.md, "Repeat calls"). An open order is is_repeat_call's."""
    found = [o for o in orders if o.state is OrderState.CLOSED and o.final_answer
             and at - last_touched(o) <= window_s]
    return max(found, key=last_touched, default=None)


def callback_timeliness(orders: list[WorkOrder], now: float) -> float | None:
    """回访及时率 = callbacks done within their time limit / callbacks due (docs/metrics.md,
    "Work orders").
    A callback is due once its order was replied to and its limit has passed or it is done."""
    due = [o for o in orders if o.callback_by is not None
           and (o.callback_done_at is not None or now > o.callback_by)]
    if not due:
        return None
    on_time = [o for o in due if o.callback_done_at is not None
               and o.callback_done_at <= (o.callback_by or 0.0)]
    return len(on_time) / len(due)


def substantiation_rate(orders: list[WorkOrder]) -> float | None:
    """属实投诉率 = substantiated complaints / complaints closed (docs/metrics.md, "Work
    orders")."""
    closed = [o for o in orders if o.service is ServiceType.COMPLAINT
              and o.state is OrderState.CLOSED and o.substantiated is not None]
    if not closed:
        return None
    return sum(1 for o in closed if o.substantiated) / len(closed)
