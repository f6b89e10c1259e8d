"""Issue #15.10 on the real Asterisk: calls that began and ended while no controller was
there reach history once, with their true outcome, times, agent and recording, from the
node's ledger (hotline-hangup writes it; the controller's resync reads and clears it)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallAnswered, CallEnded, CallEntered, CallQueued, FailsafeTaken
from hotline.core.settings import Settings
from hotline.history.recorded import StoreHistory
from hotline.history.service import Recorder
from hotline.process.controller.ledger import BAD_FAMILY, LEDGER_FAMILY
from hotline.process.controller.reconcile import HEARTBEAT_FAMILY, HEARTBEAT_KEY
from hotline.process.platform import Platform
from hotline.store import db, queries
from hotline.store.writer import Writer
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.store import store_tmpdir
from tests.helpers.watcher import Watcher

pytestmark = pytest.mark.asterisk

OTHERS = (2, 3, 4)


def pause(settings: Settings, n: int, paused: bool) -> None:
    """agentN's static member of the failsafe queue (un)paused, through Asterisk's CLI."""
    what = "pause" if paused else "unpause"
    root = asterisk_box.root_dir(settings)
    out = subprocess.run(
        ["chroot", str(root), "/usr/sbin/asterisk", "-rx",
         f"queue {what} member PJSIP/agent{n} queue hotline-failsafe"],
        capture_output=True, text=True, timeout=10).stdout
    assert f"{what}d interface" in out, out


class History:
    """History as the platform keeps it: a Recorder on the outbox writer into PostgreSQL."""

    def __init__(self, settings: Settings, writer: Writer, pool: asyncpg.Pool) -> None:
        self.settings, self.writer, self.pool = settings, writer, pool

    def controller(self, centre: Centre, lines: list[str]) -> ObservedController:
        ctl = ObservedController(self.settings, centre, emit_line=lines.append)
        recorder = Recorder(self.writer, self.settings.recordings_dir,
                            self.settings.recordings_dir_in_root, self.settings.short_abandon_s)
        ctl.observe(recorder.observe)
        ctl.use_history(StoreHistory(self.writer, self.pool))
        return ctl


@pytest.fixture
async def history(asterisk_node: Settings, empty_db_url: str) -> AsyncIterator[History]:
    writer = Writer(empty_db_url, Path(store_tmpdir("ledger-writer")))
    await writer.start()
    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        yield History(asterisk_node, writer, pool)
    finally:
        await writer.stop()
        await pool.close()


async def resynced(ctl: ObservedController, deadline_s: float = 10) -> None:
    """Until the controller's first resync (its ledger pass included) is over."""
    async with asyncio.timeout(deadline_s):
        while ctl.resyncs < 1:  # noqa: ASYNC110 (a counter: the controller has no event)
            await asyncio.sleep(0.05)


