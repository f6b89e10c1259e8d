"""The asyncio shell around the AMI codec: one connection to one Asterisk node.

panoramisk keeps what it does well (login, ActionID matching, reconnects); our protocol class
replaces its parser with the sans-I/O `AmiCodec`, and events go to one owned queue, in wire
order, instead of panoramisk's fire-and-forget callbacks. On top we add what panoramisk lacks:
a Ping that goes unanswered marks the link dead, a refused connect retries with backoff and
stops on close(), and every (re)login is announced so the controller can resync.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from hotline.core.events import Event
from hotline.core.settings import AsteriskNode, Settings
from hotline.core.tasks import cancel_and_wait
from hotline.telephony.ami.codec import AmiCodec, AmiMessage
from hotline.telephony.ami.mapper import EventMapper

log = logging.getLogger(__name__)


SpyMode = Literal["listen", "whisper", "barge"]
_CHANNEL_ID = re.compile(r"^\S+-[0-9a-f]{8}$")  # "agent1-0000000a": endpoint and sequence
#: PJSIPShowEndpoints' DeviceState: Unavailable when no contact of the endpoint is reachable
#: (qualify failed, nothing registered); Unknown / Invalid say nothing either way.
DEVICE_REACHABLE: dict[str, bool] = {
    "Unavailable": False,
    "Not in use": True,
    "In use": True,
    "Busy": True,
    "Ringing": True,
    "Ring+Inuse": True,
    "On Hold": True,
}


class AmiActionError(RuntimeError):
    """Asterisk answered an action with `Response: Error` (the server said no)."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI {action} refused: {message}")
        self.action, self.message = action, message


class AmiNotConnected(ConnectionError):
    """The action could not be sent: the link to that node is down."""


