"""Where a supervisor's listen / whisper / barge audio may go: the one rule (#14.7).

The spy rings a phone into a live call and plays the call's audio to it, so the phone is a
privilege: a supervisor's audio goes only to its own endpoint (the one configured for it in
`supervisor_endpoints`, else its own agent's endpoint when the login is also an agent's);
naming another is refused with 403 `not-your-endpoint`. An admin may name any endpoint (an
admin already configures every endpoint). docs/security.md states the rule.
"""

from __future__ import annotations

from hotline.api.errors import ApiError
from hotline.api.security import Claims, Role, User
from hotline.core.settings import Settings


def own_endpoint(settings: Settings, username: str, record: User | None) -> str:
    """The user's own phone, or "" when it has none."""
    configured = settings.supervisor_endpoints.get(username, "")
    return configured or (record.agent_id if record is not None else "")


def spy_endpoint(settings: Settings, claims: Claims, record: User | None,
                 requested: str | None) -> str:
    """The endpoint the spy may ring for this user: `requested`, or its own when None."""
    own = own_endpoint(settings, claims.username, record)
    if requested is None or requested == own:
        if not own:
            raise ApiError(409, "no-own-endpoint",
                           f"{claims.username} has no phone of its own to listen on "
                           "(supervisor_endpoints)", {"username": claims.username})
        return own
    if Role.ADMIN in claims.roles:
        return requested
    raise ApiError(403, "not-your-endpoint",
                   f"spy audio goes only to your own endpoint ({own or 'none configured'})",
                   {"supervisor_endpoint": requested, "own_endpoint": own})


__all__ = ["own_endpoint", "spy_endpoint"]
