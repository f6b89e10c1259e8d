"""The configuration a deployment runs on: the centre file, the rendered Asterisk config,
docker-compose.yml (resolved by Debian's docker-compose) and the CLI they call."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.centre.model import CentreFileError, load_centre, parse_centre
from hotline.core.settings import REPO_ROOT, Settings
from hotline.process.cli import build_parser
from hotline.process.controller.delivery import CONNECT_CONTEXT
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from hotline.telephony.node.box import root_dir
from hotline.telephony.node.render import render_all, render_text
from hotline.telephony.spoken_call import NOTICE_CONTEXT


def test_shipped_centre_file_loads() -> None:
    centre = load_centre(REPO_ROOT / "asterisk-config" / "centre.toml")
    assert {q.name for q in centre.queues} >= {"general", "fault", "billing"}
    assert all(1 <= level <= 5 for a in centre.agents for level in a.skills.values())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"queues": [{"name": "general"}], "agents": [{"id": "agent-1"}]}, "letters or digits"),
        ({"queues": [{"name": "general"}], "agents": [{"id": "a1"}, {"id": "a1"}]}, "twice"),
        ({"queues": [{"name": "general"}], "agents": [{"id": "a1", "skills": {"x": 9}}]}, "1-5"),
        ({"queues": [{"name": "billing"}]}, "'general' is required"),
        ({"queues": [{"name": "general", "service": "pizza"}]}, "unknown service"),
    ],
)
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


# ---- docker-compose.yml, checked by Debian's docker-compose (no Docker engine needed)

COMPOSE_ENV = {  # what an operator must set (the file refuses to start without each)
    "HOTLINE_BIND_HOST": "192.0.2.2",
    "HOTLINE_CALLER_MATCH": "192.0.2.10",
    "HOTLINE_AMI_SECRET": "ami-secret",
    "HOTLINE_AGI_SECRET": "agi-secret-0123456789",
    "POSTGRES_PASSWORD": "pgsecret",
    "HOTLINE_API_SECRET": "x" * 40,
    "HOTLINE_API_USERS": "boss:pw:admin",
    "HOTLINE_TLS_CERT": "wss.crt",
    "HOTLINE_TLS_KEY": "wss.key",
}


def docker_compose(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is missing: bash scripts/setup.sh installs Debian's"
    env_file = tmp_path / "empty.env"  # not a developer's .env beside the file
    env_file.write_text("")
    return subprocess.run(
        [exe, "--env-file", str(env_file), "-f", str(REPO_ROOT / "docker-compose.yml"), "config"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The deployment as docker-compose resolves it (schema checked, variables filled in)."""
    proc = docker_compose(COMPOSE_ENV, tmp_path_factory.mktemp("compose"))
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)["services"]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """target -> volume name (or host path) of a service's mounts."""
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def service_settings(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("HOTLINE_")]:
        monkeypatch.delenv(key)
    for key, value in service["environment"].items():
        assert key.removeprefix("HOTLINE_").lower() in Settings.model_fields, key
        monkeypatch.setenv(key, str(value))
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_compose_refuses_to_start_without_what_the_operator_sets(tmp_path: Path) -> None:
    for missing in COMPOSE_ENV:
        env = {k: v for k, v in COMPOSE_ENV.items() if k != missing}
        proc = docker_compose(env, tmp_path)
        assert proc.returncode != 0 and f"set {missing}" in proc.stderr, missing


