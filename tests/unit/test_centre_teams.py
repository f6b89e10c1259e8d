"""The centre file's teams and vendors (#17.3): the roll-up chain agent -> team -> vendor, its
defaults for a file without them, and the broken chains the parser refuses."""

from __future__ import annotations

import pytest

from hotline.centre.model import (
    CentreFileError,
    Rollup,
    VendorKind,
    parse_centre,
)

QUEUES = [{"name": "general", "service": "general"}]


def test_the_roll_up_chain() -> None:
    centre = parse_centre({
        "queues": QUEUES,
        "vendors": [{"id": "own", "kind": "own"}, {"id": "acme", "kind": "outsourced"}],
        "teams": [{"id": "day", "vendor": "own"}, {"id": "acme-1", "vendor": "acme"}],
        "agents": [{"id": "a1", "team": "day"}, {"id": "a2", "team": "acme-1"}],
    })
    assert centre.rollup() == {"a1": Rollup("day", "own", VendorKind.OWN),
                               "a2": Rollup("acme-1", "acme", VendorKind.OUTSOURCED)}


def test_a_file_without_teams_puts_everyone_in_the_own_main_team() -> None:
    centre = parse_centre({"queues": QUEUES, "agents": [{"id": "a1"}]})
    assert centre.rollup() == {"a1": Rollup("main", "own", VendorKind.OWN)}


@pytest.mark.parametrize(("data", "message"), [
    ({"agents": [{"id": "a1", "team": "night"}]}, "team 'night' is not listed"),
    ({"teams": [{"id": "t", "vendor": "acme"}]}, "vendor 'acme' is not listed"),
    ({"teams": [{"id": "T 1"}]}, "must be"),
    ({"teams": [{"id": "t"}, {"id": "t"}]}, "listed twice"),
    ({"vendors": [{"id": "v", "kind": "franchise"}]}, "kind 'franchise'"),
])
def test_broken_chains_are_refused(data: dict, message: str) -> None:
    with pytest.raises(CentreFileError, match=message):
        parse_centre({"queues": QUEUES, **data})
