"""What a command's failure tells the client (api/acd.py command_error): the same in one
process and over the command bus (docs/command-bus.md)."""

from __future__ import annotations

from hotline.api.acd import command_error
from hotline.core.errors import PeerRefused, Unavailable


def test_asterisk_refusing_any_action_is_a_502_that_names_no_other_action() -> None:
    error = command_error(PeerRefused("Response: Error (No such channel)"), "a1")
    assert error is not None
    assert (error.status, error.error_id) == (502, "telephony-failed")
    assert "No such channel" in error.message and "spy" not in error.message
    assert error.details == {"agent_id": "a1"}


def test_a_part_out_of_reach_is_a_503_with_its_own_message() -> None:
    """A reserve's skill change or a configuration command whose database is away was told
    "Asterisk refused the spy" (502) before."""
    error = command_error(Unavailable("the database cannot be reached now"), "a1")
    assert error is not None
    assert (error.status, error.error_id) == (503, "unavailable")
    assert error.message == "the database cannot be reached now"
