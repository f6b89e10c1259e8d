"""The caller's whole story (客户 360) as the agent sees it when a call rings: who the caller
is (the accounts registered to the number: holder, address, area, and the outages in force in
that area now), every past call, every work order in the viewer's scope, the survey scores,
and the flags (sensitive, VIP, repeat caller). docs/customer-story.md says what each part is.

The rules it shows are kept where they live: repeat calls in hotline/history/repeat_calls.py,
who sees which work order in hotline/work_orders/queries.py (`_scope`), who may hear a
recording in api/routes/recordings.py (`may_listen`, applied by the API to `calls`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from hotline.customer import queries
from hotline.customer.queries import Account, SurveyScore
from hotline.history.repeat_calls import repeat_verdict
from hotline.store.queries import calls_by, find_outages
from hotline.store.records import CallFilter, CallRecord, Outage
from hotline.work_orders import queries as work_orders
from hotline.work_orders.model import Viewer, WorkOrder

#: at most this many accounts, outages per account, past calls, orders and survey answers
#: (newest first): the story is one bounded answer, not a page
STORY_ROWS = 50


@dataclass(frozen=True, slots=True)
class AccountStory:
    account: Account
    outages: list[Outage]  # in force in the account's area now


@dataclass(frozen=True, slots=True)
class Flags:
    vip: bool
    vip_note: str
    #: a registered account is marked sensitive (敏感客户); its notes
    sensitive: bool
    sensitive_notes: list[str]
    #: a repeat call by the rule of repeat_calls.repeat_verdict
    repeat: bool
    repeat_open_order: int | None
    repeat_answered_order: int | None


@dataclass(frozen=True, slots=True)
class Story:
    caller: str
    call_id: str
    accounts: list[AccountStory] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)  # past calls, newest first
    orders: list[WorkOrder] = field(default_factory=list)  # in the viewer's scope
    surveys: list[SurveyScore] = field(default_factory=list)
    flags: Flags = field(default_factory=lambda: Flags(False, "", False, [], False, None, None))


async def load(conn: asyncpg.Connection, caller: str, call_id: str, *, entered_at: float,
               now: float, viewer: Viewer | None, window_s: float,
               rows: int = STORY_ROWS) -> Story:
    """The story of `caller`, on its call `call_id` entered at `entered_at` (the repeat rule's
    moment); outages as in force at `now`. A withheld number ("") has none."""
    if not caller:
        return Story(caller, call_id)
    accounts = [AccountStory(a, (await find_outages(conn, a.area_code, now))[:rows])
                for a in await queries.accounts_of(conn, caller, limit=rows)]
    past = [c for c in await calls_by(conn, CallFilter(caller=caller, limit=rows + 1))
            if c.call_id != call_id][:rows]
    orders = await work_orders.for_caller(conn, caller, viewer, limit=rows)
    surveys = await queries.surveys_of(conn, caller, limit=rows)
    vip = await queries.vip_mark(conn, caller)
    repeat = await repeat_verdict(conn, call_id, caller, entered_at, window_s)
    sensitive = [a.account for a in accounts if a.account.sensitive]
    flags = Flags(vip=vip is not None, vip_note=vip.note if vip else "",
                  sensitive=bool(sensitive),
                  sensitive_notes=[a.sensitive_note for a in sensitive if a.sensitive_note],
                  repeat=repeat.repeat, repeat_open_order=repeat.open_order,
                  repeat_answered_order=repeat.answered_order)
    return Story(caller, call_id, accounts, past, orders, surveys, flags)


__all__ = ["STORY_ROWS", "AccountStory", "Flags", "Story", "load"]
