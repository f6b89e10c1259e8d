"""The IVR menu tree through the configuration API: against the real PostgreSQL (roles, the
version check, validation, the audit, the queue-removal guard, prompts spoken before the
running IVR switches), and on the real Asterisk (a SIPp caller walks a menu changed through
the API, while a caller already in the menus finishes on the old one)."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from hotline.api import Services, create_app
from hotline.api.security import PostgresUserRepository
from hotline.centre import queries as store
from hotline.centre.service import Configuration, load_or_seed_centre, load_or_seed_ivr
from hotline.core.events import CallQueued, IvrChoice
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import IvrMenu
from hotline.ivr_menu.service import LiveMenu, StoreOutages
from hotline.process.controller import Controller
from hotline.store import db
from hotline.telephony.agi.server import Agi, Handler
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp
from tests.helpers import testbed
from tests.helpers.ivr_bed import IVR_NUMBER, Recorder, caller_dtmf, finished

FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NEW_EN_MAIN = "For billing, press 3. For electric vehicles, press 9. For an agent, press 0."


class CheckedLiveMenu(LiveMenu):
    """The platform's LiveMenu, noting at each switch whether every prompt of the new tree
    was already on disk (it must be: the IVR may play any of them at once)."""

    switched: list[tuple[int, bool]]

    def go_live(self, menu: IvrMenu, version: int) -> None:
        ready = all(self.prompts.path(lang, key, menu.prompt_text(lang, key)).exists()
                    for lang in menu.languages for key in menu.used_prompts())
        self.switched.append((version, ready))
        super().go_live(menu, version)


async def _no_survey(call_id: str, agent_id: str, score: int) -> None:
    raise AssertionError("no survey in these tests")


@dataclass
class Api:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    live: CheckedLiveMenu
    headers: dict[str, dict[str, str]]

    async def get(self, user: str = "boss") -> httpx.Response:
        return await self.client.get("/api/config/ivr", headers=self.headers[user])

    async def put(self, version: int, tree: dict[str, Any], user: str = "boss"
                  ) -> httpx.Response:
        return await self.client.put("/api/config/ivr", headers=self.headers[user],
                                     json={"version": version, "tree": tree})

    async def audit(self) -> list[store.AuditRow]:
        async with self.pool.acquire() as conn:
            return await store.list_audit(conn, what_prefix="ivr.")


@pytest.fixture(scope="module")
def prompt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the module's tests: the seeded tree's prompts are spoken once."""
    return tmp_path_factory.mktemp("prompts")


