"""What the node's new listeners admit (docs/security.md, "Softphones"): its HTTPS server
serves SIP over websocket at /ws and nothing else, speaks TLS 1.2 or later only, its plain
HTTP server is on loopback only, and a REGISTER over the websocket is challenged and refused
with a wrong secret, as over UDP."""

from __future__ import annotations

import asyncio
import re
import ssl
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from hotline.centre.model import Centre
from hotline.core.settings import Settings
from hotline.telephony.node import box as asterisk_box
from tests.helpers import testbed
from tests.helpers.softphones import registering_agent, with_agents

pytestmark = pytest.mark.asterisk
AGENT = testbed.WEBRTC_AGENT
SECRET = "pw7-transport-test"


@pytest.fixture
def webrtc_agent(asterisk_node: Settings, centre: Centre) -> Iterator[Centre]:
    with with_agents(asterisk_node, centre, registering_agent(AGENT, SECRET)) as grown:
        yield grown


def _trusting(minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
              maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the development node's self-signed certificate
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: asked for on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # our side would offer them
        ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    return ctx


async def _get(host: str, port: int, path: str, ctx: ssl.SSLContext | None) -> str:
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(5):
            return (await reader.read()).decode(errors="replace")
    finally:
        writer.close()


async def test_the_https_server_serves_only_the_websocket(asterisk_node: Settings) -> None:
    host, port = asterisk_node.bind_host, asterisk_node.wss_port
    for path in ("/", "/httpstatus", "/static/index.html", "/ari/asterisk/info",
                 "/amxml?action=login", "/metrics"):
        answer = await _get(host, port, path, _trusting())
        assert answer.startswith("HTTP/1.1 404"), (path, answer[:200])
    # TLS 1.0 and 1.1 are refused
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        await _get(host, port, "/ws", _trusting(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))
    # the plain server listens on loopback only, whatever the node's address
    status = asterisk_box.status(asterisk_node)
    assert status.running
    listening = await asyncio.to_thread(Path("/proc/net/tcp").read_text)
    plain = f"{asterisk_node.http_loopback_port:04X}"
    assert re.search(rf"0100007F:{plain} 00000000:0000 0A", listening)
    assert not re.search(rf"00000000:{plain} 00000000:0000 0A", listening)


def _register(user: str, branch: str, call_id: str, cseq: int, auth: str = "") -> str:
    lines = [
        "REGISTER sip:127.0.0.1 SIP/2.0",
        f"Via: SIP/2.0/WSS test.invalid;branch=z9hG4bK{branch}",
        "Max-Forwards: 70",
        f"To: <sip:{user}@127.0.0.1>",
        f"From: <sip:{user}@127.0.0.1>;tag=t{branch}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{user}@test.invalid;transport=ws>",
        "Expires: 60",
    ]
    if auth:
        lines.append(auth)
    return "\r\n".join([*lines, "Content-Length: 0", "", ""])


def _digest(challenge: str, user: str, password: str) -> str:
    import hashlib

    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
    realm, nonce = fields["realm"], fields["nonce"]
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(b"REGISTER:sip:127.0.0.1").hexdigest()
    qop = "auth" if "qop" in fields else ""
    if qop:
        response = hashlib.md5(f"{ha1}:{nonce}:00000001:abcdef:auth:{ha2}".encode()).hexdigest()
        extra = ', qop=auth, nc=00000001, cnonce="abcdef"'
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        extra = ""
    opaque = f', opaque="{fields["opaque"]}"' if "opaque" in fields else ""
    return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="sip:127.0.0.1", response="{response}", algorithm=MD5{extra}{opaque}')


async def test_a_register_over_the_websocket_is_authenticated(
        asterisk_node: Settings, webrtc_agent: Centre) -> None:
    url = f"wss://{asterisk_node.bind_host}:{asterisk_node.wss_port}/ws"
    async with websockets.connect(url, subprotocols=["sip"], ssl=_trusting()) as ws:
        async def ask(text: str) -> str:
            await ws.send(text)
            async with asyncio.timeout(5):
                while True:
                    answer = str(await ws.recv())  # requests (qualify's OPTIONS) skipped
                    if answer.startswith("SIP/2.0 ") and not answer.startswith("SIP/2.0 100"):
                        return answer

        call_id = uuid.uuid4().hex
        first = await ask(_register(AGENT, "a1", call_id, 1))
        assert first.startswith("SIP/2.0 401"), first[:200]
        challenge = re.search(r"^WWW-Authenticate: (.*)$", first, re.MULTILINE)
        assert challenge
        wrong = await ask(_register(AGENT, "a2", call_id, 2,
                                    _digest(challenge.group(1), AGENT, "not-the-secret")))
        assert wrong.startswith(("SIP/2.0 401", "SIP/2.0 403")), wrong[:200]
        again = await ask(_register(AGENT, "a3", call_id, 3))
        challenge = re.search(r"^WWW-Authenticate: (.*)$", again, re.MULTILINE)
        assert challenge
        right = await ask(_register(AGENT, "a4", call_id, 4,
                                    _digest(challenge.group(1), AGENT, SECRET)))
        assert right.startswith("SIP/2.0 200"), right[:300]
        # unregistered again (authenticated), so no contact outlives the test
        gone = await ask(_register(AGENT, "a5", call_id, 5).replace("Expires: 60", "Expires: 0"))
        if challenge := re.search(r"^WWW-Authenticate: (.*)$", gone, re.MULTILINE):
            gone = await ask(_register(AGENT, "a6", call_id, 6, _digest(
                challenge.group(1), AGENT, SECRET)).replace("Expires: 60", "Expires: 0"))
        assert gone.startswith("SIP/2.0 200"), gone[:200]
