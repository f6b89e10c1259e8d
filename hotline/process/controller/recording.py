"""The controller's inputs into the replay journal (docs/replay.md).

An input is one top-level entry into the controller: an event (AMI, a hold session, a
resync, a callback leg), a command, a tick, an event recorded without the router. While an
entry runs, the controller's clock is frozen at the entry's time (EntryClock), so every
decision of it reads one time, the one written; entries nested in another (a failsafe's
command inside an event, the queued event of an outbound callback) are not inputs: the
replay makes them again. The line is written when the entry ends, with what only the live
side could know (whether a caller's callback key was taken by its hold session).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotline.centre.centre_file import centre_toml
from hotline.centre.model import Centre
from hotline.core.events import Event
from hotline.core.settings import Settings
from hotline.replay.journal import COMMAND, EVENT, OUTBOUND, RECORDED, TICK, event_fields
from hotline.replay.writer import JournalWriter

#: the settings the decisions and the figures depend on (the rest are addresses, secrets,
#: paths): each journal's header carries them, the replay runs with them
REPLAYED_SETTINGS = ("ring_timeout_s", "callback_attempts", "callback_retry_s", "wrap_up_s",
                     "short_abandon_s", "utc_offset_s", "callback_key", "hotline_number",
                     "hold_lease_s", "failsafe_guard_s", "recordings_dir")


class EntryClock:
    """The controller's clock: `base` outside an entry, the entry's time inside one."""

    __slots__ = ("base", "now")

    def __init__(self, base: Callable[[], float]) -> None:
        self.base = base
        self.now: float | None = None

    def __call__(self) -> float:
        now = self.now
        return self.base() if now is None else now


class Recording:
    def __init__(self, writer: JournalWriter, clock: EntryClock) -> None:
        self.writer = writer
        self.clock = clock
        self._line: list[Any] = []
        self.key_taken = 0  # DtmfReceived: 1 when the hold desk took it as the callback key

    @property
    def inside(self) -> bool:
        return self.clock.now is not None

    def begin(self, line: list[Any]) -> None:
        """`line`: the input without its time."""
        t = self.clock.now = self.clock.base()
        line.insert(0, t)
        self._line = line
        self.key_taken = 0

    def begin_event(self, event: Event) -> None:
        self.begin([EVENT, type(event).__name__, event_fields(event)])

    def command(self, name: str, *args: Any) -> None:
        self.begin([COMMAND, name, [_plain(a) for a in args]])

    def tick(self) -> None:
        self.begin([TICK])

    def recorded(self, event: Event) -> None:
        self.begin([RECORDED, type(event).__name__, event_fields(event)])

    def outbound(self, number: str) -> None:
        """An outbound call's entry; its event is known only once made (`made`)."""
        self.begin([OUTBOUND, number, None])

    def made(self, queued: Event) -> None:
        self._line[3] = event_fields(queued)

    def end(self) -> None:
        line, t = self._line, self.clock.now
        if self.key_taken:
            line.append(1)
        self.clock.now = None
        assert t is not None
        self.writer.line(t, line)

    def close(self) -> None:
        self.writer.close()


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    return value


def header(settings: Settings, centre: Centre) -> dict[str, Any]:
    return {"centre": centre_toml(centre),
            "settings": {name: _plain(getattr(settings, name)) for name in REPLAYED_SETTINGS}}


def recording_for(settings: Settings, centre: Centre,
                  clock: Callable[[], float]) -> Recording | None:
    """The recording the settings ask for (None: off)."""
    if not settings.replay_record:
        return None
    directory = settings.replay_dir or settings.data_dir / "replay"
    writer = JournalWriter(directory, header(settings, centre),
                           utc_offset_s=settings.utc_offset_s,
                           max_bytes=settings.replay_max_mb << 20,
                           keep_days=settings.replay_keep_days)
    return Recording(writer, EntryClock(clock))


__all__ = ["REPLAYED_SETTINGS", "EntryClock", "Recording", "header", "recording_for"]
