"""The newest ended call ids, for membership, in few bytes an id (the ledger's "recorded it
myself": ControllerState.ended_calls; docs/metrics.md, the soak's RSS). A set of ints would
take ~145 B an id (its table over-allocates); these tables ~28 B."""

from __future__ import annotations

from array import array

#: How many ended call ids the controller remembers at most (the ledger's "recorded it
#: myself"): the newest ENDED_KEPT // 2 always, up to ENDED_KEPT (RecentIds)
ENDED_KEPT = 100_000

_LOW32 = 2**32


def _id_key(call_id: str) -> int | str:
    """An Asterisk uniqueid ("<seconds>.<sequence>", both plain decimal, each under 2**32) as
    one 64-bit int: its seconds in the high bits, its sequence in the low 32; one-to-one, as
    only the canonical spelling is packed. Any other id stays the str it is."""
    seconds, dot, sequence = call_id.partition(".")
    if (dot and seconds.isascii() and seconds.isdigit() and sequence.isascii()
            and sequence.isdigit() and (seconds[0] != "0" or seconds == "0")
            and (sequence[0] != "0" or sequence == "0") and len(seconds) <= 10
            and len(sequence) <= 9):
        high = int(seconds)
        if high < _LOW32:
            return high * _LOW32 + int(sequence)
    return call_id


_MASK64 = 2**64 - 1
_FIBONACCI = 0x9E3779B97F4A7C15  # 2**64 / the golden ratio: spreads sequential keys


class _IdTable:
    """A set of packed ids (1..2**64-1 stored as key + 1; 0 is an empty slot): open
    addressing with linear probing in one array of 8-byte slots, at most half full, so ~16 B
    an id where a set of ints takes ~40 B of slots and ~40 B of int objects. The odd id that
    is not a canonical uniqueid goes to a plain set beside it."""

    __slots__ = ("_bits", "_count", "_others", "_slots")

    def __init__(self) -> None:
        self._bits = 10
        self._slots = array("Q", bytes(8 << self._bits))
        self._count = 0
        self._others: set[str] = set()

    def __len__(self) -> int:
        return self._count + len(self._others)

    def _find(self, stored: int) -> int:
        """The slot holding `stored`, or the empty one where it would go."""
        slots, mask = self._slots, (1 << self._bits) - 1
        i = ((stored * _FIBONACCI) & _MASK64) >> (64 - self._bits)
        while True:
            found = slots[i]
            if found == stored or found == 0:
                return i
            i = (i + 1) & mask

    def add(self, key: int | str) -> None:
        if type(key) is str:
            self._others.add(key)
            return
        stored = key + 1  # type: ignore[operator]
        i = self._find(stored)
        if self._slots[i] == stored:
            return
        self._slots[i] = stored
        self._count += 1
        if 2 * self._count > len(self._slots):
            old = self._slots
            self._bits += 1
            self._slots = array("Q", bytes(8 << self._bits))
            for moved in old:
                if moved:
                    self._slots[self._find(moved)] = moved

    def __contains__(self, key: int | str) -> bool:
        if type(key) is str:
            return key in self._others
        stored = key + 1  # type: ignore[operator]
        return self._slots[self._find(stored)] == stored


class RecentIds:
    """The newest call ids, for membership: two generations of tables of packed ids
    (_id_key, _IdTable); the newer one, once it holds `keep // 2`, becomes the older and the
    older is dropped. So the newest keep // 2 ids are always members (exactly: no false
    positives, no false negatives), and never more than `keep` are. ~16-32 B an id where an
    OrderedDict of the id strings took ~130-190 B (docs/metrics.md, the soak's RSS)."""

    __slots__ = ("_half", "_new", "_old")

    def __init__(self, keep: int = ENDED_KEPT) -> None:
        self._half = max(1, keep // 2)
        self._new = _IdTable()
        self._old = _IdTable()

    def add(self, call_id: str) -> None:
        key = _id_key(call_id)
        if key in self._new:
            return
        self._new.add(key)
        if len(self._new) >= self._half:
            self._old, self._new = self._new, _IdTable()

    def __contains__(self, call_id: object) -> bool:
        if not isinstance(call_id, str):
            return False
        key = _id_key(call_id)
        return key in self._new or key in self._old

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


__all__ = ["ENDED_KEPT", "RecentIds"]
