"""Realtime metrics: call and agent events in, the numbers of domain.md out (pure logic).

See metrics.py for the attribution rule and the definitions.
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
