"""The Debian mirror debootstrap uses: the machine's own apt sources unless a setting says.

The host names below are sample data (the .example domain), not mirrors the code knows."""

from __future__ import annotations

from pathlib import Path

from hotline.core.settings import Settings
from hotline.telephony.node import rootfs

ONE_LINE = """\
# the archive, with options
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://one.example/debian bookworm main
deb http://one.example/debian-security bookworm-security main
"""

DEB822 = """\
Types: deb
# a comment inside a stanza
URIs: http://off.example/debian
Suites: bookworm
Enabled: no

Types: deb-src deb
URIs: https://nodes.example/node_20.x
 http://two.example/mirror/debian/
Suites: bookworm
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBF...
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://three.example/debian
Suites: bookworm
"""


def etc_apt(tmp_path: Path, main: str | None, parts: dict[str, str]) -> Path:
    root = tmp_path / "apt"
    (root / "sources.list.d").mkdir(parents=True)
    if main is not None:
        (root / "sources.list").write_text(main)
    for name, text in parts.items():
        (root / "sources.list.d" / name).write_text(text)
    return root


def test_one_line_format() -> None:
    assert list(rootfs.one_line_sources(ONE_LINE)) == [
        "http://one.example/debian", "http://one.example/debian-security"]


def test_deb822_format() -> None:
    assert list(rootfs.deb822_sources(DEB822)) == [
        "https://nodes.example/node_20.x", "http://two.example/mirror/debian/",
        "http://three.example/debian"]


def test_the_first_debian_archive_in_apts_order(tmp_path: Path) -> None:
    # sources.list first; then sources.list.d in name order; other suffixes are not apt's
    root = etc_apt(tmp_path, "# nothing here\n", {
        "b.sources": DEB822, "a.list": ONE_LINE,
        "0.list.disabled": "deb http://no.example/debian x y\n"})
    assert rootfs.apt_debian_mirror(root) == "http://one.example/debian"
    root = etc_apt(tmp_path / "2", None, {"b.sources": DEB822})
    assert rootfs.apt_debian_mirror(root) == "http://two.example/mirror/debian"
    root = etc_apt(tmp_path / "3", "deb http://main.example/debian sid main\n",
                   {"a.list": ONE_LINE})
    assert rootfs.apt_debian_mirror(root) == "http://main.example/debian"


def test_none_when_apt_has_no_debian_archive(tmp_path: Path) -> None:
    root = etc_apt(tmp_path, "deb http://one.example/debian-security bookworm-security main\n",
                   {"x.sources": "Types: deb\nURIs: https://nodes.example/node_20.x\n"})
    assert rootfs.apt_debian_mirror(root) is None
    assert rootfs.apt_debian_mirror(tmp_path / "no-apt-here") is None


def test_the_setting_overrides_and_keys_the_cache() -> None:
    chosen = Settings(asterisk_mirror="http://chosen.example/debian")
    assert rootfs.mirror(chosen) == "http://chosen.example/debian"
    assert rootfs.mirror(Settings()) == rootfs.apt_debian_mirror()
    assert rootfs.cache_key(chosen) != rootfs.cache_key(Settings())
