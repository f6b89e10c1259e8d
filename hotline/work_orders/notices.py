"""Customer notices of a deadline that will be missed (issue #18.5), through a channel: a
voice call now (telephony/notice_call.py VoiceNotices), SMS later (a class with the same
`name` and `send`).

The rule (model.notice_due): an order not replied to yet, within `before_s` of its reply
deadline or past it, gets one notice (kind `resolve_late`). Each is claimed by one INSERT
(UNIQUE (order_id, kind)), so several processes running the job tell the customer once; the
claim is 'pending' until the channel answers, then 'delivered' or 'failed' with the detail
(table work_order_notices, migration 020). A notice left 'pending' by a crash is not sent
again (a customer called twice is worse than one not told: the escalation still runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import asyncpg

from hotline.store.queries import epoch, ts

KIND = "resolve_late"


class Outcome(Protocol):
    @property
    def delivered(self) -> bool: ...

    @property
    def detail(self) -> str: ...


class NoticeChannel(Protocol):
    """A way to tell a customer something. `name` is stored with each notice (`voice`,
    `sms`: lower-case letters); `send` delivers `text` in `lang` to `address` (a phone
    number) and says whether it reached the customer. It checks what it passes on."""

    name: str

    async def send(self, notice_id: int, address: str, text: str, lang: str) -> Outcome: ...


#: the message, per language ({id}: the order's number)
TEXTS = {
    "zh": "您好，这里是九五五九八供电服务热线。您的工单{id}号将无法在承诺时限内办结，"
          "我们正在加紧处理，处理完毕后会及时答复您。给您带来不便，敬请谅解。",
    "en": "Hello, this is the power service hotline. Your work order number {id} will not be "
          "settled within its promised time. We are working on it and will reply as soon as "
          "it is done. We are sorry for the delay.",
}


def notice_text(order_id: int, lang: str = "zh") -> str:
    return TEXTS[lang].format(id=order_id)


@dataclass(frozen=True, slots=True)
class NoticeRow:
    id: int
    order_id: int
    kind: str
    channel: str
    address: str
    at: float
    result: str  # pending, delivered, failed
    detail: str
    done_at: float | None


def _row(r: asyncpg.Record) -> NoticeRow:
    return NoticeRow(r["id"], r["order_id"], r["kind"], r["channel"], r["address"],
                     epoch(r["at"]) or 0.0, r["result"], r["detail"], epoch(r["done_at"]))


async def due(conn: asyncpg.Connection, now: float, before_s: float,
              limit: int = 50) -> list[tuple[int, str]]:
    """(order id, caller) of the orders model.notice_due says are due a notice now and have
    none yet (the same rule in SQL; a test holds the two together)."""
    rows = await conn.fetch(
        "SELECT o.id, o.caller FROM work_orders o WHERE o.state IN ('created', 'dispatched',"
        " 'accepted', 'in_progress') AND o.caller <> ''"
        " AND o.resolve_by - make_interval(secs => $2) <= $1"
        " AND NOT EXISTS (SELECT 1 FROM work_order_notices n WHERE n.order_id = o.id"
        " AND n.kind = $3) ORDER BY o.resolve_by, o.id LIMIT $4",
        ts(now), before_s, KIND, limit)
    return [(r["id"], r["caller"]) for r in rows]


async def claim(conn: asyncpg.Connection, order_id: int, channel: str, address: str,
                now: float) -> int | None:
    """The new notice's id, or None when the order already has one (another process won)."""
    return await conn.fetchval(
        "INSERT INTO work_order_notices (order_id, kind, channel, address, at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, kind) DO NOTHING RETURNING id",
        order_id, KIND, channel, address, ts(now))


async def record(conn: asyncpg.Connection, notice_id: int, delivered: bool, detail: str,
                 at: float) -> None:
    await conn.execute(
        "UPDATE work_order_notices SET result = $2, detail = $3, done_at = $4 WHERE id = $1",
        notice_id, "delivered" if delivered else "failed", detail[:500], ts(at))


async def for_order(conn: asyncpg.Connection, order_id: int) -> list[NoticeRow]:
    rows = await conn.fetch("SELECT * FROM work_order_notices WHERE order_id = $1 ORDER BY id",
                            order_id)
    return [_row(r) for r in rows]

