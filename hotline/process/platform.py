"""The whole platform in one process: PostgreSQL and Redis (embedded when no URL is given),
the controller, the history recorder, the metrics and (when the API is there) the HTTP side.

`hotline run` and `hotline demo` both start it through `Platform`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import uvicorn

from hotline.api import create_app
from hotline.api.health import Readiness
from hotline.api.live_broadcast import LiveBroadcaster
from hotline.api.security import PostgresUserRepository
from hotline.campaigns.runner import Attempted, CampaignJob
from hotline.centre.model import Centre
from hotline.centre.reserve import ReserveService
from hotline.centre.service import Configuration, load_or_seed_centre, load_or_seed_ivr
from hotline.core.deployment import check_deployment
from hotline.core.events import CallEntered
from hotline.core.settings import Settings
from hotline.devtools.embedded import Services, start_services
from hotline.history import unfinished
from hotline.history.recorded import StoreHistory
from hotline.history.repeat_calls import RepeatDetector
from hotline.history.service import Recorder
from hotline.ivr_menu.service import LiveMenu, StoreOutages, SurveyToStore
from hotline.process import prom, readiness
from hotline.process.acd_server import AcdServer
from hotline.process.controller import Controller
from hotline.process.gc_policy import settle_after_start
from hotline.process.health_listener import HealthListener
from hotline.process.live_state_sync import LiveStateSync
from hotline.process.restart import FiguresKeeper
from hotline.process.serving import HTTP_GRACE_S, HttpServer, bounded
from hotline.process.wiring import (
    NodeAgentFiles,
    attach_controller,
    local_nodes,
    metrics_config,
    services_for,
)
from hotline.realtime import Metrics
from hotline.recordings import service as recordings
from hotline.store import db
from hotline.store.acd_views import AcdViews, ViewsUnavailable
from hotline.store.command_bus import ACTIVE_KEY
from hotline.store.leadership import Leadership, LeaseThread
from hotline.store.live import FanoutBackend, LiveState, connect_redis
from hotline.store.records import CallRecord
from hotline.store.writer import Writer
from hotline.telephony.agi.server import Agi, AgiGate, AgiServer, Handler, by_script
from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.ivr.session import IvrApp
from hotline.telephony.notice_call import VoiceNotices
from hotline.work_orders.deadline_job import DeadlineJob, RunResult

log = logging.getLogger("hotline.process.platform")
#: Recording files the hourly job checks for (a stat each, in a thread): 2.4 M a day, so
#: 180 days of a national centre's recordings (47 M) are each looked at every 20 days
MISSING_CHECKS_PER_RUN = 100_000

#: How far back the recordings catch-up looks for calls whose recording row was lost
RECORDINGS_CATCH_UP_S = 2 * 86400.0
# how long a start waits for the last run's outbox to reach PostgreSQL before it reads history
UNFINISHED_FLUSH_S = 30.0
# how long the calls left on the line wait for every node's first resync before they settle
LEFT_ON_LINE_WAIT_S = 60.0
#: Set by a controller whose term is over on an IVR session that still reached it: the
#: dialplan tries the next controller's address (asterisk-config/extensions.conf)
AGI_AWAY_VAR = "HL_AGI_AWAY"


def _secrets(centre: Centre) -> list[tuple[str, str]]:
    return [(a.id, a.secret) for a in centre.agents]


@dataclass
class Platform:
    settings: Settings
    centre: Centre
    emit_line: Callable[[str], None] = print
    #: False: `hotline controller`, no HTTP side here (API processes, `hotline api`, serve it
    #: and send commands over the bus); the live feed still publishes through Redis
    serve_http: bool = True

    services: Services | None = field(init=False, default=None)
    controller: Controller = field(init=False)
    metrics: Metrics = field(init=False)
    writer: Writer = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _recording_tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _routing: bool = field(init=False, default=False)  # the controller is up (its resync run)
    _stopping: bool = field(init=False, default=False)
    #: when this controller began as a standby (None: it led from its start)
    _standby_since: float | None = field(init=False, default=None)
    #: set when the term ended other than by this platform's stop: it must step down
    stepped_down: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _term_lost: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    async def start(self) -> None:
        """Everything, once this controller is the active one: a standby waits here (its AMI
        links connected and followed, its prompts built) until it acquires the lease."""
        await self.prepare()
        await self.lead()
        await self.take_over()

    async def prepare(self) -> None:
        """What a standby has ready: the stores connected, the centre and the IVR loaded, the
        controller's AMI links following the nodes; nothing written to Asterisk or to the
        shared stores (history, figures, agent records)."""
        # an unsafe deployment (a development set-up beyond loopback, a shipped secret outside
        # development) or an unfit FastAGI secret stops the start before anything runs
        check_deployment(self.settings, _secrets(self.centre))
        AgiGate(self.settings)
        self.services = await asyncio.to_thread(start_services, self.settings)
        if not self.settings.database_url:
            self.emit_line(f"embedded PostgreSQL at {self.services.database_url}")
            orphan = self.services.postgres.adopted_pid if self.services.postgres else None
            if orphan is not None:
                self.emit_line(f"embedded PostgreSQL: adopted the PostgreSQL server a previous "
                               f"run left running (pid {orphan}); it is stopped with this one")
        if not self.settings.redis_url:
            self.emit_line(f"embedded Redis at {self.services.redis_url}")
        conn = await db.connect(self.services.database_url)
        try:
            applied = await db.migrate(conn)
        finally:
            await conn.close()
        if applied:
            self.emit_line(f"database migrated: {', '.join(applied)}")
        self.pool = await db.create_pool(self.services.database_url)
        # the centre lives in the database (edited through the API); a fresh one is seeded
        # from centre.toml
        self.centre = await load_or_seed_centre(self.pool, self.centre)
        check_deployment(self.settings, _secrets(self.centre))  # the agents of the database
        self.writer = Writer(self.services.database_url, self.settings.data_dir / "writer",
                             sync_interval_s=self.settings.outbox_sync_interval_s)
        if self.writer.pending:
            self.emit_line(f"history outbox: {self.writer.pending} records from the last run"
                           " replayed into PostgreSQL")
        await self.writer.start()
        self.redis = connect_redis(self.services.redis_url)
        # the term: kept on a thread of its own (LeaseThread), read here as a cached boolean
        self.leadership = Leadership(None, ttl_s=self.settings.lease_s,
                                     sole=len(self.settings.controller_agi) <= 1)
        self.controller = Controller(self.settings, self.centre, emit_line=self.emit_line,
                                     term=self.leadership)
        # Today's figures as the last run left them (its checkpoint, then the history rows
        # written after it), before anything reads or feeds the metrics; checkpoints from now.
        metrics = Metrics(metrics_config(self.centre, self.settings))
        metrics.declare_queues(q.name for q in self.centre.queues)  # in the centre's order
        self.keeper = FiguresKeeper(self.pool, metrics)
        # The live side: metrics fed by every controller item, published through Redis.
        self.api = services_for(self.settings, self.centre,
                                FanoutBackend(self.services.redis_url), metrics=metrics)
        attach_controller(self.api, self.controller)
        self.api.db_pool = self.pool  # history reads
        self.api.writer = self.writer  # audit rows of agent commands, through the outbox
        self.api.users = PostgresUserRepository(self.pool)
        self.repeats = RepeatDetector(self.pool, self.controller.mark_repeat,
                                      self.settings.repeat_window_s)
        self.controller.observe(self._check_repeat)
        self.metrics = self.api.metrics
        recorder = Recorder(self.writer, self.settings.recordings_dir,
                            self.settings.recordings_dir_in_root, self.settings.short_abandon_s,
                            metrics=self.metrics, on_recorded_call=self._recorded)
        self.recorder = recorder
        self.controller.observe(recorder.observe)
        # calls that ended while no controller listened: the node's ledger, at every resync
        self.controller.use_history(StoreHistory(self.writer, self.pool))
        # The IVR over FastAGI: the menu tree from the database (seeded from
        # asterisk-config/ivr.toml, changed through the API), prompts built at start. It
        # listens before the controller's heartbeat tells the dialplan it is back: a caller
        # arriving in between would find no IVR and press the keys meant for its menus (1 for
        # Mandarin) while waiting, where they would be taken for the callback key (#15.2).
        menu, version = await load_or_seed_ivr(self.pool)
        prompts = PromptStore.for_settings(self.settings)
        await asyncio.to_thread(prompts.build, menu)
        self.survey = SurveyToStore(self.writer, self.pool, self.api.live.survey_alert,
                                    counted=self.api.live.survey_answer)
        ivr_app = IvrApp(menu, prompts, StoreOutages(self.pool), self.survey, time.time)
        live_menu = LiveMenu(ivr_app, prompts, version)
        # one FastAGI port: the menus and the survey, and the callers held for the router
        self.agi = AgiServer(self.settings, by_script(
            {"ivr": self._ivr(ivr_app), "survey": self._ivr(ivr_app), "hold": self._hold}))
        self._live_menu = live_menu
        self._prompts = prompts  # the work orders' spoken notices are built with them too
        # the AMI links, followed: a standby's warm part (it acts on nothing)
        await self.controller.connect()

    async def lead(self) -> None:
        """Until this controller holds the lease (a single controller: at once)."""
        loop = asyncio.get_running_loop()
        elected = asyncio.Event()

        def tell(event: asyncio.Event) -> Callable[[], None]:
            def told() -> None:
                with contextlib.suppress(RuntimeError):  # this loop has closed: nobody to tell
                    loop.call_soon_threadsafe(event.set)
            return told

        self._lease = LeaseThread(self.services.redis_url, self.leadership,
                                  on_elected=tell(elected), on_lost=tell(self._term_lost))
        await asyncio.to_thread(self._lease.start)
        try:
            await asyncio.wait_for(asyncio.shield(elected.wait()), self.settings.lease_s / 4)
        except TimeoutError:
            holder = await self.redis.get(ACTIVE_KEY)
            self.emit_line(f"standby: controller {self.leadership.name} follows the nodes; "
                           f"the active one is {holder or 'unknown'}")
            self._standby_since = time.time()
            await elected.wait()
        self.emit_line(f"active: controller {self.leadership.name} holds the lease "
                       f"(epoch {self.leadership.epoch})")

    async def take_over(self) -> None:
        """The active's part: the last run's leftovers settled, today's figures restored,
        FastAGI listening, the agents as the last active left them, every node resynced, then
        routing, the command bus and the HTTP side."""
        began = time.monotonic()
        self._tasks.append(asyncio.create_task(self._watch_term(), name="term"))
        # Calls a crash left on the line: closed in history before the figures are restored
        # from it (the outbox's replay first: their rows may still be in it).
        if not await self.writer.flush(UNFINISHED_FLUSH_S):
            log.warning("history outbox not drained within %.0f s: unfinished calls may be"
                        " missed", UNFINISHED_FLUSH_S)
        async with self.pool.acquire() as conn:
            closed, talking = await unfinished.close(conn)
        if closed:
            self.emit_line(f"history: {len(closed)} calls left on the line by the last run"
                           " closed (ended while no controller ran)")
        try:
            restored = await self.keeper.restore()
            if restored.last_known is not None:
                self.emit_line(f"today's figures restored: {restored.describe()}")
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            # a checkpoint this code cannot read must not keep the ACD down: start from zero
            log.error("today's figures not restored (unreadable checkpoint): %r", exc)
            self.emit_line("today's figures NOT restored: unreadable checkpoint (see the log)")
        survey = self._live_menu.menu.survey
        await self.keeper.restore_quality(self.api.live.quality, survey.satisfied_to,
                                          survey.dissatisfied_from)
        self.keeper.start()
        live_menu = self._live_menu
        await self.agi.start()
        self.emit_line(f"FastAGI at {self.settings.agi_listen_host}:{self.settings.agi_port}: IVR, "
                       "survey and the hold (waiting callers)")
        # the agents as the last active published them (none: a first start)
        try:
            _active, records = await AcdViews(self.redis).agents()
        except ViewsUnavailable as exc:
            log.warning("agents' records not read at take-over: %s", exc)
            records = []
        await self.controller.take_over(records)
        self._routing = True
        if self._standby_since is not None:
            self.emit_line(f"took over: epoch {self.leadership.epoch}, routing "
                           f"{time.monotonic() - began:.2f} s after the lease")
        if talking:  # still on the line, in a ledger, or neither: known after the resyncs
            self._tasks.append(asyncio.create_task(self._settle_left_on_line(talking),
                                                   name="calls left on the line"))
        # configuration changes reach the database, the router and the node's files at once;
        # the node may have been started from centre.toml: bring its agent files in line
        self.configuration = Configuration(
            self.pool, self.controller,
            agent_files=NodeAgentFiles(local_nodes(self.settings), self.controller.links,
                                       webrtc=self.settings.webrtc_agents),
            live=self.api.live)
        self.api.configuration = self.configuration
        await self.configuration.sync()
        # the emergency reserve (应急梯队): rules from the database, levels from the metrics
        self.reserve = ReserveService(self.pool, self.configuration, self._reserve_level,
                                      self.api.live.set_reserve)
        await self.reserve.load()
        self.api.reserve = self.reserve
        self._tasks.append(asyncio.create_task(self.reserve.run(), name="emergency reserve"))
        self._tasks.append(asyncio.create_task(self._close_intervals(), name="intervals"))
        self.retention = recordings.RetentionPolicy(
            default_days=self.settings.recording_retention_days,
            by_service=tuple(self.settings.recording_retention_by_service.items()))
        self._tasks.append(asyncio.create_task(self._retention(), name="retention"))
        self._tasks.append(asyncio.create_task(self._catch_up_recordings(),
                                               name="recordings catch-up"))
        # work orders' deadlines: escalations and customer notices (spoken over a call)
        link = next(iter(self.controller.links.values()))
        voice = VoiceNotices(link, self._prompts, self.settings.callback_dial,
                             f'"{self.settings.hotline_number}" <{self.settings.hotline_number}>',
                             self.settings.ring_timeout_s)
        self.deadlines = DeadlineJob(self.pool, time.time, self.settings.work_order_deadline_job_s,
                                     self.settings.work_order_notice_before_s, voice,
                                     on_run=self._deadlines_ran)
        self._tasks.append(asyncio.create_task(self.deadlines.run(), name="work-order deadlines"))
        # outage notice campaigns: the same spoken calls, paced and bounded per campaign
        self.campaigns = CampaignJob(self.pool, voice.calls, time.time,
                                     self.settings.campaign_job_s,
                                     self.settings.campaign_utc_offset_h,
                                     self.settings.campaign_max_calls,
                                     on_attempt=self._campaign_attempted)
        self._tasks.append(asyncio.create_task(self.campaigns.run(), name="outage campaigns"))
        # Live state as Redis hashes, once a second (pub/sub carries the changes in between)
        self._tasks.append(LiveStateSync(LiveState(self.redis), self.metrics, self.api.live,
                                         [q.name for q in self.centre.queues]).start())
        # Commands from API processes over Redis Streams, and the agent records they read
        self.acd_server = AcdServer(self.controller, self.redis, self.configuration,
                                    live_side=self.api, leadership=self.leadership,
                                    reserve=self.reserve)
        await self.acd_server.start()
        self.configuration.ivr = live_menu
        self.configuration.ivr_queues = live_menu.used_queues  # those cannot be removed
        # /readyz and /metrics: on the HTTP side here, else on the health listener
        self.prometheus = prom.registry(prom.PlatformCollector(
            self.controller, self.writer, self.acd_server.server))
        links = lambda: self.controller.links  # noqa: E731
        if not self.serve_http:  # the live feed runs without an app's lifespan
            await self._listen_health(Readiness({
                "ami": readiness.ami(links),
                "postgres": readiness.postgres_or_outbox(self.pool, self.writer),
                "redis": readiness.redis(self.redis),
                "lease": readiness.lease_held(self.redis, lambda: self.acd_server.server.name),
            }))
            await self.api.start()
            self.emit_line("controller only: API processes (`hotline api`) serve HTTP and send "
                           "commands over Redis")
            settle_after_start()
            return
        # The HTTP side in this process: REST, websockets, the wallboard.
        self.api.prometheus = self.prometheus
        self.api.readiness = Readiness({
            "postgres": readiness.postgres(self.pool),
            "redis": readiness.redis(self.redis),
            "controller": readiness.lease_held(self.redis, lambda: self.acd_server.server.name),
            "ami": readiness.ami(links),
            "agi": readiness.agi(self.agi),
        })
        app = create_app(self.settings, self.api)
        config = uvicorn.Config(app, host=self.settings.api_host,
                                port=self.settings.api_port, ws="websockets-sansio",
                                log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=HTTP_GRACE_S)
        self.http = HttpServer(config)
        self._http_task = asyncio.create_task(self.http.serve(), name="http")
        self._tasks.append(self._http_task)
        async with asyncio.timeout(10):
            while not self.http.started:  # noqa: ASYNC110 (uvicorn has no event for it)
                await asyncio.sleep(0.02)
        base = f"http://{self.settings.api_host}:{self.settings.api_port}"
        self.emit_line(f"API at {base}/docs, wallboard at {base}/wallboard")
        # /ws/live on its own port too (the pages ask /api/live-endpoint where)
        self.live_server = LiveBroadcaster.for_app(app, self.settings)
        await self.live_server.start()
        self.emit_line(f"live socket at ws://{self.live_server.host}:{self.live_server.port}/ws/live")
        settle_after_start()  # the collector no longer walks what start-up built

    async def _listen_health(self, checks: Readiness) -> None:
        if not self.settings.health_port:
            return
        self.health = HealthListener(self.settings.health_host, self.settings.health_port,
                                     checks, self.prometheus)
        await self.health.start()
        self.emit_line(f"health at http://{self.settings.health_host}:"
                       f"{self.health.bound_port}/readyz (and /healthz, /metrics)")

    def _ivr(self, ivr_app: Handler) -> Handler:
        """The IVR (and the survey), while this controller's term lasts. A session that
        reaches it after its term ended (a paused active resumed, its FastAGI port not yet
        closed) is told so (HL_AGI_AWAY): the dialplan tries the next address, where the new
        active answers, rather than sending the caller on without its menus (or skipping
        its survey)."""

        async def ivr(agi: Agi) -> None:
            if not self.leadership.leading:
                await agi.set_variable(AGI_AWAY_VAR, "1")
                return
            await ivr_app(agi)

        return ivr

    async def _hold(self, agi: Agi) -> None:
        """A waiting caller's hold session, once the controller routes as the active one.
        Before that (and once its term ended) the session ends at once: the dialplan asks
        again (the next controller's address, then a second later) and hands the caller to
        the failsafe if no controller comes back within its guard
        (docs/dialplan-contract.md)."""
        if self._routing and self.leadership.leading:
            await self.controller.holds.serve(agi)

    async def _watch_term(self) -> None:
        """The term ended (lease lost, or not renewed in time): this controller stops acting
        at once (every action to Asterisk is already refused: AmiLink.may_act) and steps
        down: no new FastAGI session, held callers released to the dialplan (which finds the
        new active's address), then `stepped_down` for the CLI to start again as a standby."""
        await self._term_lost.wait()
        if self._stopping:
            return
        self._routing = False
        self.emit_line(f"stepping down: {self.leadership.why_lost} (epoch "
                       f"{self.leadership.epoch})")
        with contextlib.suppress(AttributeError):
            await bounded(self.agi.stop(), "FastAGI server")
        with contextlib.suppress(AttributeError):
            self.controller.holds.close()
        self.stepped_down.set()

    def _check_repeat(self, item: object) -> None:
        if isinstance(item, CallEntered) and not self._stopping:
            task = asyncio.create_task(self._repeat(item))
            self._recording_tasks.add(task)
            task.add_done_callback(self._recording_tasks.discard)

    async def _repeat(self, entered: CallEntered) -> None:
        try:
            verdict = await self.repeats.check(entered.call_id, entered.caller, entered.at)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("repeat check of %s failed: %r", entered.call_id, exc)
            return
        if verdict.repeat:
            order = f", open work order {verdict.open_order}" if verdict.open_order else ""
            self.emit_line(f"call {entered.call_id}  repeat caller {entered.caller}{order}")

    def _recorded(self, call_id: str, host_path: str) -> None:
        if self._stopping:  # the writer closes: the file stays, its checksum is not stored
            return
        task = asyncio.create_task(self._keep_recording(call_id, host_path))
        self._recording_tasks.add(task)
        task.add_done_callback(self._recording_tasks.discard)

    async def _keep_recording(self, call_id: str, host_path: str) -> None:
        """Checksum and duration once MixMonitor has closed the file (a moment after the
        hang-up), through the outbox: kept even while PostgreSQL is down."""
        try:
            await recordings.submit_when_closed(self.writer.submit, call_id, Path(host_path))
        except (OSError, wave.Error, TimeoutError, ValueError) as exc:
            log.error("recording of %s not stored: %r", call_id, exc)

    async def _retention(self) -> None:
        """Once an hour: delete recordings past retention (files first, then rows), and look
        for files gone missing, MISSING_CHECKS_PER_RUN rows a run, round the table."""
        after = ""
        while True:
            await asyncio.sleep(3600)
            try:
                async with self.pool.acquire() as conn:
                    done = await recordings.enforce_retention(conn, self.retention, time.time())
                    scan = await recordings.find_missing(conn, after, MISSING_CHECKS_PER_RUN)
                after = scan.next_after
                if done.deleted or scan.missing:
                    self.emit_line(f"recordings: {len(done.deleted)} past retention deleted, "
                                   f"{len(scan.missing)} missing")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.error("retention run failed: %r", exc)

    def _campaign_attempted(self, a: Attempted) -> None:
        self.emit_line(f"campaign {a.campaign_id}  {a.number} attempt {a.attempt}: {a.result}"
                       f" ({a.detail}) -> {a.next_state}")

    def _deadlines_ran(self, run: RunResult) -> None:
        for e in run.escalated:
            self.emit_line(f"work order {e.order_id}  {e.deadline} deadline missed: "
                           f"escalated to level {e.level}")
        for order_id, _, delivered, detail in run.notices:
            self.emit_line(f"work order {order_id}  customer notice "
                           f"{'delivered' if delivered else 'failed'}: {detail}")

    async def _settle_left_on_line(self, calls: list[CallRecord]) -> None:
        """Once every node has been resynced (or LEFT_ON_LINE_WAIT_S passed: a node that is
        down lost its calls anyway), the calls an agent was talking on at the last run's
        crash that neither the resync nor a node's ledger accounted for are written."""
        deadline = time.monotonic() + LEFT_ON_LINE_WAIT_S
        while (self.controller.resyncs < len(self.controller.links)  # noqa: ASYNC110 (a count)
               and time.monotonic() < deadline):
            await asyncio.sleep(0.2)
        try:
            written = await self.controller.settle_left_on_line(calls)
        except Exception as exc:  # PostgreSQL away: the open rows stay for the next start
            log.warning("calls left on the line not settled (tried at the next start): %r",
                        exc)
            return
        if written:
            self.emit_line(f"history: {len(written)} calls on the line at the last run's crash"
                           " ended while no controller ran: written")

    async def _catch_up_recordings(self) -> None:
        """At start and once a minute: the recording rows the call path lost (a crash, a
        stall past the wait for the file, a PostgreSQL outage) stored from the calls' rows
        of the last two days; a missing file is reported once."""
        reported: set[str] = set()
        while True:
            try:
                async with self.pool.acquire() as conn:
                    report = await recordings.catch_up(
                        conn, since=time.time() - RECORDINGS_CATCH_UP_S)
                if report.stored:
                    self.emit_line(f"recordings: {len(report.stored)} caught up")
                for call_id in set(report.missing) - reported:
                    log.error("recording of %s is missing", call_id)
                reported.update(report.missing)
            except (OSError, wave.Error, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("recordings catch-up failed (tried again in a minute): %r", exc)
            await asyncio.sleep(60)

    async def _close_intervals(self) -> None:
        """Intervals close on time even when no call comes: one check a second."""
        while True:
            await asyncio.sleep(1.0)
            self.recorder.close_intervals(time.time())

    def _reserve_level(self, queue: str, now: float) -> tuple[float | None, float]:
        """The emergency reserve's measure: the queue's service level over the sliding
        window (the last 30 minutes), and its target."""
        f = self.metrics.queue_figures(queue, "window", now)
        return f.service_level, f.sl_target if f.sl_target is not None else 0.8

    async def stop(self) -> None:
        """Stops every part, each within a deadline: a part that will not stop is logged and
        left behind rather than holding the rest (and the process) for ever. The order: the
        screens and the HTTP side, then what feeds calls in (FastAGI, the controller), then
        the tasks they spawned, then the stores those tasks write to."""
        self._stopping = True
        with contextlib.suppress(AttributeError):
            await bounded(self.live_server.stop(), "live socket")
        with contextlib.suppress(AttributeError):
            self.http.should_exit = True  # its lifespan stops the live feed and fan-out
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._http_task), HTTP_GRACE_S + 2)
        if not self.serve_http:
            with contextlib.suppress(AttributeError):
                await bounded(self.api.stop(), "live feed")
        with contextlib.suppress(AttributeError):
            await bounded(self.health.stop(), "health listener")
        with contextlib.suppress(AttributeError):  # API processes get 503 from now on
            await bounded(self.acd_server.stop(), "command bus")
        with contextlib.suppress(AttributeError):
            await bounded(self.agi.stop(), "FastAGI server")
            refused = self.agi.refused + self.controller.holds.refused
            if refused:  # each was logged as it came (docs/security.md)
                self.emit_line("FastAGI refused: " + ", ".join(
                    f"{reason} {n}" for reason, n in sorted(refused.items())))
        with contextlib.suppress(AttributeError):
            await bounded(self.controller.stop(), "controller")
        lost = self.stepped_down.is_set()
        with contextlib.suppress(AttributeError):  # a standby takes over at once
            await bounded(asyncio.to_thread(self._lease.stop), "leadership")
        with contextlib.suppress(AttributeError):  # no call moves a figure now: the last one
            # (a former active writes none: the new active's checkpoints are the figures)
            await bounded(self.keeper.abandon() if lost or not self.leadership.epoch
                          else self.keeper.stop(), "metrics checkpoint")
        # no new call reaches the recorder now: what it spawned is all there is
        for task in [*self._tasks, *self._recording_tasks]:
            task.cancel()
        await bounded(asyncio.gather(*self._tasks, *self._recording_tasks,
                                      return_exceptions=True), "background tasks")
        with contextlib.suppress(AttributeError):
            if not await bounded(self.pool.close(), "PostgreSQL pool"):
                self.pool.terminate()  # a connection was never released: drop them all
        with contextlib.suppress(AttributeError):
            await bounded(self.writer.stop(), "history writer")
        with contextlib.suppress(AttributeError):
            await bounded(self.redis.aclose(), "Redis client")
        if self.services is not None:
            await asyncio.to_thread(self.services.stop)
