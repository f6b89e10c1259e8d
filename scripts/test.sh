#!/usr/bin/env bash
# The whole test suite, real Asterisk, PostgreSQL, Redis, SIPp and Chromium included; sets
# everything up itself first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
bash scripts/lint_imports.sh  # the import contracts of pyproject.toml
status=0
.venv/bin/python -m pytest -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test: no tests were collected" >&2
fi
exit "$status"
