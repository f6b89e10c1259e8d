"""Fixtures every kind of test shares: the real PostgreSQL and Redis (embedded packages), the
real Asterisk (built once, cached; started once per session), the controller, SIPp phones. A
test that needs Asterisk gets its log attached to its report when it fails.

The folders below hold one kind of test each (README, Tests): unit/, kernels/, integration/,
asterisk/, pages/, fuzz/; what they share that is not a fixture is in helpers/."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.devtools.embedded import EmbeddedPostgres, EmbeddedRedis
from hotline.store import db
from hotline.telephony.agi.server import AgiServer, Handler, by_script
from tests.helpers import testbed
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.store import fresh_database, store_tmpdir

# Property and fuzz tests draw the same examples on every run by default, so a run's verdict
# depends on the code alone (a failing run does not land). To explore new examples, as after
# changing an API model or a kernel: HYPOTHESIS_PROFILE=explore bash scripts/test.sh
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))



# --- the real PostgreSQL (one per session, a fresh database per test) and Redis


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    base = store_tmpdir("hotline-pg-")
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def empty_db_url(pg_server: EmbeddedPostgres) -> str:
    return await fresh_database(pg_server)


@pytest.fixture
async def conn(empty_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh, migrated database."""
    c = await db.connect(empty_db_url)
    await db.migrate(c)
    yield c
    await c.close()


@pytest.fixture
def redis_server() -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own, so a test may stop and restart it."""
    base = store_tmpdir("hotline-redis-")
    server = EmbeddedRedis(base / "redis")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


# --- the real Asterisk


@pytest.fixture(scope="session")
def centre() -> Centre:
    return testbed.test_centre()


@pytest.fixture(scope="session")
def asterisk_node(tmp_path_factory: pytest.TempPathFactory, centre: Centre) -> Iterator[Settings]:
    from hotline.telephony.node import box as asterisk_box
    from hotline.telephony.node import rootfs

    # not pytest's tmp (mode 0700): the embedded PostgreSQL runs as the 'hotline' user
    base = Path(tempfile.mkdtemp(prefix="hotline-testbed-"))
    base.chmod(0o711)
    centre_file = base / "centre.toml"
    centre_file.write_text(testbed.centre_toml(centre))
    settings = testbed.test_settings(base, centre_file)
    rootfs.build(settings, progress=rootfs.main_progress)
    # Nodes of this slot left by an interrupted run (their base dir was another temp dir).
    for node in (testbed.NODE, testbed.NODE + "b"):
        asterisk_box.kill_strays(f"/tmp/hotline-testbed-*/asterisk/{node}/root")
    asterisk_box.start(settings, centre.agents)
    yield settings
    asterisk_box.stop(settings)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def clean_node(request: pytest.FixtureRequest) -> None:
    """Each test that uses the node starts on a quiet one: no channel an earlier test left (a
    SIPp phone stopped mid-call sends no BYE, so Asterisk keeps its side of the call, and the
    next test's controller finds it at resync and routes it), and an empty ledger (an earlier
    test's controller left entries for calls that straddled its start or stop; this test's
    controller would replay them as missed: docs/dialplan-contract.md, "The ledger")."""
    if "asterisk_node" not in request.fixturenames:
        return
    testbed.quiet_node(request.getfixturevalue("asterisk_node"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.failed and "asterisk_node" in getattr(item, "fixturenames", ()):
        settings: Settings = item.funcargs.get("asterisk_node")  # type: ignore[attr-defined]
        if settings is not None:
            from hotline.telephony.node.box import log_path

            path = log_path(settings)
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            report.sections.append(("asterisk log (last 150 lines)",
                                    "\n".join(text.splitlines()[-150:])))


@pytest.fixture(autouse=True)
async def dump_tasks_when_stuck(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Before pytest-timeout fails a hung test, print every asyncio task's stack (the
    timeout's own dump shows only threads, and the loop's thread just sits in select)."""
    import sys

    loop = asyncio.get_running_loop()
    limit = request.config.getini("timeout")
    after = max(float(limit or 0) - 30.0, 1.0) if limit else None

    def dump() -> None:
        print(f"\n--- {request.node.nodeid}: asyncio tasks after {after:.0f}s ---",
              file=sys.stderr)
        for task in asyncio.all_tasks(loop):
            print(f"task {task.get_name()}:", file=sys.stderr)
            coro: Any = task.get_coro()
            while coro is not None:  # down the await chain to where it waits
                frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
                if frame is not None:
                    print(f"  {frame.f_code.co_filename}:{frame.f_lineno} "
                          f"{frame.f_code.co_name}", file=sys.stderr)
                coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)

    handle = loop.call_later(after, dump) if after else None
    yield
    if handle is not None:
        handle.cancel()


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fails the test if any exception reached the event loop's handler."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    yield errors
    loop.set_exception_handler(previous)
    assert not errors, f"unhandled exceptions in the event loop: {errors}"


@pytest.fixture
async def agi_scripts(asterisk_node: Settings) -> AsyncIterator[dict[str, Handler]]:
    """The node's FastAGI port, as the platform serves it: one server, one handler per script.
    Fixtures add theirs (the controller "hold", the IVR "ivr" and "survey")."""
    scripts: dict[str, Handler] = {}
    async with AgiServer(asterisk_node, by_script(scripts)):
        yield scripts


@pytest.fixture
async def controller(asterisk_node: Settings, centre: Centre, agi_scripts: dict[str, Handler],
                     loop_errors: list[dict[str, Any]]) -> AsyncIterator[ObservedController]:
    lines: list[str] = []
    ctl = ObservedController(asterisk_node, centre, emit_line=lines.append)
    ctl.lines = lines  # type: ignore[attr-defined]
    agi_scripts["hold"] = ctl.holds.serve  # callers wait held in FastAGI, as in production
    await ctl.start()
    yield ctl
    await ctl.stop()
    print("\n".join(lines))  # shown in the report of a failing test


@pytest.fixture
def phones(asterisk_node: Settings) -> Iterator[Phones]:
    p = Phones(asterisk_node)
    yield p
    p.stop()
