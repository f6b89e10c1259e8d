"""FastAGI IVR capacity: protocol parsing, and whole IVR sessions over loopback TCP.

    .venv/bin/python -m bench.ivr [--sessions 2000] [--concurrency 50] [--quick]

1. The sans-I/O AgiConnection on one IVR session's transcript (environment block + the replies
   of a language choice and a top-menu choice), fed whole vs. one byte at a time (the worst
   TCP segmentation), side by side.
2. Whole sessions: an AgiServer running the real IvrApp on the shipped ivr.toml; fake
   "Asterisk" clients connect, send the environment and answer every command (the caller
   presses 2 then 3), `concurrency` at a time. Reports sessions/s against the national peak
   (10 calls/s) with the 10x headroom the architecture asks for (100 sessions/s).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from hotline.core.settings import DEV_AGI_SECRET, Settings
from hotline.core.values import Outage
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import IvrMenu
from hotline.telephony.agi.server import NEED_DATA, AgiConnection, AgiServer
from hotline.telephony.ivr.session import IvrApp, SurveyResponse

ENV = (b"agi_network: yes\nagi_network_script: ivr?key=" + DEV_AGI_SECRET.encode() + b"\n"
       b"agi_request: agi://127.0.0.1/ivr\n"
       b"agi_channel: PJSIP/caller-00000001\nagi_uniqueid: 1700000000.1\n"
       b"agi_callerid: 13800000000\nagi_context: hotline\nagi_extension: 95598\n\n")
PEAK_CALLS_PER_S = 10
HEADROOM = 10


def answer(line: bytes, digits: list[str]) -> bytes:
    """What Asterisk replies to one command of the IVR."""
    if line.startswith(b"GET DATA"):
        return f"200 result={digits.pop(0)}\n".encode()
    if line.startswith(b"EXEC"):
        return b"200 result=0\n"
    return b"200 result=1\n"


REPLIES = [b"200 result=2\n", b"200 result=0\n", b"200 result=1\n", b"200 result=3\n",
           b"200 result=0\n"] + [b"200 result=1 (value) endpos=1234\n"] * 5


def parse_rate(chunk: int, rounds: int) -> float:
    """Sessions/s: the environment, then per command its reply in `chunk`-byte reads."""
    start = time.perf_counter()
    for _ in range(rounds):
        conn = AgiConnection()
        for i in range(0, len(ENV), chunk):
            conn.receive_data(ENV[i : i + chunk])
        assert conn.next_event() is not NEED_DATA
        for reply in REPLIES:
            conn.send_command("GET DATA", "x", "5000", "1")
            for i in range(0, len(reply), chunk):
                conn.receive_data(reply[i : i + chunk])
            assert conn.next_event() is not NEED_DATA
    return rounds / (time.perf_counter() - start)


class NoOutages:
    async def find(self, area_code: str, at: float) -> list[Outage]:
        return []


class Names:
    def menu_prompt(self, menu: IvrMenu, lang: str, key: str) -> str:
        return f"/usr/share/asterisk/sounds/hotline/{lang}/{key}"

    async def speak(self, lang: str, text: str) -> str:
        raise AssertionError("no speech in this bench")


async def fake_asterisk(port: int) -> float:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV)
    digits = ["2", "3"]
    while line := await reader.readline():
        writer.write(answer(line, digits))
    writer.close()
    await writer.wait_closed()
    assert not digits
    return time.perf_counter() - start


async def sessions(n: int, concurrency: int) -> tuple[float, list[float]]:
    async def on_survey(response: SurveyResponse) -> None:
        pass

    app = IvrApp(ivr_menu.load(), Names(), NoOutages(), on_survey, time.time)
    latencies: list[float] = []
    async with AgiServer(Settings(bind_host="127.0.0.1", agi_port=0), app) as server:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                latencies.append(await fake_asterisk(server.port))

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - start
    return n / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.rounds = 300, 500

    whole = parse_rate(1 << 16, args.rounds)
    bytewise = parse_rate(1, max(1, args.rounds // 10))
    rate, lat = asyncio.run(sessions(args.sessions, args.concurrency))
    lat.sort()
    figures = {
        "parse_sessions_per_s_whole": round(whole),
        "parse_sessions_per_s_bytewise": round(bytewise),
        "bytewise_slowdown": round(whole / bytewise, 1),
        "ivr_sessions_per_s": round(rate),
        "ivr_session_median_ms": round(statistics.median(lat) * 1000, 2),
        "ivr_session_p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
        "concurrency": args.concurrency,
        "needed_sessions_per_s": PEAK_CALLS_PER_S * HEADROOM,
        "headroom_ratio": round(rate / (PEAK_CALLS_PER_S * HEADROOM), 1),
    }
    print("AGI protocol, one IVR session transcript (env + 10 replies):")
    print(f"  fed whole       {figures['parse_sessions_per_s_whole']} sessions/s")
    print(f"  fed bytewise    {figures['parse_sessions_per_s_bytewise']} sessions/s "
          f"({figures['bytewise_slowdown']}x slower)")
    print(f"IVR over loopback TCP ({args.sessions} sessions, {args.concurrency} at a time):")
    print(f"  {figures['ivr_sessions_per_s']} sessions/s, median "
          f"{figures['ivr_session_median_ms']} ms, p99 {figures['ivr_session_p99_ms']} ms")
    print(f"  needed {figures['needed_sessions_per_s']}/s (10 calls/s x10): "
          f"{figures['headroom_ratio']}x that")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
