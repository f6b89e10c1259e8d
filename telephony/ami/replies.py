"""AMI actions and their replies, read by pure functions: messages in, typed results out.

Nothing here owns a socket or a loop: `encode_action` gives the bytes of an action, a
`ReplyAssembler` takes the codec's messages carrying that action's ActionID and says when the
reply is whole, and the readers below turn a whole `Reply` into the typed value its caller wants
(or `AmiActionError` when Asterisk said no). The link (link.py) only moves the bytes.

The shapes of a reply (Asterisk 22; tests/fixtures/ami/replies/ holds real ones):

- one response: ``Response: Success`` with the action's fields (Getvar's ``Value``,
  CoreSettings, Command's ``Output`` lines), ``Response: Error`` with a ``Message`` saying
  why, or the older ``Response: Follows`` whose body ends with ``--END COMMAND--``;
- a response that opens an event list (``EventList: start``, or a Message saying "... will
  follow"), then the list's events, closed by an event named ``...Complete`` carrying
  ``EventList: Complete``: CoreShowChannels, DeviceStateList, PJSIPShowEndpoint(s), DBGet,
  QueueStatus;
- an asynchronous Originate: ``Originate successfully queued``, then the OriginateResponse
  event once the new channel answered or failed. The reply ends there, as it did when
  panoramisk assembled replies (an Originate returns once the callee answered).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from hotline.telephony.ami.codec import EOL, AmiMessage
from hotline.telephony.ami.errors import AmiActionError, AmiBadAction

# -- actions out ---------------------------------------------------------------------------


#: What no action line may carry: CR and LF end a header early (the rest passes for headers of
#: its own, or another action); a NUL ends Asterisk's C string there.
_FORBIDDEN = re.compile(r"[\r\n\x00]")


def check_line(action: str, line: str) -> str:
    """`line` (a header's name or value, or the whole ``Key: value``) when it holds no CR, LF
    or NUL; else AmiBadAction. Every action the link writes, ours and panoramisk's own Login
    and Ping, passes here before a byte goes out."""
    if _FORBIDDEN.search(line) is not None:
        raise AmiBadAction(f"AMI {action!r}: a line break or NUL in {line!r}",
                           details={"action": action})
    return line


def encode_action(name: str, action_id: str, fields: Mapping[str, str]) -> bytes:
    """The bytes of one action: ``Action``, ``ActionID``, then the fields in order; a CR, LF
    or NUL anywhere is refused (check_line)."""
    lines = [f"Action: {name}", f"ActionID: {action_id}"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    for line in lines:
        check_line(name, line)
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")


def action_ids(prefix: str = "hl") -> Iterator[str]:
    """ActionIDs unique within a process: prefix-1, prefix-2, ..."""
    return (f"{prefix}-{n}" for n in itertools.count(1))


# -- a reply in ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """Every message Asterisk sent for one action, in wire order."""

    action: str
    response: AmiMessage  # the Response message
    events: tuple[AmiMessage, ...] = ()  # the list's items (events carrying the ActionID)
    end: AmiMessage | None = None  # what closed the reply: ...Complete, or OriginateResponse

    @property
    def status(self) -> str:
        """The Response header: Success, Error, Follows (Goodbye after a Logoff)."""
        return self.response.get("Response") or ""

    @property
    def refused(self) -> bool:
        return self.status.lower() == "error"

    @property
    def message(self) -> str:
        """The response's Message header ("" when it has none)."""
        return self.response.get("Message") or ""

    def get(self, key: str, default: str = "") -> str:
        """A field of the response (CoreSettings' AsteriskVersion, Getvar's Value)."""
        value = self.response.get(key)
        return default if value is None else value

    def items(self, event: str) -> list[AmiMessage]:
        """The list's events of one name (QueueStatus: "QueueMember")."""
        return [m for m in self.events if m.name == event]


def _opens_list(response: AmiMessage) -> bool:
    return ((response.get("EventList") or "").lower() == "start"
            or "will follow" in (response.get("Message") or "").lower())


def _closes_list(event: AmiMessage) -> bool:
    return event.name.endswith("Complete") or (event.get("EventList") or "") == "Complete"


class ReplyAssembler:
    """The reply to one action, put together from the messages that carry its ActionID.

    `feed` returns None until the reply is whole, then the `Reply`; messages fed after that
    (a late duplicate) are ignored and give None."""

    __slots__ = ("_awaits_originate", "_done", "_events", "_list", "_response", "action")

    def __init__(self, action: str, fields: Mapping[str, str] | None = None) -> None:
        self.action = action
        async_ = ((fields or {}).get("Async") or "").lower() not in ("", "false", "no", "0")
        self._awaits_originate = action.lower() == "originate" and async_
        self._response: AmiMessage | None = None
        self._events: list[AmiMessage] = []
        self._list = False  # the response opened an event list (or an Originate's wait)
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, msg: AmiMessage) -> Reply | None:
        if self._done:
            return None
        if self._response is None:
            if msg.name or not msg.is_response:
                self._events.append(msg)  # an event ahead of its response: kept, in order
                return None
            self._response = msg
            if (msg.get("Response") or "").lower() == "error":
                return self._finish(None)
            if self._awaits_originate and (msg.get("Message") or "").lower().endswith(
                    "successfully queued"):
                self._list = True
            else:
                self._list = _opens_list(msg)
            if not self._list:
                return self._finish(None)
            # events that came ahead of the response may already close it
            for i, early in enumerate(self._events):
                if self._closes(early):
                    del self._events[i]
                    return self._finish(early)
            return None
        if not self._closes(msg):
            self._events.append(msg)
            return None
        return self._finish(msg)

    def _closes(self, msg: AmiMessage) -> bool:
        if self._awaits_originate:
            return msg.name == "OriginateResponse"
        return bool(msg.name) and _closes_list(msg)

    def _finish(self, end: AmiMessage | None) -> Reply:
        assert self._response is not None
        self._done = True
        return Reply(self.action, self._response, tuple(self._events), end)


