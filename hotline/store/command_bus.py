"""Commands from API processes to the controller over Redis Streams (docs/command-bus.md).

- `CommandBus.call` (an API process): XADD one entry {id, command, args, deadline} to the
  stream `hl:cmd`, then BLPOP the request's own reply list `hl:cmd:reply:<id>` until the
  deadline. A reply is {"ok": true, "result": ...} or {"ok": false, "error": {"status", "id",
  "message", "details"}}: `CommandRefused` carries the latter. No controller active (its lease
  key `hl:cmd:active` is gone) or no reply by the deadline: `ControllerUnavailable` (503).
- `CommandServer.run` (the controller): reads the stream through the consumer group
  `controllers` (XREADGROUP; the reply and XACK in one transaction), and reclaims the
  pending entries of a consumer that died holding them (XAUTOCLAIM). Each entry is checked
  where it enters: a malformed one is answered with 422 `invalid-command` (when its id
  allows a reply) and acked; one past its deadline is dropped unexecuted; a request id is
  executed at most once (a `done` marker set before executing, so a reclaimed entry already
  begun is not run twice). With replicas (a Sentinel pair, docs/deploy.md) the marker must be
  on one before executing (`WAIT`): else a failover could lose the read and the marker, and
  the promoted replica hand the entry out again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.core.errors import HotlineError, Unavailable

log = logging.getLogger("hotline.store.command_bus")

STREAM = "hl:cmd"
GROUP = "controllers"
ACTIVE_KEY = "hl:cmd:active"  # a controller's lease: its consumer name, with an expiry
#: The stream is trimmed to about this many entries (each is acked long before)
STREAM_MAXLEN = 10_000
#: How long a reply waits in its list for the API process that asked (it left: it expires)
REPLY_TTL_S = 30
#: A request id is remembered as executed this long (longer than any deadline)
DONE_TTL_S = 300
MAX_DEADLINE_S = 60.0  # no command may ask to wait longer
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
COMMAND_PATTERN = re.compile(r"[a-z][a-z_]{0,63}")
MAX_ARGS_BYTES = 65_536
_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def reply_key(request_id: str) -> str:
    return f"{STREAM}:reply:{request_id}"


def done_key(request_id: str) -> str:
    return f"{STREAM}:done:{request_id}"


class ControllerUnavailable(Unavailable):
    """No controller took the command by its deadline (none active, or it did not answer)."""

    error_id = "controller-unavailable"


class CommandRefused(HotlineError):
    """The controller answered with an error: `status` is the HTTP status the in-process path
    gives for it, `error_id`/`details` its body."""

    def __init__(self, status: int, error_id: str, message: str,
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, error_id=error_id, details=details)
        self.status = status


class BadCommand(HotlineError):
    """An entry that breaks the bus's rules (answered 422 `invalid-command`)."""

    error_id = "invalid-command"


# ---- the API side


@dataclass
class CommandBus:
    """Sends commands and waits for their replies. `deadline_s`: how long a command may take
    from sending to its reply, unless a call says otherwise."""

    client: aioredis.Redis
    deadline_s: float = 5.0
    clock: Callable[[], float] = time.time

    async def call(self, command: str, args: Mapping[str, Any] | None = None, *,
                   deadline_s: float | None = None) -> Any:
        wait = self.deadline_s if deadline_s is None else deadline_s
        if not (0 < wait <= MAX_DEADLINE_S):
            raise ValueError(f"deadline {wait!r} s is not in (0, {MAX_DEADLINE_S:g}]")
        if not COMMAND_PATTERN.fullmatch(command):
            raise ValueError(f"command {command!r} is not a command name")
        request_id = uuid.uuid4().hex
        deadline = self.clock() + wait
        body = json.dumps(dict(args or {}), allow_nan=False)
        try:
            if not await self.client.exists(ACTIVE_KEY):  # nobody to ask: say so at once
                raise self._unavailable(command, wait, "no controller is active")
            await self.client.xadd(STREAM, {"id": request_id, "command": command,
                                            "args": body, "deadline": repr(deadline)},
                                   maxlen=STREAM_MAXLEN, approximate=True)
        except _LOST as exc:
            raise self._unavailable(command, wait, f"Redis unreachable: {exc}") from None
        got = await self._reply(request_id, deadline)
        if got is None:
            raise self._unavailable(command, wait, "no controller answered")
        reply = json.loads(got[1])
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        raise CommandRefused(int(error.get("status", 500)), str(error.get("id", "internal-error")),
                             str(error.get("message", "the controller refused the command")),
                             error.get("details") or {})

    async def _reply(self, request_id: str, deadline: float) -> Any:
        """The reply, or None by the deadline. Once the entry is sent, a lost connection is
        retried until the deadline: the entry may live on in a promoted replica
        (docs/deploy.md) and be executed there, so answering 503 at once would say "not
        done" of a command that may yet run (the rule: never executed after its 503)."""
        while (left := deadline - self.clock()) > 0:
            try:
                return await self.client.blpop([reply_key(request_id)],
                                                timeout=max(left, 0.01))
            except _LOST as exc:
                log.debug("command bus: waiting for %s through a lost connection: %r",
                          request_id, exc)
                await asyncio.sleep(min(0.1, max(deadline - self.clock(), 0)))
        return None

    @staticmethod
    def _unavailable(command: str, wait: float, why: str) -> ControllerUnavailable:
        return ControllerUnavailable(
            f"{why}: command {command!r} not done within its deadline of {wait:g} s",
            details={"command": command, "deadline_s": wait})


