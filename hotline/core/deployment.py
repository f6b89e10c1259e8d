"""What a deployment must not be (docs/security.md, "Start-up refusals"), checked once at
start-up (`hotline run`, `hotline demo`, `hotline asterisk start`) before anything runs:

- Development mode (the default environment: a public token secret, name=password log-ins)
  listens on loopback only: an API or live-socket host beyond loopback is refused.
- Outside development, the secrets the code and the shipped configuration carry are refused:
  the AMI secret of every node (`DEV_AMI_SECRET`), and an agent's SIP secret that is empty
  (the endpoint's password would be its id), its id, or the shipped `<id>-pass`; for an
  agent whose phone is the page's softphone, a secret shorter than 12 characters.
- Outside development, a node does not start without the deployment's own certificate for
  its secure websocket (`check_node_certificate`, asked by telephony/node/tls.py).

The API token secret and the FastAGI secret have their own checks where they are used
(api/security.py `api_secret`, telephony/agi/server.py `AgiGate`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from hotline.core.settings import DEV_AMI_SECRET, DEVELOPMENT, Settings


class UnsafeDeployment(RuntimeError):
    """The settings would open a door: the message says which setting and why."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost, or empty (every address)
        return False


def is_default_agent_secret(agent_id: str, secret: str) -> bool:
    """The SIP secrets a stranger can guess: none (the endpoint then uses the id,
    telephony/node/render.py), the id itself, or centre.toml's shipped `<id>-pass`."""
    return secret in ("", agent_id, f"{agent_id}-pass")


#: the shortest SIP secret of an agent whose phone is the page's softphone (outside development)
MIN_SOFTPHONE_SECRET_LEN = 12


def check_deployment(settings: Settings, agents: Iterable[tuple[str, str]]) -> None:
    """Raises UnsafeDeployment if `settings` (with the agents' (id, SIP secret)) must not
    start; see the module docstring for the rules."""
    if settings.environment == DEVELOPMENT:
        for name, host in (("HOTLINE_API_HOST", settings.api_host),
                           ("HOTLINE_LIVE_HOST", settings.live_host or settings.api_host)):
            if not is_loopback(host):
                raise UnsafeDeployment(
                    f"{name}={host!r} is not a loopback address: development mode (the "
                    "default HOTLINE_ENVIRONMENT, with a public token secret and name=password "
                    "log-ins) listens on loopback only. Set HOTLINE_ENVIRONMENT=production "
                    "and real secrets to listen beyond this machine.")
        return
    for node in settings.nodes():
        if not node.ami_secret or node.ami_secret == DEV_AMI_SECRET:
            raise UnsafeDeployment(
                f"node {node.name}: the AMI secret (HOTLINE_AMI_SECRET, or ami_secret in "
                f"HOTLINE_OTHER_NODES) is the shipped default or empty; it is refused outside "
                f"development (environment is {settings.environment!r})")
    agents = list(agents)
    weak = sorted(a for a, secret in agents if is_default_agent_secret(a, secret))
    if weak:
        raise UnsafeDeployment(
            f"agents {', '.join(weak)}: the SIP secret is empty, the agent's id or the shipped "
            f"'<id>-pass' (centre.toml or the centre's configuration); it is refused outside "
            f"development (environment is {settings.environment!r})")
    # the page's softphone: its secret travels to a browser and its websocket is reachable
    # from the agents' network, so a guessable one is worse there
    webrtc = set(settings.webrtc_agents)
    short = sorted(a for a, secret in agents
                   if a in webrtc and len(secret) < MIN_SOFTPHONE_SECRET_LEN)
    if short:
        raise UnsafeDeployment(
            f"agents {', '.join(short)}: the page softphone's SIP secret is shorter than "
            f"{MIN_SOFTPHONE_SECRET_LEN} characters; it is refused outside development")


def check_node_certificate(settings: Settings) -> None:
    """Raises UnsafeDeployment when an Asterisk node would start outside development
    without the deployment's own certificate for its secure websocket (the softphone's):
    a self-signed one is made for development only (telephony/node/tls.py)."""
    if settings.environment == DEVELOPMENT:
        return
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        raise UnsafeDeployment(
            "the softphone's secure websocket has no certificate of the deployment "
            "(HOTLINE_TLS_CERT_FILE and HOTLINE_TLS_KEY_FILE): a self-signed one is for "
            f"development only (environment is {settings.environment!r}; docs/deploy.md)")


__all__ = ["MIN_SOFTPHONE_SECRET_LEN", "UnsafeDeployment", "check_deployment",
           "check_node_certificate", "is_default_agent_secret", "is_loopback"]