def read_reply(action: str, messages: list[AmiMessage] | tuple[AmiMessage, ...],
               fields: Mapping[str, str] | None = None) -> tuple[Reply | None, int]:
    """The reply among `messages` (all of them carrying the action's ActionID): (the reply or
    None while it is not whole, how many messages it took)."""
    assembler = ReplyAssembler(action, fields)
    for used, msg in enumerate(messages, 1):
        reply = assembler.feed(msg)
        if reply is not None:
            return reply, used
    return None, len(messages)


# -- readers: a whole reply -> what its caller wants ------------------------------------------


def checked(reply: Reply) -> Reply:
    """The reply, unless Asterisk said no (`Response: Error`): AmiActionError."""
    if reply.refused:
        raise AmiActionError(reply.action, reply.message)
    return reply


def db_value(reply: Reply) -> str | None:
    """DBGet: the value; None when there is no such key (Asterisk answers Error)."""
    if reply.refused:
        return None
    for msg in reply.events:
        if msg.name == "DBGetResponse":
            return msg.get("Val") or ""
    return None


def started(reply: Reply) -> str:
    """CoreStatus: when this Asterisk process started ("CoreStartupDate CoreStartupTime", the
    node's own clock, whole seconds): another value than before means the node restarted."""
    reply = checked(reply)
    return f"{reply.get('CoreStartupDate')} {reply.get('CoreStartupTime')}".strip()


def db_tree(reply: Reply, family: str) -> dict[str, str]:
    """DBGetTree of `family`: key -> value (Asterisk answers Error for an empty family).
    Keys come as `/<family>/<key>` or `<key>`; deeper keys (another family under it) are left
    out."""
    if reply.refused:
        if "not found" in reply.message.lower():
            return {}
        checked(reply)
    out: dict[str, str] = {}
    prefix = f"/{family}/"
    for msg in reply.events:
        if msg.name != "DBGetTreeResponse":
            continue
        key = msg.get("Key") or ""
        fam = msg.get("Family") or ""
        if key.startswith(prefix):
            key = key[len(prefix):]
        elif fam.strip("/") not in ("", family):
            continue
        if key and "/" not in key:
            out[key] = msg.get("Val") or ""
    return out


def device_states(reply: Reply) -> dict[str, str]:
    """DeviceStateList: device -> state (NOT_INUSE, INUSE, RINGING, UNAVAILABLE, ...),
    e.g. {"PJSIP/agent1": "INUSE"}."""
    return {m.get("Device") or "": m.get("State") or ""
            for m in checked(reply).events if m.name == "DeviceStateChange"}


def endpoint_detail(reply: Reply) -> dict[str, str] | None:
    """PJSIPShowEndpoint: the endpoint's fields as Asterisk holds them now; None when
    Asterisk has no such endpoint (it answers Error)."""
    if reply.refused:
        return None
    for msg in reply.events:
        if msg.name == "EndpointDetail":
            return dict(msg.headers)
    return None


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


