"""The certificate of a node's secure websocket (http.conf, the agent page's softphone).

A deployment names its own certificate and key (Settings.tls_cert_file / tls_key_file: host
paths, e.g. from its CA or ACME client); without them a self-signed pair is made once under
data_dir/tls with openssl, for a first look on this machine (browsers must be told to trust
it: docs/deploy.md, "Softphones"). Outside development a self-signed pair is refused
(hotline/core/deployment.py)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

from hotline.core.deployment import check_node_certificate
from hotline.core.settings import Settings

#: where http.conf expects them, under /etc/asterisk
CERT_IN_ETC = "keys/hotline-wss.crt"
KEY_IN_ETC = "keys/hotline-wss.key"
SELF_SIGNED_DAYS = 825  # the longest validity browsers accept for a server certificate


def self_signed_paths(settings: Settings) -> tuple[Path, Path]:
    folder = settings.data_dir / "tls"
    return folder / "hotline-wss.crt", folder / "hotline-wss.key"


def certificate(settings: Settings) -> tuple[Path, Path]:
    """(certificate, key): the configured pair, or the self-signed one (made if missing)."""
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        return settings.tls_cert_file, settings.tls_key_file
    check_node_certificate(settings)  # outside development: refused
    cert, key = self_signed_paths(settings)
    if not (cert.exists() and key.exists()):
        make_self_signed(cert, key, settings.bind_host)
    return cert, key


def make_self_signed(cert: Path, key: Path, host: str) -> None:
    """An EC P-256 certificate for localhost, 127.0.0.1 and `host` (the address browsers
    connect to), written atomically (the key readable by its owner only)."""
    cert.parent.mkdir(parents=True, exist_ok=True)
    names = ["DNS:localhost", "IP:127.0.0.1"]
    try:
        if host not in ("127.0.0.1", "0.0.0.0"):
            names.append(f"IP:{ipaddress.ip_address(host)}")
    except ValueError:
        names.append(f"DNS:{host}")
    tmp_cert, tmp_key = cert.with_suffix(".crt.tmp"), key.with_suffix(".key.tmp")
    old_umask = os.umask(0o077)
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", str(SELF_SIGNED_DAYS),
             "-subj", "/CN=hotline softphone (self-signed)",
             "-addext", "subjectAltName=" + ",".join(names),
             "-keyout", str(tmp_key), "-out", str(tmp_cert)],
            check=True, capture_output=True, timeout=30)
    finally:
        os.umask(old_umask)
    tmp_cert.chmod(0o644)
    tmp_key.replace(key)
    tmp_cert.replace(cert)


def install(settings: Settings, etc_dir: Path) -> None:
    """Copies the node's certificate and key into its /etc/asterisk, where http.conf reads
    them (the key readable by Asterisk's user only)."""
    cert, key = certificate(settings)
    (etc_dir / CERT_IN_ETC).parent.mkdir(parents=True, exist_ok=True)
    (etc_dir / CERT_IN_ETC).parent.chmod(0o700)
    shutil.copyfile(cert, etc_dir / CERT_IN_ETC)
    shutil.copyfile(key, etc_dir / KEY_IN_ETC)
    (etc_dir / KEY_IN_ETC).chmod(0o600)
