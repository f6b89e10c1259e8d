"""Who may call what, as docs/security.md states it: the table between the walk markers, which
tests/integration/test_authz_walk.py keeps equal to its RULES (and proves against the app).
The fuzz reads it to sign in only as roles that may call an operation."""

from __future__ import annotations

import re
from pathlib import Path

from hotline.api.security import Role
from tests.helpers.wired import OWN

DOC = Path(__file__).parents[2] / "docs" / "security.md"
DOC_BEGIN = "<!-- walk table: begin (tests/integration/test_authz_walk.py RULES) -->"
DOC_END = "<!-- walk table: end -->"
EVERY_ROLE = "every role signed in"
NO_TOKEN = "anyone, no token"
#: Who signs in for each role: the agent is agent1, whose seeded resources are "its own".
LOGINS = {role.value: (OWN if role is Role.AGENT else role.value) for role in Role}


def documented_table() -> str:
    text = DOC.read_text()
    assert DOC_BEGIN in text and DOC_END in text, f"{DOC} has no walk table markers"
    return text.split(DOC_BEGIN, 1)[1].split(DOC_END, 1)[0].strip()


def roles_by_operation() -> dict[str, frozenset[str]]:
    """"METHOD path" -> the roles that may call it (every role for public operations)."""
    out = {}
    for line in documented_table().splitlines():
        m = re.match(r"\| `([A-Z]+ [^`]+)` \| ([^|]+) \|", line)
        if m:
            roles = m.group(2).strip()
            out[m.group(1)] = (frozenset(LOGINS) if roles in (EVERY_ROLE, NO_TOKEN)
                               else frozenset(r.strip() for r in roles.split(",")))
    return out


__all__ = ["DOC", "DOC_BEGIN", "DOC_END", "EVERY_ROLE", "LOGINS", "NO_TOKEN",
           "documented_table", "roles_by_operation"]