async def test_calls_of_an_outage_reach_history_once_from_the_ledger(
        asterisk_node: Settings, centre: Centre, phones: Phones, history: History,
        conn: asyncpg.Connection) -> None:
    link = AmiLink(asterisk_node)
    await link.connect()
    watcher = Watcher(link)
    seen = watcher.next
    lines: list[str] = []
    back: ObservedController | None = None
    again: ObservedController | None = None
    try:
        # No controller, gone for long: its heartbeat is old. app_queue may ring agent1
        # only (the others paused), so that C finds nobody free.
        await link.db_put(HEARTBEAT_FAMILY, HEARTBEAT_KEY, "1")
        for n in OTHERS:
            pause(asterisk_node, n, True)
        phones.agent(1, ring_ms=300, talk_ms=8_000)
        served = phones.caller("13800000101", talk_ms=30_000)  # app_queue: agent1 answers
        gone = phones.caller("13800000102", talk_ms=2_000)  # hangs up while held
        a = await seen(lambda e: isinstance(e, CallEntered) and e.caller == "13800000101", 10)
        b = await seen(lambda e: isinstance(e, CallEntered) and e.caller == "13800000102", 10)
        a_id, b_id = a.call_id, b.call_id  # type: ignore[attr-defined]
        await seen(lambda e: isinstance(e, CallAnswered) and e.call_id == a_id, 15)
        # agent1 is busy with A: C waits in app_queue and gives up there
        left = phones.caller("13800000103", talk_ms=6_500)
        c = await seen(lambda e: isinstance(e, CallEntered) and e.caller == "13800000103", 10)
        c_id = c.call_id  # type: ignore[attr-defined]
        await seen(lambda e: isinstance(e, FailsafeTaken) and e.call_id == c_id, 10)
        ends = {}
        for cid in (a_id, b_id, c_id):
            ends[cid] = await seen(lambda e, cid=cid: isinstance(e, CallEnded)
                                   and e.call_id == cid, 20)
        for phone in (served, gone, left):
            assert await asyncio.to_thread(phone.wait, 10) == 0, phone.errors()
        truth = {type(e).__name__ + ":" + e.call_id: e.at  # type: ignore[attr-defined]
                 for e in watcher.seen if hasattr(e, "call_id")}

        # the dialplan wrote each call into the ledger at its end
        raw = await link.db_tree(LEDGER_FAMILY)
        assert set(raw) == {a_id, b_id, c_id}, raw

        back = history.controller(centre, lines)
        await back.start()
        await resynced(back)
        assert await history.writer.flush(10)
        rows = {cid: await queries.get_call(conn, cid) for cid in (a_id, b_id, c_id)}
        assert all(rows.values()), (rows, history.writer.stats, lines)
        ra, rb, rc = rows[a_id], rows[b_id], rows[c_id]
        assert ra is not None and rb is not None and rc is not None
        assert (ra.outcome, ra.agent_id, ra.queue) == ("failsafe", "agent1", "general")
        assert (rb.outcome, rb.agent_id) == ("short_abandoned", None)
        assert (rc.outcome, rc.agent_id) == ("abandoned", None)
        for row in (ra, rb, rc):
            cid = row.call_id
            assert row.entered_at == pytest.approx(truth[f"CallEntered:{cid}"], abs=1.0)
            assert row.queued_at == pytest.approx(truth[f"CallQueued:{cid}"], abs=1.0)
            assert row.ended_at == pytest.approx(ends[cid].at, abs=1.0)
        assert ra.answered_at == pytest.approx(truth[f"CallAnswered:{a_id}"], abs=1.0)
        assert ra.talk_s is not None and 6 < ra.talk_s < 10
        assert ra.recording_path is not None
        assert await asyncio.to_thread(Path(ra.recording_path).exists)
        assert rc.recording_path is None  # app_queue records from the answer: never
        for cid in (a_id, b_id, c_id):  # once in the controller's record
            assert sum(isinstance(e, CallEnded) and e.call_id == cid
                       for e in back.history) == 1
        assert not any(isinstance(e, CallQueued) and e.call_id in (a_id, b_id, c_id)
                       and back.router.knows(e.call_id) for e in back.history)
        assert back.ledger_replayed == 3 and back.ledger_bad == 0
        assert await link.db_tree(LEDGER_FAMILY) == {}
        await back.stop()
        back = None

        # A second restart adds nothing, even if the last one died before deleting the
        # entries (they are put back here); a malformed entry is set aside, never fatal.
        for key, value in raw.items():
            await link.db_put(LEDGER_FAMILY, key, value)
        await link.db_put(LEDGER_FAMILY, "t9-1.1", "1|x|y")
        again = history.controller(centre, lines)
        await again.start()
        await resynced(again)
        assert (again.ledger_replayed, again.ledger_bad) == (0, 1)
        assert await link.db_tree(LEDGER_FAMILY) == {}
        assert await link.db_tree(BAD_FAMILY) == {"t9-1.1": "1|x|y"}
        assert not any(getattr(e, "call_id", None) in (a_id, b_id, c_id)
                       for e in again.history)
        assert await history.writer.flush(10)
        for cid in (a_id, b_id, c_id):
            assert await queries.get_call(conn, cid) == rows[cid]
    finally:
        await link.db_del(BAD_FAMILY, "t9-1.1")
        for n in OTHERS:
            pause(asterisk_node, n, False)
        for ctl in (back, again):
            if ctl is not None:
                await ctl.stop()
        await link.close()
        print("\n".join(lines))
        print("\n".join(map(repr, watcher.seen)))


