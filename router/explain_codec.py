"""The compact form of an Explanation, for the explanations kept after the decision.

A decision's Explanation holds dozens of Considered records (explain_limit ranked lower, as many
passed over), about 4 KB as objects; the router keeps 10,000 calls' worth. Kept, each is its
fields as plain tuples (marshal: exact floats, every str and int as it was) compressed with
zlib at its fastest level: the records repeat the same few words (verdicts, policies, skills,
states), so one explanation packs into some 500 bytes. `decode(encode(e)) == e` for every
Explanation; a str subclass (an enum member) comes back as the plain str it equals.
"""

from __future__ import annotations

import marshal
import zlib

from hotline.router.decisions import Considered, Explanation

_new = tuple.__new__
_LEVEL = 1  # zlib's fastest: most of the gain (repeated words), a fraction of level 6's time


def _plain(value: object) -> object:
    """`value` with every str subclass (an enum member) in it as its plain str."""
    if isinstance(value, tuple):
        return tuple(map(_plain, value))
    return str(value) if isinstance(value, str) and type(value) is not str else value


_STATE = Considered._fields.index("state")


def _record(c: Considered) -> tuple[object, ...]:
    """A Considered as a plain tuple: its `state`, the one field the router fills with an enum
    member (AgentState), as the str it equals. (The general _plain below walks every value:
    ~80 us an explanation, most of the encoding's time; this is ~0.3 us a record.)"""
    state = c[_STATE]
    if type(state) is str:
        return tuple(c)
    return (*c[:_STATE], str(state), *c[_STATE + 1:])


def encode(why: Explanation) -> bytes:
    fields = (why.call_id, why.at, why.queue, why.policy, why.requirements, why.reason,
              why.chosen, why.eligible, tuple(map(_record, why.passed_over)), why.omitted,
              why.callback_attempt)
    try:
        packed = marshal.dumps(fields)
    except ValueError:  # marshal takes exact types only: a StrEnum somewhere
        packed = marshal.dumps(_plain(fields))
    return zlib.compress(packed, _LEVEL)


def decode(blob: bytes) -> Explanation:
    (call_id, at, queue, policy, requirements, reason, chosen, eligible, passed, omitted,
     attempt) = marshal.loads(zlib.decompress(blob))
    return Explanation(
        call_id=call_id, at=at, queue=queue, policy=policy, requirements=requirements,
        reason=reason, chosen=chosen, eligible=eligible,
        passed_over=tuple([_new(Considered, c) for c in passed]), omitted=omitted,
        callback_attempt=attempt)


__all__ = ["decode", "encode"]