# ---- the controller side

#: command name, arguments -> a JSON-able result; raises CommandRefused for an error reply
Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]
#: an exception the handler raised -> CommandRefused (None: not one the caller should see)
ErrorMap = Callable[[str, dict[str, Any], Exception], CommandRefused | None]


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    command: str
    args: dict[str, Any]
    deadline: float


def parse_entry(fields: Mapping[str, str]) -> Request:
    """An entry's fields checked where they enter; BadCommand says what is wrong."""
    request_id = fields.get("id", "")
    if not ID_PATTERN.fullmatch(request_id):
        raise BadCommand("the request id is not 32 hex digits", details={"field": "id"})
    command = fields.get("command", "")
    if not COMMAND_PATTERN.fullmatch(command):
        raise BadCommand(f"{command[:70]!r} is not a command name", details={"field": "command"})
    raw = fields.get("args", "{}")
    if len(raw) > MAX_ARGS_BYTES:
        raise BadCommand(f"arguments over {MAX_ARGS_BYTES} bytes", details={"field": "args"})
    try:
        args = json.loads(raw)
    except ValueError:
        raise BadCommand("arguments are not JSON", details={"field": "args"}) from None
    if not isinstance(args, dict):
        raise BadCommand("arguments are not a JSON object", details={"field": "args"})
    try:
        deadline = float(fields.get("deadline", ""))
    except ValueError:
        raise BadCommand("the deadline is not a number", details={"field": "deadline"}) from None
    if not math.isfinite(deadline):
        raise BadCommand("the deadline is not finite", details={"field": "deadline"})
    return Request(request_id, command, args, deadline)


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class CommandServer:
    """One consumer of the group. `handle` executes a command; `errors` turns what it raised
    into the reply's error (anything else: 500 `internal-error`, logged; the consumer goes
    on). `claim_idle_s`: an entry another consumer read and has not acked for this long is
    taken over (its consumer is taken for dead)."""

    client: aioredis.Redis
    handle: Handler
    errors: ErrorMap = lambda _c, _a, _e: None
    name: str = field(default_factory=consumer_name)
    claim_idle_s: float = 5.0
    lease_s: float = 3.0
    block_s: float = 0.5
    #: how long a replica may take to confirm a command's marker before it is refused
    replica_wait_s: float = 0.2
    clock: Callable[[], float] = time.time
    #: the controller's term (hotline.store.leadership): when given, the lease is its, and
    #: this consumer reads nothing while the term is not held (one controller acts)
    leading: Callable[[], bool] | None = None
    executed: int = 0
    expired: int = 0
    refused: int = 0
    duplicates: int = 0
    unreplicated: int = 0  # refused unexecuted: no replica confirmed the marker in time
    _replicas: int = field(default=0, init=False)  # the master's, at the last lease renewal
    _last_claim: float = field(default=0.0, init=False)
    _last_renew: float = field(default=0.0, init=False)

    async def ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def renew_lease(self) -> None:
        """Says a controller is active (API processes refuse commands at once without it).
        Under a leadership the lease is the term's, renewed by it: nothing to do here."""
        if self.leading is None:
            await self.client.set(ACTIVE_KEY, self.name, px=int(self.lease_s * 1000))

    def holds_lease(self) -> bool:
        """Whether this consumer renewed the lease within its lifetime (no Redis call: for
        /metrics on scrape)."""
        if self.leading is not None:
            return self.leading()
        return self.clock() - self._last_renew < self.lease_s

    async def release_lease(self) -> None:
        """Gives the lease up at a clean stop (only if it is still this consumer's), so API
        processes refuse commands at once rather than wait for its expiry (under a
        leadership, the term's release does it)."""
        if self.leading is not None:
            return
        try:
            await self.client.eval(_RELEASE, 1, ACTIVE_KEY, self.name)
        except _LOST as exc:  # Redis gone first: the lease expires by itself
            log.warning("command bus lease not released: %r", exc)

    async def run(self) -> None:
        """Serves until cancelled; a lost Redis connection is retried every half second."""
        while True:
            try:
                await self.ensure_group()
                while True:
                    await self.serve_once()
            except _LOST as exc:
                log.warning("command bus: Redis lost (%s); retrying", exc)
                # back on a server (a promoted replica?): renew and recount replicas at once
                self._last_renew = 0.0
                await asyncio.sleep(0.5)

    async def serve_once(self) -> int:
        """One round: renew the lease (at most every third of it), reclaim a dead consumer's
        entries (at most once per `claim_idle_s / 2`), read new ones (blocking up to
        `block_s`). Returns how many entries were handled."""
        now = self.clock()
        if self.leading is not None and not self.leading():
            await asyncio.sleep(self.block_s / 5)  # a standby, or a term that ended: no reads
            return 0
        if now - self._last_renew >= self.lease_s / 3:
            await self.renew_lease()
            self._last_renew = now
            info = await self.client.info("replication")
            self._replicas = int(info.get("connected_slaves", 0))
        handled = 0
        if now - self._last_claim >= self.claim_idle_s / 2:
            self._last_claim = now
            _next, claimed, *_ = await self.client.xautoclaim(
                STREAM, GROUP, self.name, min_idle_time=int(self.claim_idle_s * 1000),
                start_id="0-0", count=100)
            for entry_id, fields in claimed:
                if fields is None:  # trimmed away meanwhile: nothing left to do
                    await self.client.xack(STREAM, GROUP, entry_id)
                    continue
                log.warning("command bus: %s reclaimed entry %s of a dead consumer",
                            self.name, entry_id)
                await self.handle_entry(entry_id, fields)
                handled += 1
        read = await self.client.xreadgroup(GROUP, self.name, {STREAM: ">"}, count=50,
                                            block=int(self.block_s * 1000))
        for _stream, entries in read or ():
            for entry_id, fields in entries:
                await self.handle_entry(entry_id, fields)
                handled += 1
        return handled

    async def handle_entry(self, entry_id: str, fields: Mapping[str, str]) -> None:
        """Executes one entry (at most once), replies, acks. Never raises for the entry's
        own faults."""
        try:
            request = parse_entry(fields)
        except BadCommand as exc:
            self.refused += 1
            log.warning("command bus: entry %s refused: %s", entry_id, exc)
            request_id = fields.get("id", "")
            if ID_PATTERN.fullmatch(request_id):  # the asker can be told
                await self._reply(entry_id, request_id,
                                  _error(422, exc.error_id, exc.message, exc.details))
            else:
                await self.client.xack(STREAM, GROUP, entry_id)
            return
        if self.clock() > request.deadline:  # the asker gave up: never executed late
            self.expired += 1
            log.warning("command bus: %s %s past its deadline, dropped", request.command,
                        request.request_id)
            await self.client.xack(STREAM, GROUP, entry_id)
            return
        marked, replicated = await self._mark_done(request.request_id)
        if not marked:
            self.duplicates += 1  # begun by a consumer that died: at most once
            await self.client.xack(STREAM, GROUP, entry_id)
            return
        if not replicated:
            self.unreplicated += 1
            log.warning("command bus: %s %s refused: no replica confirmed it within %g s",
                        request.command, request.request_id, self.replica_wait_s)
            await self._reply(entry_id, request.request_id, _error(
                503, ControllerUnavailable.error_id,
                f"command {request.command!r} not executed: the Redis replica did not "
                f"confirm it within {self.replica_wait_s:g} s; run it again",
                {"command": request.command}))
            return
        if self.leading is not None and not self.leading():  # the term ended meanwhile
            await self._reply(entry_id, request.request_id, _error(
                503, ControllerUnavailable.error_id,
                f"command {request.command!r} not executed: this controller is no longer the "
                "active one; run it again", {"command": request.command}))
            return
        try:
            result = await self.handle(request.command, request.args)
            reply: dict[str, Any] = {"ok": True, "result": result}
            self.executed += 1
        except Exception as exc:
            refused = exc if isinstance(exc, CommandRefused) else self.errors(
                request.command, request.args, exc)
            if refused is None:
                log.exception("command bus: %s failed", request.command)
                refused = CommandRefused(500, "internal-error",
                                         f"the controller failed on {request.command!r}")
            reply = _error(refused.status, refused.error_id, refused.message, refused.details)
        await self._reply(entry_id, request.request_id, reply)

    async def _mark_done(self, request_id: str) -> tuple[bool, bool]:
        """Sets the request's `done` marker (NX); returns whether it was set and whether a
        replica has it (and, the replication stream being in order, the entry's read before
        it). WAIT counts the writes of its own connection: so one pipeline, one connection.
        No replica attached (one server): nothing to wait for."""
        key = done_key(request_id)
        if not self._replicas:
            return bool(await self.client.set(key, self.name, nx=True, ex=DONE_TTL_S)), True
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(key, self.name, nx=True, ex=DONE_TTL_S)
            pipe.wait(1, max(1, int(self.replica_wait_s * 1000)))
            marked, acked = await pipe.execute()
        return bool(marked), int(acked) >= 1

    async def _reply(self, entry_id: str, request_id: str, reply: Mapping[str, Any]) -> None:
        """The reply and the entry's ack in one round trip (one transaction)."""
        key = reply_key(request_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(reply, default=str))
            pipe.expire(key, REPLY_TTL_S)
            pipe.xack(STREAM, GROUP, entry_id)
            await pipe.execute()


_RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1])"
            " end return 0")


def _error(status: int, error_id: str, message: str,
           details: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"ok": False, "error": {"status": status, "id": error_id, "message": message,
                                   "details": dict(details or {})}}


__all__ = ["ACTIVE_KEY", "GROUP", "STREAM", "BadCommand", "CommandBus", "CommandRefused",
           "CommandServer", "ControllerUnavailable", "Request", "parse_entry", "reply_key"]
