"""The controller's Prometheus series (docs/operations.md), read on scrape from counters the
call path keeps anyway: nothing here runs per event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector


class PlatformCollector(Collector):
    """`controller`: hotline.process.controller.Controller; `writer`: the history writer;
    `lease`: the command bus's CommandServer (None: no bus)."""

    def __init__(self, controller: Any, writer: Any = None, lease: Any = None) -> None:
        self.controller, self.writer, self.lease = controller, writer, lease

    def collect(self) -> Iterator[Metric]:
        ctl = self.controller
        yield GaugeMetricFamily("hotline_calls_in_system",
                                "Calls the router holds: waiting, offered or talking",
                                value=ctl.router.calls_in_system)
        yield CounterMetricFamily("hotline_offers", "Offers the router made to agents",
                                  value=ctl.offers)
        decide = ctl.decide
        yield HistogramMetricFamily("hotline_decision_seconds",
                                    "The router's time per event (its decisions)",
                                    buckets=decide.cumulative(), sum_value=decide.total)
        lag = GaugeMetricFamily("hotline_ami_lag_seconds",
                                "Receive time minus the AMI Timestamp of the node's last event",
                                labels=["node"])
        for node, seconds in sorted(ctl.ami_lag_s.items()):
            lag.add_metric([node], seconds)
        yield lag
        up = GaugeMetricFamily("hotline_ami_link_up", "1 while the node's AMI link is logged in",
                               labels=["node"])
        for node, link in sorted(ctl.links.items()):
            up.add_metric([node], 1.0 if link.logged_in.is_set() else 0.0)
        yield up
        if self.writer is not None:
            yield GaugeMetricFamily("hotline_writer_backlog",
                                    "History records in the outbox not yet in PostgreSQL",
                                    value=self.writer.pending)
        if self.lease is not None:
            yield GaugeMetricFamily("hotline_lease_held",
                                    "1 while this controller holds the command bus's lease",
                                    value=1.0 if self.lease.holds_lease() else 0.0)


def registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of the process (CPU, memory, file descriptors) and `collectors`."""
    reg = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=reg)
    for collector in collectors:
        reg.register(collector)
    return reg


__all__ = ["PlatformCollector", "registry"]
