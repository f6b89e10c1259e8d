"""Start-up refusals of unsafe deployments (issue #14 item 7): development mode only on a
loopback API host; outside development, no shipped default AMI or agent SIP secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.centre.model import load_centre
from hotline.core.deployment import (
    MIN_SOFTPHONE_SECRET_LEN,
    UnsafeDeployment,
    check_deployment,
)
from hotline.core.settings import AsteriskNode, Settings

STRONG = "s3cret-" + "x" * 30


def agents_of(settings: Settings) -> list[tuple[str, str]]:
    return [(a.id, a.secret) for a in load_centre(settings.centre_file).agents]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_development_on_loopback_starts(host: str) -> None:
    settings = Settings(environment="development", api_host=host)
    check_deployment(settings, agents_of(settings))


@pytest.mark.parametrize(("host", "live_host"), [("0.0.0.0", ""), ("10.1.2.3", ""),
                                                  ("::", ""), ("127.0.0.1", "0.0.0.0")])
def test_development_refuses_a_host_beyond_loopback(host: str, live_host: str) -> None:
    settings = Settings(environment="development", api_host=host, live_host=live_host)
    with pytest.raises(UnsafeDeployment, match="development"):
        check_deployment(settings, agents_of(settings))


def production(**kw: object) -> Settings:
    return Settings(environment="production", api_host="0.0.0.0", ami_secret=STRONG, **kw)


def test_production_refuses_the_default_ami_secret() -> None:
    with pytest.raises(UnsafeDeployment, match="AMI secret"):
        check_deployment(Settings(environment="production"), [])
    other = AsteriskNode(name="ast2", host="10.0.0.2", ami_port=5038)  # its secret: the default
    with pytest.raises(UnsafeDeployment, match="ast2"):
        check_deployment(production(other_nodes=[other]), [])
    check_deployment(production(), [("agent1", STRONG)])


@pytest.mark.parametrize("secret", ["", "agent1", "agent1-pass"])
def test_production_refuses_a_default_agent_secret(secret: str) -> None:
    with pytest.raises(UnsafeDeployment, match="agent1"):
        check_deployment(production(), [("agent1", secret)])


def test_production_refuses_the_shipped_centre() -> None:
    settings = production()
    with pytest.raises(UnsafeDeployment, match="SIP secret"):
        check_deployment(settings, agents_of(settings))


async def test_the_platform_refuses_to_start_before_anything_runs() -> None:
    from hotline.process.platform import Platform

    settings = Settings(environment="development", api_host="0.0.0.0")
    platform = Platform(settings, load_centre(settings.centre_file))
    with pytest.raises(UnsafeDeployment, match="loopback"):
        await platform.start()
    assert platform.services is None  # no database, no Redis started


def test_hotline_asterisk_start_refuses_before_building(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hotline.core.settings import get_settings
    from hotline.process.cli import main

    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")  # the AMI secret is the default
    get_settings.cache_clear()
    try:
        assert main(["asterisk", "start"]) == 2
    finally:
        get_settings.cache_clear()
    assert "AMI secret" in capsys.readouterr().err


def test_production_refuses_a_short_softphone_secret() -> None:
    settings = production(webrtc_agents=["agent7"])
    with pytest.raises(UnsafeDeployment, match="agent7"):
        check_deployment(settings, [("agent7", "x" * (MIN_SOFTPHONE_SECRET_LEN - 1))])
    check_deployment(settings, [("agent7", "x" * MIN_SOFTPHONE_SECRET_LEN),
                                ("agent1", "short-but-not-softphone")])


def test_a_node_outside_development_needs_its_own_certificate(tmp_path: Path) -> None:
    """The self-signed certificate is made for development only; a deployment names its own."""
    from hotline.telephony.node import tls

    with pytest.raises(UnsafeDeployment, match="HOTLINE_TLS_CERT_FILE"):
        tls.certificate(production(data_dir=tmp_path))
    assert not (tmp_path / "tls").exists()  # nothing made
    cert, key = tls.certificate(Settings(data_dir=tmp_path))  # development: self-signed
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert key.stat().st_mode & 0o077 == 0  # the key readable by its owner only
    own = production(tls_cert_file=cert, tls_key_file=key)
    assert tls.certificate(own) == (cert, key)