def endpoint_reachability(reply: Reply) -> dict[str, bool]:
    """PJSIPShowEndpoints: endpoint -> whether Asterisk reaches its phone now; endpoints in an
    unknown state are left out, and so is everything when there are none (Error: "No
    endpoints found")."""
    if reply.refused:
        return {}
    out: dict[str, bool] = {}
    for msg in reply.events:
        reachable = DEVICE_REACHABLE.get(msg.get("DeviceState") or "")
        if msg.name == "EndpointList" and reachable is not None:
            out[msg.get("ObjectName") or ""] = reachable
    return out


def variable(reply: Reply) -> str | None:
    """Getvar: the value; None when it is empty or the channel is gone (Error)."""
    if reply.refused:
        return None
    return reply.get("Value") or None


@dataclass(frozen=True, slots=True)
class LiveChannel:
    """One channel Asterisk has now (a CoreShowChannel event)."""

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


def live_channels(reply: Reply) -> list[LiveChannel]:
    """CoreShowChannels: every channel Asterisk has now."""
    out: list[LiveChannel] = []
    for msg in checked(reply).events:
        if msg.name != "CoreShowChannel":
            continue
        try:
            duration = _hms(msg.get("Duration") or "0")
        except ValueError:
            duration = 0.0
        out.append(LiveChannel(
            channel=msg.get("Channel") or "", uniqueid=msg.get("Uniqueid") or "",
            linkedid=msg.get("Linkedid") or "", context=msg.get("Context") or "",
            exten=msg.get("Exten") or "", caller=msg.get("CallerIDNum") or "",
            application=msg.get("Application") or "",
            bridged=bool(msg.get("BridgeId")), duration_s=duration,
        ))
    return out


@dataclass(frozen=True, slots=True)
class QueueMember:
    """One member of a queue (a QueueMember event of QueueStatus)."""

    queue: str
    location: str  # the interface Asterisk rings, e.g. "PJSIP/agent1"
    name: str
    paused: bool


def queue_members(reply: Reply) -> list[QueueMember]:
    """QueueStatus: the members of the queue(s) asked about, in Asterisk's order."""
    return [QueueMember(queue=m.get("Queue") or "", location=m.get("Location") or "",
                        name=m.get("Name") or m.get("MemberName") or "",
                        paused=(m.get("Paused") or "0") not in ("0", ""))
            for m in checked(reply).items("QueueMember")]


_END_COMMAND = "--END COMMAND--"


def command_output(reply: Reply) -> list[str]:
    """Command: the CLI's output lines (``Output:`` headers since Asterisk 14, the body of a
    ``Response: Follows`` before)."""
    lines = list(checked(reply).response.getall("Output"))
    if lines or reply.status != "Follows":
        return lines
    body: list[str] = []
    for line in reply.response.text.split(EOL)[1:]:
        if line.startswith(("ActionID:", "Privilege:", "Message:")) and not body:
            continue
        if line.strip() == _END_COMMAND:
            break
        body.append(line.removesuffix(_END_COMMAND))
    return body


@dataclass(frozen=True, slots=True)
class RtpStats:
    channel: str  # e.g. "agent1-00000001" (endpoint and channel number, without "PJSIP/")
    rx_packets: int
    tx_packets: int


_CHANNEL_ID = re.compile(r"^\S+-[0-9a-f]{8}$")  # "agent1-0000000a": endpoint and sequence


def rtp_stats(reply: Reply) -> list[RtpStats]:
    """`pjsip show channelstats` (through Command): one row per live pjsip channel."""
    stats: list[RtpStats] = []
    for line in command_output(reply):
        parts = line.split()
        # [BridgeId] ChannelId UpTime Codec RxCount RxLost RxPct RxJitter TxCount ...
        # (BridgeId is blank for a channel in no bridge, e.g. a supervisor's ChanSpy)
        if parts and _CHANNEL_ID.match(parts[0]):
            parts = ["", *parts]
        if len(parts) >= 9 and parts[4].isdigit() and parts[8].isdigit():
            stats.append(RtpStats(channel=parts[1], rx_packets=int(parts[4]),
                                  tx_packets=int(parts[8])))
    return stats


__all__ = [
    "DEVICE_REACHABLE",
    "LiveChannel",
    "QueueMember",
    "Reply",
    "ReplyAssembler",
    "RtpStats",
    "action_ids",
    "check_line",
    "checked",
    "command_output",
    "db_value",
    "device_states",
    "encode_action",
    "endpoint_detail",
    "endpoint_reachability",
    "live_channels",
    "queue_members",
    "read_reply",
    "rtp_stats",
    "started",
    "variable",
]