async def test_calls_the_last_controller_connected_reach_history_after_it_is_gone(
        asterisk_node: Settings, centre: Centre, phones: Phones, history: History,
        conn: asyncpg.Connection) -> None:
    """Finding #15.1: calls answered before the controller went were lost with it (history
    is written at a call's end). X ends while no controller is there: written at the next
    start. Z ends after it: written as soon as the new controller hears it end."""
    link = AmiLink(asterisk_node)
    await link.connect()
    watcher = Watcher(link)
    seen = watcher.next
    lines: list[str] = []
    first: ObservedController | None = history.controller(centre, lines)
    back: ObservedController | None = None
    try:
        assert first is not None
        await first.start()
        phones.agent(3, ring_ms=200, talk_ms=60_000)
        phones.agent(2, ring_ms=200, talk_ms=6_000)  # hangs up on X
        ready(first, "agent3")
        z_phone = phones.caller("13800000202", talk_ms=14_000)
        z = await first.wait_for(lambda e: isinstance(e, CallAnswered), 10)
        ready(first, "agent2")
        x_phone = phones.caller("13800000201", talk_ms=60_000)
        x = await first.wait_for(lambda e: isinstance(e, CallAnswered)
                                 and e.call_id != z.call_id, 10)
        assert (x.agent_id, z.agent_id) == ("agent2", "agent3")
        await first.stop()  # as a kill would: nothing of X or Z is written yet
        first = None
        assert await history.writer.flush(10)
        assert await queries.get_call(conn, x.call_id) is None

        x_end = await seen(lambda e: isinstance(e, CallEnded) and e.call_id == x.call_id, 15)
        back = history.controller(centre, lines)
        await back.start()
        await resynced(back)
        assert await history.writer.flush(10)
        assert await queries.get_call(conn, x.call_id) is not None, "X is not in history"
        assert back.ledger_replayed == 1  # X
        z_end = await seen(lambda e: isinstance(e, CallEnded) and e.call_id == z.call_id, 20)
        # Z was still on the line at the restart: the resync replayed it (found in
        # hotline-connect), so its end is heard live, once
        await back.wait_for(lambda e: isinstance(e, CallEnded) and e.call_id == z.call_id, 10)
        assert sum(isinstance(e, CallEnded) and e.call_id == z.call_id
                   for e in back.history) == 1
        for phone in (x_phone, z_phone):
            assert await asyncio.to_thread(phone.wait, 10) == 0, phone.errors()
        assert await history.writer.flush(10)
        truth = {type(e).__name__ + ":" + e.call_id: e.at  # type: ignore[attr-defined]
                 for e in watcher.seen if hasattr(e, "call_id")}
        for call, end, agent in ((x, x_end, "agent2"), (z, z_end, "agent3")):
            row = await queries.get_call(conn, call.call_id)
            assert row is not None, lines
            assert (row.outcome, row.agent_id, row.queue) == ("answered", agent, "general")
            assert row.answered_at == pytest.approx(call.at, abs=1.0)
            assert row.ended_at == pytest.approx(end.at, abs=1.0)
            assert row.queued_at == pytest.approx(truth.get(f"CallQueued:{call.call_id}",
                                                            row.queued_at), abs=1.0)
            assert row.recording_path is not None
            assert await asyncio.to_thread(Path(row.recording_path).exists)
        row = await queries.get_call(conn, x.call_id)
        assert row is not None and row.talk_s is not None and 5 < row.talk_s < 7  # agent left
        # X's entry is settled; Z's (a call this controller recorded itself, live) stays until
        # the next resync clears it without replaying it (dialplan-contract.md, the ledger)
        assert set(await link.db_tree(LEDGER_FAMILY)) <= {z.call_id}
        assert back.ledger_replayed == 1  # X (Z was still on the line: the resync's)
        logout(back, "agent2", "agent3")
    finally:
        for ctl in (first, back):
            if ctl is not None:
                await ctl.stop()
        await link.close()
        print("\n".join(lines))
        print("\n".join(map(repr, watcher.seen)))


async def api(settings: Settings, path: str) -> Any:
    base = f"http://{settings.api_host}:{settings.api_port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        token = (await http.post("/api/auth/token", json={
            "username": "supervisor", "password": "supervisor"})).json()["access_token"]
        r = await http.get(path, headers={"Authorization": f"Bearer {token}"})
        return r.status_code, r.json()


async def test_hotline_run_back_from_an_outage_writes_and_counts_its_calls(
        asterisk_node: Settings, centre: Centre, phones: Phones) -> None:
    """The platform as `hotline run` wires it: a failsafe call of the outage is in /api/calls
    and in today's figures once the platform is back."""
    link = AmiLink(asterisk_node)
    await link.connect()
    watcher = Watcher(link)
    platform: Platform | None = Platform(asterisk_node, centre, emit_line=lambda _: None)
    again: Platform | None = None
    try:
        assert platform is not None
        await platform.start()
        _, board = await api(asterisk_node, "/api/wallboard")
        before = board["all"]["today"]
        await platform.stop()
        platform = None
        await link.db_put(HEARTBEAT_FAMILY, HEARTBEAT_KEY, "1")  # gone for long
        for n in OTHERS:
            pause(asterisk_node, n, True)
        phones.agent(1, ring_ms=300, talk_ms=3_000)
        caller = phones.caller("13800000301", talk_ms=30_000)
        entered = await watcher.next(lambda e: isinstance(e, CallEntered)
                                     and e.caller == "13800000301", 10)
        call_id = entered.call_id  # type: ignore[attr-defined]
        await watcher.next(lambda e: isinstance(e, CallEnded) and e.call_id == call_id, 20)
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()

        again = Platform(asterisk_node, centre, emit_line=lambda _: None)
        await again.start()
        async with asyncio.timeout(10):
            while again.controller.resyncs < 1:  # noqa: ASYNC110 (a counter)
                await asyncio.sleep(0.05)
        assert await again.writer.flush(10)
        status, row = await api(asterisk_node, f"/api/calls/{call_id}")
        assert status == 200, row
        assert (row["outcome"], row["agent_id"]) == ("failsafe", "agent1")
        _, board = await api(asterisk_node, "/api/wallboard")
        after = board["all"]["today"]
        assert after["offered"] == before["offered"] + 1
        assert after["failsafe"] == before["failsafe"] + 1
    finally:
        for n in OTHERS:
            pause(asterisk_node, n, False)
        for p in (platform, again):
            if p is not None:
                await p.stop()
        await link.close()
