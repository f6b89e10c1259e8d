"""Builds and caches the Asterisk root file system (Debian sid through debootstrap).

Debian bookworm and trixie ship no asterisk package; sid does. sid moves every day, so a built
root is kept in a cache keyed by what went into it (suite, mirror, packages, this recipe's
version): the second build is instant and tests do not change under us.

The mirror is HOTLINE_ASTERISK_MIRROR, or else the Debian archive this machine's apt already
uses: the first `deb` source whose URI ends in `/debian` (so not debian-security, not a
third-party repository), in /etc/apt/sources.list, then /etc/apt/sources.list.d/*.list and
*.sources (deb822) in apt's order.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from hotline.core.settings import Settings

# Bump when the post-install steps below change, so old caches are not reused.
RECIPE_VERSION = "3"
STAGES = (
    "I: Retrieving InRelease", "I: Resolving dependencies of required", "I: Found additional",
    "I: Retrieving Packages", "I: Checking component", "I: Installing core packages",
    "I: Unpacking required packages", "I: Configuring required packages",
    "I: Configuring the base system", "I: Unpacking the base system",
    "I: Base system installed", "E:", "W: Failure",
)


class RootfsError(RuntimeError):
    """The root file system cannot be built here; the message says what to do."""


def one_line_sources(text: str) -> Iterator[str]:
    """The URIs of the `deb` lines of a sources.list (`deb [options] URI suite ...`)."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # [arch=amd64 signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if words:
            yield words[0]


def deb822_sources(text: str) -> Iterator[str]:
    """The URIs of the enabled `deb` stanzas of a .sources file (deb822)."""
    for stanza in _stanzas(text):
        if ("deb" in stanza.get("types", "").split()
                and stanza.get("enabled", "yes").lower() != "no"):
            yield from stanza.get("uris", "").split()


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    name = ""
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                yield fields
            fields, name = {}, ""
        elif line[0] in " \t":  # a continuation line (a key block, more URIs)
            if name:
                fields[name] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            name = key.strip().lower()
            fields[name] = value.strip()


def apt_debian_mirror(etc_apt: Path = Path("/etc/apt")) -> str | None:
    """The Debian archive this machine's apt uses (see the module's docstring), or None."""
    files = [etc_apt / "sources.list"]
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        files += sorted(f for f in parts.iterdir() if f.suffix in (".list", ".sources"))
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        uris = deb822_sources(text) if path.suffix == ".sources" else one_line_sources(text)
        for uri in uris:
            if urlsplit(uri).path.rstrip("/").rsplit("/", 1)[-1] == "debian":
                return uri.rstrip("/")
    return None


def mirror(settings: Settings) -> str | None:
    """Where debootstrap fetches from: the setting, else the machine's own Debian archive."""
    return settings.asterisk_mirror or apt_debian_mirror()


def cache_key(settings: Settings) -> str:
    text = "\n".join(
        [RECIPE_VERSION, settings.asterisk_suite, mirror(settings) or "",
         *sorted(settings.asterisk_packages)]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rootfs_path(settings: Settings) -> Path:
    return settings.asterisk_cache_dir / cache_key(settings)


def is_built(settings: Settings) -> bool:
    return (rootfs_path(settings) / ".hotline-complete").exists()


def build(settings: Settings, progress: Callable[[str], None] = print) -> Path:
    """Returns the cached root, building it first if needed."""
    root = rootfs_path(settings)
    if is_built(settings):
        progress(f"Asterisk root file system cached at {root}")
        return root
    if os.geteuid() != 0:
        raise RootfsError("building the Asterisk root needs root (debootstrap): run as root")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise RootfsError("debootstrap is missing: apt-get install debootstrap")
    source = mirror(settings)
    if source is None:
        raise RootfsError("no Debian archive among this machine's apt sources (/etc/apt): "
                          "set HOTLINE_ASTERISK_MIRROR to one")
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        debootstrap, "--variant=minbase", f"--include={','.join(settings.asterisk_packages)}",
        settings.asterisk_suite, str(partial), source,
    ]
    progress(f"Building the Asterisk root ({settings.asterisk_suite}, debootstrap) in {partial}")
    started = time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-30:], line]
            # debootstrap's stage lines only; per-package lines are noise unless it fails.
            if line.startswith(STAGES):
                progress(f"  [{time.monotonic() - started:5.1f}s] {line[3:]}")
        if proc.wait() != 0:
            raise RootfsError("debootstrap failed:\n" + "\n".join(tail))
    _post_install(partial)
    (partial / ".hotline-complete").write_text(cache_key(settings) + "\n")
    partial.rename(root)
    progress(f"Asterisk root built in {time.monotonic() - started:.0f}s, cached at {root}")
    return root


def _post_install(root: Path) -> None:
    # minbase has no /etc/hosts: without it every call costs a failing DNS lookup.
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    # Sounds are reached through absolute links valid only inside the chroot; fine, we chroot.
    # Drop apt's caches: they are half the size and never used again.
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def main_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
