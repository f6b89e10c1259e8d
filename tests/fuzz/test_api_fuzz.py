"""Schemathesis against every endpoint of the app wired as the platform wires it
(tests/helpers/wired.py: the real PostgreSQL and Redis, a controller without Asterisk, the
users store and the configuration service; seeded with two agents' calls, a recording, work
orders and evaluations), authenticated as each role: no response may be a server error (5xx,
schemathesis' not_a_server_error) or break the published OpenAPI schema. Every operation is
fuzzed past its guards: none may answer 503 "unavailable" here."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hotline.api.security import Role
from hotline.devtools.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.helpers.authz import LOGINS, roles_by_operation
from tests.helpers.store import fresh_database, store_tmpdir
from tests.helpers.wired import CALLS, OWN, Wired, wired_api_in_thread

#: Examples per operation: as admin (every operation), valid and invalid; as each other
#: role, valid ones of the operations its role may call; besides schemathesis' coverage
#: phase (every boundary: a string of maxLength, a number at its maximum, ..., and one
#: past it), as admin. Sized so that the whole fuzz stays within ~3 minutes on 2 cores.
MAX_EXAMPLES = 8
NEGATIVE_EXAMPLES = 4  # invalid requests per operation: only checked for server errors
ROLE_EXAMPLES = 4
#: Paths naming seeded rows, so queries and Range headers reach the database and the WAV
#: file rather than stopping at "no such call" (agent1's own: its role sees them too).
SEEDED = {"call_id": CALLS[OWN], "agent_id": OWN, "form_id": "std"}
#: Endpoints whose bodies obey rules the OpenAPI schema does not state, so a schema-valid
#: request may get a 422; for these only, "valid data is accepted" is not checked (5xx and
#: schema conformance of answers still are).
CROSS_FIELD_RULES = {
    "POST /api/agents/{agent_id}/state": "not_ready needs a reason",
    "PUT /api/agents/{agent_id}/skills": "skill names must match a pattern the schema omits",
    # a back-office user works for a unit, and only a back-office user has one
    "POST /api/users": "role back_office needs a unit, a unit needs role back_office",
    "PUT /api/users/{username}/roles": "role back_office needs a unit, a unit needs it",
    # the maximum span of [since, until) (api/limits.py, docs/security.md "Request bounds")
    "GET /api/calls": "since..until spans at most a year",
    "GET /api/agents/{agent_id}/states": "since..until spans at most a year",
    "GET /api/qa/scorecard/{agent_id}": "since..until spans at most 31 days",
    "POST /api/qa/samples": "since..until spans at most 31 days",
    "GET /api/reports/figures": "from..to spans at most 31 days",
    "GET /api/reports/export": "from..to spans at most 31 days; key and step both or neither",
    "GET /api/reports/breakdown": "from..to spans at most 96 steps and 31 days",
    "GET /api/reports/intervals": "from..to spans at most 31 days",
    "GET /api/reports/nps": "from..to spans at most 31 days",
    "GET /api/reports/states": "from..to spans at most a day",
    "GET /api/reports/warnings": "from..to spans at most 31 days; the back office: its unit",
    "GET /api/reports/scorecard": "from..to spans at most 31 days; an agent: by agent only",
    "PUT /api/config/agents/{agent_id}/skills": "as above",
    # 一场景一模板: a named scenario's required and known fields, and its service type
    # (hotline/work_orders/templates.py); field names match a pattern the schema omits
    "POST /api/work-orders": "a scenario's template: its fields and service type",
    # plans (api/routes/plans.py): days within 1971..9998 like planning's, a shift's start
    # before its end, the week's model within MAX_PLAN_CHOICES
    "GET /api/plans/month": "the month within 1971..9998",
    "PUT /api/plans/month": "days within 1971..9998",
    "POST /api/plans/week": "first day within 1971..9998; the model within MAX_PLAN_CHOICES",
    "GET /api/plans/day": "day within 1971..9998",
    "PUT /api/plans/shifts/{day}/{agent_id}": "day within 1971..9998; start before end",
    "POST /api/plans/publish": "days within 1971..9998",
    "GET /api/plans/adherence": "day within 1971..9998",
    "GET /api/agents/{agent_id}/shift": "day within 1971..9998",
    # planning: days within api/limits.py FIRST_DAY..LAST_DAY, the accuracy over 62 days at
    # most, the event days listed over a year at most
    "GET /api/planning/forecast": "day within 1971..9998",
    "GET /api/planning/accuracy": "since..until spans at most 62 days, within 1971..9998",
    "GET /api/planning/event-days": "since..until spans at most 366 days, within 1971..9998",
    "PUT /api/planning/event-days/{day}": "day within 1971..9998",
    "POST /api/planning/what-if": "day within 1971..9998; the day's calls and agents within "
                                  "api/limits.py MAX_WHAT_IF_CALLS, MAX_WHAT_IF_AGENTS",
}


@pytest.fixture(scope="module")
def live_server(pg_server: EmbeddedPostgres) -> Iterator[Wired]:
    """The wired API served in a thread of its own (schemathesis' client blocks)."""
    import asyncio

    url = asyncio.run(fresh_database(pg_server))
    base = store_tmpdir("hotline-fuzz-")
    redis = EmbeddedRedis(base / "redis")
    redis.start()
    mp = pytest.MonkeyPatch()
    mp.delenv("HOTLINE_API_USERS", raising=False)
    mp.delenv("HOTLINE_ENVIRONMENT", raising=False)
    try:
        with wired_api_in_thread(url, redis.url, base) as w:
            yield w
    finally:
        mp.undo()
        redis.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def api_schema(live_server: Wired) -> Any:
    return schemathesis.openapi.from_url(f"{live_server.base}/openapi.json")


def operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


#: Operations without parameters, body or token (the operations probes)
NO_INPUT = {"GET /healthz", "GET /readyz", "GET /metrics"}


def fuzzer(op: Any, path: dict[str, str] | None, mode: GenerationMode, examples: int,
           headers: dict[str, str], statuses: set[tuple[str, int]]) -> Any:
    """A Hypothesis test sending `examples` requests of `op` and validating each answer."""

    @given(case=op.as_strategy(mode, path_parameters=path))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        if mode is GenerationMode.NEGATIVE:  # invalid input: only "never a server error"
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        else:  # schemathesis' default checks, not_a_server_error among them
            skip = [positive_data_acceptance] if op.label in CROSS_FIELD_RULES else []
            response = case.call_and_validate(headers=headers, excluded_checks=skip)
        statuses.add((op.label, response.status_code))

    return fuzz


def seeded_path(op: Any) -> dict[str, str] | None:
    names = set(re.findall(r"{(\w+)}", op.path))
    return {k: SEEDED[k] for k in names} if names and names <= set(SEEDED) else None


def plan(api_schema: Any) -> list[tuple[str, Any, dict[str, str] | None, GenerationMode, int]]:
    """(login, operation, path, mode, examples): each other role first, on the operations
    its role may call, then admin on every operation (its changes last: it may deactivate
    the seeded agent)."""
    ops = operations(api_schema)
    may_call = roles_by_operation()  # docs/security.md, "Who may call what"
    runs = []
    for role, login in LOGINS.items():
        if role == Role.ADMIN:
            continue
        for op in ops:
            if role in may_call[op.label]:
                runs.append((login, op, seeded_path(op), GenerationMode.POSITIVE,
                             ROLE_EXAMPLES))
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for op in ops:
            if mode is GenerationMode.NEGATIVE and op.label in NO_INPUT:
                continue  # nothing to make invalid: Hypothesis cannot draw a negative case
            runs.append(("admin", op, None, mode,
                         MAX_EXAMPLES if mode is GenerationMode.POSITIVE else NEGATIVE_EXAMPLES))
    for op in ops:
        if seeded_path(op) is not None:
            runs.append(("admin", op, seeded_path(op), GenerationMode.POSITIVE, MAX_EXAMPLES))
    return runs


def test_no_server_error_and_no_schema_violation(api_schema: Any, live_server: Wired) -> None:
    """Each operation in turn, as each role that may call it, then as admin with valid and
    invalid requests (those must be refused with a 4xx); every failing operation is listed.
    (Driven by hand: schemathesis' pytest loader does not work with this pytest.)"""
    failures: list[str] = []
    statuses: set[tuple[str, int]] = set()
    for login, op, path, mode, examples in plan(api_schema):
        headers = {"Authorization": f"Bearer {live_server.login(login)}"}
        try:
            fuzzer(op, path, mode, examples, headers, statuses)()
        except (Exception, BaseExceptionGroup) as exc:  # collect them all, then fail once
            failures.append(f"{op.label} as {login} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # the seeded rows were reached: a call in full, its recording whole and in part
    assert {("GET /api/calls/{call_id}", 200), ("GET /api/recordings/{call_id}", 200),
            ("GET /api/recordings/{call_id}", 206), ("GET /api/calls", 200)} <= statuses
    # every operation got past its guards: the controller, store and users are wired
    unavailable = sorted({label for label, status in statuses if status == 503})
    assert not unavailable, f"answered 503 (unwired): {unavailable}"
    by_op: dict[str, set[int]] = {}
    for label, status in statuses:
        by_op.setdefault(label, set()).add(status)
    assert set(by_op) == {op.label for op in operations(api_schema)}


def test_no_server_error_at_the_boundaries(api_schema: Any, live_server: Wired) -> None:
    """Schemathesis' coverage phase as admin: each operation's boundary values, valid and
    one past (a maxLength string, the largest number allowed, a missing required field...).
    A limit the schema states but the database does not hold is found here (a 500)."""
    headers = {"Authorization": f"Bearer {live_server.login('admin')}"}
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    failures: list[str] = []
    for op in operations(api_schema):
        config = api_schema.config.generation_for(operation=op, phase="coverage")
        for case in api_schema.iter_coverage_cases(op, generation_modes=modes,
                                                   generation_config=config):
            try:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{op.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_every_endpoint_is_fuzzed(api_schema: Any) -> None:
    """The schema the fuzzer walks lists the history and recording endpoints too."""
    paths = {op.path for op in operations(api_schema)}
    assert {"/api/calls", "/api/calls/{call_id}", "/api/recordings/{call_id}",
            "/api/agents/{agent_id}/states", "/api/wallboard"} <= paths
