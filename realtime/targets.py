"""Configuration of the metrics: interval length, thresholds, window, per-queue targets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class QueueTargets:
    """Service-level target of a queue: `sl_target` of calls answered within `sl_seconds`."""

    sl_seconds: float = 20.0
    sl_target: float = 0.8


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """interval_s: reporting interval (15 min); short_abandon_s: an abandon with wait <= this is
    short; window_s: sliding window; targets: per queue (others get `default_targets`);
    day_start_offset_s: local midnight's offset from UTC midnight (8 * 3600 for China), which
    also aligns the intervals."""

    interval_s: int = 900
    short_abandon_s: float = 5.0
    window_s: int = 1800
    targets: dict[str, QueueTargets] = field(default_factory=dict)
    day_start_offset_s: int = 0
    default_targets: QueueTargets = field(default_factory=QueueTargets)

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or DAY_S % self.interval_s:
            raise ValueError(f"interval_s must divide a day, got {self.interval_s}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")

    def targets_for(self, queue: str | None) -> QueueTargets:
        if queue is None:
            return self.default_targets
        return self.targets.get(queue, self.default_targets)

    def interval_index(self, t: float) -> int:
        """Intervals are counted from the epoch in local time, so they align with local days."""
        return math.floor((t + self.day_start_offset_s) / self.interval_s)

    def interval_start(self, index: int) -> float:
        return float(index * self.interval_s - self.day_start_offset_s)

    def day_index(self, t: float) -> int:
        return math.floor((t + self.day_start_offset_s) / DAY_S)

    def day_start(self, t: float) -> float:
        return float(self.day_index(t) * DAY_S - self.day_start_offset_s)
