"""The controller: the ACD process, shaped like router/: a small facade (controller.py) with
a handler table, and concern modules of plain functions over one ControllerState (state.py):
delivery (an offer to the caller's channel: a literal transition table), callbacks, failsafe,
wrap_up, resync (with reconcile, pure), the hold desk (callers held over FastAGI), config
(the router's configuration from the centre file)."""

from hotline.process.controller.config import queue_config, router_config
from hotline.process.controller.controller import Controller
from hotline.process.controller.delivery import CONNECT_CONTEXT, HOLD_ARRIVAL_S
from hotline.process.controller.failsafe import FAILSAFE_REASON
from hotline.process.controller.state import Item, Observer

__all__ = [
    "CONNECT_CONTEXT",
    "FAILSAFE_REASON",
    "HOLD_ARRIVAL_S",
    "Controller",
    "Item",
    "Observer",
    "queue_config",
    "router_config",
]
