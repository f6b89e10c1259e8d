"""Work orders: the lifecycle table, time limits, overdue and escalation, repeat calls, and
the callback-timeliness and complaint-substantiation rates of docs/metrics.md on hand-worked
cases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hotline.core.lifecycle import IllegalTransition
from hotline.core.values import ServiceType
from hotline.work_orders.model import (
    DEFAULT_POLICIES,
    OrderAction,
    OrderState,
    WorkOrderError,
    act,
    answered_matter,
    callback_timeliness,
    create,
    escalate,
    is_repeat_call,
    link_call,
    overdue,
    record_final_answer,
    substantiation_rate,
)

H = 3600.0
DAY = 24 * H  # the longer of the two repeat windows a centre may choose
T0 = 1_800_000_000.0


def fault_order(at: float = T0):  # type: ignore[no-untyped-def]
    return create(ServiceType.FAULT, "13900000001", "no power in building 3", "c1", "agent1",
                  at, area="0571")


def test_a_fault_order_walks_its_whole_life() -> None:
    o = fault_order()
    assert (o.state, o.unit, o.resolve_by) == (OrderState.CREATED, "repair_crew", T0 + 4 * H)
    o = act(o, OrderAction.DISPATCH, T0 + 60)
    o = act(o, OrderAction.ACCEPT, T0 + 120)
    o = act(o, OrderAction.PROGRESS, T0 + H)
    o = act(o, OrderAction.REPLY, T0 + 3 * H, text="fuse replaced, power restored")
    assert (o.state, o.callback_by) == (OrderState.CALLBACK_DUE, T0 + 3 * H + 24 * H)
    o = act(o, OrderAction.CALLBACK_DONE, T0 + 4 * H, text="customer confirms")
    o = act(o, OrderAction.CLOSE, T0 + 4 * H + 60)
    assert (o.state, o.closed_at) == (OrderState.CLOSED, T0 + 4 * H + 60)


def test_illegal_moves_and_missing_texts_say_why() -> None:
    o = fault_order()
    with pytest.raises(IllegalTransition, match="'created' on 'reply'"):
        act(o, OrderAction.REPLY, T0, text="x")
    accepted = act(act(o, OrderAction.DISPATCH, T0), OrderAction.ACCEPT, T0)
    with pytest.raises(WorkOrderError, match="read back"):
        act(accepted, OrderAction.REPLY, T0, text="  ")
    with pytest.raises(WorkOrderError, match="description"):
        create(ServiceType.BILLING, "1", " ", "c", "a", T0)
    with pytest.raises(WorkOrderError, match="final answer"):
        record_final_answer(o, "")


def test_complaints_close_with_a_verdict() -> None:
    c = create(ServiceType.COMPLAINT, "139", "rude field crew", "c9", "agent2", T0)
    c = act(act(act(c, OrderAction.DISPATCH, T0), OrderAction.ACCEPT, T0),
            OrderAction.REPLY, T0 + H, text="apologised")
    c = act(c, OrderAction.CALLBACK_DONE, T0 + 2 * H)
    with pytest.raises(WorkOrderError, match="verdict"):
        act(c, OrderAction.CLOSE, T0 + 3 * H)
    assert act(c, OrderAction.CLOSE, T0 + 3 * H, substantiated=True).substantiated is True


def test_overdue_and_escalation_once() -> None:
    o = act(fault_order(), OrderAction.DISPATCH, T0)
    assert overdue(o, T0 + 4 * H) is None  # exactly at the limit: not late yet
    assert overdue(o, T0 + 4 * H + 1) == "resolve"
    up = escalate(o, T0 + 5 * H)
    assert up is not None and up.escalated_to == "supervisor"
    assert escalate(up, T0 + 6 * H) is None  # escalated once
    replied = act(act(o, OrderAction.ACCEPT, T0), OrderAction.REPLY, T0 + H, text="done")
    assert overdue(replied, T0 + 24 * H) is None
    assert overdue(replied, T0 + 25 * H + 1) == "callback"


def test_repeat_calls_and_links() -> None:
    o = fault_order()
    day = 24 * H
    assert is_repeat_call("13900000001", T0 + 10 * 86400, [], [o], day)  # open order, any time
    assert not is_repeat_call("13800000000", T0, [], [o], day)
    assert is_repeat_call("1", T0 + 24 * H, [T0], [], day)  # exactly 24 h after: still a repeat
    assert not is_repeat_call("1", T0 + 24 * H + 1, [T0], [], day)
    # the centre's 12 h window (Settings.repeat_window_h)
    assert is_repeat_call("1", T0 + 12 * H, [T0], [], 12 * H)
    assert not is_repeat_call("1", T0 + 12 * H + 1, [T0], [], 12 * H)
    linked = link_call(link_call(o, "c2"), "c2")
    assert linked.call_ids == ("c1", "c2")


def test_callback_timeliness_and_substantiation_rate_worked_by_hand() -> None:
    # four replied orders: callback limits at +24 h after each reply
    def replied(at: float):  # type: ignore[no-untyped-def]
        o = act(act(fault_order(at), OrderAction.DISPATCH, at), OrderAction.ACCEPT, at)
        return act(o, OrderAction.REPLY, at + H, text="ok")
    on_time = act(replied(T0), OrderAction.CALLBACK_DONE, T0 + 2 * H)
    exactly = act(replied(T0), OrderAction.CALLBACK_DONE, T0 + 25 * H)  # at the limit
    late = act(replied(T0), OrderAction.CALLBACK_DONE, T0 + 30 * H)
    missed = replied(T0)  # never called back; its limit passed at T0 + 25 h
    not_yet = replied(T0 + 20 * H)  # limit T0 + 45 h: not due at T0 + 40 h
    now = T0 + 40 * H
    # due: on_time, exactly, late, missed (4); within the limit: on_time, exactly (2)
    assert callback_timeliness([on_time, exactly, late, missed, not_yet], now) == 0.5
    assert callback_timeliness([not_yet], now) is None

    def complaint(verdict: bool | None):  # type: ignore[no-untyped-def]
        c = create(ServiceType.COMPLAINT, "1", "x", "c", "a", T0)
        c = act(act(act(c, OrderAction.DISPATCH, T0), OrderAction.ACCEPT, T0),
                OrderAction.REPLY, T0, text="r")
        c = act(c, OrderAction.CALLBACK_DONE, T0)
        return c if verdict is None else act(c, OrderAction.CLOSE, T0, substantiated=verdict)
    # 3 closed complaints, 1 substantiated; an open one does not count
    rate = substantiation_rate([complaint(True), complaint(False), complaint(False),
                                complaint(None)])
    assert rate == pytest.approx(1 / 3)
    assert substantiation_rate([]) is None
    assert set(DEFAULT_POLICIES) == set(ServiceType)


def test_an_answered_matter_within_the_window_is_the_calls_subject() -> None:
    """最终答复: the latest closed order with a final answer last touched (created, replied,
    called back or closed) at most the repeat window before the call."""
    o = create(ServiceType.BILLING, "1", "bill", "c1", "agent1", T0)
    closed = replace(o, id=1, state=OrderState.CLOSED, closed_at=T0 + 2 * H,
                     final_answer="refunded")
    assert answered_matter(T0 + 26 * H, [closed], DAY) is closed  # 24 h after closing
    assert answered_matter(T0 + 26 * H + 1, [closed], DAY) is None  # a second later: no
    assert answered_matter(T0 + 3 * H, [replace(closed, final_answer="")], DAY) is None
    newer = replace(closed, id=2, closed_at=T0 + 5 * H)
    assert answered_matter(T0 + 6 * H, [closed, newer], DAY) is newer
    # an open order with an answer is the open order's business (is_repeat_call), not this
    assert answered_matter(T0 + H, [replace(closed, state=OrderState.REPLIED)], DAY) is None
    assert answered_matter(T0 + 6 * H, [closed], window_s=3 * H) is None  # a shorter window
