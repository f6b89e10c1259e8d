"""Builds and caches the Asterisk root file system (Debian sid through debootstrap).

Debian bookworm and trixie ship no asterisk package; sid does. sid moves every day, so a built
root is kept in a cache keyed by what went into it (suite, mirror, packages, this recipe's
version): the second build is instant and tests do not change under us.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

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


def cache_key(settings: Settings) -> str:
    text = "\n".join(
        [RECIPE_VERSION, settings.asterisk_suite, settings.asterisk_mirror,
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
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        debootstrap, "--variant=minbase", f"--include={','.join(settings.asterisk_packages)}",
        settings.asterisk_suite, str(partial), settings.asterisk_mirror,
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
