#!/usr/bin/env bash
# Installs everything the platform and its tests need on a fresh Debian 12 machine, as root:
# Debian packages, a venv with the package (compiling the Cython kernels), the Asterisk root
# file system (cached under /var/cache/hotline, so the second run is instant).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (apt-get, debootstrap, mount and chroot need it)" >&2
  exit 1
fi

APT_PACKAGES=(debootstrap sip-tester espeak-ng sox chromium fonts-wqy-microhei baresip openssl
              gcc g++ python3-dev python3-venv ca-certificates
              iproute2)  # ip netns / veth / bridge: tests/netns (nsenter is util-linux's)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's docker-compose (1.29, Python) checks docker-compose.yml in the tests; it needs no
# Docker engine, so not its recommends (docker.io, iptables, apparmor).
if ! dpkg-query -W -f='${Status}' docker-compose 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: installing Debian packages: docker-compose"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.hotline-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] \
   || [ -n "$(find core_ext -name '*.pyx' -newer "$stamp" 2>/dev/null)" ]; then
  echo "setup: installing the hotline package and its dependencies (compiles core_ext/)"
  .venv/bin/pip install -q --disable-pip-version-check -U pip setuptools wheel cython
  .venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
  touch "$stamp"
fi
# The compiled kernels must be there: an editable install builds them in place.
.venv/bin/python - <<'PY'
from pathlib import Path
from hotline.core_ext import select
for pyx in sorted(Path("core_ext").glob("*.pyx")):
    select.load_compiled(pyx.stem)  # raises if the editable install did not compile it
PY

.venv/bin/hotline asterisk build
