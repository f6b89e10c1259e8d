"""The Asterisk root file system's cache key and its refusals (the build itself runs in the
session fixture of the end-to-end tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.core.settings import Settings
from hotline.telephony.node import rootfs


def test_cache_key_follows_what_goes_into_the_root(tmp_path: Path) -> None:
    base = Settings(asterisk_cache_dir=tmp_path)
    same = Settings(asterisk_cache_dir=tmp_path,
                    asterisk_packages=list(reversed(base.asterisk_packages)))
    other = Settings(asterisk_cache_dir=tmp_path,
                     asterisk_packages=[*base.asterisk_packages, "asterisk-moh-opsound-wav"])
    assert rootfs.cache_key(base) == rootfs.cache_key(same)  # order does not matter
    assert rootfs.cache_key(base) != rootfs.cache_key(other)
    assert rootfs.cache_key(base) != rootfs.cache_key(Settings(asterisk_suite="trixie"))
    assert not rootfs.is_built(base)


def test_a_cached_root_is_reused_without_debootstrap(tmp_path: Path) -> None:
    settings = Settings(asterisk_cache_dir=tmp_path)
    root = rootfs.rootfs_path(settings)
    root.mkdir(parents=True)
    (root / ".hotline-complete").write_text("x")
    said: list[str] = []
    assert rootfs.build(settings, progress=said.append) == root
    assert said == [f"Asterisk root file system cached at {root}"]


def test_refuses_clearly_without_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootfs.os, "geteuid", lambda: 1000)
    with pytest.raises(rootfs.RootfsError, match="needs root"):
        rootfs.build(Settings(asterisk_cache_dir=tmp_path), progress=lambda _: None)


def test_refuses_clearly_without_debootstrap(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootfs.os, "geteuid", lambda: 0)
    monkeypatch.setattr(rootfs.shutil, "which", lambda _: None)
    with pytest.raises(rootfs.RootfsError, match="apt-get install debootstrap"):
        rootfs.build(Settings(asterisk_cache_dir=tmp_path), progress=lambda _: None)
