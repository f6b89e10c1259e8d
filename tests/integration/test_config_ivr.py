"""The IVR menu tree through the configuration API against the real PostgreSQL: roles, the
version check, validation, the audit, the queue-removal guard, prompts spoken before the
running IVR switches. On the real Asterisk: asterisk/test_config_ivr_live.py."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotline.centre.service import Configuration, load_or_seed_centre, load_or_seed_ivr
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.service import StoreOutages
from hotline.store import db
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp
from tests.helpers import testbed
from tests.helpers.ivr_config import NEW_EN_MAIN, Api, changed_tree, config_api, no_survey
from tests.helpers.observed import ObservedController


@pytest.fixture(scope="module")
def prompt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the module's tests: the seeded tree's prompts are spoken once."""
    return tmp_path_factory.mktemp("prompts")


@pytest.fixture(params=["in-process", "over-the-bus"])
async def api(conn: asyncpg.Connection, empty_db_url: str, prompt_dir: Path,
              monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
              ) -> AsyncIterator[Api]:
    """The platform's wiring without Asterisk: the test bed's queues and the IVR menu tree
    seeded into a fresh database, a real (unstarted) controller, the IvrApp the AGI server
    would run; the API with the controller, or apart from it over the command bus."""
    redis_url = (request.getfixturevalue("redis_server").url
                 if request.param == "over-the-bus" else None)
    monkeypatch.setenv("HOTLINE_API_USERS",
                       "boss:pw:admin;sup:pw:supervisor;agent1:pw:agent;qa:pw:qa")
    pool = await db.create_pool(empty_db_url, max_size=3)
    try:
        centre = await load_or_seed_centre(pool, testbed.test_centre())
        controller = ObservedController(Settings(), centre, emit_line=lambda _: None)
        menu, version = await load_or_seed_ivr(pool)
        prompts = PromptStore(prompt_dir)
        await asyncio.to_thread(prompts.build, menu)
        app_ivr = IvrApp(menu, prompts, StoreOutages(pool), no_survey, time.time)
        async for api in config_api(pool, controller, app_ivr, version, prompts, Settings(),
                                    ("boss", "sup", "agent1", "qa"), redis_url):
            yield api
    finally:
        await pool.close()


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
