"""SIPp phones on the test bed's port plan (tests/helpers/testbed.py); the `phones` fixture
in tests/conftest.py stops them all after each test."""

from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path

from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import (
    SippProcess,
    _die_with_parent,
    dtmf_scenario,
    sipp_binary,
    start_agent,
    start_agent_dial,
    start_caller,
    start_dtmf_caller,
    start_key_caller,
)
from tests.helpers import testbed


class Phones:
    """Starts SIPp agents and callers on the test bed's port plan; stops them all after."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started: list[SippProcess] = []

    def agent(self, n: int, ring_ms: int = 300, talk_ms: int = 3_600_000, voice: bool = False,
              sdp_media_port: int | None = None) -> SippProcess:
        """agentN's phone (start_agent: echoes, or plays the voice sample with `voice`, or
        leaves the media to the test's own RTP end at `sdp_media_port`)."""
        phone = start_agent(f"agent{n}", testbed.agent_port(n), testbed.next_media_port(),
                            ring_ms=ring_ms, talk_ms=talk_ms, voice=voice,
                            sdp_media_port=sdp_media_port)
        self.started.append(phone)
        return phone

    def caller(self, number: str, talk_ms: int, sip_port: int | None = None,
               dial: str | None = None, host: str = "127.0.0.1",
               sdp_media_port: int | None = None) -> SippProcess:
        """A caller dialing the hotline (or `dial`) on this node (or the node at `sip_port`),
        sending from `host` (another loopback address: a source outside the trunk's match);
        its media at the test's own RTP end with `sdp_media_port`."""
        target = f"127.0.0.1:{sip_port or self.settings.sip_port}"
        phone = start_caller(number, target, talk_ms=talk_ms, host=host,
                             sdp_media_port=sdp_media_port,
                             local_port=testbed.next_caller_port(),
                             media_port=testbed.next_media_port(),
                             service=dial or self.settings.hotline_number)
        self.started.append(phone)
        return phone

    def caller_stream(self, prefix: str, calls: int, rate: float, steps: list[tuple[int, str]],
                      talk_ms: int) -> SippProcess:
        """One SIPp process placing `calls` callers at `rate` a second, each walking the IVR
        with `steps` (as `dtmf_caller`) from its own number: `prefix` followed by SIPp's call
        number (1, 2, ...), so every call placed can be found in history by its caller
        (`stream_numbers`)."""
        workdir = Path(tempfile.mkdtemp(prefix=f"sipp-stream-{prefix}-"))
        text = dtmf_scenario(workdir, steps, talk_ms)
        text = text.replace("sip:[number]@", "sip:[number][call_number]@")
        scenario = workdir / "caller_stream.xml"
        scenario.write_text(text)
        target = f"127.0.0.1:{self.settings.sip_port}"
        args = [sipp_binary(), "-sf", str(scenario), "-i", "127.0.0.1",
                "-p", str(testbed.next_caller_port()), "-mi", "127.0.0.1",
                "-mp", str(testbed.next_media_port()), "-s", self.settings.hotline_number,
                "-key", "number", prefix, "-m", str(calls), "-r", str(rate),
                "-l", str(calls), target, "-nostdin", "-trace_err", "-error_file",
                str(workdir / "stream_errors.log")]
        proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        phone = SippProcess(proc=proc, workdir=workdir, name=f"stream-{prefix}")
        self.started.append(phone)
        return phone

    def agent_dial(self, agent_id: str, password: str, dial: str, final: int,
                   host: str = "127.0.0.1") -> SippProcess:
        """agent_id's softphone placing one call (authenticated), expecting `final`."""
        phone = start_agent_dial(agent_id, password, f"127.0.0.1:{self.settings.sip_port}",
                                 dial, final, local_port=testbed.next_caller_port(), host=host)
        self.started.append(phone)
        return phone

    def key_caller(self, number: str, key: str, key_delay_ms: int,
                   talk_ms: int) -> SippProcess:
        phone = start_key_caller(number, f"127.0.0.1:{self.settings.sip_port}", key=key,
                                 key_delay_ms=key_delay_ms, talk_ms=talk_ms,
                                 local_port=testbed.next_caller_port(),
                                 media_port=testbed.next_media_port(),
                                 service=self.settings.hotline_number)
        self.started.append(phone)
        return phone

    def dtmf_caller(self, number: str, steps: list[tuple[int, str]], talk_ms: int,
                    voice_s: float = 0) -> SippProcess:
        """A caller dialing the hotline who, once answered, presses each (pause_ms, digit).
        With `voice_s` it then speaks (SIPp's voice sample, again and again) for about that
        long before its `talk_ms` on the line: a caller who only sends digits sends no audio,
        and a call recorded without any is empty."""
        target = f"127.0.0.1:{self.settings.sip_port}"
        local, media = testbed.next_caller_port(), testbed.next_media_port()
        if not voice_s:
            phone = start_dtmf_caller(number, target, steps, talk_ms, local_port=local,
                                      media_port=media, service=self.settings.hotline_number)
        else:
            phone = _start_dtmf_voice_caller(number, target, steps, voice_s, talk_ms, local,
                                             media, self.settings.hotline_number)
        self.started.append(phone)
        return phone

    def callback_phone(self, talk_ms: int) -> SippProcess:
        """The phone every callback reaches (the test bed's callback_dial points at it)."""
        phone = start_agent("callback", testbed.CALLBACK_PORT, testbed.next_media_port(),
                            ring_ms=200, talk_ms=talk_ms, voice=True)
        self.started.append(phone)
        return phone

    def stop(self) -> None:
        for phone in self.started:
            phone.stop()



VOICE_SAMPLE = Path("/usr/share/sip-tester/g711a.pcap")
VOICE_SAMPLE_MS = 6_800  # its length


def _start_dtmf_voice_caller(number: str, target: str, steps: list[tuple[int, str]],
                             voice_s: float, talk_ms: int, local_port: int, media_port: int,
                             service: str) -> SippProcess:
    """start_dtmf_caller's scenario with the voice sample played back to back after the
    digits, for about `voice_s` seconds."""
    workdir = Path(tempfile.mkdtemp(prefix=f"sipp-dtmf-voice-{number}-"))
    voice = ['<pause milliseconds="1000"/>']  # the last digit's pcap plays out first
    for _ in range(max(1, math.ceil(voice_s * 1000 / VOICE_SAMPLE_MS))):
        voice.append(f'<nop><action><exec play_pcap_audio="{VOICE_SAMPLE}"/></action></nop>'
                     f'\n  <pause milliseconds="{VOICE_SAMPLE_MS}"/>')
    scenario = workdir / "caller_dtmf_voice.xml"
    scenario.write_text(dtmf_scenario(workdir, steps, talk_ms, then=voice))
    args = [sipp_binary(), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(local_port),
            "-mi", "127.0.0.1", "-mp", str(media_port), "-s", service, "-key", "number",
            number, "-m", "1", "-l", "1", target, "-nostdin", "-trace_err", "-error_file",
            str(workdir / f"caller-{number}_errors.log")]
    # (dies with this process, as the package's phones do)
    proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    return SippProcess(proc=proc, workdir=workdir, name=f"caller-{number}")


def stream_numbers(prefix: str, calls: int) -> list[str]:
    """The caller numbers of `Phones.caller_stream(prefix, calls, ...)`, in order."""
    return [f"{prefix}{n}" for n in range(1, calls + 1)]


def recording_of(settings: Settings, call_id: str) -> Path:
    return settings.recordings_dir / f"{call_id}.wav"


__all__ = ["Phones", "recording_of", "stream_numbers"]
