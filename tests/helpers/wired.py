"""The API wired as the platform wires it, minus Asterisk: the real PostgreSQL (users, centre,
history, work orders, QA) and Redis (the live fan-out), a real, not started Controller whose
AMI link records what it is asked (tests/helpers/desk.py), the configuration service, served
by uvicorn; then seeded through the API with two agents' resources (their calls, recordings,
work orders, evaluations) and a published knowledge-base article, so that "its own" and
"another's" are real rows. The authorization
walk (tests/integration/test_authz_walk.py) and the API fuzz (tests/fuzz/test_api_fuzz.py)
run against it.

    async with wired_api(db_url, redis_url, tmp) as w:   # on this loop
        w.base, w.seeds["wo.own"], await w.token(client, "agent1")
    with wired_api_in_thread(db_url, redis_url, tmp) as w:  # a loop of its own (schemathesis)
        w.login("qa")
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hotline.api import create_app
from hotline.api.health import Readiness
from hotline.api.security import PostgresUserRepository
from hotline.centre.reserve import ReserveService
from hotline.centre.service import Configuration, load_or_seed_centre, load_or_seed_ivr
from hotline.core.settings import Settings
from hotline.process import prom, readiness
from hotline.process.controller import Controller
from hotline.process.wiring import NodeAgentFiles, NodeFiles, attach_controller, services_for
from hotline.store import db, queries
from hotline.store.live import FanoutBackend
from hotline.store.records import IntervalRecord
from tests.helpers import testbed
from tests.helpers.desk import NODE, RecordingLink
from tests.helpers.history import T0, WAV, seeded_calls
from tests.helpers.qa import FORM, marks
from tests.helpers.servers import fast_hasher, serve_app

#: the two agents whose resources are "its own" (agent1's) and "another's" (agent2's)
OWN, OTHER = "agent1", "agent2"
CALLS = {OWN: "c01", OTHER: "c02"}  # answered, recorded calls of each (seeded_calls)
CALLERS = {OWN: "13800001", OTHER: "13800002"}


@dataclass
class Wired:
    base: str
    services: Any
    controller: Controller
    link: RecordingLink
    seeds: dict[str, Any] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def login(self, user: str) -> str:
        """A token of a development login (password = name), fetched once (blocking)."""
        if user not in self._tokens:
            r = httpx.post(f"{self.base}/api/auth/token",
                           json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    async def token(self, client: httpx.AsyncClient, user: str) -> str:
        if user not in self._tokens:
            r = await client.post("/api/auth/token", json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]


FORECAST_HISTORY_AT = 1_780_970_400.0  # 2026-06-09 10:00 UTC+8


async def _seed_store(db_url: str, recordings: Path) -> None:
    conn = await db.connect(db_url)
    try:
        await db.migrate(conn)
        calls = seeded_calls(recordings)
        for call_id in CALLS.values():  # both agents' calls recorded, file present
            (recordings / f"{call_id}.wav").write_bytes(WAV)
        calls = [dataclasses.replace(c, recording_path=str(recordings / f"{c.call_id}.wav"))
                 if c.call_id in CALLS.values() else c for c in calls]
        await queries.upsert(conn, calls)
        # a customer with a registered number in an area of its own, for a notice campaign
        await conn.execute("INSERT INTO accounts (account_no, area_code) VALUES"
                           " ('5705740001', '0574')")
        await conn.execute("INSERT INTO account_phones (phone, account_no) VALUES"
                           " ('13900000574', '5705740001')")
        # one quarter hour of interval history, so the planner's forecast has a day to learn
        # from (the walk forecasts 16 June 2026: this is the Tuesday a week before)
        await queries.upsert(conn, [IntervalRecord("general", FORECAST_HISTORY_AT,
                                                   FORECAST_HISTORY_AT + 900, {
            "offered": 12, "answered": 12, "handled": 12, "talk_s": 1800.0})])
    finally:
        await conn.close()


async def _seed_api(w: Wired) -> None:
    """Resources of both agents, made through the API as the people who make them."""
    s = w.seeds
    async with httpx.AsyncClient(base_url=w.base) as client:
        async def call(user: str, method: str, path: str, body: Any = None) -> Any:
            r = await client.request(method, path, json=body, headers={
                "Authorization": f"Bearer {await w.token(client, user)}"})
            assert r.status_code < 300, f"seeding {method} {path} as {user}: {r.text}"
            return r.json() if r.content else None

        for who, whose in (("own", OWN), ("other", OTHER)):
            for kind in ("wo", "due", "cb"):  # plain, callback due (two: action, call-back)
                order = await call(whose, "POST", "/api/work-orders", {
                    "service": "fault", "caller": CALLERS[whose], "call_id": CALLS[whose],
                    "description": f"{kind} of {whose}"})
                s[f"{kind}.{who}"] = order["id"]
                s["unit"] = order["unit"]
                if kind != "wo":
                    for action, extra in (("dispatch", {}), ("accept", {}),
                                          ("reply", {"text": "fixed"})):
                        await call("supervisor", "POST",
                                   f"/api/work-orders/{order['id']}/actions",
                                   {"action": action, **extra})
        # a complaint (#18.5, "1+1+1"): reviewed, signed off (one for both targets)
        complaint = await call(OWN, "POST", "/api/work-orders", {
            "service": "complaint", "caller": CALLERS[OWN], "call_id": CALLS[OWN],
            "description": "rude staff", "scenario": "complaint.service",
            "fields": {"account": "3305710001", "staff_or_office": "an office",
                       "what_happened": "walk"}})
        s["complaint.own"] = s["complaint.other"] = complaint["id"]
        await call("qa", "POST", "/api/qa/forms", FORM)
        for who, whose in (("own", OWN), ("other", OTHER)):
            ev = await call("qa", "POST", "/api/qa/evaluations", {
                "call_id": CALLS[whose], "form_id": FORM["form_id"], "marks": marks(8, 4, 9, 3)})
            s[f"ev.{who}"] = ev["id"]
        sample = await call("qa", "POST", "/api/qa/samples", {
            "since": T0, "until": T0 + 200, "percentage": 50, "seed": 1})
        s["sample"] = sample["id"]
        outage = await call("admin", "POST", "/api/config/outages", {
            "area_code": "0571", "kind": "planned", "starts_at": T0})
        s["outage"] = outage["id"]
        notified = await call("admin", "POST", "/api/config/outages", {
            "area_code": "0574", "kind": "unplanned", "starts_at": T0,
            "notify": {"quiet_from_h": 0, "quiet_to_h": 0}})
        s["campaign"] = notified["campaign_id"]  # running: no campaign job here
        await call("admin", "POST", "/api/users", {
            "username": "walker", "password": "walker-pw-1", "roles": ["agent"]})
        s["ivr_version"] = (await call("admin", "GET", "/api/config/ivr"))["version"]
        article = await call("editor", "POST", "/api/kb/articles", {
            "title": "阶梯电价怎么计算", "body": "按年度用电量分三档。", "service": "billing",
            "kind": "tariff", "ivr_keys": ["main=3"]})
        s["kb"] = article["id"]
        for who, action in (("editor", "submit"), ("admin", "publish")):  # four eyes
            await call(who, "POST", f"/api/kb/articles/{s['kb']}/actions",
                       {"action": action, "version": 1})


@asynccontextmanager
async def wired_api(db_url: str, redis_url: str, tmp: Path) -> AsyncIterator[Wired]:
    """The API over a fresh, migrated database `db_url` (seeded) and Redis at `redis_url`,
    served by uvicorn on this loop. Development logins: one per role (agent, supervisor, qa,
    planner, admin) and one per agent of testbed.test_centre() (agent1..agent4)."""
    recordings = tmp / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    (tmp / "etc").mkdir(exist_ok=True)
    await _seed_store(db_url, recordings)
    pool = await db.create_pool(db_url, min_size=1, max_size=6)
    try:
        centre = await load_or_seed_centre(pool, testbed.test_centre())
        await load_or_seed_ivr(pool)
        # log-in limits off: the fuzz posts to /api/auth/token hundreds of times from one
        # address, then signs each role in (the limits have their own tests)
        settings = Settings(live_port=0, login_max_failures_per_user=0,
                            login_max_tries_per_address=0)
        controller = Controller(settings, centre, emit_line=lambda _: None)
        link = RecordingLink()
        controller.links[NODE] = link  # type: ignore[assignment]
        services = services_for(settings, centre, FanoutBackend(redis_url))
        services.hasher = fast_hasher()
        attach_controller(services, controller)
        services.db_pool = pool
        services.users = PostgresUserRepository(pool)
        services.readiness = Readiness({"postgres": readiness.postgres(pool)})
        services.prometheus = prom.registry()
        services.configuration = Configuration(
            pool, controller, live=services.live,
            agent_files=NodeAgentFiles([NodeFiles(NODE, tmp / "etc")], controller.links))
        # the emergency reserve over the metrics, as the platform wires it (its steps' routes)
        services.reserve = ReserveService(
            pool, services.configuration,
            lambda q, now: (services.metrics.queue_figures(q, "window", now).service_level,
                            0.8),
            services.live.set_reserve)
        app = create_app(settings, services)
        async with serve_app(app, start_deadline_s=20) as base:
            w = Wired(base, services, controller, link)
            w.seeds["app"] = app
            w.seeds["settings"] = settings
            await _seed_api(w)
            yield w
        await controller.stop()
    finally:
        await pool.close()


@contextmanager
def wired_api_in_thread(db_url: str, redis_url: str, tmp: Path,
                        deadline_s: float = 60.0) -> Iterator[Wired]:
    """`wired_api` on an event loop in a thread of its own, for blocking clients
    (schemathesis); stopped when the block ends."""
    ready: queue.Queue[Wired | BaseException] = queue.Queue()
    stop: list[Any] = []  # (loop, event) once running

    async def main() -> None:
        done = asyncio.Event()
        stop.append((asyncio.get_running_loop(), done))
        try:
            async with wired_api(db_url, redis_url, tmp) as w:
                ready.put(w)
                await done.wait()
        except BaseException as exc:
            ready.put(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True, name="wired")
    thread.start()
    try:
        got = ready.get(timeout=deadline_s)
        if isinstance(got, BaseException):
            raise RuntimeError("the wired API did not start") from got
        yield got
    finally:
        if stop:
            loop, done = stop[0]
            loop.call_soon_threadsafe(done.set)
        thread.join(deadline_s)


__all__ = ["CALLERS", "CALLS", "OTHER", "OWN", "Wired", "wired_api", "wired_api_in_thread"]
