"""SIPp phones: agents (UAS) that ring then answer, and callers (UAC) that dial the hotline.

Used by the tests, the demo and the wire benchmark. The scenarios live in sipp/ beside this
module (package data); timing values are baked into a rendered copy because SIPp reads recv
timeouts as plain numbers.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "sipp"  # package data


class SippMissing(RuntimeError):
    pass


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SippMissing("SIPp is missing: apt-get install sip-tester")
    return path


# replaces the <!--@VOICE@--> marker in agent.xml: closes the comment, plays, reopens one
_VOICE = ('--><nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/>'
          "</action></nop><!--")


_PLAY = '<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>'


def _render(name: str, workdir: Path, sdp_media_port: int | None = None,
            **values: int | str) -> Path:
    """A copy of scenario `name` with its @VALUES@ filled in. With `sdp_media_port` the SDP
    offers that port (an RTP end the caller of this function runs) and SIPp plays nothing."""
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    if sdp_media_port is not None:
        text = text.replace("m=audio [media_port]", f"m=audio {sdp_media_port}")
        text = text.replace(_PLAY, "")
    out = workdir / name
    out.write_text(text)
    return out


@dataclass
class SippProcess:
    """One SIPp process; `wait()` returns its exit code (0: every call succeeded)."""

    proc: subprocess.Popen[bytes]
    workdir: Path
    name: str
    _closed: bool = field(default=False, repr=False)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def running(self) -> bool:
        return self.proc.poll() is None

    def errors(self) -> str:
        """SIPp's error log: unexpected messages, timeouts."""
        logs = sorted(self.workdir.glob("*_errors.log"))
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in logs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._closed:
            self._closed = True
            shutil.rmtree(self.workdir, ignore_errors=True)


def _check_free(host: str, port: int) -> None:
    """SIPp that cannot bind only says so in its log; say it here, clearly."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise RuntimeError(f"UDP {host}:{port} is taken (a SIPp left running?)") from None


def _die_with_parent() -> None:
    """Runs in the child: SIGTERM when the process that started it dies, however it dies,
    so no SIPp phone outlives a killed test run or demo; and the default priority, not the
    platform's raised one (a phone stands for another machine)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpriority(os.PRIO_PROCESS, 0, max(0, os.getpriority(os.PRIO_PROCESS, 0)))


