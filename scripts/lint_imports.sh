#!/usr/bin/env bash
# Checks the import contracts of pyproject.toml ([tool.importlinter]) with import-linter.
# The capability folders are mapped under the `hotline` namespace by setup.py (package-dir),
# which an editable install resolves at import time but import-linter's file walk cannot see:
# so the sources are laid out as installed, in a scratch folder, and checked there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/hotline"
copy() {  # Python sources only: what the import graph is made of
  (cd "$1" && find . -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents -t "$2" {} +)
}
copy hotline "$tmp/hotline"
for folder in telephony router realtime core_ext api; do
  mkdir -p "$tmp/hotline/$folder"
  copy "$folder" "$tmp/hotline/$folder"
done
cd "$tmp"
PYTHONPATH="$tmp" "$repo/.venv/bin/lint-imports" "$repo/pyproject.toml" "$@"
