"""An outage notice campaign on the real Asterisk (#18.6): the campaign job rings an area's
registered numbers through AMI Originate (the spoken-call channel the work orders' notices
use) and plays the notice, Mandarin then English (espeak-ng). Three SIPp phones are the
customers: one answers, one lets the first call ring out and answers the retry, one is busy
every time. Every attempt is stored with its result and times; the starts keep the pacing,
the calls in flight never pass the campaign's bound; the busy number is given up after its
retries; a cancelled campaign places no further call."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from hotline.campaigns import queries
from hotline.campaigns.model import Bounds
from hotline.campaigns.runner import Attempted, CampaignJob
from hotline.core.settings import Settings
from hotline.devtools.sipp_phones import start_agent, start_late_callee, start_refusing_callee
from hotline.history.queries import audit_entries
from hotline.store import db
from hotline.telephony.ivr.prompts import PROMPTS_IN_ROOT, PromptStore
from hotline.telephony.node import box as asterisk_box
from hotline.telephony.spoken_call import SpokenCalls
from tests.helpers import testbed
from tests.helpers.ivr_bed import cli
from tests.helpers.observed import ObservedController
from tests.helpers.phones import Phones
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.asterisk

AREA = "0599"
ANSWERS, LATE, BUSY = "13900000071", "13900000072", "13900000073"
#: the test's own routing of customers' numbers to their SIPp phones (a Local channel per
#: call, as a trunk would route them); the campaign dials `Local/<number>@ROUTES`
ROUTES = "hl-test-customers"
RING_S = 4
CPS = 1.0
BOUNDS = Bounds(max_numbers=10, max_concurrent=2, calls_per_s=CPS, retries=2,
                retry_after_s=2.0, quiet_from_h=0, quiet_to_h=0)


@pytest.fixture
def customers(asterisk_node: Settings, phones: Phones) -> Iterator[dict[str, int]]:
    """The three customers' phones, and the node's routes to them (removed after)."""
    ports = {n: testbed.next_caller_port() for n in (ANSWERS, LATE, BUSY)}
    media = testbed.next_media_port
    phones.started += [
        start_agent("answers", ports[ANSWERS], media(), ring_ms=300, voice=True),
        start_late_callee("late", ports[LATE], media(), ignore=1, ring_ms=300),
        start_refusing_callee("busy", ports[BUSY], media(), refuse=100),
    ]
    for number, port in ports.items():
        for prio, app in enumerate((
                f"Dial(PJSIP/caller/sip:{number}@127.0.0.1:{port})",
                '''ExecIf($["${DIALSTATUS}" = "BUSY"]?Busy(2))''',
                "Hangup()"), start=1):
            cli(asterisk_node, f'dialplan add extension "{number},{prio},{app}" into {ROUTES} '
                               f"replace")
    yield ports
    for number in ports:
        cli(asterisk_node, f"dialplan remove extension {number}@{ROUTES}")


@pytest.fixture
async def pool(conn: asyncpg.Connection, empty_db_url: str) -> AsyncIterator[asyncpg.Pool]:
    await conn.execute(
        "INSERT INTO accounts (account_no, area_code, holder) VALUES"
        " ('5905990001', $1, 'a'), ('5905990002', $1, 'b'), ('5905990003', $1, 'c')", AREA)
    await conn.executemany(
        "INSERT INTO account_phones (phone, account_no) VALUES ($1, $2)",
        [(ANSWERS, "5905990001"), (LATE, "5905990002"), (BUSY, "5905990003")])
    p = await db.create_pool(empty_db_url, max_size=4)
    yield p
    await p.close()


async def _outage(conn: asyncpg.Connection) -> int:
    now = time.time()
    return int(await conn.fetchval(
        "INSERT INTO outages (area_code, kind, starts_at, ends_at, description_zh,"
        " description_en) VALUES ($1, 'unplanned', to_timestamp($2), to_timestamp($3),"
        " '线路故障', 'a line fault') RETURNING id", AREA, now, now + 2 * 3600))


def _job(controller: ObservedController, node: Settings, pool: asyncpg.Pool,
         seen: list[Attempted]) -> CampaignJob:
    prompts = PromptStore(asterisk_box.root_dir(node) / PROMPTS_IN_ROOT.lstrip("/"))
    calls = SpokenCalls(controller.links[testbed.NODE], prompts, f"Local/{{number}}@{ROUTES}",
                        '"95598" <95598>', ring_timeout_s=RING_S)
    return CampaignJob(pool, calls, time.time, every_s=0.5, on_attempt=seen.append)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    top = now = 0
    for _, step in edges:  # (an end sorts before a start at the same instant)
        now += step
        top = max(top, now)
    return top


async def test_the_area_is_told_paced_bounded_with_retries_and_results_stored(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        customers: dict[str, int], conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    campaign = await queries.create(conn, await _outage(conn), BOUNDS, "sup", time.time(), 8.0)
    assert campaign.numbers == {"waiting": 3} and campaign.state == "running"
    assert "0 5 9 9" in campaign.text_zh and "a line fault" in campaign.text_en
    seen: list[Attempted] = []
    job = _job(controller, asterisk_node, pool, seen)
    # the job runs the campaign to its end: every number answered or given up
    await asyncio.wait_for(job.run_campaign(campaign.id), timeout=150)

    attempts = await queries.attempts(conn, campaign.id)
    by_number = {n: [(a.attempt, a.result) for a in attempts if a.number == n]
                 for n in (ANSWERS, LATE, BUSY)}
    errors = "\n".join(p.errors() for p in phones.started)
    assert by_number == {
        ANSWERS: [(1, "played")],
        LATE: [(1, "no_answer"), (2, "played")],
        BUSY: [(1, "busy"), (2, "busy"), (3, "busy")],  # one call and its two retries
    }, (attempts, errors)
    numbers = {r.number: (r.state, r.attempts, r.last_result)
               for r in await queries.numbers(conn, campaign.id, 10, 0)}
    assert numbers == {ANSWERS: ("done", 1, "played"), LATE: ("done", 2, "played"),
                       BUSY: ("unreached", 3, "busy")}
    done = await queries.get(conn, campaign.id)
    assert done is not None and done.state == "done" and done.ended_at is not None
    assert [(a.number, a.attempt, a.result) for a in seen] == [
        (a.number, a.attempt, a.result) for a in sorted(
            attempts, key=lambda a: (a.ended_at or 0, a.id))]

    # times: answered calls carry their answer; every attempt ended after it started
    for a in attempts:
        assert a.ended_at is not None and a.ended_at >= a.started_at
        assert (a.answered_at is not None) == (a.result == "played"), a
    # a no-answer rang for the ring timeout; a retry waited its interval after the attempt
    [late1, late2] = [a for a in attempts if a.number == LATE]
    assert late1.ended_at is not None and late1.ended_at - late1.started_at >= RING_S - 0.5
    assert late2.started_at >= late1.ended_at + BOUNDS.retry_after_s - 0.01
    # pacing: starts at least 1/cps apart; concurrency: never more than the bound in flight
    starts = sorted(a.started_at for a in attempts)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / CPS - 0.01, gaps
    spans = [(a.started_at, a.ended_at or 0.0) for a in attempts]
    assert most_at_once(spans) == BOUNDS.max_concurrent, spans  # reached, never passed


async def test_a_cancelled_campaign_places_no_further_call(
        controller: ObservedController, phones: Phones, asterisk_node: Settings,
        customers: dict[str, int], conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    one_at_a_time = Bounds(max_numbers=10, max_concurrent=1, calls_per_s=1, retries=2,
                           retry_after_s=60.0, quiet_from_h=0, quiet_to_h=0)
    campaign = await queries.create(conn, await _outage(conn), one_at_a_time, "sup",
                                    time.time(), 8.0)
    seen: list[Attempted] = []
    run = asyncio.create_task(_job(controller, asterisk_node, pool, seen)
                              .run_campaign(campaign.id))
    try:
        async def in_flight() -> bool:  # the first customer's call is placed
            return any(a.result == "pending" for a in await queries.attempts(conn, campaign.id))

        await wait_for(in_flight, 30, "the first call placed")
        assert await queries.cancel(conn, campaign.id, "sup", time.time())
        await asyncio.wait_for(run, timeout=60)  # the call in flight ends, then the job stops
    finally:
        run.cancel()
    attempts = await queries.attempts(conn, campaign.id)
    # numbers are called in order; the one in flight was played to its end, no other placed
    assert [(a.number, a.result) for a in attempts] == [(ANSWERS, "played")], attempts
    numbers = {r.number: r.state for r in await queries.numbers(conn, campaign.id, 10, 0)}
    assert numbers == {ANSWERS: "done", LATE: "cancelled", BUSY: "cancelled"}
    [entry] = await audit_entries(conn, "campaign.cancelled")
    assert entry.details == {"campaign_id": campaign.id, "not_called": 2}
    done = await queries.get(conn, campaign.id)
    assert done is not None and (done.state, done.ended_by) == ("cancelled", "sup")
