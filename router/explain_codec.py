"""The compact form of an Explanation, for the explanations kept after the decision.

A decision's Explanation holds dozens of Considered records (explain_limit ranked lower, as many
passed over), about 4 KB as objects; the router keeps 10,000 calls' worth. Kept, each is its
fields as plain tuples, the records as columns (each field of every record together: the same
verdict, policy and skill in a run, the ranks counting up, the idle times side by side), by
marshal (exact floats, every str and int as it was), then raw deflate at zlib's fastest level
with a preset dictionary: one typical explanation (`_DICTIONARY`: the verdicts, policies,
states and the shape of the records), so even the first occurrence of each word is a
back-reference. ~375 bytes an explanation on bench.footprint's floor, where rows and zlib
alone took ~540 (docs/metrics.md, the soak's RSS), for ~10 us more per encoding (done at the
router's tick, off the decision). `decode(encode(e)) == e` for every Explanation; a str
subclass (an enum member) comes back as the plain str it equals.
"""

from __future__ import annotations

import marshal
import zlib

from hotline.core.lifecycle import AgentState
from hotline.router.decisions import (
    NOT_PREFERRED,
    NOT_READY,
    RANKED_LOWER,
    SKILL,
    Considered,
    Explanation,
)
from hotline.router.definitions import POLICIES

_new = tuple.__new__
_LEVEL = 1  # zlib's fastest: most of the gain (repeated words), a fraction of level 6's time
#: raw deflate (no header, no checksum: 6 bytes less) with an 8 KB window: room for the
#: 2.3 KB dictionary and an explanation. The compressor's state is then ~48 KB, where a 32 KB
#: window's (~170 KB, once a call) passes glibc's mmap threshold: freed, it raises the
#: threshold and every later one comes from the heap, whose top it can pin (#15's soak).
#: Same size out, and a third quicker to set up.
_WBITS = -13
_INFLATE_WBITS = -15  # a 32 KB window reads a raw stream of any window
_MEM_LEVEL = 5  # a smaller hash table than the default 8: quicker to set up, same size here


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


def _packed(why: Explanation) -> bytes:
    records = tuple(map(_record, why.passed_over))
    fields = (why.call_id, why.at, why.queue, why.policy, why.requirements, why.reason,
              why.chosen, why.eligible, tuple(zip(*records, strict=True)), why.omitted,
              why.callback_attempt)
    try:
        return marshal.dumps(fields)
    except ValueError:  # marshal takes exact types only: a StrEnum somewhere
        return marshal.dumps(_plain(fields))


def _typical() -> bytes:
    """The preset dictionary: an explanation as the router writes them, 20 ranked and a
    record of each other kind (made up, not any centre's: only the words and the shape
    count). Changing it changes nothing but the sizes: blobs live in memory only."""
    ranked = tuple(f"agent{i}" for i in range(1, 21))
    lower = tuple(Considered(a, RANKED_LOWER, i + 2, POLICIES[0], "skill", 3, 0, "", "",
                             1795478000.0 + i, i) for i, a in enumerate(ranked[1:]))
    others = [Considered(f"agent{100 + i}", NOT_READY, state=str(state))
              for i, state in enumerate(AgentState)]
    others += [Considered("agent200", NOT_READY, state=str(AgentState.NOT_READY),
                          reason="break"),
               Considered("agent201", SKILL, skill="skill", level=1, minimum=2),
               Considered("agent202", NOT_PREFERRED, preferred="agent1")]
    return _packed(Explanation("1795478000.1", 1795478001.25, "queue", " ".join(POLICIES),
                               (("skill", 1),), "policy overflow preferred_agent", ranked[0],
                               ranked, (*lower, *others), omitted=300))


_DICTIONARY = _typical()


def encode(why: Explanation) -> bytes:
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL,
                               zlib.Z_DEFAULT_STRATEGY, _DICTIONARY)
    return deflate.compress(_packed(why)) + deflate.flush()


def decode(blob: bytes) -> Explanation:
    inflate = zlib.decompressobj(_INFLATE_WBITS, _DICTIONARY)
    (call_id, at, queue, policy, requirements, reason, chosen, eligible, columns, omitted,
     attempt) = marshal.loads(inflate.decompress(blob) + inflate.flush())
    return Explanation(
        call_id=call_id, at=at, queue=queue, policy=policy, requirements=requirements,
        reason=reason, chosen=chosen, eligible=eligible,
        passed_over=tuple([_new(Considered, c) for c in zip(*columns, strict=True)]),
        omitted=omitted, callback_attempt=attempt)


__all__ = ["decode", "encode"]
