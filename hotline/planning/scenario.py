"""What-if scenarios: the floor (queues, agents with skills and shifts), the demand per queue
and interval, and the generated day of calls. Plain data; the model is in docs/planning.md.

Times are seconds from the simulated day's local midnight (t = 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hotline.router import AgentConfig, QueueConfig


@dataclass(frozen=True, slots=True)
class Shift:
    """On the floor (logged in and ready) from start_s to end_s; a call running at end_s is
    finished (with its after-call work) before the agent logs out."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not 0 <= self.start_s < self.end_s:
            raise ValueError(f"shift must have 0 <= start < end, got {self.start_s}..{self.end_s}")


@dataclass(frozen=True, slots=True)
class SimAgent:
    config: AgentConfig  # id and skills, as the router takes them
    shifts: tuple[Shift, ...]


@dataclass(frozen=True, slots=True)
class Demand:
    """The calls of one queue: `calls[i]` expected in interval i (Poisson arrivals, uniform
    within it), talk time of mean `talk_s` (exponential, or lognormal with coefficient of
    variation `talk_cv`), after-call work of `acw_s` (fixed), caller patience exponential of
    mean `patience_s` (math.inf: nobody hangs up)."""

    queue: str
    calls: Sequence[float]
    talk_s: float
    talk_cv: float | None = None
    acw_s: float = 0.0
    patience_s: float = math.inf

    def __post_init__(self) -> None:
        if self.talk_s <= 0 or self.acw_s < 0 or self.patience_s <= 0:
            raise ValueError("talk_s > 0, acw_s >= 0 and patience_s > 0 required")
        if any(c < 0 for c in self.calls):
            raise ValueError("calls per interval must be >= 0")


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one run needs; a planner copies it (dataclasses.replace) with other agents,
    skills, shifts or queue policies (overflow, bullseye, routing policy) and compares."""

    queues: Sequence[QueueConfig]
    agents: Sequence[SimAgent]
    demand: Sequence[Demand]
    interval_s: int = 900
    seed: int = 1
    #: from the offer to the answer (the ring); 0: the agent answers at once
    answer_delay_s: float = 0.0
    #: how often the router is told that time passes when a queue overflows or widens its
    #: requirements with the wait (bullseye); other queues need no ticks
    tick_s: float = 1.0
    short_abandon_s: float = 5.0
    label: str = ""
    name_prefix: str = field(default="c", repr=False)  # call ids: c0, c1, ...


@dataclass(frozen=True, slots=True)
class Day:
    """The generated calls, in arrival order: parallel lists (lean for the event loop)."""

    arrival: list[float]
    queue: list[int]  # index into Scenario.demand
    talk: list[float]
    patience: list[float]  # math.inf when the caller never hangs up

    def __len__(self) -> int:
        return len(self.arrival)


def generate_day(scenario: Scenario) -> Day:
    """Draws the day's calls from the scenario's demand with its seed (same seed, same day)."""
    rng = np.random.default_rng(scenario.seed)
    width = float(scenario.interval_s)
    times: list[np.ndarray] = []
    queues: list[np.ndarray] = []
    talks: list[np.ndarray] = []
    patience: list[np.ndarray] = []
    for qi, d in enumerate(scenario.demand):
        counts = rng.poisson(np.asarray(d.calls, dtype=float))
        n = int(counts.sum())
        starts = np.repeat(np.arange(len(counts), dtype=float) * width, counts)
        times.append(starts + rng.random(n) * width)
        queues.append(np.full(n, qi, dtype=np.int64))
        if d.talk_cv is None:
            talks.append(rng.exponential(d.talk_s, n))
        else:
            sigma2 = math.log1p(d.talk_cv * d.talk_cv)
            talks.append(rng.lognormal(math.log(d.talk_s) - sigma2 / 2.0, math.sqrt(sigma2), n))
        if math.isinf(d.patience_s):
            patience.append(np.full(n, math.inf))
        else:
            patience.append(rng.exponential(d.patience_s, n))
    if not times:
        return Day([], [], [], [])
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    return Day(
        arrival=t[order].tolist(),
        queue=np.concatenate(queues)[order].tolist(),
        talk=np.concatenate(talks)[order].tolist(),
        patience=np.concatenate(patience)[order].tolist(),
    )


__all__ = ["Day", "Demand", "Scenario", "Shift", "SimAgent", "generate_day"]
