"""A routed call on the real Asterisk ends up in the real PostgreSQL: its row (timeline,
outcome, wait, talk, recording), the agent's state log and the routing explanation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from hotline.core.events import AgentStateChanged, CallEnded, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.history.service import Recorder
from hotline.store import queries
from hotline.store.records import CallFilter
from hotline.store.writer import Writer
from tests.helpers.calls import logout, ready
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.store import store_tmpdir

pytestmark = pytest.mark.asterisk


async def test_answered_call_is_written_with_its_timeline_and_explanation(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    writer = Writer(empty_db_url, Path(store_tmpdir("writer")))
    await writer.start()
    recorder = Recorder(writer, asterisk_node.recordings_dir,
                        asterisk_node.recordings_dir_in_root, asterisk_node.short_abandon_s)
    controller.observe(recorder.observe)
    try:
        phones.agent(2, ring_ms=300, talk_ms=2_000)
        ready(controller, "agent2")
        caller = phones.caller("13400000001", talk_ms=20_000)
        queued = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13400000001", 10)
        await controller.wait_for(
            lambda e: isinstance(e, CallEnded) and e.call_id == queued.call_id, 15)
        await controller.wait_for(
            lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "agent2"
            and e.new is AgentState.AFTER_CALL_WORK, 5)
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.errors()
        assert await writer.flush(10)

        [row] = await queries.calls_by(conn, CallFilter(caller="13400000001"))
        assert (row.call_id, row.outcome, row.agent_id, row.queue) == (
            queued.call_id, "answered", "agent2", "general")
        assert row.wait_s is not None and 0 <= row.wait_s < 5
        assert row.talk_s is not None and 1.0 < row.talk_s < 5
        whats = [step["what"] for step in row.timeline]
        assert whats[0] == "entered" and whats[-1] == "ended"
        assert {"queued:general", "answered:agent2"} <= set(whats)
        assert row.recording_path is not None
        assert await asyncio.to_thread(Path(row.recording_path).exists)

        [why] = await queries.explanations(conn, queued.call_id)
        assert why.detail["chosen"] == "agent2" and why.detail["policy"] == "most_skilled"
        states = [e.state for e in await queries.agent_states(conn, "agent2")]
        assert states[-4:] == ["reserved", "ringing", "on_call", "after_call_work"]
        logout(controller, "agent2")
    finally:
        await writer.stop()
