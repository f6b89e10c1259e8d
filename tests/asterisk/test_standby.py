"""#16.2 end to end: a hot-standby pair of `hotline controller` processes (the real CLI) on
the real Asterisk, PostgreSQL and Redis, SIPp agents and callers. The active is killed
(kill -9) or paused (SIGSTOP) with callers waiting: the standby takes the lease, resyncs and
routes; every caller is answered, none offered twice, no agent booked twice; a paused former
active, resumed, finds its term over and comes back as a standby (docs/architecture.md,
"Two controllers"). Judged from outside: an AMI link of the test's own, and the node's AstDB
epoch. (The takeover's speed is bench.failover's figure, not asserted here.)"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.centre.model import Centre
from hotline.core.events import CallbackRequested, CallQueued, IvrChoice
from hotline.core.settings import Settings
from hotline.devtools.embedded import Services, start_services
from hotline.devtools.failover import (
    ControllerProcess,
    Watch,
    by_call,
    epoch_changed,
    follow,
    pair_settings,
    use_dialplan,
)
from hotline.telephony.ami.link import AmiLink
from tests.helpers import testbed
from tests.helpers.phones import Phones

pytestmark = pytest.mark.asterisk

STEPS = [(1500, "1"), (1200, "3")]  # Mandarin, then billing
CALLS = 10


@dataclass
class Pair:
    a: ControllerProcess
    b: ControllerProcess
    link: AmiLink
    watch: Watch
    services: Services


def _own_base() -> Path:
    base = Path(tempfile.mkdtemp(prefix="hotline-pair-"))
    base.chmod(0o711)  # the embedded PostgreSQL runs as the 'hotline' user
    return base


@pytest.fixture
async def pair(asterisk_node: Settings, centre: Centre) -> AsyncIterator[Pair]:
    base = _own_base()
    shared = asterisk_node.model_copy(update={"data_dir": base / "shared"})
    services: Services = await asyncio.to_thread(start_services, shared)
    # the production guard (5 s): a takeover within it sends nobody to app_queue
    first, second = pair_settings(asterisk_node.model_copy(
        update={"failsafe_guard_s": 5, "wrap_up_s": 1.0}), testbed.AGI_PORT + 4)
    link = AmiLink(asterisk_node)
    await link.connect()
    watch = Watch()
    follower = asyncio.get_running_loop().create_task(follow(link, watch))
    await use_dialplan(link, first, centre)
    a = ControllerProcess("A", first, services.database_url, services.redis_url, base / "a",
                          ready=True)
    b = ControllerProcess("B", second, services.database_url, services.redis_url, base / "b")
    try:
        await a.start()
        await a.wait_line("controller only", 120)
        await b.start()
        await b.wait_line("standby:", 120)
        yield Pair(a, b, link, watch, services)
    finally:
        for proc in (a, b):
            await proc.stop()
        follower.cancel()
        await use_dialplan(link, asterisk_node, centre)  # the session's own again
        await link.close()
        await asyncio.to_thread(services.stop)
        shutil.rmtree(base, ignore_errors=True)


async def callers_waiting(pair: Pair, prefix: str, count: int, deadline_s: float) -> None:
    """Until `count` of these callers are queued and not answered (the agents are busy)."""
    async with asyncio.timeout(deadline_s):
        while True:
            mine = pair.watch.callers(prefix)
            queued = {e.call_id for e in pair.watch.seen
                      if isinstance(e, CallQueued) and e.call_id in mine}
            if len(queued - pair.watch.answered()) >= count:
                return
            await asyncio.sleep(0.05)


async def all_answered(pair: Pair, prefix: str, calls: int, deadline_s: float) -> set[str]:
    mine: set[str] = set()
    try:
        async with asyncio.timeout(deadline_s):
            while True:
                mine = set(pair.watch.callers(prefix))
                if len(mine) >= calls and mine <= pair.watch.answered():
                    return mine
                await asyncio.sleep(0.2)  # (an outside observer: polled)
    except TimeoutError:
        left = mine - pair.watch.answered()
        story = {c: [type(e).__name__ for e in by_call(pair.watch.seen).get(c, [])]
                 for c in left}
        raise AssertionError(f"{len(mine)} callers, not answered: {story}\nA:\n{pair.a.out}"
                             f"\nB:\n{pair.b.out}") from None


def story(pair: Pair, doubled: list[str]) -> str:
    """What each of these calls went through, as the outside observer heard it (with the
    agents' own calls), and both controllers' output: a double offer's diagnosis."""
    events = by_call(pair.watch.seen)
    involved = {w for d in doubled for w in d.split() if w in events}
    lines = [f"calls: {doubled}"]
    for call in sorted(involved):
        lines.append(f"{call}:")
        lines += [f"  {e.at:.3f} {type(e).__name__} {getattr(e, 'agent_id', '')} "
                  f"{getattr(e, 'queue', '')} {getattr(e, 'digit', '')}"
                  for e in events[call]]
    return "\n".join([*lines, f"fenced: {pair.watch.fenced}", f"A:\n{pair.a.out}",
                       f"B:\n{pair.b.out}"])


def start_phones(phones: Phones, prefix: str, agent_talk_ms: int = 2_500) -> None:
    for n in (1, 2, 3, 4):
        phones.agent(n, ring_ms=300, talk_ms=agent_talk_ms)
    phones.caller_stream(prefix, CALLS, 2.0, STEPS, talk_ms=90_000)


async def all_queued(pair: Pair, prefix: str, calls: int, deadline_s: float) -> None:
    """Until `calls` callers of the stream have each walked the IVR into a queue: none is
    pressing its timed keys to nobody while the active is paused (that caller's case is
    test_a_caller_who_comes_while_the_active_is_paused_walks_the_menus, keys timed for it)."""
    async with asyncio.timeout(deadline_s):
        while True:
            mine = pair.watch.callers(prefix)
            queued = {e.call_id for e in pair.watch.seen
                      if isinstance(e, CallQueued) and e.call_id in mine}
            if len(mine) >= calls and queued >= set(mine):
                return
            await asyncio.sleep(0.05)


async def test_kill_9_of_the_active_with_callers_waiting(pair: Pair, phones: Phones) -> None:
    start_phones(phones, "1391")
    await callers_waiting(pair, "1391", 3, 60)
    old = await pair.link.db_get("hotline", "epoch")
    killed = time.time()
    pair.a.signal(signal.SIGKILL)
    took = await epoch_changed(pair.link, old, 30)
    await pair.b.wait_line("took over", 30)
    calls = await all_answered(pair, "1391", CALLS, 120)
    doubled = pair.watch.doubled(calls)
    assert not doubled, (doubled, {c: [(type(e).__name__, getattr(e, "agent_id", ""))
                                       for e in by_call(pair.watch.seen).get(c, [])]
                                   for c in doubled if c in calls})
    print(f"takeover {took - killed:.2f} s; failsafe {len(pair.watch.failsafe() & calls)}")
    if took - killed < 5 - 1:  # in time (the guard): app_queue took nobody
        assert not pair.watch.failsafe() & calls
    assert "take-over: 4 agents restored" in pair.b.out or "agents restored" in pair.b.out


async def test_sigstop_of_the_active_then_sigcont(pair: Pair, phones: Phones) -> None:
    start_phones(phones, "1392", agent_talk_ms=6_000)  # callers still waiting at the pause
    await all_queued(pair, "1392", CALLS, 60)
    await callers_waiting(pair, "1392", 2, 60)
    old = await pair.link.db_get("hotline", "epoch")
    pair.a.signal(signal.SIGSTOP)
    await epoch_changed(pair.link, old, 30)
    await pair.b.wait_line("took over", 30)
    new = await pair.link.db_get("hotline", "epoch")
    lines = len(pair.a.lines)
    pair.a.signal(signal.SIGCONT)
    # the former active finds its term over by itself, acts no more, and starts again as a
    # standby; the node's epoch stays the new one (none of its late writes landed)
    await pair.a.wait_line("stepping down", 30, after=lines)
    await pair.a.wait_line("standby:", 120, after=lines)
    assert await pair.link.db_get("hotline", "epoch") == new
    calls = await all_answered(pair, "1392", CALLS, 120)
    doubled = pair.watch.doubled(calls)
    assert not doubled, story(pair, doubled)
    assert await pair.link.db_get("hotline", "epoch") == new


async def test_a_caller_who_comes_while_the_active_is_paused_walks_the_menus(
        pair: Pair, phones: Phones) -> None:
    """The SIGSTOP hole of #16.2: a paused active's kernel accepts the caller's FastAGI
    connection and nobody answers. The caller must reach the new active's IVR (the session's
    answer lease sends it on; the new active's address is asked) and be served as its keys
    say (Mandarin, then billing), never hung up by a menu key taken for the callback key."""
    for n in (1, 2):
        phones.agent(n, ring_ms=300, talk_ms=2_500)
    old = await pair.link.db_get("hotline", "epoch")
    pair.a.signal(signal.SIGSTOP)
    # keys late enough for the new active's menus (the take-over is within about 3 s)
    phones.dtmf_caller("13933001", [(8_000, "1"), (1_500, "3")], talk_ms=60_000)
    await epoch_changed(pair.link, old, 30)
    await pair.b.wait_line("took over", 30)
    lines = len(pair.a.lines)
    pair.a.signal(signal.SIGCONT)
    await pair.a.wait_line("stepping down", 30, after=lines)
    (call,) = await all_answered(pair, "1393300", 1, 60)
    events = by_call(pair.watch.seen)[call]
    told = story(pair, [call])
    assert [e.digit for e in events if isinstance(e, IvrChoice)] == ["1", "3"], told
    assert [e.queue for e in events if isinstance(e, CallQueued)] == ["billing"], told
    assert not [e for e in events if isinstance(e, CallbackRequested)], told


async def test_a_caller_in_the_menus_when_the_active_is_paused_keeps_its_menu_keys(
        pair: Pair, phones: Phones) -> None:
    """The second SIGSTOP hole: a caller whose IVR the active already answered stays in that
    session through the pause; when the former active resumes and steps down, the session
    ends with the menus unfinished. The caller is queued (general) marked `Keys: menu`: the
    menu key it presses next (1, as for Mandarin) is never taken for the callback key."""
    for n in (1, 2):
        phones.agent(n, ring_ms=300, talk_ms=2_500)
    phones.dtmf_caller("13934001", [(1_500, "1"), (12_000, "3"), (6_000, "1")],
                       talk_ms=60_000)
    async with asyncio.timeout(30):  # the active's IVR took the first key (Mandarin)
        while True:
            if [e for e in pair.watch.seen if isinstance(e, IvrChoice)
                    and e.call_id in pair.watch.callers("1393400")]:
                break
            await asyncio.sleep(0.05)
    old = await pair.link.db_get("hotline", "epoch")
    pair.a.signal(signal.SIGSTOP)
    await epoch_changed(pair.link, old, 30)
    await pair.b.wait_line("took over", 30)
    lines = len(pair.a.lines)
    pair.a.signal(signal.SIGCONT)
    await pair.a.wait_line("stepping down", 30, after=lines)
    (call,) = await all_answered(pair, "1393400", 1, 90)
    events = by_call(pair.watch.seen)[call]
    told = story(pair, [call])
    queued = [e for e in events if isinstance(e, CallQueued)]
    assert queued, told
    assert not [e for e in queued if e.takes_callback_key], told
    assert not [e for e in events if isinstance(e, CallbackRequested)], told
