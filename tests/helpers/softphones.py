"""Registering agent phones on the test bed's node: an agent whose phone registers (no fixed
contact) added to the node for one test only (the page's WebRTC softphone, baresip), a
controller over the centre with it, and the self-signed certificate Chromium is told to
trust."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from hotline.centre.model import AgentSpec, Centre
from hotline.core.settings import Settings
from hotline.telephony.node import box as asterisk_box
from hotline.telephony.node import tls
from hotline.telephony.node.render import write_agent_files
from tests.helpers.observed import ObservedController
from tests.helpers.waiting import wait_for


def registering_agent(agent_id: str, secret: str) -> AgentSpec:
    """A general agent of the day team whose phone registers (no fixed contact)."""
    return AgentSpec(id=agent_id, name=f"Agent {agent_id[5:]}", secret=secret,
                     skills={"general": 1}, team="day")


def _cli(settings: Settings, command: str) -> str:
    root = asterisk_box.root_dir(settings)
    proc = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=10, check=True)
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)  # the CLI's colours


@contextmanager
def with_agents(settings: Settings, centre: Centre, *extra: AgentSpec) -> Iterator[Centre]:
    """The node's endpoints for the centre's agents and `extra` (reloaded), then back to the
    centre's own agents: other tests' endpoints never see these."""
    etc = asterisk_box.root_dir(settings) / "etc/asterisk"
    grown = dataclasses.replace(centre, agents=[*centre.agents, *extra])
    write_agent_files(grown.agents, etc, settings.webrtc_agents)
    _cli(settings, "module reload res_pjsip.so")
    try:
        yield grown
    finally:
        write_agent_files(centre.agents, etc, settings.webrtc_agents)
        _cli(settings, "module reload res_pjsip.so")


def endpoint_option(settings: Settings, agent_id: str, option: str) -> str | None:
    """One option of the agent's endpoint as Asterisk has it loaded (`pjsip show endpoint`)."""
    text = _cli(settings, f"pjsip show endpoint {agent_id}")
    found = re.search(rf"^\s*{re.escape(option)}\s*:\s*(\S*)", text, re.MULTILINE)
    return found.group(1) if found else None


async def registered(settings: Settings, agent_id: str, deadline_s: float) -> str:
    """Until the agent's AOR has a registered contact; its contact line."""
    def contact() -> str | None:
        text = _cli(settings, f"pjsip show aor {agent_id}")
        found = re.search(rf"^\s*Contact:\s+{agent_id}/(sip:\S+)", text, re.MULTILINE)
        return found.group(1) if found else None

    return await wait_for(contact, deadline_s, f"{agent_id} registered", interval=0.1)


@asynccontextmanager
async def observed_controller(settings: Settings, centre: Centre, agi_scripts: dict[str, Any],
                              ring_timeout_s: int | None = None
                              ) -> AsyncIterator[ObservedController]:
    """tests/conftest.py's controller, over this centre. With `ring_timeout_s`, agents ring
    that long for this controller's calls instead of the test bed's 3 s (the dialplan's
    global, set back after): a person's click in a page on a busy 2-core machine, not SIPp."""
    bed_ring_s = settings.ring_timeout_s
    if ring_timeout_s is not None:
        _cli(settings, f"dialplan set global HL_RING_TIMEOUT {ring_timeout_s}")
        settings = settings.model_copy(update={"ring_timeout_s": ring_timeout_s})
    lines: list[str] = []
    ctl = ObservedController(settings, centre, emit_line=lines.append)
    agi_scripts["hold"] = ctl.holds.serve
    await ctl.start()
    try:
        yield ctl
    finally:
        await ctl.stop()
        print("\n".join(lines))
        if ring_timeout_s is not None:
            _cli(settings, f"dialplan set global HL_RING_TIMEOUT {bed_ring_s}")


def spki_sha256(settings: Settings) -> str:
    """The base64 SHA-256 of the node certificate's public key, for Chromium's
    --ignore-certificate-errors-spki-list: trust exactly this self-signed certificate."""
    cert, _ = tls.certificate(settings)
    der = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"], capture_output=True,
        check=True, timeout=10).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=der,
                          capture_output=True, check=True, timeout=10).stdout
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


__all__ = ["endpoint_option", "observed_controller", "registered", "registering_agent",
           "spki_sha256", "with_agents"]
