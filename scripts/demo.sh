#!/usr/bin/env bash
# A first look: sets everything up, then Asterisk + controller + SIPp agents and callers.
# Extra arguments go to `hotline demo` (e.g. --calls 10).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hotline demo "$@"