def test_compose_services_and_commands(compose: dict[str, Any]) -> None:
    assert set(compose) == {"config", "asterisk", "postgres", "redis", "controller",
                            "controller-2", "api-1", "api-2"}
    # a hot-standby pair: two controllers, each its own FastAGI and health port and outbox,
    # both addresses in the dialplan's list (docs/deploy.md, "Two controllers")
    one, two = compose["controller"], compose["controller-2"]
    assert two["command"] == ["controller"]
    agi = json.loads(one["environment"]["HOTLINE_CONTROLLER_AGI"])
    assert agi == json.loads(two["environment"]["HOTLINE_CONTROLLER_AGI"])
    assert [a.rsplit(":", 1)[1] for a in agi] == [str(one["environment"]["HOTLINE_AGI_PORT"]),
                                                  str(two["environment"]["HOTLINE_AGI_PORT"])]
    assert one["environment"]["HOTLINE_HEALTH_PORT"] != two["environment"]["HOTLINE_HEALTH_PORT"]
    assert mounts(one)["/var/lib/hotline/data"] != mounts(two)["/var/lib/hotline/data"]
    for name in ("config", "controller", "api-1", "api-2"):
        build_parser().parse_args(compose[name]["command"])  # a real subcommand
    assert compose["controller"]["command"] == ["controller"]  # no HTTP API there
    ports = set()
    for name in ("api-1", "api-2"):  # two API processes apart from the controller
        api = compose[name]
        assert api["command"][0] == "api" and api["network_mode"] == "host"
        assert api["environment"] == compose["controller"]["environment"]
        assert api["depends_on"]["controller"]["condition"] == "service_healthy"
        port = int(api["command"][api["command"].index("--port") + 1])
        assert f"127.0.0.1:{port}/healthz" in " ".join(api["healthcheck"]["test"])
        ports |= {port, port + 1}  # and its live socket
    assert len(ports) == 4
    assert compose["config"]["environment"] == compose["controller"]["environment"]
    depends = compose["controller"]["depends_on"]
    assert {s: d["condition"] for s, d in depends.items()} == dict.fromkeys(
        ("asterisk", "postgres", "redis"), "service_healthy"
    )
    assert compose["asterisk"]["depends_on"]["config"]["condition"] == (
        "service_completed_successfully"
    )
    assert compose["controller"]["stop_signal"] == "SIGINT"  # `hotline run` stops cleanly on it


