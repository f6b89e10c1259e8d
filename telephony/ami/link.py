"""The asyncio shell around the AMI codec: one connection to one Asterisk node.

panoramisk keeps what it does well (login, reconnects); our protocol class replaces its parser
with the sans-I/O `AmiCodec`, and events go to one owned queue, in wire order, instead of
panoramisk's fire-and-forget callbacks. Our actions are written and their replies matched by
ActionID here, but what a reply says is read by the pure functions of replies.py: this module
moves bytes. On top we add what panoramisk lacks: a Ping that goes unanswered marks the link
dead, a refused connect retries with backoff and stops on close(), and every (re)login is
announced so the controller can resync. Every failure of an action is an `AmiError`
(errors.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, Literal

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from hotline.core.errors import Unavailable
from hotline.core.events import Event
from hotline.core.settings import AsteriskNode, Settings
from hotline.core.tasks import cancel_and_wait
from hotline.telephony.ami import replies
from hotline.telephony.ami.codec import AmiCodec, AmiMessage
from hotline.telephony.ami.errors import (
    AmiActionError,
    AmiError,
    AmiFenced,
    AmiNotConnected,
    AmiTimeout,
)
from hotline.telephony.ami.mapper import EventMapper
from hotline.telephony.ami.replies import (
    DEVICE_REACHABLE,
    LiveChannel,
    QueueMember,
    Reply,
    ReplyAssembler,
    RtpStats,
)

log = logging.getLogger(__name__)


SpyMode = Literal["listen", "whisper", "barge"]
_ACTION_IDS = replies.action_ids()  # one sequence for every session of the process


class _CodecProtocol(AMIProtocol):
    """panoramisk's protocol with our codec doing the parsing and our actions matched here
    (panoramisk's own, the Login, still go to its futures)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.codec = AmiCodec()
        self.bytes_in = 0  # what the node has said on this connection (the Ping watchdog's)
        self.pending: dict[str, tuple[ReplyAssembler, asyncio.Future[Reply]]] = {}

    def send(self, data: Any, as_list: bool = False) -> Any:
        """panoramisk's own writes (its Login, its Ping): the same check as ours
        (replies.check_line) before panoramisk writes them."""
        name = str(data.get("Action") or data.get("action") or "")
        for key, value in data.items():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                replies.check_line(name, f"{key}: {item}")
        return super().send(data, as_list)

    def send_ours(self, name: str, fields: Mapping[str, str]) -> asyncio.Future[Reply]:
        """Writes the action; the future gets its whole reply."""
        if self.closed or self.transport.is_closing():
            raise AmiNotConnected("AMI connection closed")  # nothing would answer
        action_id = next(_ACTION_IDS)
        data = replies.encode_action(name, action_id, fields)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.pending[action_id] = (ReplyAssembler(name, fields), future)
        self.transport.write(data)
        return future

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        link: AmiLink | _ActionSession | None = getattr(self.factory, "link", None)
        if link is not None and link.tap is not None:
            link.tap.write(data)  # a transcript, byte for byte, for replay tests
        self.bytes_in += len(data)
        pending, responses = self.pending, self.responses
        for msg in self.codec.feed(data):
            # most messages are events while no action waits: no header to look up
            action_id = msg.get("ActionID") if pending or responses else None
            if action_id and action_id in pending:
                assembler, future = pending[action_id]
                reply = assembler.feed(msg)
                if reply is not None:
                    # (a future whose caller gave up is cancelled: its reply is dropped here)
                    del pending[action_id]
                    if not future.done():
                        future.set_result(reply)
            elif action_id and action_id in responses:
                self.handle_message(Message.from_line(msg.text))  # the Login's reply
            elif link is not None:
                link.on_message(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        # the replies of actions in flight will not come on this connection
        pending, self.pending = self.pending, {}
        for _, future in pending.values():
            if not future.done():
                future.set_exception(AmiNotConnected(
                    "AMI connection lost before the reply" + (f": {exc}" if exc else "")))
        super().connection_lost(exc)


class _Manager(Manager):
    """panoramisk's Manager that backs off between attempts and stops once closed."""

    link: AmiLink

    def connect(self, run_forever: bool = False, on_startup: Any = None,
                on_shutdown: Any = None) -> Any:
        if self.link.closing:
            return None
        # panoramisk waits `reconnect_timeout` after a failed or lost connection: make it
        # grow with each attempt (reset at login), so a dead node is not hammered.
        link = self.link
        link.attempts += 1
        self.reconnect_timeout = min(link.backoff_base_s * 2 ** (link.attempts - 1),
                                     link.backoff_max_s)
        return super().connect(run_forever, on_startup, on_shutdown)

    def connection_lost(self, exc: Any) -> None:
        self.link.on_link_down(exc)
        if self.link.closing:
            return
        super().connection_lost(exc)


async def _send(protocol: _CodecProtocol, name: str, timeout_s: float,
                fields: Mapping[str, str]) -> Reply:
    """One action on one session: its whole reply, `Response: Error` included (the readers
    of replies.py decide what a refusal means)."""
    try:
        return await asyncio.wait_for(protocol.send_ours(name, fields), timeout_s)
    except TimeoutError:
        raise AmiTimeout(name, timeout_s) from None


class _ActionSession:
    """A second AMI session to the node, with events off, for the action on the routing path
    (Redirect). Asterisk serves each manager session with a thread of its own that both runs
    its actions and writes its events; on the event session a Redirect waits behind whatever
    backlog of events that thread is writing (at 50 calls/s, hundreds a second)."""

    def __init__(self, link: AmiLink, target: AsteriskNode) -> None:
        self.closing = False
        self.attempts = 0
        self.backoff_base_s, self.backoff_max_s = link.backoff_base_s, link.backoff_max_s
        self.tap: BinaryIO | None = None
        self.logged_in = asyncio.Event()
        self.manager = _Manager(
            host=target.host, port=target.ami_port,
            username=target.ami_user, secret=target.ami_secret, events="off",
            ping_delay=3600, ping_interval=3600, reconnect_timeout=1,
            protocol_factory=_CodecProtocol, on_login=self._logged_in,
            on_disconnect=lambda *_: None, on_connect=lambda *_: None,
        )
        self.manager.link = self  # type: ignore[assignment]

    def _logged_in(self, manager: Manager) -> None:
        self.attempts = 0
        self.logged_in.set()

    def on_message(self, msg: AmiMessage) -> None:
        pass  # events are off: only replies, which go to their actions' futures

    def on_link_down(self, exc: Any) -> None:
        self.logged_in.clear()

    def usable(self) -> bool:
        return self.logged_in.is_set() and self.manager.protocol is not None

    def close(self) -> None:
        self.closing = True
        self.manager.close()


#: Actions that change nothing in Asterisk: a standby (or a controller whose term ended) may
#: still send these; any other is refused before it is written (AmiFenced).
READ_ONLY_ACTIONS = frozenset({
    "Ping", "CoreShowChannels", "CoreStatus", "DBGet", "DBGetTree", "DeviceStateList",
    "Getvar", "PJSIPShowEndpoint", "PJSIPShowEndpoints", "QueueStatus"})


class AmiLink:
    """One Asterisk node: typed events out (to `events`), typed actions in."""

    def __init__(self, settings: Settings, on_login: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 node: AsteriskNode | None = None) -> None:
        """`node`: which Asterisk to reach (default: the settings' own node)."""
        target = node or settings.nodes()[0]
        self.settings = settings
        self.node = target.name
        self.mapper = EventMapper(self.node, clock=clock,
                                  recording_dir=settings.recordings_dir_in_root)
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.closing = False
        self.attempts = 0  # connection attempts since the last login
        self.backoff_base_s = settings.ami_reconnect_base_s
        self.backoff_max_s = settings.ami_reconnect_max_s
        self.ping_interval_s = settings.ami_ping_interval_s
        self.ping_timeout_s = settings.ami_ping_timeout_s
        self.ping_misses = settings.ami_ping_misses
        self.late_pings = 0  # Pings unanswered in time while the node kept talking
        self.tap: BinaryIO | None = None  # when set, every byte received is copied there
        self.logged_in = asyncio.Event()
        self.logins = 0
        self.on_login_hook = on_login
        self.on_down_hook: Callable[[], None] | None = None
        #: whether this controller may change Asterisk (its leadership term, a cached
        #: boolean); None: always. Reads (READ_ONLY_ACTIONS) are allowed to a standby.
        self.may_act: Callable[[], bool] | None = None
        self.fenced = 0  # actions refused because the term was not held
        self._watchdog: asyncio.Task[None] | None = None
        self._manager = _Manager(
            host=target.host, port=target.ami_port,
            username=target.ami_user, secret=target.ami_secret,
            ping_delay=3600, ping_interval=3600,  # our watchdog pings instead
            reconnect_timeout=1, protocol_factory=_CodecProtocol,
            on_login=self._logged_in, on_disconnect=lambda *_: None,
            on_connect=lambda *_: None,
        )
        self._manager.link = self
        self._actions = _ActionSession(self, target)

    # -- life

    async def connect(self, timeout_s: float = 10.0) -> None:
        self._manager.loop = asyncio.get_running_loop()
        self._manager.connect()
        try:
            await asyncio.wait_for(self.logged_in.wait(), timeout_s)
        except TimeoutError:
            self.closing = True
            self._manager.close()  # or panoramisk keeps retrying in the background
            host, port = self._manager.config["host"], self._manager.config["port"]
            raise AmiNotConnected(
                f"no AMI login to node {self.node} at {host}:{port} within {timeout_s:.0f}s: "
                "is Asterisk running there (`hotline asterisk start`) with this AMI user "
                "and secret?") from None
        self._watchdog = asyncio.create_task(self._watch(), name=f"ami-watchdog-{self.node}")
        # the action session logs in on its own; until it does, actions use the event session
        self._actions.manager.loop = self._manager.loop
        self._actions.manager.connect()

    async def close(self) -> None:
        self.closing = True
        await cancel_and_wait(self._watchdog)
        self._actions.close()
        self._manager.close()

    def _logged_in(self, manager: Manager) -> None:
        self.logins += 1
        self.attempts = 0
        self.logged_in.set()
        log.info("AMI %s: logged in (login #%d)", self.node, self.logins)
        if self.on_login_hook:
            self.on_login_hook()

    def on_link_down(self, exc: Any) -> None:
        self.logged_in.clear()
        if not self.closing:
            log.warning("AMI %s: link down (%s); reconnecting", self.node, exc)
            if self.on_down_hook:
                self.on_down_hook()

    async def _watch(self) -> None:
        """A Ping with no answer in time, the node silent all the while, means the link is
        dead: drop it, reconnect. A node that keeps sending while its Ping is late is
        overloaded, not gone: dropping it would release every caller held there and feed the
        overload, so such a link goes only after `ping_misses` late Pings in a row."""
        late_in_a_row = 0
        while not self.closing:
            await asyncio.sleep(self.ping_interval_s)
            protocol = self._manager.protocol
            if self.closing or not self.logged_in.is_set() or protocol is None:
                continue
            heard_before = getattr(protocol, "bytes_in", 0)
            try:
                await self.action("Ping", timeout_s=self.ping_timeout_s)
                late_in_a_row = 0
                continue
            except AmiNotConnected:
                continue  # already down: the reconnect is under way
            except AmiError:
                pass
            if protocol is not self._manager.protocol:
                continue  # the connection was replaced meanwhile
            late_in_a_row += 1
            talking = getattr(protocol, "bytes_in", 0) > heard_before
            if talking and late_in_a_row < self.ping_misses:
                self.late_pings += 1
                log.warning("AMI %s: Ping late (%d in a row) while the node still sends; "
                            "keeping the link", self.node, late_in_a_row)
                continue
            log.warning("AMI %s: no Ping reply%s; dropping the link", self.node,
                        f" ({late_in_a_row} in a row)" if talking else " and nothing heard")
            late_in_a_row = 0
            if not protocol.closed:
                protocol.connection_lost(None)

    # -- inbound

    def on_message(self, msg: AmiMessage) -> None:
        event = self.mapper.map(msg)
        if event is not None:
            self.events.put_nowait(event)

    # -- actions

    async def _ask(self, name: str, timeout_s: float = 5.0, **fields: str) -> Reply:
        """The whole reply, refusals included (AmiNotConnected, AmiTimeout)."""
        protocol = self._manager.protocol
        if not self.logged_in.is_set() or protocol is None:
            raise AmiNotConnected(f"AMI {self.node} is not connected")
        if self.may_act is not None and name not in READ_ONLY_ACTIONS and not self.may_act():
            self.fenced += 1
            raise AmiFenced(f"AMI {self.node}: {name} refused: this controller is not the "
                            "active one")
        return await _send(protocol, name, timeout_s, fields)

    async def action(self, name: str, timeout_s: float = 5.0, **fields: str) -> Reply:
        """Any action; its reply unless Asterisk refused it (AmiActionError)."""
        return replies.checked(await self._ask(name, timeout_s, **fields))

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        fields = {"Channel": channel, "Context": context, "Exten": exten,
                  "Priority": str(priority)}
        session = self._actions
        if session.usable():
            try:
                replies.checked(await _send(session.manager.protocol, "Redirect", 2.0, fields))
                return
            except Unavailable:
                # a silent (or just dropped) action session: drop it (it reconnects) and use
                # the event session
                log.warning("AMI %s: action session did not answer; reconnecting it", self.node)
                protocol = session.manager.protocol
                if protocol is not None and not protocol.closed:
                    protocol.connection_lost(None)
        await self.action("Redirect", **fields)

    async def setvar(self, channel: str, variable: str, value: str) -> None:
        await self.action("Setvar", Channel=channel, Variable=variable, Value=value)

    async def hangup(self, channel: str, cause: int = 16) -> None:
        await self.action("Hangup", Channel=channel, Cause=str(cause))

    async def db_put(self, family: str, key: str, value: str) -> None:
        await self.action("DBPut", Family=family, Key=key, Val=value)

    async def db_get(self, family: str, key: str) -> str | None:
        return replies.db_value(await self._ask("DBGet", Family=family, Key=key))

    async def db_tree(self, family: str) -> dict[str, str]:
        """Every key of an AstDB family and its value (DBGetTree), e.g. the ledger."""
        return replies.db_tree(await self._ask("DBGetTree", timeout_s=10.0, Family=family),
                               family)

    async def db_del(self, family: str, key: str) -> None:
        """Deletes one key; a key that is not there is no error (Asterisk says "could not
        be deleted" for both; the next read tells)."""
        reply = await self._ask("DBDel", Family=family, Key=key)
        if reply.refused and "could not be deleted" not in reply.message.lower():
            replies.checked(reply)

    async def originate(self, dial: str, context: str, exten: str, channel_id: str,
                        variables: dict[str, str], caller_id: str, timeout_s: int) -> None:
        """Places a call (async: Asterisk queues it; the reply ends with its
        OriginateResponse). `channel_id` becomes the new channel's Uniqueid and so its
        Linkedid: the call keeps its call id."""
        await self.action(
            "Originate", Channel=dial, Context=context, Exten=exten, Priority="1",
            ChannelId=channel_id, CallerID=caller_id, Timeout=str(timeout_s * 1000),
            Async="true", Variable=",".join(f"{k}={v}" for k, v in variables.items()),
        )

    async def spy(self, supervisor_dial: str, agent_endpoint: str, mode: SpyMode,
                  caller_id: str = "supervisor") -> None:
        """Rings the supervisor's phone; once answered it listens to (or whispers to, or
        barges into) the agent's live call, and hangs up when that call ends."""
        options = {"listen": "qES", "whisper": "qESw", "barge": "qESB"}[mode]
        await self.action(
            "Originate", Channel=supervisor_dial, Application="ChanSpy",
            Data=f"PJSIP/{agent_endpoint}-,{options}", CallerID=caller_id, Async="true",
            Timeout="30000",
        )

    async def start_recording(self, channel: str, path: str, both_legs: bool = True) -> None:
        """MixMonitor on a live channel (e.g. a transfer target); `path` inside the node."""
        await self.action("MixMonitor", Channel=channel, File=path,
                          Options="b" if both_legs else "")

    async def stop_recording(self, channel: str) -> None:
        await self.action("StopMixMonitor", Channel=channel)

    async def started(self) -> str:
        """When the node's Asterisk process started (CoreStatus): changes when it restarts."""
        return replies.started(await self._ask("CoreStatus"))

    async def device_states(self) -> dict[str, str]:
        """Device -> state (NOT_INUSE, INUSE, RINGING, UNAVAILABLE, ...) of every device the
        node knows, e.g. {"PJSIP/agent1": "INUSE"}."""
        return replies.device_states(await self._ask("DeviceStateList", timeout_s=10.0))

    async def reload_module(self, module: str) -> None:
        """Reloads one module's configuration (e.g. "res_pjsip.so") without a restart."""
        await self.action("Reload", Module=module, timeout_s=10.0)

    async def queue_reload_members(self, queue: str) -> None:
        """Rereads a queue's static members from queues.conf (and its #includes)."""
        await self.action("QueueReload", Queue=queue, Members="yes", timeout_s=10.0)

    async def queue_members(self, queue: str) -> list[QueueMember]:
        """The queue's members as Asterisk holds them now (QueueStatus)."""
        return replies.queue_members(await self._ask("QueueStatus", Queue=queue, timeout_s=10.0))

    async def pjsip_endpoint(self, endpoint: str) -> dict[str, str] | None:
        """The endpoint's fields as Asterisk holds them now (PJSIPShowEndpoint), or None when
        Asterisk has no such endpoint."""
        return replies.endpoint_detail(
            await self._ask("PJSIPShowEndpoint", Endpoint=endpoint, timeout_s=10.0))

    async def endpoint_reachability(self) -> dict[str, bool]:
        """Endpoint -> whether Asterisk reaches its phone now, for every PJSIP endpoint in one
        action (PJSIPShowEndpoints; PJSIPShowContacts lists registered contacts only, not
        fixed ones). Endpoints in an unknown state are left out."""
        return replies.endpoint_reachability(
            await self._ask("PJSIPShowEndpoints", timeout_s=10.0))

    async def getvar(self, channel: str, variable: str) -> str | None:
        return replies.variable(await self._ask("Getvar", Channel=channel, Variable=variable))

    async def channels(self) -> list[LiveChannel]:
        """Every channel Asterisk has now (CoreShowChannels), for a resync after a reconnect."""
        return replies.live_channels(await self._ask("CoreShowChannels", timeout_s=10.0))

    async def rtp_stats(self) -> list[RtpStats]:
        """Per-channel RTP counters of the node's live pjsip channels (media actually flowing).

        Asterisk has no AMI action for these; `pjsip show channelstats` through the Command
        action gives them, one row per channel."""
        return replies.rtp_stats(
            await self._ask("Command", Command="pjsip show channelstats"))


__all__ = [
    "DEVICE_REACHABLE",
    "AmiActionError",
    "AmiError",
    "AmiLink",
    "AmiNotConnected",
    "AmiTimeout",
    "LiveChannel",
    "QueueMember",
    "Reply",
    "RtpStats",
    "SpyMode",
]
