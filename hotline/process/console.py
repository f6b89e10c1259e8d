"""How the console commands write what they have to say: each call's and agent's lines (the
call log) and Python's log records. As text for a person (the default), or one JSON object a
line for a log shipper (HOTLINE_LOG_FORMAT=json; docs/operations.md, "Logs")."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

from hotline.history.call_log import line_subject

LogFormat = Literal["text", "json"]

# A JSON record's keys: when (ISO 8601, UTC), how bad, whose, what; a call log line adds the
# call_id or agent_id it is about.
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
_LINES = logging.getLogger("hotline.lines")


def configure_logging(log_format: LogFormat, *, verbose: bool) -> None:
    """Python's log records to stderr (text) or stdout (JSON, with the call log's lines)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if log_format == "json":
        handler = logging.StreamHandler(sys.stdout)
        formatter = JsonFormatter(_JSON_FIELDS, rename_fields=_RENAMED, timestamp=False)
        formatter.default_msec_format = "%s.%03dZ"
        formatter.converter = time.gmtime  # the Z above
        formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
        handler.setFormatter(formatter)
        _LINES.setLevel(logging.INFO)  # the call log is what a JSON log is for
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def line_printer(log_format: LogFormat) -> Callable[[str], None]:
    """Where the platform's lines go (its `emit_line`): printed as they are, or as JSON log
    records of the logger `hotline.lines` (configure_logging first)."""
    if log_format == "json":
        def emit(line: str) -> None:
            _LINES.info(line, extra=line_subject(line))
        return emit

    def show(line: str) -> None:
        print(line, flush=True)
    return show

