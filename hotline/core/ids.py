"""The id types: one rule per kind of name, stated once, used by the API's schemas, the centre
file and the services (as pydantic types, or through `check` where there is no model).

- An agent id is a PJSIP endpoint (pjsip_agents.conf section, `PJSIP/<id>`) and the extension
  the controller sends a caller to in [hotline-connect], whose pattern `_[0-9a-zA-Z].` takes
  a letter or digit and then at least one more character: so 2-40 letters or digits (no '-',
  which Asterisk ignores in extensions, no '.', '_' or anything a config file or a dial
  string would read as syntax).
- A queue name is a router queue and the `*8<queue>` transfer target: 1-40 letters or digits.
- A skill name is a key of the router's skill columns and of stored JSON: 1-40 letters,
  digits or '_'.
- A not-ready reason code (`break`, `meal`): 1-40 lower-case letters, digits or '_', a letter
  first.
- A phone number is a caller id or a number to call back (a work order's caller, the
  `PJSIP/{number}@caller` of a callback's Originate): an optional leading '+' then 1-32
  digits. Nothing else: a '/', '@' or ',' would be read as dial-string or AMI syntax.
- A call id is Asterisk's id of the caller's channel (its uniqueid, "1765152000.42", with the
  system name in front when one is set): a letter or digit, then up to 63 letters, digits,
  '.', '_' or '-'. It names AstDB keys (the ledger), a hold session's argument and a survey's
  call, so nothing else may enter.
- A unit is a work-order unit (`/api/units/{unit}/work-orders`): 1-64 word characters, '.'
  or '-'.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

AGENT_ID_PATTERN = r"^[0-9A-Za-z]{2,40}$"
QUEUE_NAME_PATTERN = r"^[0-9A-Za-z]{1,40}$"
SKILL_NAME_PATTERN = r"^[A-Za-z0-9_]{1,40}$"
UNIT_ID_PATTERN = r"^[\w.-]{1,64}$"
REASON_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
#: a team's or a vendor's id (the centre file, the configuration API, migration 016's CHECK)
GROUP_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
PHONE_NUMBER_PATTERN = r"^\+?[0-9]{1,32}$"
CALL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

AgentId = Annotated[str, StringConstraints(pattern=AGENT_ID_PATTERN)]
QueueName = Annotated[str, StringConstraints(pattern=QUEUE_NAME_PATTERN)]
SkillName = Annotated[str, StringConstraints(pattern=SKILL_NAME_PATTERN)]
UnitId = Annotated[str, StringConstraints(pattern=UNIT_ID_PATTERN)]
ReasonCode = Annotated[str, StringConstraints(pattern=REASON_CODE_PATTERN)]
GroupId = Annotated[str, StringConstraints(pattern=GROUP_ID_PATTERN)]
PhoneNumber = Annotated[str, StringConstraints(pattern=PHONE_NUMBER_PATTERN)]

#: What each rule says, for error messages ("agent id 'x-1' must be ...").
RULES = {
    AGENT_ID_PATTERN: "2-40 letters or digits (it is a SIP endpoint and a dialplan extension)",
    QUEUE_NAME_PATTERN: "1-40 letters or digits",
    SKILL_NAME_PATTERN: "1-40 letters, digits or _",
    UNIT_ID_PATTERN: "1-64 letters, digits, _, . or -",
    REASON_CODE_PATTERN: "lower-case letters, digits and _ (at most 40), a letter first",
    GROUP_ID_PATTERN: "lower-case letters, digits, _ and - (at most 40), a letter first",
    PHONE_NUMBER_PATTERN: "1-32 digits, an optional leading +",
    CALL_ID_PATTERN: "a letter or digit, then up to 63 letters, digits, ., _ or -",
}
_COMPILED = {p: re.compile(p) for p in RULES}


def is_valid(pattern: str, value: object) -> bool:
    """Whether `value` is a str that keeps the rule `pattern` (one of the *_PATTERN above)."""
    # fullmatch: with re.match, '$' would also match before a final newline
    return isinstance(value, str) and _COMPILED[pattern].fullmatch(value) is not None


def phone_or_withheld(value: str) -> str:
    """A caller id as the hotline keeps it: the phone number, or "" when it is withheld or
    anything else (Asterisk's "<unknown>", a name, a URI): events never carry the raw text."""
    return value if is_valid(PHONE_NUMBER_PATTERN, value) else ""


def rule(pattern: str) -> str:
    """The rule in words, for a message."""
    return RULES[pattern]


__all__ = [
    "AGENT_ID_PATTERN",
    "CALL_ID_PATTERN",
    "GROUP_ID_PATTERN",
    "PHONE_NUMBER_PATTERN",
    "QUEUE_NAME_PATTERN",
    "REASON_CODE_PATTERN",
    "SKILL_NAME_PATTERN",
    "UNIT_ID_PATTERN",
    "AgentId",
    "GroupId",
    "PhoneNumber",
    "QueueName",
    "ReasonCode",
    "SkillName",
    "UnitId",
    "is_valid",
    "phone_or_withheld",
    "rule",
]
