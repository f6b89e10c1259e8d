"""A phone's media end run by the test itself: it sends a-law silence and measures how loud
what it receives is. With SIPp doing only the signalling (its SDP offers this end's port),
a test hears what Asterisk sends to one party of a call, e.g. a supervisor's whisper.

The silence it sends matters: Asterisk mixes a whisper into frames that pass toward the
spied-on channel, so each party sends frames as a phone does. It starts sending once
Asterisk sent it something (hold music, the other party's silence): rtp_symmetric makes
Asterisk answer to where our packets come from."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import time
from collections.abc import AsyncIterator

FRAME_S = 0.02  # 20 ms of a-law at 8 kHz: 160 bytes
ALAW_SILENCE = b"\xd5" * 160
RTP_PCMA = 8


def alaw_to_linear(byte: int) -> int:
    """G.711 a-law to a 16-bit linear sample."""
    a = byte ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    value = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return value if a & 0x80 else -value


_LINEAR = [abs(alaw_to_linear(b)) for b in range(256)]


class RtpEar(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None
        self.heard: list[tuple[float, int]] = []  # (monotonic time, peak |sample|) per packet
        self._seq = random.randrange(1 << 16)
        self._ssrc = random.randrange(1 << 32)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[1] & 0x7F != RTP_PCMA:
            return  # not audio we speak (an RFC 2833 event, RTCP)
        self.peer = addr
        payload = data[12 + 4 * (data[0] & 0x0F):]
        self.heard.append((time.monotonic(), max((_LINEAR[b] for b in payload), default=0)))

    def send_silence(self) -> None:
        if self.transport is None or self.peer is None:
            return
        self._seq = (self._seq + 1) & 0xFFFF
        header = struct.pack("!BBHII", 0x80, RTP_PCMA, self._seq,
                             (self._seq * 160) & 0xFFFFFFFF, self._ssrc)
        self.transport.sendto(header + ALAW_SILENCE, self.peer)

    def loudest(self, since: float, until: float = float("inf")) -> int:
        """The peak amplitude received between `since` and `until` (monotonic), 0 if none."""
        return max((p for t, p in self.heard if since <= t < until), default=0)

    def packets(self, since: float) -> int:
        return sum(1 for t, _ in self.heard if t >= since)


@contextlib.asynccontextmanager
async def rtp_ear(host: str = "127.0.0.1") -> AsyncIterator[RtpEar]:
    loop = asyncio.get_running_loop()
    transport, ear = await loop.create_datagram_endpoint(RtpEar, local_addr=(host, 0))

    async def speak() -> None:
        while True:  # a phone's media clock: one frame every 20 ms
            ear.send_silence()
            await asyncio.sleep(FRAME_S)

    task = asyncio.create_task(speak())
    try:
        yield ear
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        transport.close()
