"""Renders asterisk-config/ for one Asterisk node: settings into @@placeholders@@, and the
agent set into pjsip endpoints and static failsafe-queue members."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

from hotline.centre.model import AgentSpec
from hotline.core.settings import Settings

_PLACEHOLDER = re.compile(r"@@([a-z_]+)@@")


def render_text(text: str, settings: Settings) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not hasattr(settings, name):
            raise KeyError(f"asterisk-config uses @@{name}@@, which is not a setting")
        return str(getattr(settings, name))

    return _PLACEHOLDER.sub(value, text)


#: How often Asterisk sends OPTIONS to a registered softphone: a phone that died without
#: unregistering turns unreachable within this (plus qualify_timeout) instead of at the end
#: of its registration. Fixed contacts (SIPp phones, desk phones) are qualified only when
#: asked (`qualify_s`): a SIPp scenario answers INVITEs, not OPTIONS.
REGISTERED_QUALIFY_S = 30.0


def pjsip_agents(agents: list[AgentSpec], qualify_s: Mapping[str, float] | None = None,
                 webrtc: Collection[str] = ()) -> str:
    """`qualify_s`: agent id -> OPTIONS interval in seconds, overriding the default (0 for a
    fixed contact, REGISTERED_QUALIFY_S for a registering softphone). `webrtc`: the agents
    whose phone is the agent page's softphone (Settings.webrtc_agents)."""
    out = ["; generated from the agent set: do not edit"]
    for a in agents:
        template = "agent-webrtc-template" if a.id in webrtc else "agent-template"
        out += [
            f"\n[{a.id}]({template})",
            f"aors = {a.id}",
            f"auth = {a.id}-auth",
            f"callerid = \"{a.name or a.id}\" <{a.id}>",
            f"\n[{a.id}-auth]",
            "type = auth",
            "auth_type = userpass",
            f"username = {a.id}",
            f"password = {a.secret or a.id}",
            f"\n[{a.id}]",
            "type = aor",
            "max_contacts = 1",
            "remove_existing = yes",
        ]
        if a.contact:
            out.append(f"contact = {a.contact}")
        every = (qualify_s or {}).get(a.id, 0.0 if a.contact else REGISTERED_QUALIFY_S)
        if every > 0:
            # an unanswered OPTIONS marks the contact unreachable after at most `every` s
            out += [f"qualify_frequency = {max(1, round(every))}",
                    f"qualify_timeout = {min(3.0, every):g}"]
    return "\n".join(out) + "\n"


def queue_members(agents: list[AgentSpec]) -> str:
    lines = ["; generated from the agent set: do not edit"]
    lines += [f"member => PJSIP/{a.id},0,{a.name or a.id}" for a in agents]
    return "\n".join(lines) + "\n"


#: The files a change of the agent set rewrites on a running node (then reloaded over AMI).
AGENT_FILES = ("pjsip_agents.conf", "queues_members.conf")


def write_agent_files(agents: list[AgentSpec], etc_dir: Path,
                      webrtc: Collection[str] = ()) -> None:
    """Rewrites only the agent-set files of a running node, each atomically (a reload that
    reads half a file would drop endpoints)."""
    for name, text in (("pjsip_agents.conf", pjsip_agents(agents, webrtc=webrtc)),
                       ("queues_members.conf", queue_members(agents))):
        tmp = etc_dir / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(etc_dir / name)


def render_all(settings: Settings, agents: list[AgentSpec]) -> dict[str, str]:
    """File name -> content for /etc/asterisk of one node."""
    files = {
        p.name: render_text(p.read_text(), settings)
        for p in sorted(settings.asterisk_config_dir.glob("*.conf"))
    }
    files["pjsip_agents.conf"] = pjsip_agents(agents, webrtc=settings.webrtc_agents)
    files["queues_members.conf"] = queue_members(agents)
    return files


def write_all(settings: Settings, agents: list[AgentSpec], etc_dir: Path) -> None:
    etc_dir.mkdir(parents=True, exist_ok=True)
    for old in etc_dir.iterdir():
        if old.is_file() or old.is_symlink():
            old.unlink()
    for name, text in render_all(settings, agents).items():
        (etc_dir / name).write_text(text)
