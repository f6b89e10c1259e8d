"""AMI ingest throughput: our whole path against panoramisk 1.4's parse alone, same bytes.

    .venv/bin/python -m bench.ami [--calls N] [--agents N] [--read-size BYTES] [--repeat R]
                                  [--quick]

The input is a busy stretch of a hotline day (tests/helpers/ami_day.py): Asterisk 22 traffic written
closed-loop against the router, so every ring is of the agent the router offered the call to
(IVR, queue, waits, rings, ring-outs, answers, hold, abandons, hang-ups by either side, after-
call work), with the noise a manager without an eventfilter sees (VarSet, Newexten,
RTCPSent, ...). Measured, on one core, each over the same reads of `--read-size` bytes:
- codec: bytes -> AmiMessage (event name read, headers left lazy);
- + mapper + model: -> typed events (EventMapper) -> calls (CallModel);
- + router: Router.handle on every typed event (clock = the event's Timestamp), its outputs
  recorded (CallOffered into the model), and the controller's timers on the event clock:
  wrap-up ends after Settings.wrap_up_s, router ticks every 0.2 s, the simulated agents'
  return from a missed ring (tests/helpers/ami_day.ControllerTimers);
- whole path: + LiveFeed.on_item (Metrics.apply) for every event and every router output.
  This is what the controller process does per event, less the call-log line, the
  controller's history and waiters, the Recorder's rows for the database writer, the
  repeat-caller lookup and the live feed's asynchronous flush to the bus;
- each with the compiled kernels (ami_parse, select_agent, metrics, agent_time) and with
  their pure-Python twins;
- panoramisk: AMIProtocol.data_received (decode, split, Message.from_line, dispatch).
Every router pass must make exactly the decisions made while the day was written (its Offers
equal the generator's, and the router's `ignored` count with it). The last line is a JSON
object of the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from types import ModuleType

from hotline.core_ext.select import is_compiled
from hotline.telephony.ami import codec as ami_codec
from hotline.telephony.ami.codec import AmiCodec
from hotline.telephony.ami.mapper import EventMapper

# the simulated day is shared with its test (tests/unit/test_ami_day.py)
from tests.helpers.ami_day import (
    NODE,
    Day,
    DayPlan,
    Ingest,
    Kernels,
    apply_eventfilter,
    generate_day,
    kernels,
    manager_eventfilter,
)

#: panoramisk 1.4's parse rate where the issue measured it, and the issue's target there.
REFERENCE_PANORAMISK = 90_000
TARGET_EVENTS_PER_S = 100_000


def reads(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@contextmanager
def header_lookup(kernel: ModuleType) -> Iterator[None]:
    """AmiMessage's header search from `kernel` for a while (it is chosen once at import)."""
    saved = ami_codec._header_value
    ami_codec._header_value = kernel.header_value
    try:
        yield
    finally:
        ami_codec._header_value = saved


def run_codec(chunks: list[bytes], kernel: ModuleType) -> int:
    """Bytes -> AmiMessage only."""
    codec = AmiCodec(kernel=kernel)
    n = 0
    with header_lookup(kernel):
        for chunk in chunks:
            n += len(codec.feed_split(chunk)[0])
    return n


#: The breakdown's rungs: what each pass adds to the codec.
STAGES = ("model", "router", "whole")


def run_ingest(chunks: list[bytes], day: Day, kern: Kernels, stage: str) -> int:
    """Every event through codec, mapper and call model, and from stage "router" on the router
    and the controller's timers, in "whole" the live feed too; returns the AMI events seen."""
    codec, mapper = AmiCodec(kernel=kern.ami_parse), EventMapper(NODE)
    ingest = Ingest(day.floor, kern, router=stage != "model", metrics=stage == "whole")
    feed, map_all, take = codec.feed_split, mapper.map_all, ingest.feed
    n = 0
    with header_lookup(kern.ami_parse):
        for chunk in chunks:
            events = feed(chunk)[0]
            n += len(events)
            take(map_all(events))
    # the work really happened, and the router decided as when the day was written
    assert not mapper.stats.malformed, mapper.stats
    assert ingest.model.ended_count == day.plan.calls, ingest.model.ended_count
    if stage != "model":
        assert ingest.offers == day.offers, (len(ingest.offers), len(day.offers))
        assert ingest.router.ignored == day.router_ignored, ingest.router.ignored
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


