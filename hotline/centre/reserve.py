"""The emergency reserve (应急梯队, docs/metrics.md "Emergency reserve"): when a queue's service
level stays under target, the reserve team's agents get the queue's skills, proposed to the
supervisor page or applied by the platform itself, and taken back when the level recovers.

Runs in the controller (the active one): every `every_s` it reads the rules (migration 024,
so a rule changed by any API process counts at the next tick), asks `level_of` for each
queue's service level and target (the sliding window's: the metrics), and steps the pure
detector (realtime/reserve.py). Every skill change is the configuration service's one skill
edit (database, audit `agent.updated`, router: a waiting call may be offered at once), made
as `SYSTEM` or as the supervisor who clicked; every reserve step is an audit row of its own
(`reserve.proposed`, `.applied`, `.dismissed`, `.withdrawn`, `.taken_back`, `.rule_set`,
`.rule_deleted`). What an applied reserve added is stored with its rule, so a restarted
controller still takes it back. The state per queue is shown live (`show`: the live feed's
set_reserve): {state: proposed | dismissed | applied, since, team, auto, by, agents,
level, target, recovered}.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from hotline.centre import queries as store
from hotline.centre import reserve_queries as rq
from hotline.core.errors import Conflict, HotlineError, NotFound
from hotline.core.tasks import cancel_and_wait
from hotline.realtime.reserve import ReserveDetector, ReserveRule

log = logging.getLogger("hotline.reserve")

#: who the platform's own reserve steps are audited as
SYSTEM = "system"
EVERY_S = 5.0

#: queue, now -> its service level (None: no call judged) and its target
LevelOf = Callable[[str, float], tuple[float | None, float]]
Show = Callable[[str, dict[str, Any] | None], None]


class SkillEditor(Protocol):
    """The configuration service's part the reserve uses (hotline/centre/service.py)."""

    async def set_skills(self, who: str, agent_id: str, skills: dict[str, int]) -> Any: ...


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class ReserveService:
    def __init__(self, pool: asyncpg.Pool, skills: SkillEditor, level_of: LevelOf,
                 show: Show, *, clock: Callable[[], float] = time.time,
                 every_s: float = EVERY_S) -> None:
        self.pool, self.skills, self.level_of, self.show = pool, skills, level_of, show
        self.clock, self.every_s = clock, every_s
        self.detector = ReserveDetector()
        self._state: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # ---- reading

    def view(self) -> dict[str, dict[str, Any]]:
        return {q: dict(e) for q, e in self._state.items()}

    async def rules(self) -> list[ReserveRule]:
        async with self.pool.acquire() as conn:
            return await rq.rules(conn)

    async def load(self) -> None:
        """The reserves applied before this start (they stay until taken back)."""
        async with self.pool.acquire() as conn:
            applied = await rq.applied(conn)
            rules = {r.queue: r for r in await rq.rules(conn)}
        for queue, a in applied.items():
            rule = rules[queue]
            self._set(queue, {"state": "applied", "since": a.at, "team": rule.team,
                              "auto": rule.auto, "by": a.by, "agents": sorted(a.added),
                              "recovered": False})

    # ---- the detector's steps

    async def tick(self) -> list[tuple[str, str]]:
        """One look at every rule's queue; the (queue, step) made."""
        done: list[tuple[str, str]] = []
        async with self._lock:
            now = self.clock()
            rules = await self.rules()
            for queue in [q for q, e in self._state.items()
                          if e["state"] != "applied" and q not in {r.queue for r in rules}]:
                self._set(queue, None)  # its rule was deleted: nothing to propose
            for rule in rules:
                level, target = self.level_of(rule.queue, now)
                entry = self._state.get(rule.queue)
                change = self.detector.step(rule, now, level, target, entry is not None)
                if change == "breach":
                    if rule.auto:
                        try:
                            await self._apply(rule, SYSTEM, level, target)
                        except Exception:
                            self.detector.reset(rule.queue)  # a whole new run, then again
                            raise
                        done.append((rule.queue, "applied"))
                    else:
                        self._set(rule.queue, self._entry(rule, "proposed", now, SYSTEM,
                                                          level, target))
                        await self._audit(SYSTEM, "reserve.proposed", rule,
                                          level=level, target=target)
                        done.append((rule.queue, "proposed"))
                elif change == "recovered" and entry is not None:
                    if entry["state"] != "applied":
                        self._set(rule.queue, None)
                        await self._audit(SYSTEM, "reserve.withdrawn", rule, level=level)
                        done.append((rule.queue, "withdrawn"))
                    elif rule.auto:
                        await self._take_back(rule, SYSTEM, level)
                        done.append((rule.queue, "taken_back"))
                    else:  # a supervisor applied it: the page offers to take it back
                        self._set(rule.queue, {**entry, "recovered": True})
                        done.append((rule.queue, "recovered"))
        return done

    # ---- a supervisor's (or the platform's) steps

    async def apply(self, queue: str, who: str) -> dict[str, Any]:
        async with self._lock:
            rule = await self._rule(queue)
            entry = self._state.get(queue)
            if entry is not None and entry["state"] == "applied":
                raise Conflict(f"the reserve of {queue} is applied already",
                               error_id="reserve-applied", details={"queue": queue})
            level, target = self.level_of(queue, self.clock())
            await self._apply(rule, who, level, target)
            return dict(self._state[queue])

    async def dismiss(self, queue: str, who: str) -> dict[str, Any]:
        async with self._lock:
            rule = await self._rule(queue)
            entry = self._state.get(queue)
            if entry is None or entry["state"] != "proposed":
                raise Conflict(f"no reserve proposed for {queue}",
                               error_id="reserve-not-proposed", details={"queue": queue})
            self._set(queue, {**entry, "state": "dismissed", "by": who,
                              "since": self.clock()})
            await self._audit(who, "reserve.dismissed", rule)
            return dict(self._state[queue])

    async def take_back(self, queue: str, who: str) -> None:
        async with self._lock:
            rule = await self._rule(queue)
            entry = self._state.get(queue)
            if entry is None or entry["state"] != "applied":
                raise Conflict(f"no reserve applied to {queue}",
                               error_id="reserve-not-applied", details={"queue": queue})
            await self._take_back(rule, who, self.level_of(queue, self.clock())[0])

    # ---- rules (audited; any process may change them: the next tick reads them)

    async def put_rule(self, who: str, rule: ReserveRule) -> bool:
        return await put_rule(self.pool, who, rule)

    async def delete_rule(self, who: str, queue: str) -> None:
        await delete_rule(self.pool, who, queue)

    # ---- internals

    async def _rule(self, queue: str) -> ReserveRule:
        for rule in await self.rules():
            if rule.queue == queue:
                return rule
        raise NotFound(f"no reserve rule for queue {queue}", error_id="no-reserve-rule",
                       details={"queue": queue})

    async def _apply(self, rule: ReserveRule, who: str, level: float | None,
                     target: float) -> None:
        """Each agent of the reserve team gets the queue's skills at their minimum levels
        (those it lacks); what it had before is kept to take back."""
        async with self.pool.acquire() as conn:
            queue = next((q for q in await store.list_queues(conn) if q.name == rule.queue),
                         None)
            agents = [a.spec for a in await store.list_agents(conn, active_only=True)
                      if a.spec.team == rule.team]
        required = dict(queue.required) if queue is not None else {}
        added: rq.Added = {}
        try:
            for agent in agents:
                skills = dict(agent.skills)
                before = {s: skills.get(s, 0) for s, lvl in required.items()
                          if skills.get(s, 0) < lvl}
                if not before:
                    continue  # it serves the queue already
                skills.update({s: required[s] for s in before})
                await self.skills.set_skills(who, agent.id, skills)
                added[agent.id] = before
        except Exception:
            await self._restore(added, who)  # all or nothing
            raise
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            await rq.set_applied(conn, rule.queue, _at(now), who, added)
            await self._audit(who, "reserve.applied", rule, conn=conn, agents=added,
                              level=level, target=target)
        self._set(rule.queue, {**self._entry(rule, "applied", now, who, level, target),
                               "agents": sorted(added)})
        log.info("reserve of %s applied by %s: %s", rule.queue, who, sorted(added))

    async def _take_back(self, rule: ReserveRule, who: str, level: float | None) -> None:
        async with self.pool.acquire() as conn:
            added = (await rq.applied(conn)).get(rule.queue)
        await self._restore(added.added if added else {}, who)
        async with self.pool.acquire() as conn, conn.transaction():
            await rq.set_applied(conn, rule.queue, None, who, None)
            await self._audit(who, "reserve.taken_back", rule, conn=conn,
                              agents=added.added if added else {}, level=level)
        self._set(rule.queue, None)
        log.info("reserve of %s taken back by %s", rule.queue, who)

    async def _restore(self, added: rq.Added, who: str) -> None:
        """Each agent's reserve skills back to their levels before (0: removed)."""
        async with self.pool.acquire() as conn:
            now = {a.spec.id: a.spec.skills for a in await store.list_agents(conn)}
        for agent_id, before in added.items():
            if agent_id not in now:
                continue
            with contextlib.suppress(NotFound):  # deactivated since: nothing to take back
                await self.skills.set_skills(who, agent_id, {**now[agent_id], **before})

    def _entry(self, rule: ReserveRule, state: str, now: float, who: str,
               level: float | None, target: float) -> dict[str, Any]:
        return {"state": state, "since": now, "team": rule.team, "auto": rule.auto,
                "by": who, "agents": [], "recovered": False,
                "level": None if level is None else round(level, 4), "target": target}

    def _set(self, queue: str, entry: dict[str, Any] | None) -> None:
        if entry is None:
            self._state.pop(queue, None)
        else:
            self._state[queue] = entry
        self.show(queue, entry)

    async def _audit(self, who: str, what: str, rule: ReserveRule,
                     conn: asyncpg.Connection | None = None, **details: Any) -> None:
        row = {"queue": rule.queue, "team": rule.team, "auto": rule.auto, **details}
        if conn is not None:
            await store.audit(conn, who, what, row, _at(self.clock()))
            return
        async with self.pool.acquire() as c:
            await store.audit(c, who, what, row, _at(self.clock()))

    # ---- the periodic look

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="emergency-reserve")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.tick()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    HotlineError) as exc:  # the store away, or a skill edit refused
                log.warning("emergency reserve: no look this time (%r)", exc)


