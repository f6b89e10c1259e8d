"""Calls a crash left unfinished (#15; docs/metrics.md, "Restart").

The recorder writes an `open_calls` row for each call an agent answered, at the answer and at
the end of talk (history/service.py). A controller killed with such calls on the line loses
them with its memory; one that ends while no controller runs (the caller hung up, or was hung
up when the survey's FastAGI went away with the controller) leaves no other trace the next
start could read. So, at start, before today's figures are restored: each open row without an
ended `calls` row is written as a call that ended while the controller was away, at the last
moment history knows it was alive (the checkpoint, the latest row), never before what the row
itself shows; its talk runs to the end of talk if that was seen, else to that end. The figures'
replay then counts it like any call written after the checkpoint.

Only calls whose talk had ended are closed so (the caller was in the survey, which ends with
the controller's FastAGI). A call an agent was still talking on is settled by the controller
after its first resync (controller/left_on_line.py): if it is still on the line, the resync
found the caller in hotline-connect and writes it whole; if it ended after the dialplan saw the
heartbeat go stale, the node's ledger has it with its true end; only one that is in neither
(it ended within the heartbeat's stale time of the crash) is written as ended then, as above.
Closing every one here counted a call still on the line twice.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from hotline.store import queries
from hotline.store.records import CallRecord

log = logging.getLogger("hotline.history.unfinished")

#: the timeline step of a call closed at start
ENDED_AWAY = "ended:controller_away"

_LAST_ALIVE = """
SELECT greatest(
    (SELECT max(at) FROM metrics_checkpoint),
    (SELECT max(at) FROM open_calls),
    (SELECT max(started_at) FROM agent_state_log),
    (SELECT max(ended_at) FROM calls))
"""


async def close(conn: asyncpg.Connection) -> tuple[list[str], list[CallRecord]]:
    """Writes every unfinished call whose talk had ended as ended (see the module's
    docstring) and drops its open row; returns the ids closed, and the calls still talking
    at the crash as they would be closed (ended at the last moment history knows the
    controller alive), for the controller to settle after its first resync (their rows stay
    until history has them)."""
    rows = await conn.fetch(
        "SELECT o.record FROM open_calls o WHERE NOT EXISTS (SELECT 1 FROM calls c"
        " WHERE c.call_id = o.call_id AND c.ended_at IS NOT NULL) ORDER BY o.at")
    closed: list[str] = []
    talking: list[CallRecord] = []
    if rows:
        last = await conn.fetchval(_LAST_ALIVE)
        last_alive = last.timestamp() if last is not None else 0.0
        for row in rows:
            try:
                call = CallRecord(**row["record"])
            except (TypeError, ValueError) as exc:  # RecordError is a ValueError
                log.warning("unfinished call not closed (unreadable row): %r", exc)
                continue
            record = ended(call, last_alive)
            if not talk_over(call):
                talking.append(record)  # still on the line, or ended since: settled later
                continue
            await queries.upsert_call(conn, record)
            closed.append(record.call_id)
    await conn.execute("DELETE FROM open_calls WHERE NOT call_id = ANY($1::text[])",
                       [t.call_id for t in talking])
    return closed, talking


def talk_over(call: CallRecord) -> bool:
    """The agent's talk had ended (the caller was in the survey, whose FastAGI session ends
    with the controller)."""
    return any(str(s.get("what", "")).startswith("talk_ended") for s in call.timeline)


def ended(call: CallRecord, last_alive: float) -> CallRecord:
    """`call` (answered, not ended) as ended at `last_alive`, or at the latest moment it shows
    itself if that is later."""
    steps: list[dict[str, Any]] = list(call.timeline)
    shown = [float(s["at"]) for s in steps if isinstance(s.get("at"), int | float)]
    end = max([last_alive, *(t for t in (call.answered_at, call.entered_at) if t), *shown])
    talk_end = next((float(s["at"]) for s in reversed(steps)
                     if str(s.get("what", "")).startswith("talk_ended")), end)
    hold = call.hold_s or 0.0
    talk = (max(0.0, talk_end - call.answered_at - hold)
            if call.answered_at is not None else None)
    failsafe = any(str(s.get("what", "")).startswith("failsafe") for s in steps)
    return CallRecord(**{
        **{f: getattr(call, f) for f in CallRecord.__dataclass_fields__},
        "ended_at": end,
        "outcome": "failsafe" if failsafe else "answered",
        "talk_s": call.talk_s if call.talk_s is not None else talk,
        "hold_s": hold,
        "timeline": [*steps, {"at": end, "what": ENDED_AWAY}],
    })


async def purge(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """Drops the open rows of calls history has written whole."""
    await conn.execute("DELETE FROM open_calls o USING calls c"
                       " WHERE c.call_id = o.call_id AND c.ended_at IS NOT NULL")


__all__ = ["ENDED_AWAY", "close", "ended", "purge", "talk_over"]