def best_rates(
    runs: dict[str, Callable[[list[bytes]], int]], chunks: list[bytes], repeat: int
) -> dict[str, tuple[int, float]]:
    """name -> (events, events per second) of its fastest run. The implementations take
    turns, round after round, so a noisy neighbour on the machine hurts them alike."""
    best = {name: float("inf") for name in runs}
    events: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            gc.collect()  # the last pass's garbage is not this one's to collect
            t0 = time.perf_counter()
            events[name] = fn(chunks)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: (events[name], events[name] / best[name]) for name in runs}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--agents", type=int, default=DayPlan.agents)
    ap.add_argument("--read-size", type=int, default=16384)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="400 calls, 2 runs each")
    args = ap.parse_args(argv)
    if args.quick:
        args.calls, args.repeat = 400, 2

    compiled, pure = kernels(), kernels(pure=True)
    is_built = all(is_compiled(k) for k in compiled)
    if not is_built:
        print("WARNING: not every compiled kernel loaded; some compiled columns run twins")
    t0 = time.perf_counter()
    day = generate_day(DayPlan(calls=args.calls, agents=args.agents, seed=args.seed), compiled)
    generate_s = time.perf_counter() - t0
    data = day.data
    chunks = reads(data, args.read_size)
    plan, out, cnt = day.plan, day.outcomes, day.counts
    print(
        f"input: {plan.calls} calls over {day.sim_seconds:,.0f} s "
        f"({plan.arrival_rate():.2f}/s), {plan.agents} agents; {day.messages:,} AMI events, "
        f"{day.typed_events:,} typed; {len(data) / 1e6:.1f} MB, {len(chunks)} reads of "
        f"{args.read_size} B, best of {args.repeat} (written in {generate_s:.1f} s)"
    )
    print(
        f"day: {out['answered']} answered, {out['abandoned']} abandoned, "
        f"{out['short_abandoned']} short-abandoned, {out['self_served']} self-served in IVR; "
        f"{len(day.offers)} offers, {cnt['ring_no_answer']} rang out, "
        f"{cnt['waited_over_1s']} waited > 1 s, {cnt['holds']} holds; "
        f"router ignored {day.router_ignored}"
    )

    rates = best_rates(
        {
            "whole": partial(run_ingest, day=day, kern=compiled, stage="whole"),
            "whole_py": partial(run_ingest, day=day, kern=pure, stage="whole"),
            "router": partial(run_ingest, day=day, kern=compiled, stage="router"),
            "model": partial(run_ingest, day=day, kern=compiled, stage="model"),
            "codec": partial(run_codec, kernel=compiled.ami_parse),
            "codec_py": partial(run_codec, kernel=pure.ami_parse),
            "panoramisk": run_panoramisk,
        },
        chunks,
        args.repeat,
    )
    counts = {name: n for name, (n, _) in rates.items()}
    assert len(set(counts.values())) == 1, counts  # everyone saw every event
    events = counts["whole"]
    assert events == day.messages, (events, day.messages)
    whole, whole_py, router, model, codec, codec_py, pano = (
        rates[k][1]
        for k in ("whole", "whole_py", "router", "model", "codec", "codec_py", "panoramisk")
    )

    print(f"codec only, compiled kernel     {codec:12,.0f} events/s")
    print(f"codec only, pure-Python twin    {codec_py:12,.0f} events/s")
    print(f"+ mapper + call model           {model:12,.0f} events/s")
    print(f"+ router and its timers         {router:12,.0f} events/s")
    print(f"whole path, compiled kernels    {whole:12,.0f} events/s  (+ live feed / metrics)")
    print(f"whole path, pure-Python twins   {whole_py:12,.0f} events/s")
    print(f"panoramisk parse                {pano:12,.0f} events/s")
    print(f"speedup whole path vs panoramisk parse: {whole / pano:.2f}x")
    # The 100,000/s was set on a machine where panoramisk parsed about 90,000/s; these
    # shared machines vary about twofold from day to day, so the ratio, measured in this run,
    # carries the figure over to that machine.
    at_reference = whole / pano * REFERENCE_PANORAMISK
    print(f"whole path scaled to a machine where panoramisk parses {REFERENCE_PANORAMISK:,}/s "
          f"(the issue's): {at_reference:,.0f} events/s (target {TARGET_EVENTS_PER_S:,})")
    figures: dict[str, object] = {
        "events": events,
        "events_per_s": round(whole),
        "panoramisk_events_per_s": round(pano),
        "speedup_vs_panoramisk": round(whole / pano, 2),
        "events_per_s_at_reference": round(at_reference),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "codec_only_events_per_s": round(codec),
        "codec_only_events_per_s_pure": round(codec_py),
        "model_events_per_s": round(model),
        "router_events_per_s": round(router),
        "events_per_s_pure": round(whole_py),
        "kernel_speedup_codec": round(codec / codec_py, 2),
        "kernel_speedup_whole": round(whole / whole_py, 2),
        "compiled": is_built,
        "traffic": "closed-loop day (tests/helpers/ami_day.py)",
        "calls": plan.calls,
        "agents": plan.agents,
        "arrival_rate_per_s": round(plan.arrival_rate(), 3),
        "sim_seconds": round(day.sim_seconds),
        "typed_events": day.typed_events,
        "offers": len(day.offers),
        "router_ignored": day.router_ignored,
        "outcomes": dict(out),
        "ring_no_answer": cnt["ring_no_answer"],
        "waited_over_1s": cnt["waited_over_1s"],
        "holds": cnt["holds"],
        "timers_fired": dict(day.timers_fired),
        "generate_s": round(generate_s, 2),
        "read_size": args.read_size,
    }
    pattern = manager_eventfilter()
    if pattern is not None:
        # The stream our manager.conf lets through: mostly events the mapper consumes; the
        # router must still decide the same (no decision depends on a filtered event).
        fchunks = reads(apply_eventfilter(data, pattern), args.read_size)
        frates = best_rates(
            {
                "whole": partial(run_ingest, day=day, kern=compiled, stage="whole"),
                "whole_py": partial(run_ingest, day=day, kern=pure, stage="whole"),
                "panoramisk": run_panoramisk,
            },
            fchunks,
            args.repeat,
        )
        fevents = frates["whole"][0]
        assert frates["panoramisk"][0] == fevents
        fw, fwp, fp = (frates[k][1] for k in ("whole", "whole_py", "panoramisk"))
        print(f"-- with manager.conf's eventfilter: {fevents} events ({fevents / events:.0%})")
        print(f"whole path, compiled kernels    {fw:12,.0f} events/s")
        print(f"whole path, pure-Python twins   {fwp:12,.0f} events/s")
        print(f"panoramisk parse                {fp:12,.0f} events/s")
        print(f"speedup whole path vs panoramisk parse: {fw / fp:.2f}x")
        figures |= {
            "filtered_events": fevents,
            "filtered_events_per_s": round(fw),
            "filtered_events_per_s_pure": round(fwp),
            "filtered_panoramisk_events_per_s": round(fp),
            "filtered_speedup_vs_panoramisk": round(fw / fp, 2),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
