"""The ACD router: pure logic over hotline.core.events events with an injected clock.

router = Router(config, clock)
router.handle(event) / router.agent_command(agent_id, trigger) / router.tick()
    -> list of AgentStateChanged, CallOffered, CallOverflowed events and
       Offer / CallbackDue decisions for the controller to execute.
"""

from hotline.router.agent_records import UNREACHABLE, AgentView
from hotline.router.calls import WaitingView
from hotline.router.decisions import CallbackDue, Considered, Decision, Explanation, Offer
from hotline.router.definitions import (
    LEAST_CALLS,
    LONGEST_IDLE,
    MOST_SKILLED,
    POLICIES,
    REPEAT_BOOST,
    ROUND_ROBIN,
    VIP_BOOST,
    AgentConfig,
    QueueConfig,
    RouterConfig,
    agent_queues,
    qualifies,
    queues_served,
)
from hotline.router.errors import (
    AgentBusy,
    DuplicateAgent,
    IllegalCommand,
    QueueInUse,
    RouterError,
    TooManySkills,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from hotline.router.router import MISSED, Router

__all__ = [
    "LEAST_CALLS",
    "LONGEST_IDLE",
    "MISSED",
    "MOST_SKILLED",
    "POLICIES",
    "REPEAT_BOOST",
    "ROUND_ROBIN",
    "UNREACHABLE",
    "VIP_BOOST",
    "AgentBusy",
    "AgentConfig",
    "AgentView",
    "CallbackDue",
    "Considered",
    "Decision",
    "DuplicateAgent",
    "Explanation",
    "IllegalCommand",
    "Offer",
    "QueueConfig",
    "QueueInUse",
    "Router",
    "RouterConfig",
    "RouterError",
    "TooManySkills",
    "UnknownAgent",
    "UnknownCall",
    "UnknownQueue",
    "WaitingView",
    "agent_queues",
    "qualifies",
    "queues_served",
]