def _spawn(args: list[str], workdir: Path, name: str) -> SippProcess:
    proc = subprocess.Popen(
        [sipp_binary(), *args, "-nostdin", "-trace_err", "-error_file",
         str(workdir / f"{name}_errors.log")],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    return SippProcess(proc=proc, workdir=workdir, name=name)


def start_agent(agent_id: str, sip_port: int, media_port: int, ring_ms: int = 500,
                talk_ms: int = 3_600_000, host: str = "127.0.0.1",
                max_calls: int = 100_000, voice: bool = False,
                answer_options: bool = False,
                sdp_media_port: int | None = None) -> SippProcess:
    """An agent phone on host:sip_port that rings `ring_ms`, answers and echoes media, and
    hangs up after `talk_ms` unless the caller did first.

    A ring_ms longer than the platform's ring timeout makes an agent who never answers.
    With `voice` the phone plays a voice sample instead of echoing (a customer being called
    back: media must not echo on both ends, or it loops). With `answer_options` it answers
    OPTIONS (SIPp's -aa), so Asterisk's qualify finds it reachable while it runs. With
    `sdp_media_port` its SDP offers that port (an RTP end of the caller's own) and SIPp
    neither echoes nor plays.
    """
    _check_free(host, sip_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-{agent_id}-"))
    scenario = _render("agent.xml", workdir, sdp_media_port, RING_MS=ring_ms,
                       TALK_MS=talk_ms, VOICE=_VOICE if voice else "")
    media = [] if voice or sdp_media_port is not None else ["-rtp_echo"]
    args = ["-sf", str(scenario), "-i", host, "-p", str(sip_port), "-mi", host,
            "-mp", str(media_port), *media, "-m", str(max_calls), "-bind_local",
            *(["-aa"] if answer_options else [])]
    return _spawn(args, workdir, agent_id)


def start_transferring_agent(agent_id: str, sip_port: int, media_port: int, refer_to: str,
                             transfer_ms: int, ring_ms: int = 300,
                             host: str = "127.0.0.1") -> SippProcess:
    """An agent phone that answers, echoes media, and after `transfer_ms` blind-transfers
    the caller with a SIP REFER to `refer_to` (e.g. ``sip:*8billing@127.0.0.1:5060``)."""
    _check_free(host, sip_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-{agent_id}-transfer-"))
    scenario = _render("agent_transfer.xml", workdir, RING_MS=ring_ms, TRANSFER_MS=transfer_ms,
                       REFER_TO=refer_to, TALK_MS=10_000)
    args = ["-sf", str(scenario), "-i", host, "-p", str(sip_port), "-mi", host,
            "-mp", str(media_port), "-rtp_echo", "-m", "1", "-bind_local"]
    return _spawn(args, workdir, agent_id)


def start_refusing_callee(name: str, sip_port: int, media_port: int, refuse: int,
                          status: str = "486 Busy Here", ring_ms: int = 200,
                          talk_ms: int = 3_600_000, host: str = "127.0.0.1") -> SippProcess:
    """A customer's phone that refuses its first `refuse` calls with `status` (e.g.
    "486 Busy Here", "480 Temporarily Unavailable"), then rings `ring_ms`, answers and plays
    a voice sample (no echo: the far end is an agent) until hung up or `talk_ms`."""
    _check_free(host, sip_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-{name}-"))
    scenario = _render("callee_refuse.xml", workdir, RING_MS=ring_ms, TALK_MS=talk_ms,
                       VOICE=_VOICE, REJECT=refuse, STATUS=status)
    args = ["-sf", str(scenario), "-i", host, "-p", str(sip_port), "-mi", host,
            "-mp", str(media_port), "-m", "100000", "-bind_local"]
    return _spawn(args, workdir, name)


def start_late_callee(name: str, sip_port: int, media_port: int, ignore: int,
                      ring_ms: int = 200, talk_ms: int = 3_600_000,
                      host: str = "127.0.0.1") -> SippProcess:
    """A customer's phone that lets its first `ignore` calls ring until the caller gives up
    (no answer), then rings `ring_ms`, answers and plays a voice sample until hung up or
    `talk_ms`."""
    _check_free(host, sip_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-{name}-"))
    scenario = _render("callee_late.xml", workdir, RING_MS=ring_ms, TALK_MS=talk_ms,
                       VOICE=_VOICE, IGNORE=ignore)
    args = ["-sf", str(scenario), "-i", host, "-p", str(sip_port), "-mi", host,
            "-mp", str(media_port), "-m", "100000", "-bind_local"]
    return _spawn(args, workdir, name)


def start_caller(number: str, target: str, talk_ms: int, local_port: int, media_port: int,
                 service: str = "95598", host: str = "127.0.0.1", calls: int = 1,
                 rate: float = 1.0, sdp_media_port: int | None = None) -> SippProcess:
    """`calls` callers from `number` dialing `service` at `target` (host:port), each staying
    on the line `talk_ms` after being answered by the hotline (IVR and wait included). With
    `sdp_media_port` the SDP offers that port (an RTP end of the caller's own), and SIPp
    plays nothing."""
    _check_free(host, local_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-caller-{number}-"))
    scenario = _render("caller.xml", workdir, sdp_media_port, TALK_MS=talk_ms)
    args = ["-sf", str(scenario), "-i", host, "-p", str(local_port), "-mi", host,
            "-mp", str(media_port), "-s", service, "-key", "number", number,
            "-m", str(calls), "-r", str(rate), "-l", str(max(1, calls)), target]
    return _spawn(args, workdir, f"caller-{number}")


def start_agent_dial(agent_id: str, password: str, target: str, dial: str, final: int,
                     local_port: int, host: str = "127.0.0.1") -> SippProcess:
    """An agent's softphone placing one call as `agent_id` (authenticating with `password`),
    expecting `final` as the answer: exit 0 when it came."""
    _check_free(host, local_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-agent-dial-{agent_id}-"))
    scenario = _render("agent_dial.xml", workdir, FINAL=final)
    args = ["-sf", str(scenario), "-key", "agent", agent_id, "-i", host,
            "-p", str(local_port), "-s", dial, "-au", agent_id, "-ap", password,
            "-m", "1", "-l", "1", target]
    return _spawn(args, workdir, f"agent-dial-{agent_id}")


def start_key_caller(number: str, target: str, key: str, key_delay_ms: int, talk_ms: int,
                     local_port: int, media_port: int, service: str = "95598",
                     host: str = "127.0.0.1", calls: int = 1,
                     rate: float = 1.0) -> SippProcess:
    """`calls` callers (at `rate` per second) who each press `key` (RFC 2833) `key_delay_ms`
    after the hotline answered."""
    digit = {"*": "star", "#": "pound"}.get(key, key)
    _check_free(host, local_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-caller-{number}-"))
    scenario = _render("caller_key.xml", workdir, TALK_MS=talk_ms, KEY=digit,
                       KEY_DELAY_MS=key_delay_ms)
    args = ["-sf", str(scenario), "-i", host, "-p", str(local_port), "-mi", host,
            "-mp", str(media_port), "-s", service, "-key", "number", number,
            "-m", str(calls), "-r", str(rate), "-l", str(max(1, calls)), target]
    return _spawn(args, workdir, f"caller-{number}")


def _pcap_name(digit: str) -> str:
    return {"*": "star", "#": "pound"}.get(digit, digit)


def renumbered_pcap(digit: str, index: int, out: Path) -> Path:
    """dtmf_2833_<digit>.pcap with its RTP sequence numbers and timestamp moved forward by
    `index` steps: the shipped files share timestamps, so a repeated digit would read as a
    retransmission of the previous event and be dropped."""
    data = bytearray(Path(f"/usr/share/sip-tester/dtmf_2833_{_pcap_name(digit)}.pcap")
                     .read_bytes())
    (link,) = struct.unpack_from("<I", data, 20)
    if link != 1:
        raise ValueError("expected Ethernet frames in SIPp's DTMF captures")
    offset, k = 24, 0
    while offset < len(data):
        incl = struct.unpack_from("<I", data, offset + 8)[0]
        frame = offset + 16
        ip = frame + 14
        rtp = ip + (data[ip] & 0x0F) * 4 + 8
        struct.pack_into(">HI", data, rtp + 2, 1000 + index * 50 + k, 160_000 * (index + 1))
        offset, k = frame + incl, k + 1
    out.write_bytes(bytes(data))
    return out


def dtmf_scenario(workdir: Path, steps: list[tuple[int, str]], talk_ms: int,
                  then: list[str] | None = None) -> str:
    """The caller_dtmf scenario that, once answered, presses each (pause_ms, digit) in turn
    (each digit's RTP renumbered into `workdir`), then plays the scenario blocks `then`, then
    stays on the line `talk_ms`."""
    blocks = []
    for i, (pause_ms, digit) in enumerate(steps):
        pcap = renumbered_pcap(digit, i, workdir / f"dtmf_{i}.pcap")
        blocks.append(f'<pause milliseconds="{pause_ms}"/>\n  <nop><action>'
                      f'<exec play_pcap_audio="{pcap}"/></action></nop>')
    text = (SCENARIOS / "caller_dtmf.xml").read_text()
    text = text.replace("<!-- @DTMF@ -->", "\n  ".join(blocks + (then or [])))
    return text.replace("@TALK_MS@", str(talk_ms))


def start_dtmf_caller(number: str, target: str, steps: list[tuple[int, str]], talk_ms: int,
                      local_port: int, media_port: int, service: str = "95598",
                      host: str = "127.0.0.1") -> SippProcess:
    """One caller who, once answered, waits and presses each (pause_ms, digit) in turn
    (RFC 2833), then stays on the line `talk_ms` unless the far end hangs up first."""
    _check_free(host, local_port)
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-dtmf-{number}-"))
    scenario = workdir / "caller_dtmf.xml"
    scenario.write_text(dtmf_scenario(workdir, steps, talk_ms))
    args = ["-sf", str(scenario), "-i", host, "-p", str(local_port), "-mi", host,
            "-mp", str(media_port), "-s", service, "-key", "number", number,
            "-m", "1", "-l", "1", target]
    return _spawn(args, workdir, f"caller-{number}")


@contextlib.contextmanager
def running(*phones: SippProcess):  # type: ignore[no-untyped-def]
    try:
        yield phones
    finally:
        for phone in phones:
            phone.stop()
