"""`hotline run` under the soak's memory probes, for bench.soak --tracemalloc / --probe: where
the controller's memory grows.

- tracemalloc (HOTLINE_SOAK_TRACE_OUT): SIGUSR1 writes the allocation sites that grew most since
  the first SIGUSR1 (the baseline, taken after the warm-up) to that file. Slower than a plain
  run: for finding a leak, not for measuring.
- the probe (HOTLINE_SOAK_PROBE_OUT, every HOTLINE_SOAK_PROBE_EVERY_S seconds): one JSON line
  each time, from a thread: VmRSS and where it lies (/proc/self/smaps: the brk heap, anonymous
  mappings such as glibc's per-thread arenas, the rest), glibc's malloc figures (mallinfo2: in
  use, free inside the heap and arenas), pymalloc's blocks, threads, the objects the collector
  tracks by type, and the largest containers with who holds them. Python objects flat while
  RSS grows is the allocator (fragmentation, arenas); objects growing name the owner. Cheap
  enough to leave on (a gc walk of the objects created since start, ~0.1-0.5 s a time).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter, OrderedDict, deque
from types import FrameType, ModuleType
from typing import Any

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


# ---- the probe


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def mallinfo() -> dict[str, float] | None:
    """glibc's malloc figures in MB: `arena` (bytes of the brk heap and the arenas), `mmap`
    (large blocks mapped apart), `used` (in use), `free` (free inside arena)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    m = libc.mallinfo2()
    mb = 2**20
    return {"arena": round(m.arena / mb, 2), "mmap": round(m.hblkhd / mb, 2),
            "used": round(m.uordblks / mb, 2), "free": round(m.fordblks / mb, 2),
            "top_pad": round(m.keepcost / mb, 2)}


def smaps() -> dict[str, float]:
    """Rss of this process's mappings in MB: the brk `heap`, anonymous mappings (`anon`: glibc's
    thread arenas, pymalloc's arenas, large blocks, stacks), files mapped (`files`)."""
    out = {"heap": 0.0, "anon": 0.0, "files": 0.0, "anon_mappings": 0.0}
    kind = "files"
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(None, 6)
            if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's first line
                name = head[5].strip() if len(head) > 5 else ""
                kind = ("heap" if name == "[heap]" else
                        "anon" if name == "" or name.startswith("[stack") else "files")
                if kind == "anon":
                    out["anon_mappings"] += 1
            elif head[0] == "Rss:":
                out[kind] += int(head[1]) / 1024
    return {k: round(v, 2) for k, v in out.items()}


_KINDS = (dict, list, set, deque, OrderedDict)


def _attr(holder: object, child: object) -> str:
    """`holder`'s name for `child`: an attribute, a slot, a key."""
    if isinstance(holder, dict):
        return next((repr(k)[:40] for k, v in holder.items() if v is child), "?")
    names = getattr(holder, "__dict__", None)
    if isinstance(names, dict):
        hit = next((k for k, v in names.items() if v is child), None)
        if hit:
            return hit
    for cls in type(holder).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if getattr(holder, slot, None) is child:
                return slot
    return "?"


def _name(o: object) -> str:
    return o.__name__ if isinstance(o, ModuleType) else type(o).__qualname__


def walk(top: int) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Every object reachable from the collector's objects, the modules and the threads'
    frames (gc.freeze hides what the platform built at start from gc.get_objects(), and a dict
    of only strings and numbers is not tracked at all): objects by type, and the `top` largest
    containers with their holder."""
    roots: list[Any] = [*gc.get_objects(), *sys.modules.values(),
                        *sys._current_frames().values()]
    seen: set[int] = set()
    by_type: Counter[str] = Counter()
    sized: dict[int, tuple[int, Any]] = {}
    parent: dict[int, Any] = {}  # a container's (or a dict's) first holder seen
    stack = roots
    while stack:
        o = stack.pop()
        i = id(o)
        if i in seen:
            continue
        seen.add(i)
        t = type(o)
        by_type[t.__qualname__] += 1
        if t in _KINDS and len(o) >= 500:
            sized[i] = (len(o), o)
        if not gc.is_tracked(o):
            continue
        for r in gc.get_referents(o):
            if type(r) in _KINDS and id(r) not in parent and not isinstance(o, FrameType):
                parent[id(r)] = o
            stack.append(r)
    out = []
    for n, o in sorted(sized.values(), key=lambda p: p[0], reverse=True)[:top]:
        holder = parent.get(id(o))
        if holder is None:
            owner = "?"
        elif isinstance(holder, dict) and id(holder) in parent:  # an instance's __dict__
            up = parent[id(holder)]
            if getattr(up, "__dict__", None) is holder:  # a module's or an object's
                owner = f"{_name(up)}.{_attr(holder, o).strip(chr(39))}"
            else:
                owner = f"{_name(up)}.{_attr(up, holder)}[{_attr(holder, o)}]"
        else:
            owner = f"{_name(holder)}.{_attr(holder, o)}"
        out.append({"len": n, "type": type(o).__qualname__, "id": id(o), "owner": owner[:140]})
    return by_type, out


def probe(top_containers: int = 15) -> dict[str, Any]:
    t0 = time.monotonic()
    rss = 0.0
    threads = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    gc_objects = len(gc.get_objects())
    # the walk's own sets (an id per object) come from this thread's malloc arena: leave it
    # out (HOTLINE_SOAK_PROBE_WALK=0) when the RSS itself is measured
    by_type, containers = (walk(top_containers) if os.environ.get("HOTLINE_SOAK_PROBE_WALK", "1")
                           != "0" else (Counter(), []))
    return {"t": round(time.time(), 1), "rss": round(rss, 2), "threads": threads,
            "smaps": smaps(), "malloc": mallinfo(), "py_blocks": sys.getallocatedblocks(),
            "gc_objects": gc_objects, "frozen": gc.get_freeze_count(),
            "objects": sum(by_type.values()),
            "types": dict(by_type.most_common(60)), "containers": containers,
            "probe_s": round(time.monotonic() - t0, 3)}


def _probe_loop(path: str, every_s: float) -> None:
    while True:
        time.sleep(every_s)
        try:
            line = json.dumps(probe())
        except Exception as exc:  # a probe must never end the controller
            line = json.dumps({"t": round(time.time(), 1), "error": repr(exc)})
        with open(path, "a") as out:
            out.write(line + "\n")


if __name__ == "__main__":
    if os.environ.get("HOTLINE_SOAK_TRACE_OUT"):
        tracemalloc.start(8)
        signal.signal(signal.SIGUSR1, _dump)
    if probe_out := os.environ.get("HOTLINE_SOAK_PROBE_OUT"):
        every = float(os.environ.get("HOTLINE_SOAK_PROBE_EVERY_S", "60"))
        threading.Thread(target=_probe_loop, args=(probe_out, every), daemon=True,
                         name="soak-probe").start()
    sys.exit(cli.main(sys.argv[1:]))
