"""The root of the project's own errors, and the kinds an edge (the API, the CLI) answers by.

Every error the project raises on purpose derives from `HotlineError` and carries a stable id
(`error_id`, kebab-case: what a client switches on) and `details` (a JSON-able dict). Its kind,
the base class below, says whose fault it was, and so how an edge answers it:

| kind            | whose fault                                            | HTTP |
|-----------------|--------------------------------------------------------|------|
| InvalidRequest  | the caller's: the request breaks a rule                | 422  |
| NotFound        | the caller's: no such thing                            | 404  |
| Conflict        | nobody's: the state of things does not allow it now    | 409  |
| Unavailable     | a part we depend on cannot be reached now              | 503  |
| PeerRefused     | a peer (Asterisk) was reached and said no              | 502  |
| HotlineError    | ours: anything else (a bug)                            | 500  |

The API maps kinds to status codes in one place (api/errors.py); a module raises the most
specific kind, never an HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class HotlineError(Exception):
    """The root: `except HotlineError` catches every error the project raises on purpose."""

    error_id: ClassVar[str] = "internal-error"

    def __init__(self, *args: object, error_id: str | None = None,
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(*args)
        if error_id is not None:
            self.error_id = error_id  # type: ignore[misc]  # per instance, over the class's
        self.details: dict[str, Any] = dict(details or {})

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.error_id


class InvalidRequest(HotlineError):
    """The request breaks a rule (a bad value, an illegal move): the caller's fault."""

    error_id = "invalid-request"


class NotFound(HotlineError):
    """No such thing (agent, call, queue, order)."""

    error_id = "not-found"


class Conflict(HotlineError):
    """The state of things does not allow it now (a stale version, a queue still in use)."""

    error_id = "conflict"


class Unavailable(HotlineError):
    """A part this depends on cannot be reached now (an Asterisk node, the database)."""

    error_id = "unavailable"


class PeerRefused(HotlineError):
    """A peer (an Asterisk node) was reached and refused the action."""

    error_id = "peer-refused"


__all__ = ["Conflict", "HotlineError", "InvalidRequest", "NotFound", "PeerRefused", "Unavailable"]
