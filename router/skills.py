"""Skill names <-> the kernel's skill columns (0..63)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hotline.router.errors import TooManySkills


class SkillRegistry:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: dict[str, int] = {}
        self._names: list[str] = []

    def id(self, name: str) -> int:
        """The column of `name`, registering it on first sight."""
        found = self._ids.get(name)
        if found is not None:
            return found
        if len(self._names) >= self._capacity:
            raise TooManySkills(f"more than {self._capacity} skills: cannot add {name!r}")
        self._ids[name] = len(self._names)
        self._names.append(name)
        return self._ids[name]

    def name(self, column: int) -> str:
        return self._names[column]

    def register(self, names: Iterable[str]) -> None:
        for name in names:
            self.id(name)

    def columns(self, required: Mapping[str, int]) -> tuple[list[int], list[int]]:
        """The kernel's (skills, mins) for a requirement mapping, in its order."""
        ids = self._ids
        try:  # every decision: the skills are known (registered with the queues)
            return list(map(ids.__getitem__, required)), list(required.values())
        except KeyError:
            return [self.id(s) for s in required], list(required.values())
