"""The menu tree as data: the shipped ivr.toml is valid, and broken trees say what is wrong."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hotline.core.values import ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import ActionTarget, GotoTarget, MenuError, QueueTarget


def raw() -> dict[str, Any]:
    return tomllib.loads(ivr_menu.DEFAULT_PATH.read_text())


def test_shipped_tree_covers_the_95598_top_menu() -> None:
    menu = ivr_menu.load()
    main = menu.menus["main"].choices
    services = {d: t.service for d, t in main.items() if isinstance(t, QueueTarget)}
    assert services == {
        "1": ServiceType.FAULT, "3": ServiceType.BILLING, "4": ServiceType.BUSINESS,
        "5": ServiceType.COMPLAINT, "6": ServiceType.REPORT, "7": ServiceType.OPINION,
        "8": ServiceType.PRAISE, "9": ServiceType.EV, "0": ServiceType.GENERAL,
    }
    outage = main["2"]
    assert isinstance(outage, ActionTarget) and outage.action == "outage_lookup"
    assert menu.menus["language"].choices["2"] == GotoTarget("main", "en")
    assert menu.menus["language"].on_timeout == GotoTarget("main", "zh")
    assert menu.fallback == QueueTarget("general", ServiceType.GENERAL)
    assert menu.languages == ("zh", "en")


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "ivr.toml"
    path.write_text("[ivr\n")
    with pytest.raises(MenuError, match="not TOML"):
        ivr_menu.load(path)


def broken(edit: Any) -> str:
    data = copy.deepcopy(raw())
    edit(data)
    with pytest.raises(MenuError) as info:
        ivr_menu.parse(data, "test.toml")
    return str(info.value)


def test_unreachable_menu() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["menus"]["orphan"] = {"prompt": "main", "choices": [{"digit": "1", "queue": "fault"}]}

    assert "menus.orphan: unreachable from the start menu 'language'" in broken(edit)


def test_duplicate_digit() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"].append({"digit": "3", "queue": "billing"})

    assert "menus.main.choices[10]: duplicate digit '3'" in broken(edit)


def test_repeat_digit_cannot_be_a_choice() -> None:
    def edit(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"].append({"digit": "*", "queue": "billing"})

    assert "is the repeat digit" in broken(edit)


def test_missing_prompt_names_language_and_key() -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["prompts"]["en"]["main"]
        del d["prompts"]["en"]["goodbye"]

    assert "prompts.en: missing goodbye, main" in broken(edit)


def test_missing_template() -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["templates"]["zh"]

    assert "templates.zh: missing outage" in broken(edit)


def test_unknown_goto_service_action_language() -> None:
    def goto(d: dict[str, Any]) -> None:
        d["menus"]["language"]["choices"][0]["goto"] = "nowhere"

    def service(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"][0]["service"] = "weather"

    def action(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"][1]["action"] = "horoscope"

    def language(d: dict[str, Any]) -> None:
        d["menus"]["language"]["choices"][1]["language"] = "fr"

    assert "goto unknown menu 'nowhere'" in broken(goto)
    assert "unknown service 'weather'" in broken(service)
    assert "unknown action 'horoscope'" in broken(action)
    assert "unknown language 'fr'" in broken(language)


def test_bad_digit_and_ambiguous_target() -> None:
    def digit(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"][0]["digit"] = "#"

    def two(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"][0]["goto"] = "language"

    assert "digit must be one of 0-9 *" in broken(digit)
    assert "exactly one of goto / queue / action" in broken(two)


def test_start_and_default_language() -> None:
    def start(d: dict[str, Any]) -> None:
        d["ivr"]["start"] = "missing"

    def default(d: dict[str, Any]) -> None:
        d["ivr"]["default_language"] = "fr"

    assert "start menu 'missing' is not defined" in broken(start)
    assert "default_language 'fr' is not in languages" in broken(default)


def test_malformed_section_is_named() -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["ivr"]["languages"]

    assert "test.toml: malformed" in broken(edit)


def test_priority_boost_is_parsed_and_checked() -> None:
    data = copy.deepcopy(raw())
    data["menus"]["main"]["choices"][0]["priority"] = 3
    assert ivr_menu.parse(data).menus["main"].choices["1"] == QueueTarget(
        "fault", ServiceType.FAULT, 3)

    def edit(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"][0]["priority"] = "high"

    assert "priority must be an integer, not 'high'" in broken(edit)


def test_a_priority_beyond_what_a_hold_session_carries_is_refused() -> None:
    """The hold session refuses |priority| > MAX_CALL_PRIORITY (docs/security.md): a menu
    may not give more, or its callers would never hold."""

    def edit(d: dict[str, Any]) -> None:
        d["menus"]["main"]["choices"][0]["priority"] = 10**9

    assert "priority must be within ±100, not 1000000000" in broken(edit)
