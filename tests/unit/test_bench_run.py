"""bench/wire_run.py's port check, on real sockets: the three wire benches refuse to start
while another process holds a port they need, naming the port and who may hold it."""

from __future__ import annotations

import socket

import pytest

from bench.wire_run import check_ports_free


def bound(kind: socket.SocketKind) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    return s


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_a_held_port_ends_the_run_naming_it(kind: socket.SocketKind) -> None:
    with bound(kind) as held:
        port = held.getsockname()[1]
        udp, tcp = ([port], []) if kind == socket.SOCK_DGRAM else ([], [port])
        with pytest.raises(SystemExit) as stopped:
            check_ports_free(udp, tcp, "another bench.hold")
    assert str(stopped.value) == (f"port {port} is taken: is another bench.hold (or a SIPp it "
                                  "left) still running?")


def test_free_ports_pass() -> None:
    with bound(socket.SOCK_DGRAM) as u, bound(socket.SOCK_STREAM) as t:
        ports = u.getsockname()[1], t.getsockname()[1]
    check_ports_free([ports[0]], [ports[1]], "x", tcp_reuse_addr=True)
