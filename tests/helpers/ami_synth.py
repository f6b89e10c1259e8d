"""Synthetic AMI traffic shaped like Asterisk 22's, for the benchmark and the test fixtures.

`CallScript` writes the events one hotline call raises on the wire (channel blobs with every
header Asterisk sends, Timestamp from timestampevents=yes), following the dialplan in
asterisk-config/extensions.conf: entry UserEvent, IVR choice, holding context, Redirect to
hotline-connect with MixMonitor and Dial, hangup. Noise such as VarSet, Newexten and RTCPSent
is included, as a manager without an eventfilter would see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EOL = "\r\n"
GREETING = b"Asterisk Call Manager/9.0.0\r\n"
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}


@dataclass(slots=True)
class Chan:
    name: str
    uniqueid: str
    linkedid: str
    num: str
    cid_name: str = ""
    context: str = "hotline"
    exten: str = "95598"
    priority: int = 1
    state: int = 4
    connected: str = ""

    def blob(self, prefix: str = "") -> list[tuple[str, str]]:
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(self.state)),
            (f"{p}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{p}CallerIDNum", self.num),
            (f"{p}CallerIDName", self.cid_name or "<unknown>"),
            (f"{p}ConnectedLineNum", self.connected or "<unknown>"),
            (f"{p}ConnectedLineName", "<unknown>"),
            (f"{p}Language", "en"),
            (f"{p}AccountCode", ""),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]


def message(pairs: list[tuple[str, str]]) -> bytes:
    return (EOL.join(f"{k}: {v}" for k, v in pairs) + EOL + EOL).encode()


@dataclass
class CallScript:
    """Appends one call's events to `out`; every method advances the clock by `dt`."""

    t: float
    seq: int
    caller_num: str
    out: list[bytes] = field(default_factory=list)
    noise: bool = True
    agents: dict[str, Chan] = field(default_factory=dict)
    recording: bool = False  # MixMonitor runs once per call (HL_RECORDING guards it)
    bridged: bool = False

    def __post_init__(self) -> None:
        uid = f"{int(self.t)}.{self.seq}"
        self.caller = Chan(f"PJSIP/caller-{self.seq:08x}", uid, uid, self.caller_num)
        self.call_id = uid

    def ev(self, name: str, dt: float, pairs: list[tuple[str, str]], cls: str = "call") -> None:
        self.t += dt
        head = [("Event", name), ("Privilege", f"{cls},all"), ("Timestamp", f"{self.t:.6f}")]
        self.out.append(message(head + pairs))

    def _varset(self, chan: Chan, var: str, value: str) -> None:
        if self.noise:
            self.ev(
                "VarSet", 0.0001, [*chan.blob(), ("Variable", var), ("Value", value)], "dialplan"
            )

    def _newexten(self, chan: Chan, app: str, data: str) -> None:
        if self.noise:
            chan.priority += 1
            self.ev(
                "Newexten",
                0.0001,
                [*chan.blob(), ("Extension", chan.exten), ("Application", app), ("AppData", data)],
                "dialplan",
            )

    def enter(self) -> None:
        c = self.caller
        self.ev("Newchannel", 0.0, c.blob())
        self._varset(c, "HL_CALLID", self.call_id)
        c.state = 6
        self.ev("Newstate", 0.02, c.blob())
        self._newexten(c, "UserEvent", "HotlineEntered")
        self.ev(
            "UserEvent",
            0.001,
            [*c.blob(), ("UserEvent", "HotlineEntered"), ("Caller", c.num), ("Dialed", "95598")],
            "user",
        )
        for var, val in (("HL_QUEUE", "general"), ("HL_SERVICE", "general"), ("HL_PRIORITY", "0")):
            self._varset(c, var, val)

    def ivr(self, menu: str, digit: str, service: str, dt: float = 4.0) -> None:
        c = self.caller
        self.ev("DTMFBegin", dt, [*c.blob(), ("Digit", digit), ("Direction", "Received")], "dtmf")
        self.ev(
            "DTMFEnd",
            0.12,
            [*c.blob(), ("Digit", digit), ("DurationMs", "120"), ("Direction", "Received")],
            "dtmf",
        )
        self.ev(
            "UserEvent",
            0.01,
            [
                *c.blob(),
                ("UserEvent", "HotlineIvr"),
                ("Menu", menu),
                ("Digit", digit),
                ("Service", service),
            ],
            "user",
        )
        self._varset(c, "HL_QUEUE", service)
        self._varset(c, "HL_SERVICE", service)

    def queue(self, queue: str, service: str, dt: float = 0.5) -> None:
        c = self.caller
        c.context, c.exten, c.priority = "hotline-hold", "s", 1
        self._newexten(c, "Set", "HL_HOLD_START=1700000000")
        self.ev(
            "UserEvent",
            dt,
            [
                *c.blob(),
                ("UserEvent", "HotlineQueued"),
                ("Queue", queue),
                ("Service", service),
                ("Priority", "0"),
            ],
            "user",
        )
        self._newexten(c, "MusicOnHold", "default,1")
        if self.noise:
            self.ev("MusicOnHoldStart", 0.001, [*c.blob(), ("Class", "default")])

    def failsafe(self, queue: str, dt: float) -> None:
        c = self.caller
        c.context, c.exten, c.priority = "hotline-failsafe", "s", 1
        self.ev(
            "UserEvent", dt, [*c.blob(), ("UserEvent", "HotlineFailsafe"), ("Queue", queue)], "user"
        )
        self._mixmonitor()
        self.ev(
            "QueueCallerJoin",
            0.01,
            [*c.blob(), ("Queue", "hotline-failsafe"), ("Position", "1"), ("Count", "1")],
            "agent",
        )

    def _mixmonitor(self) -> None:
        c = self.caller
        if self.recording:
            return
        self.recording = True
        self.ev("MixMonitorStart", 0.002, c.blob())
        self._varset(c, "HL_RECORDING", f"/var/spool/asterisk/hotline/{self.call_id}.wav")

    def connect(self, agent: str, dt: float = 1.0, via_queue: bool = False) -> Chan:
        """The controller's Redirect to hotline-connect (or app_queue) rings `agent`."""
        c = self.caller
        if not via_queue:
            c.context, c.exten, c.priority = "hotline-connect", agent, 1
            if self.noise:
                self.ev("MusicOnHoldStop", dt, c.blob())
                dt = 0.0
            self._newexten(c, "Set", f"HL_AGENT={agent}")
            self.t += dt
            self._mixmonitor()
        else:
            self.t += dt
        self.seq += 1
        a = Chan(
            f"PJSIP/{agent}-{self.seq:08x}",
            f"{int(self.t)}.{self.seq}",
            self.call_id,
            agent,
            context="hotline-agent",
            exten="s",
            state=0,
            connected=c.num,
        )
        self.agents[agent] = a
        self.ev("Newchannel", 0.001, a.blob())
        if via_queue:
            self.ev(
                "AgentCalled",
                0.001,
                [
                    *c.blob(),
                    *a.blob("Dest"),
                    ("Queue", "hotline-failsafe"),
                    ("Interface", f"PJSIP/{agent}"),
                    ("MemberName", agent),
                ],
                "agent",
            )
        self.ev("DialBegin", 0.001, [*c.blob(), *a.blob("Dest"), ("DialString", agent)])
        a.state = 5
        self.ev("Newstate", 0.2, a.blob())
        return a

    def ring_fails(self, agent: str, status: str = "NOANSWER", dt: float = 15.0) -> None:
        c, a = self.caller, self.agents.pop(agent)
        self.ev("DialEnd", dt, [*c.blob(), *a.blob("Dest"), ("DialStatus", status)])
        self.ev("Hangup", 0.01, [*a.blob(), ("Cause", "16"), ("Cause-txt", "Normal Clearing")])
        c.context, c.exten = "hotline-hold", "s"
        self._newexten(c, "Set", "HL_HOLD_START=1700000000")

    def answer(self, agent: str, dt: float = 3.0, via_queue: bool = False) -> None:
        c, a = self.caller, self.agents[agent]
        a.state = 6
        self.ev("Newstate", dt, a.blob())
        self.ev("DialEnd", 0.01, [*c.blob(), *a.blob("Dest"), ("DialStatus", "ANSWER")])
        if via_queue:
            self.ev(
                "AgentConnect",
                0.001,
                [
                    *c.blob(),
                    *a.blob("Dest"),
                    ("Queue", "hotline-failsafe"),
                    ("HoldTime", "5"),
                    ("RingTime", "3"),
                ],
                "agent",
            )
            self.ev(
                "QueueCallerLeave",
                0.001,
                [*c.blob(), ("Queue", "hotline-failsafe"), ("Position", "1"), ("Count", "0")],
                "agent",
            )
        bridge = [
            ("BridgeUniqueid", f"br-{self.call_id}"),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", "1"),
            ("BridgeVideoSourceMode", "none"),
        ]
        self.bridged = True
        self.ev("BridgeEnter", 0.01, [*bridge, *c.blob()])
        self.ev("BridgeEnter", 0.001, [*bridge, *a.blob()])
        if self.noise:
            for _ in range(2):
                self.ev(
                    "RTCPSent",
                    5.0,
                    [
                        *c.blob(),
                        ("To", "10.0.0.5:10001"),
                        ("From", "10.0.0.1:12001"),
                        ("SSRC", "0x1f2e3d4c"),
                        ("PT", "200(SR)"),
                        ("ReportCount", "1"),
                        ("SentPackets", "250"),
                        ("SentOctets", "40000"),
                    ],
                    "reporting",
                )

    def hold(self, agent: str, dt: float, length: float) -> None:
        a = self.agents[agent]
        self.ev("Hold", dt, [*a.blob(), ("MusicClass", "default")])
        self.ev("Unhold", length, a.blob())

    def hangup(self, dt: float, agent_first: bool = True, cause: int = 16) -> None:
        c = self.caller
        legs = list(self.agents.values())
        for a in legs:
            if a.state != 6:  # still ringing: the caller gave up
                self.ev("DialEnd", dt, [*c.blob(), *a.blob("Dest"), ("DialStatus", "CANCEL")])
                dt = 0.0
        order = [*legs, c] if agent_first else [c, *legs]
        self.t += dt
        for ch in order:
            if self.bridged and ch.state == 6 and self.noise:
                self.ev(
                    "BridgeLeave", 0.001, [("BridgeUniqueid", f"br-{self.call_id}"), *ch.blob()]
                )
            self.ev(
                "Hangup",
                0.01,
                [*ch.blob(), ("Cause", str(cause)), ("Cause-txt", "Normal Clearing")],
            )
        self.agents.clear()


