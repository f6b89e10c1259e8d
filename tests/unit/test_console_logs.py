"""The console's two formats (hotline/process/console.py): text as before, and JSON, one object
a line, for a log shipper, with the call or agent a call-log line is about."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from hotline.history.call_log import line_subject
from hotline.process import console
from hotline.process.cli import build_parser


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    logging.getLogger("hotline.lines").setLevel(logging.NOTSET)


def test_a_call_log_line_names_its_call_or_agent() -> None:
    assert line_subject("10:00:01.250 call t1-1796625020.292  joined queue general") == {
        "call_id": "t1-1796625020.292"}
    assert line_subject("10:00:01.250 agent agent4  ready -> ringing") == {"agent_id": "agent4"}
    assert line_subject("controller up: AMI 127.0.0.1:5038; 3 agents") == {}


def test_json_lines_are_one_object_each_with_the_call_they_are_about(
        capsys: pytest.CaptureFixture[str]) -> None:
    console.configure_logging("json", verbose=False)
    emit = console.line_printer("json")
    emit("10:00:01.250 call t1-1.2  answered by agent4 after 0.31s wait")
    emit("controller up: AMI 127.0.0.1:5038")
    logging.getLogger("hotline.store.writer").warning("PostgreSQL away: %s", "refused")
    logging.getLogger("hotline.store.writer").info("not shown: below WARNING")
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3, lines
    call, up, warning = records
    assert call["message"] == "10:00:01.250 call t1-1.2  answered by agent4 after 0.31s wait"
    assert (call["call_id"], call["level"], call["logger"]) == ("t1-1.2", "INFO", "hotline.lines")
    assert "call_id" not in up and "agent_id" not in up
    assert (warning["level"], warning["logger"], warning["message"]) == (
        "WARNING", "hotline.store.writer", "PostgreSQL away: refused")
    assert warning["time"].endswith("Z") and warning["time"][10] == "T"


def test_text_stays_as_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    console.configure_logging("text", verbose=False)
    console.line_printer("text")("10:00:01.250 call t1-1.2  joined queue general")
    logging.getLogger("hotline.x").warning("careful")
    out, err = capsys.readouterr()
    assert out == "10:00:01.250 call t1-1.2  joined queue general\n"
    assert "WARNING hotline.x: careful" in err


def test_the_command_line_takes_the_format() -> None:
    assert build_parser().parse_args(["--log-format", "json", "api"]).log_format == "json"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--log-format", "xml", "api"])
