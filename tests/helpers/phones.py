"""SIPp phones on the test bed's port plan (tests/helpers/testbed.py); the `phones` fixture
in tests/conftest.py stops them all after each test."""

from __future__ import annotations

from pathlib import Path

from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import (
    SippProcess,
    start_agent,
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

    def agent(self, n: int, ring_ms: int = 300, talk_ms: int = 3_600_000,
              voice: bool = False) -> SippProcess:
        """agentN's phone; with `voice` it plays a voice sample instead of echoing (for
        callers who send no audio of their own, so the call's recording has some)."""
        phone = start_agent(f"agent{n}", testbed.agent_port(n), testbed.next_media_port(),
                            ring_ms=ring_ms, talk_ms=talk_ms, voice=voice)
        self.started.append(phone)
        return phone

    def caller(self, number: str, talk_ms: int, sip_port: int | None = None,
               dial: str | None = None) -> SippProcess:
        """A caller dialing the hotline (or `dial`) on this node (or the node at `sip_port`)."""
        target = f"127.0.0.1:{sip_port or self.settings.sip_port}"
        phone = start_caller(number, target, talk_ms=talk_ms,
                             local_port=testbed.next_caller_port(),
                             media_port=testbed.next_media_port(),
                             service=dial or self.settings.hotline_number)
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

    def dtmf_caller(self, number: str, steps: list[tuple[int, str]],
                    talk_ms: int) -> SippProcess:
        """A caller dialing the hotline who, once answered, presses each (pause_ms, digit)."""
        phone = start_dtmf_caller(number, f"127.0.0.1:{self.settings.sip_port}", steps,
                                  talk_ms, local_port=testbed.next_caller_port(),
                                  media_port=testbed.next_media_port(),
                                  service=self.settings.hotline_number)
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



def recording_of(settings: Settings, call_id: str) -> Path:
    return settings.recordings_dir / f"{call_id}.wav"


__all__ = ["Phones", "recording_of"]
