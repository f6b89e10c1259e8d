"""#16.1: an API process (`hotline api`) loads nothing of the controller: besides the import
contract (pyproject.toml, scripts/lint_imports.sh), what a fresh interpreter actually loads."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import hotline.process.cli, hotline.process.api_node
print(sorted(m for m in sys.modules if m.startswith((
    "hotline.telephony", "hotline.process.controller", "hotline.process.platform",
    "hotline.process.acd_server", "hotline.process.wiring", "hotline.devtools"))))
"""


def test_an_api_process_loads_no_controller_and_no_telephony() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
