"""The configuration a deployment runs on: the centre file, the rendered Asterisk config,
docker-compose.yml and the CLI they call."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hotline.centre_file import CentreFileError, load_centre, parse_centre
from hotline.cli import build_parser
from hotline.settings import REPO_ROOT, Settings
from hotline.telephony.asterisk_config import render_all, render_text


def test_shipped_centre_file_loads() -> None:
    centre = load_centre(REPO_ROOT / "asterisk-config" / "centre.toml")
    assert {q.name for q in centre.queues} >= {"general", "fault", "billing"}
    assert all(1 <= level <= 5 for a in centre.agents for level in a.skills.values())


@pytest.mark.parametrize(("data", "message"), [
    ({"queues": [{"name": "general"}], "agents": [{"id": "agent-1"}]}, "letters or digits"),
    ({"queues": [{"name": "general"}], "agents": [{"id": "a1"}, {"id": "a1"}]}, "twice"),
    ({"queues": [{"name": "general"}], "agents": [{"id": "a1", "skills": {"x": 9}}]}, "1-5"),
    ({"queues": [{"name": "billing"}]}, "'general' is required"),
    ({"queues": [{"name": "general", "service": "pizza"}]}, "unknown service"),
])
def test_centre_file_errors_are_clear(data: dict, message: str) -> None:
    with pytest.raises(CentreFileError, match=message):
        parse_centre(data)


def test_missing_or_broken_centre_file(tmp_path: Path) -> None:
    with pytest.raises(CentreFileError, match="does not exist"):
        load_centre(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[queues]\n")
    with pytest.raises(CentreFileError, match=r"bad\.toml"):
        load_centre(bad)


def test_rendered_asterisk_config_has_no_placeholders_and_every_agent() -> None:
    settings = Settings(ami_port=15038, sip_port=15060, node_name="n9")
    centre = load_centre(settings.centre_file)
    files = render_all(settings, centre.agents)
    for name, text in files.items():
        assert "@@" not in text, name
    assert "port = 15038" in files["manager.conf"]
    assert "bind = 127.0.0.1:15060" in files["pjsip.conf"]
    assert "systemname = n9" in files["asterisk.conf"]
    for agent in centre.agents:
        assert f"[{agent.id}](agent-template)" in files["pjsip_agents.conf"]
        assert f"member => PJSIP/{agent.id}," in files["queues_members.conf"]


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError, match="not_a_setting"):
        render_text("x = @@not_a_setting@@", Settings())


def test_compose_file_describes_the_deployment() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"asterisk", "postgres", "redis", "controller", "config"} <= set(services)
    for name, service in services.items():
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["dockerfile"]).exists(), name
        if "hotline" in str(service.get("build", "")) or name in {"controller", "config"}:
            build_parser().parse_args(service["command"])  # a real subcommand
    env = compose["x-hotline-env"]
    for key in env:
        field = re.sub("^HOTLINE_", "", key).lower()
        assert field in Settings.model_fields, key
