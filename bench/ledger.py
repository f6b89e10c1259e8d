"""The ledger pass's own cost (issue #15.10): entries as the dialplan writes them, parsed
(ledger_pass.sort), replayed (ledger.replay) and applied to the call model, as a resync after
an outage of `--entries` calls does (the AMI round trips are not here: one DBGetTree, then one
DBDel per entry).

    .venv/bin/python -m bench.ledger [--entries N] [--repeat R]

Mixed like an outage: a third answered by app_queue, a third abandoned in it, a third hung up
while held; one in a hundred malformed. The last line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import time

from hotline.process.controller.ledger import replay
from hotline.process.controller.ledger_pass import sort
from hotline.telephony.ami.call_model import CallModel

T0 = 1_765_000_000.0
REC = "/var/spool/asterisk/hotline/t1-{}.wav"


def entries(n: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(n):
        t = T0 + i * 0.5
        key = f"t1-{int(t)}.{i}"
        if i % 100 == 99:
            out[key] = f"1|{t}|junk"
            continue
        kind = i % 3
        failsafe = f"{t + 4.2:.6f}" if kind < 2 else ""
        answered = f"{t + 5.1:.6f}" if kind == 0 else ""
        agent = f"agent{i % 40 + 1}" if kind == 0 else ""
        ended = t + (65.3 if kind == 0 else 30.0 if kind == 1 else 2.5)
        rec = REC.format(i) if kind < 2 else ""
        out[key] = (f"1|{t:.6f}|{t + 0.01:.6f}|general|general|1380000{i % 10000:04d}|"
                    f"{failsafe}|{answered}|{agent}|||{ended:.6f}|16|{rec}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    raw = entries(args.entries)
    value_bytes = max(len(v) for v in raw.values())
    best = float("inf")
    outcomes: dict[str, int] = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        ledger = sort(raw)
        model = CallModel()
        calls = []
        for entry in ledger.entries.values():
            calls += model.apply_all(replay(entry, "t1"))
        best = min(best, time.perf_counter() - started)
        outcomes = {}
        for call in calls:
            outcomes[str(call.outcome)] = outcomes.get(str(call.outcome), 0) + 1
    per_entry_us = best / args.entries * 1e6
    print(f"{args.entries} entries: {per_entry_us:.1f} us each (parse, replay, call model), "
          f"{len(ledger.bad)} malformed; outcomes {outcomes}; longest value {value_bytes} B")
    print(json.dumps({"entries": args.entries, "per_entry_us": round(per_entry_us, 2),
                      "entries_per_s": round(args.entries / best), "bad": len(ledger.bad),
                      "outcomes": outcomes, "max_value_bytes": value_bytes}))


if __name__ == "__main__":
    main()
