"""The calls the history tests seed (through the API, under the fuzzer): twelve calls with a
recording, a missing one, and odd rows; and the API client those tests read them with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from hotline.api import Services
from hotline.router import Router
from hotline.store.records import CallRecord

T0 = 1_795_430_000.0
WAV = b"RIFF" + bytes(range(256)) * 40  # 10,244 bytes with a recognisable pattern


def seeded_calls(recordings: Path) -> list[CallRecord]:
    """12 calls 10 s apart (c00 oldest), agents and queues alternating, plus c99 with no
    entry time and c12 sharing c11's entry time; c01 has a WAV, c03's file is gone."""
    calls = []
    for i in range(12):
        agent = "agent1" if i % 2 else "agent2"
        path = None
        if i == 1:
            path = str(recordings / "c01.wav")
        elif i == 3:
            path = str(recordings / "gone.wav")
        calls.append(CallRecord(
            call_id=f"c{i:02d}", node="n1", caller=f"1380000{i % 3}", dialed="95598",
            queue="billing" if i % 3 else "fault", service="billing" if i % 3 else "fault",
            entered_at=T0 + 10 * i, queued_at=T0 + 10 * i + 2,
            answered_at=T0 + 10 * i + 5 if i % 4 else None, ended_at=T0 + 10 * i + 9,
            agent_id=agent if i % 4 else None,
            outcome="answered" if i % 4 else "abandoned",
            wait_s=3.0, talk_s=4.0 if i % 4 else None, hold_s=0.0, ivr_path=["lang=1", "main=2"],
            recording_path=path,
            timeline=[{"at": T0 + 10 * i, "what": "entered"},
                      {"at": T0 + 10 * i + 9, "what": "ended"}]))
    calls.append(CallRecord(call_id="c12", entered_at=T0 + 110, queue="billing",
                            agent_id="agent1", outcome="answered"))
    calls.append(CallRecord(call_id="c99", caller="13900000000"))
    return calls



@dataclass
class Api:
    client: httpx.AsyncClient
    services: Services
    conn: asyncpg.Connection
    recordings: Path
    router: Router

    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    async def login(self, user: str) -> dict[str, str]:
        if user in self.tokens:
            return self.tokens[user]
        r = await self.client.post("/api/auth/token", json={"username": user, "password": "pw"})
        assert r.status_code == 200, r.text
        self.tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[user]

    async def get(self, user: str, path: str, **kw: object) -> httpx.Response:
        headers = {**await self.login(user), **kw.pop("headers", {})}  # type: ignore[dict-item]
        return await self.client.get(path, headers=headers, **kw)  # type: ignore[arg-type]


__all__ = ["T0", "WAV", "Api", "seeded_calls"]
