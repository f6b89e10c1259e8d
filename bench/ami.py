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
from functools import partial
from types import ModuleType

from hotline.core_ext import ami_parse_py
from hotline.core_ext.select import is_compiled, load
from hotline.telephony.ami_codec import AmiCodec
from hotline.telephony.ami_events import EventMapper
from hotline.telephony.call_model import CallModel

from bench.ami_synth import mixed_traffic


def reads(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def run_codec(chunks: list[bytes], kernel: ModuleType) -> int:
    codec = AmiCodec(kernel=kernel)
    n = 0
    for chunk in chunks:
        n += len(codec.feed_split(chunk)[0])
    return n


def run_whole(chunks: list[bytes], kernel: ModuleType) -> int:
    """Every event through codec, mapper and call model; returns the AMI events seen."""
    codec, mapper, model = AmiCodec(kernel=kernel), EventMapper("pbx1"), CallModel()
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


def best_rate(
    fn: Callable[[list[bytes]], int], chunks: list[bytes], repeat: int
) -> tuple[int, float]:
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
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--read-size", type=int, default=16384)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="400 calls, 2 runs each")
    args = ap.parse_args(argv)
    if args.quick:
        args.calls, args.repeat = 400, 2

    data = mixed_traffic(args.calls)
    chunks = reads(data, args.read_size)
    print(
        f"input: {args.calls} calls, {len(data) / 1e6:.1f} MB, {len(chunks)} reads of "
        f"{args.read_size} B, best of {args.repeat}"
    )

    kernel = load("ami_parse")
    if not is_compiled(kernel):
        print("WARNING: the compiled splitter did not load; both columns run the twin")
    events, whole = best_rate(partial(run_whole, kernel=kernel), chunks, args.repeat)
    _, whole_py = best_rate(partial(run_whole, kernel=ami_parse_py), chunks, args.repeat)
    codec_events, codec = best_rate(partial(run_codec, kernel=kernel), chunks, args.repeat)
    _, codec_py = best_rate(partial(run_codec, kernel=ami_parse_py), chunks, args.repeat)
    pano_events, pano = best_rate(run_panoramisk, chunks, args.repeat)
    assert events == codec_events == pano_events, (events, codec_events, pano_events)

    print(f"codec only, compiled splitter   {codec:12,.0f} events/s")
    print(f"codec only, pure-Python twin    {codec_py:12,.0f} events/s")
    print(f"whole path, compiled splitter   {whole:12,.0f} events/s  (codec -> mapper -> model)")
    print(f"whole path, pure-Python twin    {whole_py:12,.0f} events/s")
    print(f"panoramisk parse                {pano:12,.0f} events/s")
    print(f"speedup whole path vs panoramisk parse: {whole / pano:.2f}x")
    figures = {
        "events": events,
        "events_per_s": round(whole),
        "panoramisk_events_per_s": round(pano),
        "speedup_vs_panoramisk": round(whole / pano, 2),
        "codec_only_events_per_s": round(codec),
        "codec_only_events_per_s_pure": round(codec_py),
        "events_per_s_pure": round(whole_py),
        "splitter_speedup_codec": round(codec / codec_py, 2),
        "splitter_speedup_whole": round(whole / whole_py, 2),
        "compiled": is_compiled(kernel),
        "calls": args.calls,
        "read_size": args.read_size,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
