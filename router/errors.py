"""Errors the router raises; each names what was wrong and is of one of the project's error
kinds (hotline.core.errors: not found, conflict, invalid request). Illegal agent moves raise
hotline.core.lifecycle.IllegalTransition, which names the state and the trigger."""

from __future__ import annotations

from hotline.core.errors import Conflict, HotlineError, InvalidRequest, NotFound


class RouterError(HotlineError):
    """Base of the router's own errors: the caller misused the router's API."""

    error_id = "router-error"


class UnknownAgent(RouterError, NotFound, KeyError):
    error_id = "no-such-agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent {agent_id!r}")
        self.agent_id = agent_id

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class UnknownCall(RouterError, NotFound, KeyError):
    error_id = "no-such-call"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"unknown or not waiting call {call_id!r}")
        self.call_id = call_id

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownQueue(RouterError, NotFound, KeyError):
    error_id = "no-such-queue"

    def __init__(self, queue: str) -> None:
        super().__init__(f"unknown queue {queue!r}")
        self.queue = queue

    def __str__(self) -> str:
        return str(self.args[0])


class QueueInUse(RouterError, Conflict):
    """Calls wait in the queue (or are offered from it), or another queue overflows to it:
    it cannot be removed until they are gone."""

    error_id = "queue-in-use"


class DuplicateAgent(RouterError, Conflict, ValueError):
    error_id = "duplicate-agent"


class AgentBusy(RouterError, Conflict):
    """The agent holds a call (reserved, ringing, talking, wrap-up) and cannot be removed."""

    error_id = "agent-busy"


class IllegalCommand(RouterError, InvalidRequest, ValueError):
    """Only login, logout, ready, not_ready and end_wrap_up are commands; the rest are events."""

    error_id = "illegal-command"


class TooManySkills(RouterError, InvalidRequest, ValueError):
    error_id = "too-many-skills"