async def _api(pool: asyncpg.Pool, controller: Controller, app_ivr: IvrApp, version: int,
               prompts: PromptStore, settings: Settings, users: tuple[str, ...]
               ) -> AsyncIterator[Api]:
    live = CheckedLiveMenu(app_ivr, prompts, version)
    live.switched = []
    services = Services.build(users=PostgresUserRepository(pool), hasher=FAST_HASH)
    services.db_pool, services.controller = pool, controller
    services.configuration = Configuration(  # type: ignore[attr-defined]
        pool, controller, ivr=live, ivr_queues=live.used_queues)
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {}
            for user in users:
                r = await client.post("/api/auth/token",
                                      json={"username": user, "password": "pw"})
                assert r.status_code == 200, r.text
                headers[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield Api(client, pool, live, headers)


@pytest.fixture
async def api(conn: asyncpg.Connection, empty_db_url: str, prompt_dir: Path,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """The platform's wiring without Asterisk: the test bed's queues and the IVR menu tree
    seeded into a fresh database, a real (unstarted) controller, the IvrApp the AGI server
    would run."""
    monkeypatch.setenv("HOTLINE_API_USERS",
                       "boss:pw:admin;sup:pw:supervisor;agent1:pw:agent;qa:pw:qa")
    pool = await db.create_pool(empty_db_url, max_size=3)
    try:
        centre = await load_or_seed_centre(pool, testbed.test_centre())
        controller = Controller(Settings(), centre, emit_line=lambda _: None)
        menu, version = await load_or_seed_ivr(pool)
        prompts = PromptStore(prompt_dir)
        await asyncio.to_thread(prompts.build, menu)
        app_ivr = IvrApp(menu, prompts, StoreOutages(pool), _no_survey, time.time)
        async for api in _api(pool, controller, app_ivr, version, prompts, Settings(),
                              ("boss", "sup", "agent1", "qa")):
            yield api
    finally:
        await pool.close()


def changed_tree(tree: dict[str, Any]) -> dict[str, Any]:
    """main: 3 goes to ev instead of billing, 9 is gone; a new English main prompt."""
    new = copy.deepcopy(tree)
    choices = new["menus"]["main"]["choices"]
    for c in choices:
        if c["digit"] == "3":
            c.update(queue="ev", service="ev", priority=0)
    new["menus"]["main"]["choices"] = [c for c in choices if c["digit"] != "9"]
    new["prompts"]["en"]["main"] = NEW_EN_MAIN
    return new


# --- against PostgreSQL


async def test_the_seeded_tree_is_the_file_and_roles_apply(api: Api) -> None:
    r = await api.get("sup")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["version"], body["updated_by"]) == (1, "system")
    assert ivr_menu.parse(body["tree"]) == ivr_menu.load()
    assert [a.what for a in await api.audit()] == ["ivr.seeded"]
    for user in ("agent1", "qa"):
        r = await api.get(user)
        assert (r.status_code, r.json()["error"]["id"]) == (403, "forbidden")
    for user in ("sup", "qa", "agent1"):  # only admins change the menus
        r = await api.put(1, changed_tree(body["tree"]), user)
        assert (r.status_code, r.json()["error"]["id"]) == (403, "forbidden"), user
    assert (await api.client.get("/api/config/ivr")).status_code == 401
    assert api.live.switched == [] and (await api.get()).json()["version"] == 1
    # a second start finds the tree stored and does not seed again
    _, version = await load_or_seed_ivr(api.pool)
    assert (version, len(await api.audit())) == (1, 1)


async def test_a_change_speaks_its_prompts_goes_live_and_is_audited(api: Api) -> None:
    tree = (await api.get()).json()["tree"]
    old_menu = api.live.app.menu
    api.live.prompts.path("en", "main", NEW_EN_MAIN).unlink(missing_ok=True)  # never heard
    r = await api.put(1, changed_tree(tree))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["version"], body["updated_by"], body["prompts_built"]) == (2, "boss", 1)
    assert body["tree"]["prompts"]["en"]["main"] == NEW_EN_MAIN
    # spoken before the switch, then live for the next caller; a caller who started on the
    # old tree keeps that object, and its prompts are still on disk
    assert api.live.switched == [(2, True)]
    live = api.live.app.menu
    assert live.menus["main"].choices["3"] == ivr_menu.QueueTarget("ev", ServiceType.EV)
    assert "9" not in live.menus["main"].choices
    assert api.live.prompts.path("en", "main", NEW_EN_MAIN).stat().st_size > 8000
    old_text = old_menu.prompt_text("en", "main")
    assert api.live.prompts.path("en", "main", old_text).exists()
    assert old_menu.menus["main"].choices["3"].queue == "billing"  # type: ignore[union-attr]
    [row, _] = await api.audit()
    assert (row.who, row.what) == ("boss", "ivr.updated")
    assert row.details == {"version": 2, "based_on": 1, "prompts_built": 1, "changed": [
        "menus.main.choices", "prompts.en.main"]}
    got = (await api.get("sup")).json()
    assert got["version"] == 2 and got["tree"] == body["tree"]
    # the same tree again: a new version, nothing spoken, nothing changed
    r = await api.put(2, body["tree"])
    assert (r.json()["version"], r.json()["prompts_built"]) == (3, 0)
    assert (await api.audit())[0].details["changed"] == []


async def test_a_stale_version_is_refused(api: Api) -> None:
    tree = (await api.get()).json()["tree"]
    assert (await api.put(1, changed_tree(tree))).status_code == 200
    r = await api.put(1, tree)  # based on version 1, which is no longer current
    assert r.status_code == 409
    error = r.json()["error"]
    assert (error["id"], error["details"]) == ("stale-version", {"version": 2})
    assert "version 2" in error["message"]
    assert api.live.switched == [(2, True)] and len(await api.audit()) == 2
    r = await api.put(7, tree)  # from the future
    assert (r.status_code, r.json()["error"]["id"]) == (409, "stale-version")


