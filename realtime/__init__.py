"""Realtime metrics: call and agent events in, the numbers of domain.md out (pure logic).

See metrics.py for the attribution rule and the definitions.
"""

from .config import MetricsConfig, QueueTargets
from .figures import AgentFigures, ClosedInterval, QueueFigures
from .metrics import Metrics, Scope

__all__ = [
    "AgentFigures",
    "ClosedInterval",
    "Metrics",
    "MetricsConfig",
    "QueueFigures",
    "QueueTargets",
    "Scope",
]
