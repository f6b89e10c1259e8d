"""AMI ingest throughput: our whole path against panoramisk 1.4's parse alone, same bytes.

    .venv/bin/python -m bench.ami [--calls N] [--read-size BYTES] [--repeat R] [--quick]

The input is synthetic Asterisk 22 traffic (bench/ami_synth.py): answered calls of ~50 events
each, with the noise a manager without an eventfilter sees (VarSet, Newexten, RTCPSent, ...).
Measured, on one core, each over the same reads of `--read-size` bytes:
- codec: bytes -> AmiMessage (event name read, headers left lazy);
- whole path: bytes -> AmiMessage -> typed events (EventMapper) -> calls (CallModel);
- panoramisk: AMIProtocol.data_received (decode, split, Message.from_line, dispatch).
The last line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from hotline.telephony.ami_codec import AmiCodec
from hotline.telephony.ami_events import EventMapper
from hotline.telephony.call_model import CallModel

from bench.ami_synth import mixed_traffic


def reads(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def run_codec(chunks: list[bytes]) -> int:
    codec = AmiCodec()
    n = 0
    for chunk in chunks:
        n += len(codec.feed_split(chunk)[0])
    return n


def run_whole(chunks: list[bytes]) -> int:
    """Every event through codec, mapper and call model; returns the AMI events seen."""
    codec, mapper, model = AmiCodec(), EventMapper("pbx1"), CallModel()
    feed, map_all, apply_all = codec.feed_split, mapper.map_all, model.apply_all
    n = 0
    ended = 0
    for chunk in chunks:
        events = feed(chunk)[0]
        n += len(events)
        ended += len(apply_all(map_all(events)))
    assert ended > 0 and not mapper.stats.malformed, mapper.stats  # the work really happened
    return n


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class _Factory:
    """What AMIProtocol calls back: counts the events it dispatches."""

    def __init__(self) -> None:
        self.events = 0
        self.save_stream = None

    def dispatch(self, message: object) -> None:
        self.events += 1

    def connection_lost(self, exc: object) -> None:
        pass


def run_panoramisk(chunks: list[bytes]) -> int:
    from panoramisk.ami_protocol import AMIProtocol

    proto = AMIProtocol()
    proto.connection_made(_Transport())  # type: ignore[arg-type]
    factory = _Factory()
    proto.factory = factory
    proto.encoding = "utf-8"  # its default 'ascii' would drop non-ASCII bytes ('ignore')
    for chunk in chunks:
        proto.data_received(chunk)
    return factory.events


def best_rate(fn: Callable[[list[bytes]], int], chunks: list[bytes], repeat: int) -> tuple[int, float]:
    """(events, events per second) of the fastest of `repeat` runs."""
    best = float("inf")
    events = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        events = fn(chunks)
        best = min(best, time.perf_counter() - t0)
    return events, events / best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--read-size", type=int, default=16384)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="400 calls, 2 runs each")
    args = ap.parse_args(argv)
    if args.quick:
        args.calls, args.repeat = 400, 2

    data = mixed_traffic(args.calls)
    chunks = reads(data, args.read_size)
    print(f"input: {args.calls} calls, {len(data) / 1e6:.1f} MB, {len(chunks)} reads of "
          f"{args.read_size} B, best of {args.repeat}")

    events, whole = best_rate(run_whole, chunks, args.repeat)
    codec_events, codec = best_rate(run_codec, chunks, args.repeat)
    pano_events, pano = best_rate(run_panoramisk, chunks, args.repeat)
    assert events == codec_events == pano_events, (events, codec_events, pano_events)

    print(f"codec only          {codec:12,.0f} events/s")
    print(f"whole path          {whole:12,.0f} events/s  (codec -> mapper -> call model)")
    print(f"panoramisk parse    {pano:12,.0f} events/s")
    print(f"speedup whole path vs panoramisk parse: {whole / pano:.2f}x")
    print(json.dumps({
        "events": events,
        "events_per_s": round(whole),
        "panoramisk_events_per_s": round(pano),
        "speedup_vs_panoramisk": round(whole / pano, 2),
        "codec_only_events_per_s": round(codec),
        "codec_speedup_vs_panoramisk": round(codec / pano, 2),
        "calls": args.calls,
        "read_size": args.read_size,
    }))


if __name__ == "__main__":
    main()
