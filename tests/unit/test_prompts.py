"""Prompts spoken by espeak-ng into 8 kHz signed-linear files, cached by a hash of their text."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import IvrMenu
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptError, PromptStore


def small_menu() -> IvrMenu:
    """The shipped tree with short texts, so the test speaks little."""
    menu = ivr_menu.load()
    prompts = {lang: {key: f"{lang} {key}" if lang == "en" else f"请按{i}"
                      for i, key in enumerate(texts)}
               for lang, texts in menu.prompts.items()}
    return dataclasses.replace(menu, prompts=prompts)


def seconds(path: Path) -> float:
    return path.stat().st_size / (2 * 8000)  # 16-bit mono at 8 kHz


def test_build_speaks_every_prompt_once(tmp_path: Path) -> None:
    store, menu = PromptStore(tmp_path), small_menu()
    made = store.build(menu)
    assert len(made) == len(menu.used_prompts()) * len(menu.languages)
    for path in made:
        assert path.suffix == ".sln"
        assert path.stat().st_size % 2 == 0
        assert 0.2 < seconds(path) < 10, path
        assert path.parent.name in menu.languages
    assert store.build(menu) == []  # cached: nothing spoken again
    name = store.menu_prompt(menu, "zh", "main")
    assert name.startswith(f"{PROMPTS_IN_ROOT}/zh/main-")
    assert store.path("zh", "main", menu.prompt_text("zh", "main")).exists()


def test_changed_text_gets_a_new_file(tmp_path: Path) -> None:
    store, menu = PromptStore(tmp_path), small_menu()
    store.build(menu)
    prompts = {lang: dict(texts) for lang, texts in menu.prompts.items()}
    prompts["en"]["main"] = "Press one for repairs."
    changed = dataclasses.replace(menu, prompts=prompts)
    made = store.build(changed)
    assert [p.name.split("-")[0] for p in made] == ["main"]
    assert store.menu_prompt(changed, "en", "main") != store.menu_prompt(menu, "en", "main")


def test_audio_is_signed_linear_speech(tmp_path: Path) -> None:
    import array

    store, menu = PromptStore(tmp_path), small_menu()
    store.build(menu)
    samples = array.array("h", store.path("en", "goodbye", "en goodbye").read_bytes())
    assert max(abs(s) for s in samples) > 1000  # not silence, not noise-free zeros
    assert max(abs(s) for s in samples) < 32767  # and not clipped throughout


async def test_speak_at_run_time_is_cached(tmp_path: Path) -> None:
    store = PromptStore(tmp_path, in_root="/sounds/hl/")
    name = await store.speak("zh", "西湖区，11月23日15点40分停电")
    assert name.startswith("/sounds/hl/zh/tts/")
    path = tmp_path / (name.removeprefix("/sounds/hl/") + ".sln")
    first = path.stat().st_mtime_ns
    assert seconds(path) > 0.5
    assert await store.speak("zh", "西湖区，11月23日15点40分停电") == name
    assert path.stat().st_mtime_ns == first


def test_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="no espeak-ng voice for language 'fr'"):
        PromptStore(tmp_path).name("fr", "main", "Bonjour")
