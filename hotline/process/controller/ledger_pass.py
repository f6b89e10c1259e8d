"""A resync's pass over the node's ledger (ledger.py): each call the dialplan wrote there goes
into history exactly once, then its entry is deleted.

Read once per (re)login, before the live channels, so that a call the router still thinks
alive but that ended meanwhile gets its true end (reconcile.py); settled after the live
calls are replayed:
- a malformed entry: logged, counted (`ledger_bad`), moved to `hotline-ledger-bad`;
- a call this controller recorded itself (its start and end: `ended_calls`), one the router
  still holds, or one history already has (`HistoryGate.recorded`): the entry is deleted;
- any other: its events are recorded at their true times (observers only: the metrics, the
  call log, history; the router routes nothing of a call that is over), and once history has
  accepted them (`HistoryGate.sync`: the outbox is on disk) the entry is deleted.

A live controller also reads one entry when a call it never saw begin ends (on_unknown_end):
a call that straddled its start. Two passes never settle the same entry at once
(`ledger_claimed`).

Exactly once: the entry goes only after its record is accepted; a controller that dies in
between finds the entry again, and history then already has the call (the outbox is replayed
into PostgreSQL, whose writes are upserts by call id). When history cannot tell (PostgreSQL
away), the entries stay for a later pass (retried while the link is up).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from hotline.core.events import CallEnded, Event
from hotline.process.controller.ledger import (
    BAD_FAMILY,
    LEDGER_FAMILY,
    LedgerEntry,
    LedgerError,
    parse,
    replay,
)
from hotline.process.controller.state import ControllerState
from hotline.telephony.ami.errors import AmiError
from hotline.telephony.ami.link import AmiLink

log = logging.getLogger("hotline.process.controller")

#: while history cannot tell which calls it holds, the pass is tried again this often
RETRY_S = 10.0


@dataclass
class Ledger:
    """One read of a node's ledger: the entries, and the malformed ones (key -> value)."""

    entries: dict[str, LedgerEntry] = field(default_factory=dict)
    bad: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (value, why)


def sort(raw: dict[str, str]) -> Ledger:
    """The entries read (key -> value), parsed; bad input never raises."""
    ledger = Ledger()
    for key, value in raw.items():
        try:
            ledger.entries[key] = parse(key, value)
        except LedgerError as exc:
            ledger.bad[key] = (value, str(exc))
    return ledger


async def read(link: AmiLink) -> Ledger:
    return sort(await link.db_tree(LEDGER_FAMILY))


def replays(state: ControllerState, node: str, ledger: Ledger,
            recorded: set[str]) -> tuple[list[Event], list[str]]:
    """(the events to record, the keys to delete once they are accepted): every entry but a
    malformed one is deleted; only calls nobody recorded yet are replayed."""
    events: list[Event] = []
    for call_id, entry in sorted(ledger.entries.items(), key=lambda kv: kv[1].entered_at):
        if (call_id in state.ended_calls or state.router.knows(call_id)
                or call_id in recorded):
            continue
        events += replay(entry, node, state.settings.hotline_number)
    return events, list(ledger.entries)


async def settle(state: ControllerState, link: AmiLink, ledger: Ledger) -> None:
    """The pass itself. While history cannot tell, it is tried again in RETRY_S (a timer,
    so that a controller stopping meanwhile waits for nothing), as long as the link is up;
    after that, the next login reads the ledger again."""
    try:
        await _settle_once(state, link, ledger)
    except HistoryUnavailable as exc:
        log.warning("ledger of %s: history cannot tell which calls it has (%s); tried again "
                    "in %.0fs", link.node, exc, RETRY_S)

        def again() -> None:
            if link.logged_in.is_set():
                state.spawn(settle(state, link, ledger))

        asyncio.get_running_loop().call_later(RETRY_S, again)


class HistoryUnavailable(RuntimeError):
    pass


async def on_unknown_end(state: ControllerState, link: AmiLink, call_id: str) -> None:
    """A call this controller never saw begin has ended (one that straddled its start: an
    agent talking with a caller the last controller connected). Its hangup handler wrote its
    entry before Asterisk reported the hangup: written to history now, not at the next
    resync. AMI traffic only for such calls (and agents' own calls: no entry)."""
    try:
        value = await link.db_get(LEDGER_FAMILY, call_id)
    except AmiError:
        return  # the next resync reads it
    if value is not None:
        await settle(state, link, sort({call_id: value}))


async def _settle_once(state: ControllerState, link: AmiLink, ledger: Ledger) -> None:
    for key, (value, why) in ledger.bad.items():
        state.ledger_bad += 1
        log.warning("ledger of %s: malformed entry %r (%s): moved to %s", link.node,
                    key[:80], why, BAD_FAMILY)
        try:
            await link.db_put(BAD_FAMILY, key, value)
            await link.db_del(LEDGER_FAMILY, key)
        except AmiError as exc:
            log.warning("ledger of %s: could not quarantine %r: %s", link.node, key[:80], exc)
    ledger.bad.clear()
    # an entry another pass is settling now is left to it (or both would replay it)
    mine = {k: e for k, e in ledger.entries.items() if k not in state.ledger_claimed}
    if not mine:
        return
    sub = Ledger(mine)
    state.ledger_claimed.update(mine)
    try:
        await _settle_claimed(state, link, sub)
    finally:
        state.ledger_claimed.difference_update(mine)
        for key in mine:
            if key not in sub.entries:  # deleted: a retry has nothing more to do with it
                ledger.entries.pop(key, None)


async def _settle_claimed(state: ControllerState, link: AmiLink, ledger: Ledger) -> None:
    unknown = [cid for cid in ledger.entries
               if cid not in state.ended_calls and not state.router.knows(cid)]
    recorded: set[str] = set()
    if unknown and state.history is not None:
        try:
            recorded = await state.history.recorded(unknown)
        except Exception as exc:  # PostgreSQL away, a pool closing: the entries wait
            raise HistoryUnavailable(repr(exc)) from exc
    events, done = replays(state, link.node, ledger, recorded)
    calls = 0
    for event in events:
        state.record_input(event)
        if isinstance(event, CallEnded):
            calls += 1
            state.ended(event.call_id)
    state.ledger_replayed += calls
    if state.history is not None:
        try:
            await state.history.sync()  # accepted: on disk, before the entries go
        except Exception as exc:  # the entries stay: the next pass finds the calls recorded
            log.warning("ledger of %s: history not synced (%r): entries kept", link.node, exc)
            return
    for key in done:
        try:
            await link.db_del(LEDGER_FAMILY, key)
        except AmiError as exc:  # the next pass finds it recorded
            log.warning("ledger of %s: entry %s not deleted: %s", link.node, key, exc)
            continue
        del ledger.entries[key]
    if calls or done:
        state.emit_line(f"ledger of {link.node}: {calls} calls missed while away written to "
                        f"history, {len(done) - calls} entries of calls already recorded "
                        "cleared")


__all__ = ["RETRY_S", "HistoryUnavailable", "Ledger", "on_unknown_end", "read", "replays",
           "settle", "sort"]
