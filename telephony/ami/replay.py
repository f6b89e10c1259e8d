"""Replays an AMI byte stream through the whole ingest path: codec -> mapper -> call model.

Used by the replay tests (tests/fixtures/ami/*.txt, raw wire format) and handy for looking at
a transcript captured from a live Asterisk: `python -m hotline.telephony.ami.replay FILE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hotline.core.events import Event
from hotline.telephony.ami.call_model import DEFAULT_SHORT_ABANDON_S, Call, CallModel
from hotline.telephony.ami.codec import AmiCodec, AmiMessage
from hotline.telephony.ami.mapper import EventMapper


@dataclass(slots=True)
class Replay:
    codec: AmiCodec
    mapper: EventMapper
    model: CallModel
    responses: list[AmiMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ended: list[Call] = field(default_factory=list)

    def feed(self, data: bytes) -> None:
        events, responses = self.codec.feed_split(data)
        self.responses += responses
        typed = self.mapper.map_all(events)
        self.events += typed
        self.ended += self.model.apply_all(typed)


def replay(
    data: bytes,
    *,
    node: str = "pbx1",
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
    read_size: int | None = None,
) -> Replay:
    """Feed `data` in reads of `read_size` bytes (all at once when None)."""
    r = Replay(AmiCodec(), EventMapper(node, clock=_no_clock), CallModel(short_abandon_s))
    step = read_size or max(1, len(data))
    for i in range(0, len(data), step):
        r.feed(data[i : i + step])
    return r


def replay_file(
    path: str | Path,
    *,
    node: str = "pbx1",
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
    read_size: int | None = None,
) -> Replay:
    """Replay a transcript file: raw AMI bytes (CRLF); one saved with LF line ends is fixed."""
    data = Path(path).read_bytes()
    if b"\r\n" not in data:
        data = data.replace(b"\n", b"\r\n")  # a transcript saved through a text editor
    return replay(data, node=node, short_abandon_s=short_abandon_s, read_size=read_size)


def _no_clock() -> float:
    # A transcript's events carry Timestamp (timestampevents=yes); without it the replay has
    # no meaningful time, and one event without it should not pass silently.
    raise ValueError("event without a Timestamp header in a replayed transcript")


def main(argv: list[str] | None = None) -> None:
    import sys

    for path in argv if argv is not None else sys.argv[1:]:
        r = replay_file(path)
        print(f"== {path}: {len(r.events)} typed events, {len(r.ended)} calls ended")
        for call in r.ended:
            print(f"  {call.call_id} {call.outcome} agent={call.agent_id} wait={call.wait_s}")
            for at, what in call.timeline:
                print(f"    {at - call.entered_at:9.3f}  {what}")
        print(f"  live: {len(r.model)}  mapper: {r.mapper.stats}")


if __name__ == "__main__":
    main()
