"""The real-Asterisk test bed: its settings, its agents and port plan, in one place.

The node runs on its own ports (not the defaults a developer's `hotline asterisk start` uses),
with short timers so that ring timeouts and the failsafe show within seconds.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import time
from pathlib import Path

from hotline.centre import centre_file
from hotline.centre.model import (
    AgentSpec,
    Centre,
    QueueSpec,
    TeamSpec,
    VendorKind,
    VendorSpec,
)
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.telephony.node import box as asterisk_box

# Several test runs may share a machine (developers working side by side): each picks its own
# port block and node name with HOTLINE_TEST_SLOT=0..9.
SLOT = int(os.environ.get("HOTLINE_TEST_SLOT", "0"))
_BASE = 20000 + SLOT * 1000
NODE = f"t{SLOT + 1}"
AMI_PORT = _BASE + 38
WSS_PORT = _BASE + 43  # the softphone's secure websocket (the second node +2, the demo's +4)
HTTP_LOOPBACK_PORT = _BASE + 44
SIP_PORT = _BASE + 60
AGI_PORT = _BASE + 73
API_PORT = _BASE + 80
AGENT_SIP_BASE = _BASE + 100  # agentN's phone listens on AGENT_SIP_BASE + N
DEMO_AGENT_SIP_BASE = _BASE + 200  # the same on `hotline demo`'s node (asterisk/test_demo.py)
CALLBACK_PORT = _BASE + 90  # the SIPp phone that callbacks reach, whatever the number
HEALTH_PORT = _BASE + 95  # `hotline controller`'s health listener
CALLER_SIP_BASE = _BASE + 300
MEDIA_BASE = _BASE + 500  # media ports step by 4 up to _BASE + 999
RTP_START = 40000 + SLOT * 2000
TRUNK_ADDRESS = "127.0.0.1/32"  # the caller endpoint's match (pjsip.conf)
OUTSIDE_TRUNK = "127.0.0.2"  # a loopback address outside it
# the agent the live configuration tests create through the API (and remove again)
CONFIG_AGENT = "agent9"
# agents whose phones register (no fixed contact), added to the node by their own tests only:
# the agent page's softphone (WebRTC) and a desk softphone (baresip)
WEBRTC_AGENT = "agent7"
BARESIP_AGENT = "agent8"

_caller_ports = itertools.count(CALLER_SIP_BASE)
_media_ports = itertools.cycle(range(MEDIA_BASE, _BASE + 1000, 4))


def next_caller_port() -> int:
    port = next(_caller_ports)
    if port >= MEDIA_BASE:
        raise RuntimeError("test bed: out of caller ports; raise the block size")
    return port


def next_media_port() -> int:
    return next(_media_ports)


def agent_port(n: int, base: int = AGENT_SIP_BASE) -> int:
    return base + n


def test_centre(agent_sip_base: int = AGENT_SIP_BASE, phones_host: str = "127.0.0.1") -> Centre:
    """Skills chosen so that policy order is known: agent1 is the most skilled generalist.
    Each agent's phone listens on `phones_host`:`agent_sip_base` + N. Teams: agents 1 and 2
    are the own staff's day team, agents 3 and 4 an outsourced vendor's team."""
    skills = {
        1: {"general": 5, "billing": 2},
        2: {"general": 3, "billing": 5},
        3: {"general": 2, "fault": 5},
        4: {"general": 1, "complaint": 4},
    }
    agents = [
        AgentSpec(id=f"agent{n}", name=f"Agent {n}", secret=f"pw{n}",
                  contact=f"sip:agent{n}@{phones_host}:{agent_port(n, agent_sip_base)}", skills=s,
                  team="day" if n <= 2 else "partner")
        for n, s in skills.items()
    ]
    vendors = [VendorSpec("own", "自营 Own staff", VendorKind.OWN),
               VendorSpec("partner", "外包 Partner", VendorKind.OUTSOURCED)]
    teams = [TeamSpec("day", "Day team", "own"), TeamSpec("partner", "Partner team", "partner")]
    queues = [
        QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1}),
        QueueSpec(name="billing", service=ServiceType.BILLING, required={"billing": 1}),
        QueueSpec(name="fault", service=ServiceType.FAULT, required={"fault": 1}, priority=10),
        QueueSpec(name="business", service=ServiceType.BUSINESS, required={"general": 2}),
        QueueSpec(name="complaint", service=ServiceType.COMPLAINT, required={"complaint": 3},
                  priority=5),
        QueueSpec(name="ev", service=ServiceType.EV, required={"general": 1}),
    ]
    return Centre(queues=queues, agents=agents, teams=teams, vendors=vendors)


centre_toml = centre_file.centre_toml  # the test bed's centre as `hotline run` reads it


def test_settings(base: Path, centre_file: Path) -> Settings:
    return Settings(
        node_name=NODE,
        asterisk_run_dir=base / "asterisk",
        recordings_dir=base / "recordings",
        data_dir=base / "data",
        centre_file=centre_file,
        ami_port=AMI_PORT,
        ami_write="system,call,originate,command",  # rtp_stats (tests/helpers/calls.py)
        sip_port=SIP_PORT,
        wss_port=WSS_PORT,
        http_loopback_port=HTTP_LOOPBACK_PORT,
        # the agent page's softphone test's agent (tests/pages/test_softphone.py)
        webrtc_agents=[WEBRTC_AGENT],
        # the trunk: every SIPp caller sends from 127.0.0.1; other loopback addresses are
        # outside it (asterisk/test_trunk_identify.py calls from 127.0.0.2)
        caller_match=TRUNK_ADDRESS,
        agi_port=AGI_PORT,
        api_port=API_PORT,
        health_port=HEALTH_PORT,
        rtp_start=RTP_START,
        rtp_end=RTP_START + 999,
        ring_timeout_s=3,
        failsafe_guard_s=3,
        hold_lease_s=4,  # every waiting caller renews its hold session several times
        heartbeat_interval_s=0.5,
        callback_dial=f"PJSIP/caller/sip:{{number}}@127.0.0.1:{CALLBACK_PORT}",
    )


def second_node_settings(first: Settings) -> Settings:
    """A second Asterisk node beside the first: its own name, ports and RTP range."""
    return first.model_copy(update={
        "node_name": NODE + "b",
        "ami_port": AMI_PORT + 1,
        "sip_port": SIP_PORT + 1,
        "wss_port": WSS_PORT + 2,
        "http_loopback_port": HTTP_LOOPBACK_PORT + 2,
        "agi_port": AGI_PORT + 1,
        "rtp_start": RTP_START + 1000,
        "rtp_end": RTP_START + 1999,
    })


def demo_node_settings(base: Path, centre_file: Path) -> Settings:
    """`hotline demo`'s own node beside the session's (the demo starts and stops it): its own
    name and ports in this slot's block, and the second node's RTP range (test_multinode's
    second node is stopped by the end of its module)."""
    return test_settings(base, centre_file).model_copy(update={
        "node_name": NODE + "d",
        "ami_port": AMI_PORT + 2,
        "sip_port": SIP_PORT + 2,
        "wss_port": WSS_PORT + 4,
        "http_loopback_port": HTTP_LOOPBACK_PORT + 4,
        "agi_port": AGI_PORT + 2,
        "api_port": API_PORT + 2,  # and its live server on the next port
        "rtp_start": RTP_START + 1000,
        "rtp_end": RTP_START + 1999,
    })


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a `hotline` subprocess use exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:  # the field's default is None: leave it unset
            env.pop(f"HOTLINE_{name.upper()}", None)
            continue
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        env[f"HOTLINE_{name.upper()}"] = text
    return env


def _node_cli(settings: Settings, command: str) -> str | None:
    """One CLI command on the node (`asterisk -rx`): its output, None when the node is down."""
    root = asterisk_box.root_dir(settings)
    proc = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=10, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _active_channels(settings: Settings) -> int:
    out = _node_cli(settings, "core show channels count") or ""
    match = re.search(r"^(\d+) active channels?", out, re.MULTILINE)
    return int(match.group(1)) if match else 0


def quiet_node(settings: Settings, deadline_s: float = 10.0) -> None:
    """The node with no channel and an empty ledger (tests/conftest.py's clean_node): every
    channel left is hung up, then the ledger families are emptied (a call hung up here while
    no controller is connected leaves an entry). A node a test left stopped is left so."""
    if not asterisk_box.status(settings).running:
        return
    if found := _active_channels(settings):
        print(f"quiet_node: hanging up {found} channels an earlier test left")
        _node_cli(settings, "channel request hangup all")
        give_up = time.monotonic() + deadline_s
        while (left := _active_channels(settings)) and time.monotonic() < give_up:
            time.sleep(0.05)  # polled with a deadline: hang-ups take a few ms each
        assert not left, f"{left} channels still up on node {settings.node_name}"
    for family in ("hotline-ledger", "hotline-ledger-bad"):
        _node_cli(settings, f"database deltree {family}")
