"""A fixed-bucket histogram cheap enough for the call path (one bisect and two adds per
observation, no lock: one event loop); /metrics reads it on scrape (hotline.process.prom)."""

from __future__ import annotations

from bisect import bisect_left
from math import inf

#: Upper bounds in seconds: the router decides in tens of microseconds; the tail matters
BUCKETS: tuple[float, ...] = (25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3,
                              10e-3, 25e-3, 100e-3, inf)


class Timings:
    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count of observations <= le), as Prometheus's buckets."""
        out, running = [], 0
        for bound, n in zip(self.bounds, self.counts, strict=True):
            running += n
            out.append(("+Inf" if bound == inf else repr(bound), running))
        return out


__all__ = ["BUCKETS", "Timings"]