def test_compose_parts_reach_each_other(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AMI, FastAGI, PostgreSQL and Redis addresses work across the containers: all share the
    host's network, and Asterisk's rendered config agrees with the controller's settings."""
    for name in ("asterisk", "postgres", "redis", "controller"):
        assert compose[name]["network_mode"] == "host", name
    settings = service_settings(compose["controller"], monkeypatch)
    assert settings.database_url.endswith("@127.0.0.1:5432/hotline")
    assert "listen_addresses=127.0.0.1" in compose["postgres"]["command"]
    assert settings.redis_url.startswith("redis://127.0.0.1:6379/")
    assert compose["redis"]["command"][1:3] == ["--bind", "127.0.0.1"]
    files = render_all(settings, load_centre(REPO_ROOT / "asterisk-config/centre.toml").agents)
    manager = files["manager.conf"]
    assert f"bindaddr = {settings.bind_host}" in manager
    assert f"port = {settings.ami_port}" in manager
    # the controller connects from bind_host itself (a LAN address, not 127.x)
    assert f"permit = {settings.nodes()[0].host}" in manager
    assert f"HL_AGI = agi://{settings.bind_host}:{settings.agi_port}" in files["extensions.conf"]
    assert f"bind = {settings.bind_host}:{settings.sip_port}" in files["pjsip.conf"]
    assert "match = 192.0.2.10" in files["pjsip.conf"]
    assert f"rtpstart = {settings.rtp_start}" in files["rtp.conf"]
    assert f"rtpend = {settings.rtp_end}" in files["rtp.conf"]


def test_compose_shares_the_folders_each_side_expects(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(compose["controller"], monkeypatch)
    ast, ctl, cfg = (mounts(compose[s]) for s in ("asterisk", "controller", "config"))
    # recordings: MixMonitor writes inside Asterisk, the controller stores and serves them
    assert ast[settings.recordings_dir_in_root] == ctl[str(settings.recordings_dir)]
    # prompts: spoken by the controller at start, played by the dialplan
    assert ast[PROMPTS_IN_ROOT] == ctl[str(PromptStore.for_settings(settings).directory)]
    # /etc/asterisk: rendered by the config service, rewritten by the controller on agent changes
    out = compose["config"]["command"][compose["config"]["command"].index("--out") + 1]
    etc = str(root_dir(settings) / "etc/asterisk")
    assert ast["/etc/asterisk"] == cfg[out] == ctl[etc] == "asterisk-etc"
    assert ctl[str(settings.data_dir)] == "hotline-data"  # the history writer's outbox
    # asterisk-config/ where the code looks for it: the image's editable install at WORKDIR
    dockerfile = (REPO_ROOT / "docker/app.Dockerfile").read_text()
    workdir = re.search(r"^WORKDIR (\S+)", dockerfile, re.M)
    assert workdir and re.search(r"pip install .*-e \.", dockerfile)
    for service in (ctl, cfg):
        assert service[f"{workdir[1]}/asterisk-config"] == str(REPO_ROOT / "asterisk-config")


def apt_packages(dockerfile: str) -> set[str]:
    text = dockerfile.replace("\\\n", " ")
    line = re.search(r"apt-get install ([^&\n]+)", text)
    assert line, "no apt-get install"
    return {w for w in line[1].split() if not w.startswith("-")}


def test_images_are_built_from_debian_packages(compose: dict[str, Any]) -> None:
    """Both images start from Debian and install Debian packages (then PyPI); the app image
    has what `hotline run` needs at start, Asterisk's the test bed's package set."""
    app = (REPO_ROOT / "docker/app.Dockerfile").read_text()
    ast = (
        Path(compose["asterisk"]["build"]["context"]) / compose["asterisk"]["build"]["dockerfile"]
    ).read_text()
    assert compose["controller"]["build"] == compose["config"]["build"]
    assert (
        Path(
            compose["controller"]["build"]["context"], compose["controller"]["build"]["dockerfile"]
        ).read_text()
        == app
    )
    assert re.search(r"^FROM debian:bookworm", app, re.M)
    assert re.search(r"^FROM debian:sid", ast, re.M)
    assert {"espeak-ng", "sox", "gcc", "g++", "python3-dev", "python3-venv"} <= apt_packages(app)
    assert apt_packages(ast) == set(Settings().asterisk_packages)


def test_softphone_agents_get_webrtc_endpoints_and_others_keep_theirs() -> None:
    """Settings.webrtc_agents picks the WebRTC template; every other agent's endpoint (the
    SIPp agents', desk phones') is rendered exactly as without it."""
    from hotline.centre.model import AgentSpec
    from hotline.telephony.node.render import pjsip_agents

    desk = AgentSpec(id="agent1", secret="pw1", contact="sip:agent1@127.0.0.1:5070")
    page = AgentSpec(id="agent7", secret="pw7-softphone")
    plain = pjsip_agents([desk, page])
    mixed = pjsip_agents([desk, page], webrtc=["agent7"])
    assert "[agent7](agent-webrtc-template)" in mixed
    assert "[agent1](agent-template)" in mixed
    assert mixed.replace("[agent7](agent-webrtc-template)", "[agent7](agent-template)") == plain


def dialplan_extensions(text: str) -> dict[str, set[str]]:
    """extensions.conf's contexts and the extensions each defines (`exten => NAME,...`)."""
    contexts: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"\[([^\]]+)\]", line):
            current = contexts.setdefault(m.group(1), set())
        elif (m := re.match(r"exten\s*=>\s*([^,]+),", line)) and current is not None:
            current.add(m.group(1).strip())
    return contexts


@pytest.mark.parametrize("context", [CONNECT_CONTEXT, NOTICE_CONTEXT])
def test_each_originate_target_context_hangs_up_its_failed_stand_in(context: str) -> None:
    """An Originate that does not reach the customer runs 'failed' in its context on a stand-in
    channel (OutgoingSpoolFailed). In hotline-connect, whose pattern takes any extension for an
    agent's id, a missing 'failed' dialled PJSIP/failed and parked the stand-in in hotline-hold,
    trying FastAGI forever (it was once left in the next context down, the survey's)."""
    settings = Settings()
    text = render_all(settings, load_centre(settings.centre_file).agents)["extensions.conf"]
    assert "failed" in dialplan_extensions(text)[context]


def test_the_benches_entry_sets_every_variable_the_hotline_entry_sets() -> None:
    """bench.hold and bench.soak dial a bench-only number that takes the hotline entry's steps
    without the IVR (bench/wire_node.py). Each variable [hotline] sets before its IVR must be
    set there too: the hangup handler's ledger line reads them. HL_ENTERED_AT was missing, so
    every call the ledger kept while the heartbeat was stale (an AMI link dropped under
    bench.hold's load) was quarantined as malformed ("no entered or ended time")."""
    from bench.wire_node import _ENTRIES, BENCH_HOLD_NUMBER

    settings = Settings()
    text = render_all(settings, load_centre(settings.centre_file).agents)["extensions.conf"]
    entry = text.split("\n[hotline]\n", 1)[1].split("Set(HL_IVR_FROM=", 1)[0]
    product = set(re.findall(r"\bSet\(([A-Z_]+(?:\([a-z_]+\))?)=", entry))
    bench = {data.split("=", 1)[0] for app, data in _ENTRIES[BENCH_HOLD_NUMBER] if app == "Set"}
    assert "HL_ENTERED_AT" in product and "HL_CALLID" in product
    assert product <= bench, sorted(product - bench)
