"""IVR prompts: text -> speech -> 8 kHz mono 16-bit signed linear (`.sln`), which Asterisk plays
without transcoding. espeak-ng speaks, sox resamples; no network.

Files live under `<directory>/<lang>/<key>-<hash>.sln` (host side: Settings.data_dir/prompts),
where the hash covers the voice and the text: a changed text gets a new file, an unchanged one
is never spoken twice. Text spoken at run time (an outage's details) goes to
`<lang>/tts/<hash>.sln` the same way. Asterisk sees the directory at `PROMPTS_IN_ROOT` inside its
root (bind-mounted by the node), and plays a prompt by its absolute path without extension.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from hotline.core.settings import Settings
from hotline.ivr_menu.model import IvrMenu

PROMPTS_IN_ROOT: Final = "/usr/share/asterisk/sounds/hotline"
#: language -> espeak-ng voice
VOICES: Final[Mapping[str, str]] = {"zh": "cmn", "en": "en-us"}
SAMPLE_RATE: Final = 8000


class PromptError(RuntimeError):
    """A prompt could not be produced (a missing tool, an unknown language, a failed run)."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PromptError(f"{name} is missing: apt-get install {name}")
    return path


def _commands(voice: str, text: str) -> tuple[list[str], list[str]]:
    # espeak writes a 22 kHz WAV on stdout; sox resamples to raw slin, a little quieter so the
    # resampler does not clip.
    espeak = [_tool("espeak-ng"), "-v", voice, "-s", "150", "--stdout", text]
    sox = [_tool("sox"), "-V1", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
           "-e", "signed-integer", "-t", "raw", "-", "vol", "0.8"]
    return espeak, sox


def text_hash(voice: str, text: str) -> str:
    return hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:16]


def _write_atomic(path: Path, data: bytes) -> None:
    if not data:
        raise PromptError(f"speech synthesis produced no audio for {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def synthesize(voice: str, text: str) -> bytes:
    """Blocking: the slin audio of `text`."""
    espeak_cmd, sox_cmd = _commands(voice, text)
    espeak = subprocess.run(espeak_cmd, capture_output=True, check=False)
    if espeak.returncode != 0:
        raise PromptError(f"espeak-ng failed: {espeak.stderr.decode(errors='replace').strip()}")
    sox = subprocess.run(sox_cmd, input=espeak.stdout, capture_output=True, check=False)
    if sox.returncode != 0:
        raise PromptError(f"sox failed: {sox.stderr.decode(errors='replace').strip()}")
    return sox.stdout


async def synthesize_async(voice: str, text: str) -> bytes:
    espeak_cmd, sox_cmd = _commands(voice, text)
    espeak = await asyncio.create_subprocess_exec(
        *espeak_cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    wav, err = await espeak.communicate()
    if espeak.returncode != 0:
        raise PromptError(f"espeak-ng failed: {err.decode(errors='replace').strip()}")
    sox = await asyncio.create_subprocess_exec(
        *sox_cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    raw, err = await sox.communicate(wav)
    if sox.returncode != 0:
        raise PromptError(f"sox failed: {err.decode(errors='replace').strip()}")
    return raw


class PromptStore:
    """Where each prompt is on the host (`path`) and inside Asterisk's root (`name`)."""

    def __init__(self, directory: Path, in_root: str = PROMPTS_IN_ROOT,
                 voices: Mapping[str, str] = VOICES) -> None:
        self.directory, self.in_root, self.voices = directory, in_root.rstrip("/"), voices

    @classmethod
    def for_settings(cls, settings: Settings) -> PromptStore:
        return cls(settings.data_dir / "prompts")

    def voice(self, lang: str) -> str:
        try:
            return self.voices[lang]
        except KeyError:
            raise PromptError(f"no espeak-ng voice for language {lang!r}") from None

    def _relative(self, lang: str, key: str, text: str) -> str:
        return f"{lang}/{key}-{text_hash(self.voice(lang), text)}"

    def _tts_relative(self, lang: str, text: str) -> str:
        return f"{lang}/tts/{text_hash(self.voice(lang), text)}"

    def path(self, lang: str, key: str, text: str) -> Path:
        return self.directory / f"{self._relative(lang, key, text)}.sln"

    def name(self, lang: str, key: str, text: str) -> str:
        """What STREAM FILE / GET DATA get: the absolute path in the root, no extension."""
        return f"{self.in_root}/{self._relative(lang, key, text)}"

    def menu_prompt(self, menu: IvrMenu, lang: str, key: str) -> str:
        return self.name(lang, key, menu.prompt_text(lang, key))

    def build(self, menu: IvrMenu) -> list[Path]:
        """Speaks every prompt the menu uses that is not cached yet; returns the new files."""
        made: list[Path] = []
        for lang in menu.languages:
            for key in sorted(menu.used_prompts()):
                text = menu.prompt_text(lang, key)
                path = self.path(lang, key, text)
                if not path.exists():
                    _write_atomic(path, synthesize(self.voice(lang), text))
                    made.append(path)
        return made

    async def speak(self, lang: str, text: str) -> str:
        """Run-time speech (free text): cached by hash; returns the name to play."""
        relative = self._tts_relative(lang, text)
        path = self.directory / f"{relative}.sln"
        if not await asyncio.to_thread(path.exists):
            audio = await synthesize_async(self.voice(lang), text)
            await asyncio.to_thread(_write_atomic, path, audio)
        return f"{self.in_root}/{relative}"


def main() -> None:
    """`python -m hotline.telephony.ivr.prompts`: build the prompts of asterisk-config/ivr.toml."""
    from hotline.core.settings import get_settings
    from hotline.ivr_menu import model as ivr_menu

    store = PromptStore.for_settings(get_settings())
    made = store.build(ivr_menu.load())
    print(f"{len(made)} prompts spoken into {store.directory}")


if __name__ == "__main__":
    main()
