"""Writes a centre as a centre file (centre.toml), the inverse of model.load_centre: the test
bed and the benchmarks hand their centres to `hotline run` this way."""

from __future__ import annotations

import json
from dataclasses import fields

from hotline.centre.model import AgentSpec, Centre, QueueSpec, TeamSpec, VendorSpec


def _value(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(str(v))  # a JSON string is a TOML basic string (escapes included)


def _table(kind: str, spec: AgentSpec | QueueSpec | TeamSpec | VendorSpec) -> list[str]:
    lines = [f"[[{kind}]]"]
    for f in fields(spec):
        v = getattr(spec, f.name)
        if v is not None:  # TOML has no null: an absent key is the default
            lines.append(f"{f.name} = {_value(v)}")
    return [*lines, ""]


def centre_toml(centre: Centre) -> str:
    """The VIP numbers, and every field of every vendor, team, queue and agent, so that
    load_centre reads the same centre back."""
    out: list[str] = []
    if centre.vip_numbers:  # a top-level key: before the first table
        out += [f"vip_numbers = {json.dumps(centre.vip_numbers)}", ""]
    for v in centre.vendors:
        out += _table("vendors", v)
    for t in centre.teams:
        out += _table("teams", t)
    for q in centre.queues:
        out += _table("queues", q)
    for a in centre.agents:
        out += _table("agents", a)
    return "\n".join(out)
