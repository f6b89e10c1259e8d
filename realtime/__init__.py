"""Realtime metrics: call and agent events in, the centre's figures out (pure logic).

The figures, their formulas and the interval attribution rule: docs/metrics.md.
"""

from hotline.realtime.figures import AgentFigures, ClosedInterval, QueueFigures
from hotline.realtime.metrics import Metrics, Scope
from hotline.realtime.targets import MetricsConfig, QueueTargets

__all__ = [
    "AgentFigures",
    "ClosedInterval",
    "Metrics",
    "MetricsConfig",
    "QueueFigures",
    "QueueTargets",
    "Scope",
]
