"""AMI event messages -> the typed events of hotline.core.events, per docs/dialplan-contract.md.

One small handler per AMI event, registered in a table (`EventMapper.HANDLERS`), so the mapping
reads like the contract. The call id is always the Linkedid. A message the mapper cannot use
is counted, per event name, and logged at debug; it never raises:

- unknown: no handler for this event (or UserEvent name); logged the first time per name;
- malformed: a handler's required header is missing or empty, or a value has the wrong type;
- ignored: a known event that means nothing for us (the agent leg's Hangup, DialEnd CANCEL).

Event times come from the ``Timestamp`` header (manager.conf timestampevents=yes), else from
the `now` handed to `map`, else from the injected clock.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from math import isfinite
from typing import ClassVar

from hotline.core import ids
from hotline.core.events import (
    AgentRinging,
    AsteriskBooted,
    AsteriskShuttingDown,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEntered,
    CallHeld,
    CallQueued,
    CallRequeued,
    CallTransferred,
    CallUnheld,
    ChannelCreated,
    ChannelHungUp,
    ChannelStateChanged,
    DtmfReceived,
    EndpointStatus,
    Event,
    FailsafeTaken,
    IvrChoice,
    RecordingStarted,
    RecordingStopped,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.values import ServiceType
from hotline.telephony.ami.codec import AmiMessage, BadHeader, MissingHeader

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Handler = Callable[["EventMapper", AmiMessage, float], Event | None]
#: A UserEvent handler also gets the headers the dialplan's UserEvent() added.
UserHandler = Callable[["EventMapper", AmiMessage, AmiMessage, float], Event | None]

#: DialEnd statuses meaning "the agent's ring failed while the caller is still there", with the
#: Q.850 cause each stands for (RingNoAnswer.cause).
RING_FAILED_CAUSES: dict[str, int] = {
    "NOANSWER": 19,  # no answer from user
    "BUSY": 17,  # user busy
    "CONGESTION": 34,  # no circuit available
    "CHANUNAVAIL": 20,  # subscriber absent
}
#: ContactStatus values: True reachable, False not; absent values (Unknown) are ignored.
CONTACT_REACHABLE: dict[str, bool] = {
    "Reachable": True,
    "Created": True,
    "Updated": True,
    "NonQualified": True,
    "Unreachable": False,
    "Removed": False,
}
PEER_REACHABLE: dict[str, bool] = {
    "Registered": True,
    "Reachable": True,
    "Lagged": True,
    "Unregistered": False,
    "Unreachable": False,
    "Rejected": False,
}
RECORDING_VAR = "HL_RECORDING"
#: HL_RECDIR in asterisk-config/extensions.conf: MixMonitor writes <call id>.wav there.
DEFAULT_RECORDING_DIR = "/var/spool/asterisk/hotline"
#: SoftHangupRequest's Cause when Asterisk hangs up every channel to shut down (channel.h,
#: AST_SOFTHANGUP_SHUTDOWN; manager.conf lets only this cause through)
SOFTHANGUP_SHUTDOWN = 4
NODE_SHUTDOWN_CAUSE_TEXT = "lost to a node failure: Asterisk shut down under the call"


class Malformed(ValueError):
    """A message this mapper handles, with content it cannot accept."""


def endpoint_of(channel: str) -> str:
    """``PJSIP/agent1-0000000a`` -> ``agent1`` (the endpoint is before the last dash)."""
    tech, slash, rest = channel.partition("/")
    if not slash or not tech or not rest:
        raise Malformed(f"not a channel name: {channel!r}")
    endpoint = rest.rpartition("-")[0] or rest
    if not endpoint:
        raise Malformed(f"no endpoint in channel name: {channel!r}")
    return endpoint


def user_headers(msg: AmiMessage) -> AmiMessage:
    """The headers a dialplan UserEvent() added. Asterisk writes them after the ``UserEvent``
    line, behind the channel's own fields, and a name may repeat one of those: HotlineQueued's
    ``Priority`` (the call's) follows the channel's ``Priority`` (the dialplan step)."""
    text = msg.text
    line = text.find("\r\nUserEvent:")
    if line < 0:
        if not text.startswith("UserEvent:"):
            raise MissingHeader("UserEvent", msg.name)
        line = -2
    after = text.find("\r\n", line + 2)
    return AmiMessage(text[after + 2 :] if after >= 0 else "", name="")


#: value -> member: a dict lookup, where ServiceType(value) goes through EnumType.__call__.
_SERVICES: dict[str, ServiceType] = {s.value: s for s in ServiceType}


def _service(value: str) -> ServiceType:
    service = _SERVICES.get(value.strip().lower())
    if service is None:
        raise Malformed(f"unknown service {value!r}")
    return service


#: Distinct names kept per counter; a corrupt stream must not grow them without bound.
MAX_NAMES = 256
OTHER = "<other>"


def _bump(counter: Counter[str], label: str) -> None:
    if label not in counter and len(counter) >= MAX_NAMES:
        label = OTHER
    counter[label] += 1


@dataclass(slots=True)
class MapperStats:
    mapped: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)

    @property
    def seen(self) -> int:
        """Every message handed to the mapper lands in exactly one counter."""
        return self.mapped + self.ignored.total() + self.unknown.total() + self.malformed.total()


class EventMapper:
    """Maps AMI event messages of one Asterisk node to typed events tagged with that node."""

    def __init__(
        self,
        node: str,
        *,
        clock: Clock = time.time,
        recording_dir: str | None = DEFAULT_RECORDING_DIR,
    ) -> None:
        """`recording_dir`: where the dialplan writes `<call id>.wav`, for a MixMonitor event
        whose channel does not carry HL_RECORDING (manager.conf channelvars); with None such
        an event is malformed."""
        self.node = node
        self.clock = clock
        self.recording_dir = recording_dir.rstrip("/") if recording_dir else None
        self.stats = MapperStats()
        #: calls Asterisk is hanging up for its shutdown (SoftHangupRequest, cause 4), until
        #: their caller's Hangup: those end lost to a node failure
        self._shutting_down: set[str] = set()

    @property
    def consumes(self) -> frozenset[str]:
        """The AMI event names this mapper has handlers for."""
        return frozenset(self.HANDLERS)

    def map(self, msg: AmiMessage, now: float | None = None) -> Event | None:
        handler = self.HANDLERS.get(msg.name)
        if handler is None:
            self._unknown(msg.name or "<no event>")
            return None
        return self._map(msg, handler, now)

    def map_all(self, msgs: Iterable[AmiMessage], now: float | None = None) -> list[Event]:
        out: list[Event] = []
        handlers, unknown, map_known = self.HANDLERS, self.stats.unknown, self._map
        for msg in msgs:
            name = msg.name
            handler = handlers.get(name)
            if handler is None:
                if name in unknown:
                    # Noise already counted (most of the stream without an eventfilter):
                    # what _unknown would do, without its calls.
                    unknown[name] += 1
                else:
                    self._unknown(name or "<no event>")
                continue
            event = map_known(msg, handler, now)
            if event is not None:
                out.append(event)
        return out

    def _map(self, msg: AmiMessage, handler: Handler, now: float | None) -> Event | None:
        try:
            ts = msg.get("Timestamp")
            at = float(ts) if ts else (now if now is not None else self.clock())
            if not isfinite(at):
                raise Malformed(f"Timestamp {ts!r} is not a time")
            event = handler(self, msg, at)
        except (MissingHeader, BadHeader, Malformed, ValueError) as exc:
            name = msg.name
            label = name if name != "UserEvent" else f"UserEvent:{msg.get('UserEvent', '')}"
            _bump(self.stats.malformed, label)
            log.debug("malformed AMI %s: %s", label, exc)
            return None
        if event is not None:
            self.stats.mapped += 1
        return event  # None: the handler counted it as ignored or unknown

    # -- helpers -------------------------------------------------------------------------

    def _ignore(self, label: str) -> None:
        _bump(self.stats.ignored, label)

    def _unknown(self, label: str) -> None:
        unknown = self.stats.unknown
        if label not in unknown:
            # Once per name: noise events arrive by the thousand, the counter has the rest.
            log.debug("unknown AMI event %r (counted from now on)", label)
        _bump(unknown, label)

    @staticmethod
    def _call_id(msg: AmiMessage, prefix: str = "") -> str:
        return msg.get_str(prefix + "Linkedid")

    # -- handlers: one per AMI event -----------------------------------------------------

    def _on_user_event(self, msg: AmiMessage, at: float) -> Event | None:
        sub = msg.get_str("UserEvent")
        handler = self.USER_HANDLERS.get(sub)
        if handler is None:
            self._unknown(f"UserEvent:{sub}")
            return None
        return handler(self, msg, user_headers(msg), at)

    def _on_entered(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        return CallEntered(
            at,
            node=self.node,
            call_id=self._call_id(msg),
            caller=ids.phone_or_withheld(user.get("Caller", "")),
            dialed=user.get_str("Dialed"),
            channel=msg.get_str("Channel"),
        )

    def _on_ivr(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        service = user.get("Service")
        return IvrChoice(
            at,
            node=self.node,
            call_id=self._call_id(msg),
            menu=user.get_str("Menu"),
            digit=user.get_str("Digit"),
            service=_service(service) if service else None,
        )

    def _on_queued(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        return CallQueued(
            at,
            node=self.node,
            call_id=self._call_id(msg),
            queue=user.get_str("Queue"),
            service=_service(user.get_str("Service")),
            caller=ids.phone_or_withheld(msg.get("CallerIDNum", "")),
            priority=user.get_int("Priority", 0),
            channel=msg.get_str("Channel"),
            # "menu": no IVR ran (no controller answered), its keys are the menus'
            takes_callback_key=user.get("Keys", "") != "menu",
        )

    def _on_requeued(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        return CallRequeued(
            at,
            node=self.node,
            call_id=self._call_id(msg),
            queue=user.get_str("Queue"),
            agent_id=user.get("Agent", ""),
            channel=msg.get_str("Channel"),
        )

    def _on_failsafe(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        return FailsafeTaken(
            at, node=self.node, call_id=self._call_id(msg), queue=user.get_str("Queue")
        )

    def _on_talk_ended(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        return TalkEnded(
            at, node=self.node, call_id=self._call_id(msg), agent_id=user.get_str("Agent")
        )

    def _on_callback(self, msg: AmiMessage, user: AmiMessage, at: float) -> Event:
        return CallbackRequested(
            at, node=self.node, call_id=self._call_id(msg), queue=user.get_str("Queue"),
            number=user.get_str("Number"),
        )

    def _dial_call_id(self, msg: AmiMessage) -> str:
        # An Originate dials with no caller channel: its fields are present but empty.
        return msg.get("Linkedid") or self._call_id(msg, "Dest")

    def _originating(self, msg: AmiMessage, what: str) -> bool:
        """An Originate (a callback) dials the customer with no caller channel: that ring is
        the customer's phone, not an agent's; the agent's ring follows from the dialplan."""
        if msg.get("Channel"):
            return False
        self._ignore(f"{what}:originate")
        return True

    def _on_dial_begin(self, msg: AmiMessage, at: float) -> Event | None:
        if self._originating(msg, "DialBegin"):
            return None
        dest = msg.get_str("DestChannel")
        return AgentRinging(
            at,
            node=self.node,
            call_id=self._dial_call_id(msg),
            agent_id=endpoint_of(dest),
            channel=dest,
        )

    def _on_dial_end(self, msg: AmiMessage, at: float) -> Event | None:
        if self._originating(msg, "DialEnd"):
            return None
        status = msg.get_str("DialStatus")
        dest = msg.get_str("DestChannel")
        if status == "ANSWER":
            return CallAnswered(
                at,
                node=self.node,
                call_id=self._dial_call_id(msg),
                agent_id=endpoint_of(dest),
                channel=dest,
            )
        cause = RING_FAILED_CAUSES.get(status)
        if cause is None:
            # CANCEL (the caller left: its Hangup ends the call), answered elsewhere, ...
            self._ignore(f"DialEnd:{status}")
            return None
        return RingNoAnswer(
            at,
            node=self.node,
            call_id=self._dial_call_id(msg),
            agent_id=endpoint_of(dest),
            cause=cause,
        )

    def _recording_path(self, msg: AmiMessage, call_id: str) -> str:
        path = msg.variables().get(RECORDING_VAR)
        if path:
            return path
        if self.recording_dir is None:
            raise MissingHeader(f"ChanVariable {RECORDING_VAR}", msg.name)
        return f"{self.recording_dir}/{call_id}.wav"

    def _on_mixmonitor_start(self, msg: AmiMessage, at: float) -> Event:
        call_id = self._call_id(msg)
        path = self._recording_path(msg, call_id)
        return RecordingStarted(at, node=self.node, call_id=call_id, path=path)

    def _on_mixmonitor_stop(self, msg: AmiMessage, at: float) -> Event:
        call_id = self._call_id(msg)
        path = self._recording_path(msg, call_id)
        return RecordingStopped(at, node=self.node, call_id=call_id, path=path)

    def _on_hold(self, msg: AmiMessage, at: float) -> Event:
        return CallHeld(at, node=self.node, call_id=self._call_id(msg))

    def _on_unhold(self, msg: AmiMessage, at: float) -> Event:
        return CallUnheld(at, node=self.node, call_id=self._call_id(msg))

    def _on_blind_transfer(self, msg: AmiMessage, at: float) -> Event | None:
        if msg.get_str("Result") != "Success":
            self._ignore("BlindTransfer:failed")
            return None
        exten = msg.get_str("Extension")
        context = msg.get("Context")
        return CallTransferred(
            at,
            node=self.node,
            call_id=self._call_id(msg, "Transferer"),
            target=f"{exten}@{context}" if context else exten,
        )

    def _on_attended_transfer(self, msg: AmiMessage, at: float) -> Event | None:
        if msg.get_str("Result") != "Success":
            self._ignore("AttendedTransfer:failed")
            return None
        target = msg.get("TransferTargetChannel") or msg.get_str("SecondTransfererChannel")
        return CallTransferred(
            at, node=self.node, call_id=self._call_id(msg, "OrigTransferer"), target=target
        )

    def _on_dtmf_end(self, msg: AmiMessage, at: float) -> Event | None:
        call_id = self._call_id(msg)
        if msg.get_str("Direction") != "Received" or msg.get_str("Uniqueid") != call_id:
            self._ignore("DTMFEnd:not-caller")
            return None
        return DtmfReceived(at, node=self.node, call_id=call_id, digit=msg.get_str("Digit"),
                            context=msg.get_str("Context"))

    def _on_soft_hangup_request(self, msg: AmiMessage, at: float) -> Event | None:
        """Asterisk asks a channel to hang up. For its shutdown (`core stop now`, `core
        restart now`: cause 4, AST_SOFTHANGUP_SHUTDOWN) it asks every channel, each before
        its Hangup and all before the Shutdown event (which comes a second later, when the
        link is about to drop): the call's end is then the node's failure, not a party's."""
        if msg.get_int("Cause") != SOFTHANGUP_SHUTDOWN:
            self._ignore("SoftHangupRequest:other")
            return None
        self._shutting_down.add(self._call_id(msg))
        self._ignore("SoftHangupRequest:shutdown")  # noted; the Hangup carries it
        return None

    def _on_hangup(self, msg: AmiMessage, at: float) -> Event | None:
        call_id = self._call_id(msg)
        if msg.get_str("Uniqueid") != call_id:
            return ChannelHungUp(at, node=self.node, call_id=call_id,
                                 channel=msg.get_str("Channel"),
                                 cause=msg.get_int("Cause"), cause_text=msg.get("Cause-txt", ""))
        node_failure = call_id in self._shutting_down
        self._shutting_down.discard(call_id)
        return CallEnded(
            at,
            node=self.node,
            call_id=call_id,
            cause=msg.get_int("Cause"),
            cause_text=(NODE_SHUTDOWN_CAUSE_TEXT if node_failure
                        else msg.get("Cause-txt", "")),
            node_failure=node_failure,
        )

    def _on_newchannel(self, msg: AmiMessage, at: float) -> Event:
        return ChannelCreated(at, node=self.node, call_id=self._call_id(msg),
                              channel=msg.get_str("Channel"),
                              caller=msg.get("CallerIDNum", ""), exten=msg.get("Exten", ""))

    def _on_newstate(self, msg: AmiMessage, at: float) -> Event:
        return ChannelStateChanged(at, node=self.node, call_id=self._call_id(msg),
                                   channel=msg.get_str("Channel"),
                                   state=msg.get_str("ChannelStateDesc"))

    def _on_contact_status(self, msg: AmiMessage, at: float) -> Event | None:
        status = msg.get_str("ContactStatus")
        reachable = CONTACT_REACHABLE.get(status)
        if reachable is None:
            self._ignore(f"ContactStatus:{status}")
            return None
        return EndpointStatus(at, node=self.node, endpoint=msg.get_str("AOR"), reachable=reachable)

    def _on_peer_status(self, msg: AmiMessage, at: float) -> Event | None:
        status = msg.get_str("PeerStatus")
        reachable = PEER_REACHABLE.get(status)
        if reachable is None:
            self._ignore(f"PeerStatus:{status}")
            return None
        peer = msg.get_str("Peer")
        endpoint = peer.partition("/")[2] or peer
        return EndpointStatus(at, node=self.node, endpoint=endpoint, reachable=reachable)

    def _on_fully_booted(self, msg: AmiMessage, at: float) -> Event:
        self._shutting_down.clear()  # (a Hangup the dropped link never brought)
        return AsteriskBooted(at, node=self.node)

    def _on_shutdown(self, msg: AmiMessage, at: float) -> Event:
        return AsteriskShuttingDown(at, node=self.node)

    HANDLERS: ClassVar[dict[str, Handler]] = {
        "UserEvent": _on_user_event,
        "Newchannel": _on_newchannel,
        "Newstate": _on_newstate,
        "DialBegin": _on_dial_begin,
        "DialEnd": _on_dial_end,
        "MixMonitorStart": _on_mixmonitor_start,
        "MixMonitorStop": _on_mixmonitor_stop,
        "Hold": _on_hold,
        "Unhold": _on_unhold,
        "BlindTransfer": _on_blind_transfer,
        "AttendedTransfer": _on_attended_transfer,
        "DTMFEnd": _on_dtmf_end,
        "Hangup": _on_hangup,
        "SoftHangupRequest": _on_soft_hangup_request,
        "ContactStatus": _on_contact_status,
        "PeerStatus": _on_peer_status,
        "FullyBooted": _on_fully_booted,
        "Shutdown": _on_shutdown,
    }
    USER_HANDLERS: ClassVar[dict[str, UserHandler]] = {
        "HotlineCallback": _on_callback,
        "HotlineTalkEnded": _on_talk_ended,
        "HotlineEntered": _on_entered,
        "HotlineIvr": _on_ivr,
        "HotlineQueued": _on_queued,
        "HotlineRequeued": _on_requeued,
        "HotlineFailsafe": _on_failsafe,
    }


__all__ = [
    "CONTACT_REACHABLE",
    "DEFAULT_RECORDING_DIR",
    "MAX_NAMES",
    "NODE_SHUTDOWN_CAUSE_TEXT",
    "PEER_REACHABLE",
    "RING_FAILED_CAUSES",
    "SOFTHANGUP_SHUTDOWN",
    "EventMapper",
    "Malformed",
    "MapperStats",
    "endpoint_of",
    "user_headers",
]