async def put_rule(pool: asyncpg.Pool, who: str, rule: ReserveRule) -> bool:
    """Stores a queue's rule, audited (`reserve.rule_set`); True when it is new. The queue and
    the team must exist."""
    async with pool.acquire() as conn, conn.transaction():
        if rule.queue not in {q.name for q in await store.list_queues(conn)}:
            raise NotFound(f"no queue {rule.queue}", error_id="queue-not-found",
                           details={"queue": rule.queue})
        if rule.team not in {t.id for t in await store.list_teams(conn)}:
            raise NotFound(f"no team {rule.team}", error_id="team-not-found",
                           details={"team": rule.team})
        before = await rq.put_rule(conn, rule)
        await store.audit(conn, who, "reserve.rule_set",
                          {"queue": rule.queue, "before": before, "after": rule.as_dict()})
    return before is None


async def delete_rule(pool: asyncpg.Pool, who: str, queue: str) -> None:
    """Deletes a queue's rule, audited; refused while its reserve is applied (take it back
    first: what it added is kept with the rule)."""
    async with pool.acquire() as conn, conn.transaction():
        if queue in await rq.applied(conn):
            raise Conflict(f"the reserve of {queue} is applied: take it back first",
                           error_id="reserve-applied", details={"queue": queue})
        if not await rq.delete_rule(conn, queue):
            raise NotFound(f"no reserve rule for queue {queue}", error_id="no-reserve-rule",
                           details={"queue": queue})
        await store.audit(conn, who, "reserve.rule_deleted", {"queue": queue})


__all__ = ["EVERY_S", "SYSTEM", "ReserveService", "delete_rule", "put_rule"]
