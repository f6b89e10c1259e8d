"""The live-state hashes in a real Redis follow the metrics and the agents' states."""

from __future__ import annotations

import time

from hotline.centre.model import load_centre
from hotline.core.events import AgentStateChanged, CallQueued
from hotline.core.lifecycle import AgentState
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.embedded import EmbeddedRedis
from hotline.process.live_state_sync import LiveStateSync
from hotline.process.wiring import services_for
from hotline.store.live import LiveState, connect_redis


async def test_hashes_hold_the_centre_now(redis_server: EmbeddedRedis) -> None:
    settings = Settings()
    centre = load_centre(settings.centre_file)
    services = services_for(settings, centre)
    now = time.time()
    services.live.on_item(CallQueued(now - 30, call_id="c1", queue="billing",
                                     service=ServiceType.BILLING))
    services.live.on_item(AgentStateChanged(now - 60, agent_id="agent1",
                                            old=AgentState.LOGGED_OUT, new=AgentState.READY))
    client = connect_redis(redis_server.url)
    try:
        state = LiveState(client)
        sync = LiveStateSync(state, services.metrics, services.live,
                             [q.name for q in centre.queues], clock=lambda: now)
        await sync.sync_once()
        snap = await state.snapshot()
        assert set(snap.queues) == {q.name for q in centre.queues}
        billing = snap.queues["billing"]
        assert (billing["waiting"], billing["offered_today"]) == (1, 1)
        assert billing["longest_wait_s"] >= 0.0
        assert billing["service_level_today"] is None  # nothing answered or abandoned yet
        assert snap.agents["agent1"]["state"] == "ready"
        assert snap.agents["agent2"]["state"] == "logged_out"
    finally:
        await client.aclose()
