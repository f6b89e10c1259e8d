"""`hotline run` under tracemalloc, for bench.soak --tracemalloc: where the controller's memory
grows. SIGUSR1 writes the allocation sites that grew most since the first SIGUSR1 (the
baseline, taken after the warm-up) to HOTLINE_SOAK_TRACE_OUT. Slower than a plain run: for
finding a leak, not for measuring."""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from types import FrameType

from hotline.process import cli

_baseline: list[tracemalloc.Snapshot] = []


def _dump(_sig: int, _frame: FrameType | None) -> None:
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)])
    if not _baseline:
        _baseline.append(snap)
        return
    top = snap.compare_to(_baseline[0], "traceback")[:15]
    with open(os.environ["HOTLINE_SOAK_TRACE_OUT"], "w") as out:
        for stat in top:
            out.write(f"{stat.size_diff / 1024:+.0f} KiB, {stat.count_diff:+d} blocks\n")
            out.write("\n".join("    " + line for line in stat.traceback.format()[-6:]) + "\n")


if __name__ == "__main__":
    tracemalloc.start(8)
    signal.signal(signal.SIGUSR1, _dump)
    sys.exit(cli.main(sys.argv[1:]))