def answered_call(
    t: float, seq: int, *, noise: bool = True, agent: str = "agent1", hold: bool = True
) -> CallScript:
    """The typical call: IVR, queue, ring, answer, hold, hangup (about 25 events with noise)."""
    s = CallScript(t, seq, f"1390000{seq % 10000:04d}", noise=noise)
    s.enter()
    s.ivr("main", "2", "billing")
    s.queue("billing", "billing")
    s.connect(agent, dt=6.0)
    s.answer(agent)
    if hold:
        s.hold(agent, dt=30.0, length=12.0)
    s.hangup(dt=60.0)
    return s


def mixed_traffic(calls: int, t0: float = 1_700_000_000.0) -> bytes:
    """`calls` answered calls with noise, interleaved in pairs, as one AMI byte stream."""
    chunks: list[bytes] = [
        GREETING,
        message(
            [
                ("Response", "Success"),
                ("ActionID", "login-1"),
                ("Message", "Authentication accepted"),
            ]
        ),
    ]
    for i in range(0, calls, 2):
        a = answered_call(t0 + i, 2 * i, agent=f"agent{i % 50}").out
        b = answered_call(t0 + i, 2 * i + 1, agent=f"agent{(i + 1) % 50}").out
        for x, y in zip(a, b, strict=False):
            chunks += (x, y)
        shorter = min(len(a), len(b))
        chunks += a[shorter:] + b[shorter:]
    return b"".join(chunks)


__all__ = ["GREETING", "CallScript", "Chan", "answered_call", "message", "mixed_traffic"]


# -- the one synthetic transcript in tests/fixtures/ami/ (`python -m tests.helpers.ami_synth DIR`
# rewrites it): the codec's tests need a greeting of its own; every other transcript there is a
# capture from the real Asterisk (tests/asterisk/test_ami_capture.py).


def _answered(t: float) -> CallScript:
    s = answered_call(t, 1, hold=False)
    s.out[:0] = [
        GREETING,
        message(
            [
                ("Response", "Success"),
                ("ActionID", "login-1"),
                ("Message", "Authentication accepted"),
            ]
        ),
    ]
    return s


SCENARIOS = {"answered": _answered}


def write_fixtures(directory: str, t0: float = 1_700_000_000.0) -> None:
    from pathlib import Path

    out = Path(directory)
    for i, (name, make) in enumerate(SCENARIOS.items()):
        (out / f"{name}.txt").write_bytes(b"".join(make(t0 + 1000 * i).out))


if __name__ == "__main__":
    import sys

    write_fixtures(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/ami")
