"""The emergency reserve's detector (应急梯队, docs/metrics.md "Emergency reserve"): pure, over
a queue's service level and an injected moment.

A queue is in **breach** once its service level has stayed under its target for the rule's
`after_s` without a break; it has **recovered** once the level has stayed at or over
target + `margin` for `recover_s`. The gap between the two thresholds is the hysteresis: a
level hovering at the target neither proposes the reserve again nor takes it back. No level
(no call judged in the window) counts as no demand: it breaks a breach's run and counts
towards a recovery. Each run reports once (`step` returns "breach" or "recovered" at the
moment the run is long enough, then None until the run breaks and starts again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Change = Literal["breach", "recovered"]
#: 0.8 + 0.05 is 0.8500000000000001: a level of 0.85 must count as recovered
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class ReserveRule:
    queue: str
    team: str  # the reserve team whose agents get the queue's skills
    after_s: float  # under target this long: the reserve is proposed (or applied: auto)
    recover_s: float  # at or over target + margin this long: it is taken back
    margin: float = 0.05
    auto: bool = False  # apply and take back without a supervisor

    def as_dict(self) -> dict[str, object]:
        return {"queue": self.queue, "team": self.team, "after_s": self.after_s,
                "recover_s": self.recover_s, "margin": self.margin, "auto": self.auto}


@dataclass(slots=True)
class _Run:
    since: float | None = None  # when the current run (under, or recovered) began
    told: bool = False  # this run was reported
    engaged: bool = False  # which run it is: under target (False) or recovered (True)


class ReserveDetector:
    """Per queue, the run under target (while nothing is engaged) or the run recovered
    (while the reserve is proposed, dismissed or applied: `engaged`)."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}

    def step(self, rule: ReserveRule, now: float, level: float | None, target: float,
             engaged: bool) -> Change | None:
        run = self._runs.get(rule.queue)
        if run is None or run.engaged != engaged:  # engaged or released: a new kind of run
            run = self._runs[rule.queue] = _Run(engaged=engaged)
        if engaged:
            ok = level is None or level >= target + rule.margin - _EPS
            need, change = rule.recover_s, "recovered"
        else:
            ok = level is not None and level < target
            need, change = rule.after_s, "breach"
        if not ok:
            run.since, run.told = None, False
            return None
        if run.since is None:
            run.since = now
        if not run.told and now - run.since >= need:
            run.told = True
            return change  # type: ignore[return-value]
        return None

    def under_since(self, queue: str) -> float | None:
        run = self._runs.get(queue)
        return None if run is None else run.since

    def reset(self, queue: str) -> None:
        """The queue's state changed (proposed, applied, taken back): a new run starts."""
        self._runs.pop(queue, None)


__all__ = ["Change", "ReserveDetector", "ReserveRule"]
