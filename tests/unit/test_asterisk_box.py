"""The test bed's guards around starting a node: who holds a port, and strays."""

from __future__ import annotations

import os
import socket

from hotline.telephony.node import box as asterisk_box


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_listening_tcp_port_names_its_holder_and_a_closed_one_is_free() -> None:
    port = _free_port(socket.SOCK_STREAM)
    assert asterisk_box.port_holder(port, "tcp") is None
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        assert asterisk_box.port_holder(port, "tcp") is None  # bound, not listening
        s.listen()
        assert asterisk_box.port_holder(port, "tcp") == f"{os.getpid()} {_comm()}"
    assert asterisk_box.port_holder(port, "tcp") is None


def test_a_connection_left_closing_on_the_port_does_not_count() -> None:
    port = _free_port(socket.SOCK_STREAM)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the port lingers closing
    try:
        assert asterisk_box.port_holder(port, "tcp") is None
    finally:
        client.close()


def test_a_bound_udp_port_names_its_holder() -> None:
    port = _free_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        assert asterisk_box.port_holder(port, "udp") == f"{os.getpid()} {_comm()}"
    assert asterisk_box.port_holder(port, "udp") is None


def test_strays_are_only_asterisks_under_the_pattern() -> None:
    assert asterisk_box.kill_strays("/nonexistent-hotline-*/root") == []


def _comm() -> str:
    with open(f"/proc/{os.getpid()}/comm") as f:
        return f.read().strip()
