"""Work orders in the real PostgreSQL: saved, linked to repeat calls, found per caller and
per call, and a unit's queue with the overdue first."""

from __future__ import annotations

import asyncpg

from hotline.core.values import ServiceType
from hotline.work_orders import queries as store
from hotline.work_orders.model import OrderAction, OrderState, act, create, link_call

H = 3600.0
T0 = 1_800_000_000.0


async def test_orders_round_trip_link_and_queue(conn: asyncpg.Connection) -> None:
    fault = await store.save(conn, create(ServiceType.FAULT, "13900000001", "no power",
                                          "call-1", "agent1", T0, area="0571"))
    assert fault.id is not None and fault.call_ids == ("call-1",)
    assert fault.state is OrderState.CREATED and fault.resolve_by == T0 + 4 * H

    # the caller rings again: the call joins the open order
    [open_one] = await store.open_for_caller(conn, "13900000001")
    linked = await store.save(conn, link_call(open_one, "call-2"))
    assert linked.call_ids == ("call-1", "call-2")
    assert [o.id for o in await store.for_call(conn, "call-2")] == [fault.id]

    later = await store.save(conn, create(ServiceType.FAULT, "13900000002", "sparks",
                                          "call-3", "agent2", T0 + 3 * H))
    dispatched = await store.save(conn, act(linked, OrderAction.DISPATCH, T0 + 60))
    assert dispatched.state is OrderState.DISPATCHED
    # at T0 + 5 h the first is overdue (due T0 + 4 h), the second not (due T0 + 7 h)
    queue = await store.unit_queue(conn, "repair_crew", T0 + 5 * H)
    assert [o.id for o in queue] == [fault.id, later.id]

    done = act(act(act(dispatched, OrderAction.ACCEPT, T0 + H), OrderAction.REPLY, T0 + 2 * H,
                   text="fixed"), OrderAction.CALLBACK_DONE, T0 + 3 * H, text="confirmed")
    closed = await store.save(conn, act(done, OrderAction.CLOSE, T0 + 3 * H))
    assert (closed.state, closed.reply, closed.callback_result) == (
        OrderState.CLOSED, "fixed", "confirmed")
    assert await store.open_for_caller(conn, "13900000001") == []