async def test_an_unknown_queue_is_refused_with_where_it_is(api: Api) -> None:
    tree = (await api.get()).json()["tree"]
    bad = copy.deepcopy(tree)
    bad["menus"]["main"]["choices"][2].update(queue="nosuch", service="billing")
    r = await api.put(1, bad)
    assert r.status_code == 409
    error = r.json()["error"]
    assert (error["id"], error["details"]) == ("unknown-queue", {"queues": ["nosuch"]})
    assert "menus.main digit 3: queue 'nosuch'" in error["message"], error["message"]
    assert api.live.switched == [] and (await api.get()).json()["version"] == 1
    assert [a.what for a in await api.audit()] == ["ivr.seeded"]


@pytest.mark.parametrize("fault", ["unknown-menu", "unreachable", "missing-prompt",
                                   "duplicate-digit", "bad-template"])
async def test_a_tree_breaking_the_menu_rules_is_refused(api: Api, fault: str) -> None:
    tree = (await api.get()).json()["tree"]
    bad = copy.deepcopy(tree)
    main = bad["menus"]["main"]
    expected = {
        "unknown-menu": "menus.main: goto unknown menu 'nowhere'",
        "unreachable": "menus.orphan: unreachable from the start menu 'language'",
        "missing-prompt": "prompts.en: missing main",
        "duplicate-digit": "menus.main.choices[1]: duplicate digit '1'",
        "bad-template": "templates.en.outage: KeyError",
    }[fault]
    if fault == "unknown-menu":
        main["choices"][0] = {"digit": "1", "goto": "nowhere"}
    elif fault == "unreachable":
        bad["menus"]["orphan"] = {"prompt": "main", "choices": [{"digit": "1",
                                                                 "queue": "general"}]}
    elif fault == "missing-prompt":
        del bad["prompts"]["en"]["main"]
    elif fault == "duplicate-digit":
        main["choices"][1]["digit"] = "1"
    else:
        bad["templates"]["en"]["outage"] = "{area} from {when}"
    r = await api.put(1, bad)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["id"] == "invalid-ivr" and expected in error["message"], error["message"]
    assert api.live.switched == [] and (await api.get()).json()["version"] == 1


@pytest.mark.parametrize("body", [
    {"version": 1},
    {"version": -1, "tree": {}},
    "tree",
])
async def test_malformed_requests_are_422(api: Api, body: Any) -> None:
    r = await api.client.put("/api/config/ivr", headers=api.headers["boss"], json=body)
    assert (r.status_code, r.json()["error"]["id"]) == (422, "invalid-request")


async def test_schema_rules_on_the_tree_are_422(api: Api) -> None:
    tree = (await api.get()).json()["tree"]
    for change in ({"digit": "#"}, {"queue": "no such"}, {"colour": "red"}):
        bad = copy.deepcopy(tree)
        bad["menus"]["main"]["choices"][0].update(change)
        r = await api.put(1, bad)
        assert (r.status_code, r.json()["error"]["id"]) == (422, "invalid-request"), change
    bad = copy.deepcopy(tree)
    bad["prompts"]["en"]["main"] = "--help"  # would be an espeak-ng option
    assert (await api.put(1, bad)).status_code == 422
    assert (await api.get()).json()["version"] == 1


async def test_queue_removal_follows_the_live_menu(api: Api) -> None:
    r = await api.client.delete("/api/config/queues/ev", headers=api.headers["boss"])
    assert (r.status_code, r.json()["error"]["id"]) == (409, "queue-in-use")
    assert "IVR menus" in r.json()["error"]["message"]
    tree = (await api.get()).json()["tree"]
    without_ev = copy.deepcopy(tree)
    without_ev["menus"]["main"]["choices"] = [
        c for c in tree["menus"]["main"]["choices"] if c.get("queue") != "ev"]
    assert (await api.put(1, without_ev)).status_code == 200
    assert "ev" not in api.live.used_queues()
    r = await api.client.delete("/api/config/queues/ev", headers=api.headers["boss"])
    assert r.status_code == 204, r.text
    # and now a tree sending callers to ev again is refused: the queue is gone
    r = await api.put(2, tree)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "unknown-queue")


