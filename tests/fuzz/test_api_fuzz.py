"""Schemathesis against every endpoint of the live app (uvicorn on a local socket, a real
PostgreSQL behind the history endpoints, seeded with a few calls and a recording), as admin:
no response may be a 500 or break the published OpenAPI schema."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.devtools.embedded import EmbeddedPostgres
from hotline.router import AgentConfig, QueueConfig, Router, RouterConfig
from hotline.store import db, queries
from tests.helpers.history import WAV, seeded_calls
from tests.helpers.servers import fast_hasher, serve_app_in_thread
from tests.helpers.store import fresh_database, store_tmpdir

MAX_EXAMPLES = 25
NEGATIVE_EXAMPLES = 10  # invalid requests per operation: only checked for server errors
SEEDED = {"call_id": "c01", "agent_id": "agent1"}  # c01 has a recording
#: Endpoints whose bodies obey rules the OpenAPI schema does not state, so a schema-valid
#: request may get a 422; for these only, "valid data is accepted" is not checked (500s and
#: schema conformance of answers still are). Reported to the owner of api/routes/agent_desk.py.
CROSS_FIELD_RULES = {
    "POST /api/agents/{agent_id}/state": "not_ready needs a reason",
    "PUT /api/agents/{agent_id}/skills": "skill names must match a pattern the schema omits",
    # the maximum span of [since, until) (api/limits.py, docs/security.md "Request bounds")
    "GET /api/calls": "since..until spans at most a year",
    "GET /api/agents/{agent_id}/states": "since..until spans at most a year",
    "GET /api/qa/scorecard/{agent_id}": "since..until spans at most 31 days",
    "POST /api/qa/samples": "since..until spans at most 31 days",
}


@dataclass
class PooledServices(Services):
    """Services that open the history pool in the server's own event loop (asyncpg pools
    belong to the loop that made them)."""

    db_url: str = ""

    async def start(self) -> None:
        self.db_pool = await db.create_pool(self.db_url, max_size=4)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        await self.db_pool.close()


@pytest.fixture(scope="module")
async def fuzz_db(pg_server: EmbeddedPostgres) -> AsyncIterator[tuple[str, Path]]:
    url = await fresh_database(pg_server)
    recordings = store_tmpdir("hotline-fuzz-rec-")
    (recordings / "c01.wav").write_bytes(WAV)
    conn = await db.connect(url)
    try:
        await db.migrate(conn)
        await queries.upsert(conn, seeded_calls(recordings))
    finally:
        await conn.close()
    yield url, recordings
    shutil.rmtree(recordings, ignore_errors=True)


@pytest.fixture(scope="module")
def live_server(fuzz_db: tuple[str, Path]) -> Iterator[str]:
    """The app served by uvicorn in a thread; yields its base URL."""
    router = Router(RouterConfig(
        queues=[QueueConfig("billing", ServiceType.BILLING, required={"billing": 1})],
        agents=[AgentConfig("agent1", {"billing": 2})],
    ), time.time)
    services = PooledServices.build(explainer=router, hasher=fast_hasher())
    services.db_url = fuzz_db[0]
    mp = pytest.MonkeyPatch()
    mp.setenv("HOTLINE_API_USERS", "root:pw:admin")
    app = create_app(Settings(), services)
    try:
        with serve_app_in_thread(app, start_deadline_s=15) as base:
            yield base
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def admin_headers(live_server: str) -> dict[str, str]:
    r = httpx.post(f"{live_server}/api/auth/token", json={"username": "root", "password": "pw"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def api_schema(live_server: str) -> Any:
    return schemathesis.openapi.from_url(f"{live_server}/openapi.json")


def operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def no_server_error(ctx: Any, response: Any, case: Any) -> None:
    """Schemathesis' not_a_server_error, except a documented 503 "<thing>-unavailable": this
    node has no controller behind it (an API node may run without one), which is no fault."""
    if response.status_code < 500:
        return
    if response.status_code == 503 and response.json()["error"]["id"].endswith("-unavailable"):
        return
    raise AssertionError(f"{case.operation.label}: {response.status_code} {response.text[:300]}")


def fuzzer(op: Any, path: dict[str, str] | None, mode: GenerationMode,
           headers: dict[str, str], statuses: set[tuple[str, int]]) -> Any:
    """A Hypothesis test sending MAX_EXAMPLES requests of `op` and validating each answer."""

    examples = NEGATIVE_EXAMPLES if mode is GenerationMode.NEGATIVE else MAX_EXAMPLES

    @given(case=op.as_strategy(mode, path_parameters=path))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        if mode is GenerationMode.NEGATIVE:  # invalid input: only "never a server error"
            response = case.call_and_validate(headers=headers, checks=[no_server_error])
        else:
            skip = [positive_data_acceptance] if op.label in CROSS_FIELD_RULES else []
            response = case.call_and_validate(
                headers=headers, excluded_checks=[not_a_server_error, *skip],
                additional_checks=[no_server_error])
        statuses.add((op.label, response.status_code))

    return fuzz


def test_no_500_and_no_schema_violation(api_schema: Any, admin_headers: dict[str, str]) -> None:
    """Each operation in turn, MAX_EXAMPLES valid and MAX_EXAMPLES invalid requests (those
    must be refused with a 4xx); every failing operation is listed.
    (Driven by hand: schemathesis' pytest loader does not work with this pytest.)"""
    failures: list[str] = []
    runs: list[tuple[Any, dict[str, str] | None, GenerationMode]] = [
        (op, None, mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for op in operations(api_schema)]
    # and again with the path naming seeded rows, so queries and Range headers reach the
    # database and the WAV file rather than stopping at "no such call"
    for op in operations(api_schema):
        names = set(re.findall(r"{(\w+)}", op.path))
        if names and names <= set(SEEDED):
            runs.append((op, {k: SEEDED[k] for k in names}, GenerationMode.POSITIVE))
    statuses: set[tuple[str, int]] = set()
    for op, path, mode in runs:
        try:
            fuzzer(op, path, mode, admin_headers, statuses)()
        except (Exception, BaseExceptionGroup) as exc:  # collect them all, then fail once
            failures.append(f"{op.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # the seeded rows were reached: a call in full, its recording whole and in part
    assert {("GET /api/calls/{call_id}", 200), ("GET /api/recordings/{call_id}", 200),
            ("GET /api/recordings/{call_id}", 206), ("GET /api/calls", 200)} <= statuses


def test_every_endpoint_is_fuzzed(api_schema: Any) -> None:
    """The schema the fuzzer walks lists the history and recording endpoints too."""
    paths = {op.path for op in operations(api_schema)}
    assert {"/api/calls", "/api/calls/{call_id}", "/api/recordings/{call_id}",
            "/api/agents/{agent_id}/states", "/api/wallboard"} <= paths
