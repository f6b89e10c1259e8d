"""The AMI client's errors: one root, `AmiError`, under the project's root (core/errors.py).

`except AmiError` catches every way an AMI action can fail; the kind each one also derives from
says whose fault it was (an edge answers by kind without importing telephony):

| error            | kinds                         | when                                        |
|------------------|-------------------------------|---------------------------------------------|
| AmiNotConnected  | Unavailable, ConnectionError  | no session to the node (down, not logged in) |
| AmiTimeout       | Unavailable, TimeoutError     | the action got no (whole) reply in time     |
| AmiActionError   | PeerRefused                   | Asterisk answered `Response: Error`         |
| AmiBadAction     | InvalidRequest                | the action cannot be written (CR/LF in it)  |

The builtin bases keep older callers working: `except TimeoutError` still catches a timeout,
`except ConnectionError` (and OSError) a link that is down.
"""

from __future__ import annotations

from hotline.core.errors import HotlineError, InvalidRequest, PeerRefused, Unavailable


class AmiError(HotlineError):
    """An AMI action failed (the root of this module's errors)."""

    error_id = "ami-error"


class AmiNotConnected(AmiError, Unavailable, ConnectionError):
    """The action could not be sent, or its session dropped before the reply: the link to
    that node is down."""

    error_id = "ami-not-connected"


class AmiFenced(AmiError, Unavailable):
    """An action that would change Asterisk, refused before it was sent: this controller does
    not hold the leadership term (a standby, or a former active that lost its lease)."""

    error_id = "ami-fenced"


class AmiTimeout(AmiError, Unavailable, TimeoutError):
    """The node did not answer the action in time."""

    error_id = "ami-timeout"

    def __init__(self, action: str, timeout_s: float) -> None:
        super().__init__(f"AMI {action}: no reply within {timeout_s:g}s",
                         details={"action": action, "timeout_s": timeout_s})
        self.action, self.timeout_s = action, timeout_s


class AmiActionError(AmiError, PeerRefused):
    """Asterisk answered an action with `Response: Error` (the server said no)."""

    error_id = "ami-action-refused"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI {action} refused: {message}",
                         details={"action": action, "message": message})
        self.action = action
        self.reason = message  # Asterisk's Message header (`message` is the whole sentence)


class AmiBadAction(AmiError, InvalidRequest):
    """An action that cannot be put on the wire (a value would break the framing)."""

    error_id = "ami-bad-action"


__all__ = ["AmiActionError", "AmiBadAction", "AmiError", "AmiFenced", "AmiNotConnected",
           "AmiTimeout"]