async def test_without_a_live_ivr_the_tree_is_stored_for_the_next_start(
        conn: asyncpg.Connection, empty_db_url: str) -> None:
    """An API node without the IVR (no LiveMenu): stored and audited; the next start's
    load_or_seed_ivr runs it."""
    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        await load_or_seed_centre(pool, testbed.test_centre())
        config = Configuration(pool)
        assert await config.ivr_tree() is None
        menu, version = await load_or_seed_ivr(pool)
        tree = changed_tree(ivr_menu.to_data(menu))
        row, built = await config.put_ivr("boss", version, tree)
        assert (row.version, built) == (2, 0)
        menu, version = await load_or_seed_ivr(pool)
        assert version == 2 and menu.prompt_text("en", "main") == NEW_EN_MAIN
    finally:
        await pool.close()


# --- on the real Asterisk


@pytest.fixture
async def live_ivr(ivr_node: tuple[Settings, PromptStore], controller: Controller,
                   agi_scripts: dict[str, Handler],
                   centre: Any, conn: asyncpg.Connection, empty_db_url: str,
                   monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[tuple[Api, list[Any], Settings]]:
    """The platform's IVR wiring on the test bed: the tree from the database, served over
    FastAGI, changed through the API; yields the API, the AGI commands Asterisk saw and the
    node's settings."""
    settings, prompts = ivr_node
    monkeypatch.setenv("HOTLINE_API_USERS", "boss:pw:admin")
    pool = await db.create_pool(empty_db_url, max_size=3)
    commands: list[Any] = []
    try:
        await load_or_seed_centre(pool, centre)
        menu, version = await load_or_seed_ivr(pool)
        await asyncio.to_thread(prompts.build, menu)
        app_ivr = IvrApp(menu, prompts, StoreOutages(pool), _no_survey, time.time)

        async def handler(agi: Agi) -> None:
            await app_ivr(Agi(Recorder(agi.io, commands), agi.env))

        agi_scripts["ivr"] = agi_scripts["survey"] = handler
        async for api in _api(pool, controller, app_ivr, version, prompts, settings,
                              ("boss",)):
            yield api, commands, settings
    finally:
        await pool.close()


@pytest.mark.asterisk
async def test_a_caller_walks_the_menu_changed_through_the_api(
        live_ivr: tuple[Api, list[Any], Settings], controller: Controller) -> None:
    """Caller A chooses English on version 1 and is in the main menu when the tree changes
    (3 now goes to ev): A still reaches billing; caller B, after the change, hears the new
    English prompt and reaches ev with the same keys."""
    api, commands, node = live_ivr
    first = caller_dtmf(node, "13955550001", IVR_NUMBER, [(1500, "2"), (8000, "3")],
                        talk_ms=3000)
    second = None
    try:
        chose = await controller.wait_for(
            lambda e: isinstance(e, IvrChoice) and e.menu == "language" and e.digit == "2",
            20)
        tree = (await api.get()).json()["tree"]
        r = await api.put(1, changed_tree(tree))
        assert r.status_code == 200, r.text
        a = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13955550001", 20)
        assert isinstance(a, CallQueued) and a.call_id == chose.call_id  # type: ignore[attr-defined]
        assert (a.queue, a.service) == ("billing", ServiceType.BILLING)
        second = caller_dtmf(node, "13955550002", IVR_NUMBER, [(1500, "2"), (1500, "3")],
                             talk_ms=3000)
        b = await controller.wait_for(
            lambda e: isinstance(e, CallQueued) and e.caller == "13955550002", 30)
        assert isinstance(b, CallQueued)
        assert (b.queue, b.service) == ("ev", ServiceType.EV)
        assert await finished(first, 20) == 0, first.errors()
        assert await finished(second, 20) == 0, second.errors()
    finally:
        first.stop()
        if second is not None:
            second.stop()
    new_main = api.live.prompts.name("en", "main", NEW_EN_MAIN)
    played = [(args[0], reply) for name, args, reply in commands if name == "GET DATA"]
    heard = [reply for prompt, reply in played if prompt == new_main]
    assert heard and all(reply.ok for reply in heard), played  # B heard the new prompt
    assert sum(prompt == new_main for prompt, _ in played) == 1  # only B
