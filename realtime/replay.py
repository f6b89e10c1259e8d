"""What a restarted controller learns from history about the time after its last checkpoint,
in the metrics' own terms (docs/metrics.md, "Restart"): counts made at given moments, and
agents' state changes. Metrics.replay applies them in time order; hotline.history.restore
reads them from the stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hotline.core.lifecycle import AgentState

#: offered: the call entered the queue; answered / abandoned / callback: its wait ended so
#: (`wait_s`); node_failure: its wait ended lost to a node failure; failsafe: app_queue took
#: it; handled: its handling ended (talk, hold, acw).
What = Literal["offered", "answered", "abandoned", "callback", "node_failure", "failsafe",
               "handled"]


@dataclass(frozen=True, slots=True)
class Counted:
    at: float
    what: What
    queue: str
    service: str
    agent_id: str = ""
    wait_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    acw_s: float = 0.0
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class StateSeen:
    at: float
    agent_id: str
    state: AgentState
    reason: str = ""


__all__ = ["Counted", "StateSeen", "What"]