class _CodecProtocol(AMIProtocol):
    """panoramisk's protocol with our codec doing the parsing."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.codec = AmiCodec()

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        link: AmiLink | None = getattr(self.factory, "link", None)
        if link is not None and link.tap is not None:
            link.tap.write(data)  # a transcript, byte for byte, for replay tests
        responses = self.responses
        for msg in self.codec.feed(data):
            # most messages are events while no action of ours waits: no header to look up
            action_id = msg.get("ActionID") if responses else None
            if action_id and action_id in responses:
                # Responses (and list events) of our own actions go to panoramisk's futures.
                self.handle_message(Message.from_line(msg.text))
            elif link is not None:
                link.on_message(msg)


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


async def _send(manager: Manager, name: str, timeout_s: float, fields: dict[str, str]) -> Message:
    """One action on one session, its reply checked (`Response: Error` raises)."""
    reply = await asyncio.wait_for(manager.send_action({"Action": name, **fields}), timeout_s)
    first = reply[0] if isinstance(reply, list) else reply
    if first.get("Response", "").lower() == "error":
        raise AmiActionError(name, first.get("Message", ""))
    return reply


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
        self.tap: BinaryIO | None = None  # when set, every byte received is copied there
        self.logged_in = asyncio.Event()
        self.logins = 0
        self.on_login_hook = on_login
        self.on_down_hook: Callable[[], None] | None = None
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
        """A Ping with no answer in time means the link is dead: drop it, reconnect."""
        while not self.closing:
            await asyncio.sleep(self.ping_interval_s)
            if self.closing or not self.logged_in.is_set():
                continue
            try:
                await self.action("Ping", timeout_s=self.ping_timeout_s)
            except (TimeoutError, AmiNotConnected, AmiActionError):
                log.warning("AMI %s: no Ping reply; dropping the link", self.node)
                protocol = self._manager.protocol
                if protocol is not None and not protocol.closed:
                    protocol.connection_lost(None)

    # -- inbound

    def on_message(self, msg: AmiMessage) -> None:
        event = self.mapper.map(msg)
        if event is not None:
            self.events.put_nowait(event)

    # -- actions

    async def action(self, name: str, timeout_s: float = 5.0, **fields: str) -> Message:
        if not self.logged_in.is_set() or self._manager.protocol is None:
            raise AmiNotConnected(f"AMI {self.node} is not connected")
        return await _send(self._manager, name, timeout_s, fields)

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        fields = {"Channel": channel, "Context": context, "Exten": exten,
                  "Priority": str(priority)}
        session = self._actions
        if session.usable():
            try:
                await _send(session.manager, "Redirect", 2.0, fields)
                return
            except TimeoutError:
                # a silent action session: drop it (it reconnects) and use the event session
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
        try:
            reply = await self.action("DBGet", Family=family, Key=key)
        except AmiActionError:
            return None
        for msg in reply if isinstance(reply, list) else [reply]:
            if msg.get("Event") == "DBGetResponse":
                return str(msg.get("Val", ""))
        return None

    async def originate(self, dial: str, context: str, exten: str, channel_id: str,
                        variables: dict[str, str], caller_id: str, timeout_s: int) -> None:
        """Places a call (async: returns once Asterisk accepted it). `channel_id` becomes the
        new channel's Uniqueid and so its Linkedid: the call keeps its call id."""
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

    async def device_states(self) -> dict[str, str]:
        """Device -> state (NOT_INUSE, INUSE, RINGING, UNAVAILABLE, ...) of every device the
        node knows, e.g. {"PJSIP/agent1": "INUSE"}."""
        reply = await self.action("DeviceStateList", timeout_s=10.0)
        return {str(m.get("Device", "")): str(m.get("State", ""))
                for m in (reply if isinstance(reply, list) else [reply])
                if m.get("Event") == "DeviceStateChange"}

    async def reload_module(self, module: str) -> None:
        """Reloads one module's configuration (e.g. "res_pjsip.so") without a restart."""
        await self.action("Reload", Module=module, timeout_s=10.0)

    async def queue_reload_members(self, queue: str) -> None:
        """Rereads a queue's static members from queues.conf (and its #includes)."""
        await self.action("QueueReload", Queue=queue, Members="yes", timeout_s=10.0)

    async def pjsip_endpoint(self, endpoint: str) -> dict[str, str] | None:
        """The endpoint's fields as Asterisk holds them now (PJSIPShowEndpoint), or None when
        Asterisk has no such endpoint."""
        try:
            reply = await self.action("PJSIPShowEndpoint", Endpoint=endpoint, timeout_s=10.0)
        except AmiActionError:
            return None
        for msg in reply if isinstance(reply, list) else [reply]:
            if msg.get("Event") == "EndpointDetail":
                return {str(k): str(v) for k, v in msg.items()}
        return None

    async def endpoint_reachability(self) -> dict[str, bool]:
        """Endpoint -> whether Asterisk reaches its phone now, for every PJSIP endpoint in one
        action (PJSIPShowEndpoints; PJSIPShowContacts lists registered contacts only, not
        fixed ones). Endpoints in an unknown state are left out."""
        try:
            reply = await self.action("PJSIPShowEndpoints", timeout_s=10.0)
        except AmiActionError:  # "No endpoints found"
            return {}
        out: dict[str, bool] = {}
        for msg in reply if isinstance(reply, list) else [reply]:
            reachable = DEVICE_REACHABLE.get(str(msg.get("DeviceState", "")))
            if msg.get("Event") == "EndpointList" and reachable is not None:
                out[str(msg.get("ObjectName", ""))] = reachable
        return out

    async def getvar(self, channel: str, variable: str) -> str | None:
        try:
            reply = await self.action("Getvar", Channel=channel, Variable=variable)
        except AmiActionError:
            return None
        first = reply[0] if isinstance(reply, list) else reply
        return str(first.get("Value", "")) or None

    async def channels(self) -> list[LiveChannel]:
        """Every channel Asterisk has now (CoreShowChannels), for a resync after a reconnect."""
        reply = await self.action("CoreShowChannels", timeout_s=10.0)
        out: list[LiveChannel] = []
        for msg in reply if isinstance(reply, list) else [reply]:
            if msg.get("Event") != "CoreShowChannel":
                continue
            try:
                duration = _hms(str(msg.get("Duration", "0")))
            except ValueError:
                duration = 0.0
            out.append(LiveChannel(
                channel=str(msg.get("Channel", "")), uniqueid=str(msg.get("Uniqueid", "")),
                linkedid=str(msg.get("Linkedid", "")), context=str(msg.get("Context", "")),
                exten=str(msg.get("Exten", "")), caller=str(msg.get("CallerIDNum", "")),
                application=str(msg.get("Application", "")),
                bridged=bool(msg.get("BridgeId", "")), duration_s=duration,
            ))
        return out

    async def rtp_stats(self) -> list[RtpStats]:
        """Per-channel RTP counters of the node's live pjsip channels (media actually flowing).

        Asterisk has no AMI action for these; `pjsip show channelstats` through the Command
        action gives them, one row per channel."""
        reply = await self.action("Command", Command="pjsip show channelstats")
        first = reply[0] if isinstance(reply, list) else reply
        output = first.get("Output", [])
        lines = output if isinstance(output, list) else str(output).splitlines()
        stats: list[RtpStats] = []
        for line in lines:
            parts = line.split()
            # [BridgeId] ChannelId UpTime Codec RxCount RxLost RxPct RxJitter TxCount ...
            # (BridgeId is blank for a channel in no bridge, e.g. a supervisor's ChanSpy)
            if parts and _CHANNEL_ID.match(parts[0]):
                parts = ["", *parts]
            if len(parts) >= 9 and parts[4].isdigit() and parts[8].isdigit():
                stats.append(RtpStats(channel=parts[1], rx_packets=int(parts[4]),
                                      tx_packets=int(parts[8])))
        return stats


@dataclass(frozen=True, slots=True)
class RtpStats:
    channel: str  # e.g. "agent1-00000001" (endpoint and channel number, without "PJSIP/")
    rx_packets: int
    tx_packets: int


@dataclass(frozen=True, slots=True)
class LiveChannel:
    channel: str
    uniqueid: str
    linkedid: str  # the call id
    context: str
    exten: str
    caller: str
    application: str
    bridged: bool
    duration_s: float

    @property
    def is_caller_leg(self) -> bool:
        return self.uniqueid == self.linkedid


def _hms(text: str) -> float:
    """CoreShowChannel's Duration: "HH:MM:SS" (or plain seconds)."""
    parts = [float(p) for p in text.split(":")]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds
